"""A local 'network' for tests and benchmarks: publishing writes a row to SinkPost.

Channel config controls it:
  latency_ms     simulated network latency per request (default 0)
  fault_rate     probability of injecting a fault per publish request (default 0)
  faults         which faults: "429" (Retry-After), "500" (refused before commit),
                 "timeout_before" (connect timeout, nothing sent), "timeout_after" (the post IS
                 created, then the response is lost)
  retry_after    seconds announced by the 429 (default 1)
  unreachable    every request fails as if the host refused the connection (Unreachable, host
                 "sink.invalid:4430"); the request is still counted (SinkRequest, fault
                 "unreachable") so tests see how often the host was asked
  reject_words   texts containing one of these are rejected permanently (ContentRejected)
  idempotent     dedupe creates by marker like Mastodon's Idempotency-Key (default false: the
                 harder case, where only our no-blind-retry rule prevents duplicates)
It supports LOOKUP by marker, like searching an account's recent posts.

CHORUS_SINK_MAX_CONCURRENCY (environment, read at import) gives the sink a network concurrency
cap like Bluesky's 4, for tests of what holds the cap (a crashed worker's sends).
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any, ClassVar

from django.db import connections, router, transaction
from django.utils import timezone

from chorus.connectors.base import (
    Connector,
    ContentRejected,
    Feature,
    OutcomeUnknown,
    PublishResult,
    RateLimited,
    Transient,
    Unreachable,
)
from chorus.content.models import PostTarget
from tests.sink.models import SinkPost, SinkRequest

ALL_FAULTS = ("429", "500", "timeout_before", "timeout_after")


def _db() -> str:
    return router.db_for_write(SinkPost) or "default"


def _insert(model: type, columns: tuple[str, ...]) -> str:
    connection = connections[_db()]
    table = connection.ops.quote_name(model._meta.db_table)  # type: ignore[attr-defined]
    returning = "" if connection.vendor == "sqlite" else " RETURNING id"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}){returning}"
    )


class _GroupCommit:
    """The sink "server" commits the requests that arrive together in one transaction (group
    commit, as a database-backed service does under load); each caller returns once its own
    request is durable. The first caller to find no write under way writes, batch after batch,
    until the queue is empty; the others wait for their own request only. A lone request
    commits alone. Without it, dozens of publish threads writing at once measured SQLite's write
    lock, not the engine."""

    def __init__(self) -> None:
        self._queue: list[_Request] = []
        self._lock = threading.Lock()
        self._writing = False

    def apply(self, request: _Request) -> int | None:
        with self._lock:
            self._queue.append(request)
            lead = not self._writing
            self._writing = True
        if lead:
            while True:
                with self._lock:
                    batch, self._queue = self._queue, []
                    if not batch:
                        self._writing = False
                        break
                self._write(batch)
        else:
            request.written.wait()
        if request.error is not None:
            raise request.error
        return request.post_id

    @staticmethod
    def _write(batch: list[_Request]) -> None:
        try:
            connection = connections[_db()]
            now = SinkPost._meta.get_field("created_at").get_db_prep_value(timezone.now(), connection)
            if _plain_sqlite(batch):
                _write_sqlite(batch, now)
            else:
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    for request in batch:
                        request.post_id = request.write(cursor, now)
        except Exception as exc:
            for request in batch:
                request.error = exc
        finally:
            for request in batch:
                request.written.set()


def _plain_sqlite(batch: list[_Request]) -> bool:
    """SQLite outside any transaction of Django's (not inside a test's), no idempotent channel:
    the batch goes straight through the sqlite3 connection; the ORM's transaction and cursor
    wrappers about doubled the sink's cost per request."""
    connection = connections[_db()]
    return (
        connection.vendor == "sqlite"
        and connection.get_autocommit()
        and not connection.in_atomic_block
        and not any(request.connector._config("idempotent", False) for request in batch)
    )


def _write_sqlite(batch: list[_Request], now: Any) -> None:
    connection = connections[_db()]
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("BEGIN IMMEDIATE")
    try:
        cursor = raw.cursor()
        for request in batch:
            request.post_id = request.write(cursor, now, (_SQLITE_REQUEST, _SQLITE_POST))
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise


class _Request:
    def __init__(self, connector: SinkConnector, target: PostTarget, marker: str, fault: str, accepts: bool):
        self.connector, self.target, self.marker, self.fault, self.accepts = (
            connector,
            target,
            marker,
            fault,
            accepts,
        )
        self.post_id: int | None = None
        self.error: Exception | None = None
        self.written = threading.Event()

    def write(self, cursor: Any, now: Any, statements: tuple[str, str] | None = None) -> int | None:
        """The request row, and the post when accepted, on `cursor` (Django's, or the raw sqlite3
        one with `statements` in its placeholder style)."""
        insert_request, insert_post = statements or (_INSERT_REQUEST, _INSERT_POST)
        channel_id, target = self.connector.channel.pk, self.target
        cursor.execute(insert_request, [channel_id, target.pk, self.fault, now])
        if not self.accepts:
            return None
        if self.connector._config("idempotent", False):
            existing = SinkPost.objects.filter(marker=self.marker).values_list("pk", flat=True).first()
            if existing is not None:
                return int(existing)
        cursor.execute(insert_post, [channel_id, self.marker, target.pk, target.text, now])
        return int(cursor.lastrowid) if connections[_db()].vendor == "sqlite" else int(cursor.fetchone()[0])


_WRITES = _GroupCommit()
_INSERT_REQUEST = _insert(SinkRequest, ("channel_id", "target_id", "fault", "at"))
_INSERT_POST = _insert(SinkPost, ("channel_id", "marker", "target_id", "text", "created_at"))
_SQLITE_REQUEST = _INSERT_REQUEST.replace("%s", "?")
_SQLITE_POST = _INSERT_POST.replace("%s", "?")


class SinkConnector(Connector):
    kind = "sink"
    label = "Local sink (tests)"
    features = frozenset({Feature.LOOKUP})
    max_text_length = 500
    # A local table: no network to protect, unless a test gives it a cap.
    max_concurrency = int(os.environ.get("CHORUS_SINK_MAX_CONCURRENCY", "0")) or None
    quotas: ClassVar = ()

    def _config(self, key: str, default: object) -> object:
        return self.channel.config.get(key, default)

    def waits(self) -> bool:
        return float(self._config("latency_ms", 0)) > 0  # type: ignore[arg-type]

    def publish(self, target: PostTarget) -> PublishResult:
        # The whole round trip before the sink commits: SinkPost.created_at, when the "network"
        # accepted the post, is then never earlier than a real network could have.
        latency = float(self._config("latency_ms", 0)) / 1000  # type: ignore[arg-type]
        fault = ""
        rate = float(self._config("fault_rate", 0))  # type: ignore[arg-type]
        if rate and random.random() < rate:
            fault = random.choice(list(self._config("faults", ALL_FAULTS)))  # type: ignore[arg-type]
        if self._config("unreachable", False):
            fault = "unreachable"
        if latency:
            time.sleep(latency)
        marker = self.idempotency_key(target)
        rejected = next((w for w in self._config("reject_words", []) if w in target.text), None)  # type: ignore[attr-defined]
        accepts = fault in ("", "timeout_after") and rejected is None
        post_id = self._record(target, marker, fault, accepts)
        if fault == "429":
            raise RateLimited("sink: too many requests", retry_after=float(self._config("retry_after", 1)))  # type: ignore[arg-type]
        if fault == "unreachable":
            raise Unreachable("sink: connection refused by sink.invalid:4430", host="sink.invalid:4430")
        if fault == "500":
            raise Transient("sink: HTTP 500 before commit")
        if fault == "timeout_before":
            raise Transient("sink: connect timeout (nothing sent)")
        if rejected is not None:
            raise ContentRejected(f"sink: the text contains the forbidden word “{rejected}”")
        if fault == "timeout_after":
            raise OutcomeUnknown("sink: read timeout after the request was sent")
        return PublishResult(external_id=str(post_id), url=f"http://sink.invalid/p/{post_id}")

    def _record(self, target: PostTarget, marker: str, fault: str, accepts: bool) -> int | None:
        """The sink's side of a request: the request row, and the post when it is accepted."""
        return _WRITES.apply(_Request(self, target, marker, fault, accepts))

    def lookup(self, target: PostTarget) -> PublishResult | None:
        post = SinkPost.objects.filter(marker=self.idempotency_key(target)).order_by("pk").first()
        if post is None:
            return None
        return PublishResult(external_id=str(post.pk), url=f"http://sink.invalid/p/{post.pk}")
