"""API rate limits, per token and per client address, shared by every process.

Counted where sign-in throttling counts (chorus.core.shared_counts), keys `api:token:<id>` and
`api:address:<ip>`: in the scaled shape in Redis (one MULTI of SET NX + INCR per key, the window's
minute in the key, expiring with it), so no API request writes a PostgreSQL row; in the embedded
shape in the small table `accounts.Throttle` (one statement per request: an upsert of both keys
that returns their counts, `INSERT … ON CONFLICT DO UPDATE … RETURNING`, SQLite ≥ 3.35). Never in
a process's memory: several processes serve requests in either shape.

Windows are fixed, one minute long, aligned on the minute. A request past a limit is answered
429 with `Retry-After` (seconds to the window's end); every counted answer carries
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` of the tighter of the two limits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import Throttle
from chorus.core import shared_counts
from chorus.core.middleware import client_ip
from chorus.core.refusals import Refused

WINDOW = dt.timedelta(minutes=1)


class RateLimited(Refused):
    code = "rate_limited"
    http_status = 429


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


def limits() -> tuple[int, int]:
    """(per token, per address) requests a minute."""
    return (
        int(getattr(settings, "CHORUS_API_RATE_PER_TOKEN", 600)),
        int(getattr(settings, "CHORUS_API_RATE_PER_ADDRESS", 1200)),
    )


def _count(keys: list[str], window_start: dt.datetime) -> dict[str, int]:
    client = shared_counts.redis_client()
    if client is not None:
        # The window's minute in the name: a fixed window, aligned like the table's.
        minute = int(window_start.timestamp()) // 60
        counted = shared_counts.count(client, [f"{key}:{minute}" for key in keys], 2 * WINDOW.total_seconds())
        return {key: counted[f"{key}:{minute}"] for key in keys}
    q = connection.ops.quote_name
    table, key_col, hits_col, start_col = q(Throttle._meta.db_table), q("key"), q("hits"), q("window_start")
    start = connection.ops.adapt_datetimefield_value(window_start)
    values = ", ".join(["(%s, 1, %s)"] * len(keys))
    params: list[Any] = []
    for key in keys:
        params += [key, start]
    # A row from an earlier window starts again at 1; a clock a little behind (another process)
    # counts in the newer window rather than resetting it.
    same_window = f"{table}.{start_col} >= excluded.{start_col}"
    sql = (
        f"INSERT INTO {table} ({key_col}, {hits_col}, {start_col}) VALUES {values} "  # noqa: S608 (model table and columns; values are parameters)
        f"ON CONFLICT ({key_col}) DO UPDATE SET "
        f"{hits_col} = CASE WHEN {same_window} THEN {table}.{hits_col} + 1 ELSE 1 END, "
        f"{start_col} = CASE WHEN {same_window} THEN {table}.{start_col} ELSE excluded.{start_col} END "
        f"RETURNING {key_col}, {hits_col}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: hits for key, hits in cursor.fetchall()}


def count(request: HttpRequest, token_id: int | None) -> Allowance:
    """Counts this request against its token (if any) and its address; remembers the tighter
    allowance on the request for the response headers, and raises RateLimited past a limit."""
    now = timezone.now()
    window_start = now.replace(second=0, microsecond=0)
    per_token, per_address = limits()
    rules = {f"api:address:{client_ip(request) or 'unknown'}": per_address}
    if token_id is not None:
        rules[f"api:token:{token_id}"] = per_token
    counts = _count(list(rules), window_start)
    reset = max(1, int((window_start + WINDOW - now).total_seconds() + 0.999))
    allowance = min(
        (Allowance(limit, limit - counts.get(key, 1), reset) for key, limit in rules.items()),
        key=lambda a: a.remaining,
    )
    request.chorus_rate = allowance  # type: ignore[attr-defined]
    if allowance.exceeded:
        raise RateLimited(
            _("Too many requests: at most %(limit)s a minute. Try again in %(seconds)s seconds."),
            limit=allowance.limit,
            seconds=reset,
        )
    return allowance


def add_headers(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    allowance: Allowance | None = getattr(request, "chorus_rate", None)
    if allowance is not None:
        response["RateLimit-Limit"] = str(allowance.limit)
        response["RateLimit-Remaining"] = str(max(0, allowance.remaining))
        response["RateLimit-Reset"] = str(allowance.reset)
        if allowance.exceeded:
            response["Retry-After"] = str(allowance.reset)
    return response
