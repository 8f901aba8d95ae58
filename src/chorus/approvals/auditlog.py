"""The audit trail page's filters and CSV export (read-only: the log is never edited here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from chorus.accounts.models import Workspace
from chorus.core.models import AuditEvent
from chorus.core.timeutil import to_local

COLUMNS = ["time", "actor", "action", "object_type", "object_id", "data", "ip"]


def filtered(workspace: Workspace, params: dict[str, Any]) -> QuerySet[AuditEvent]:
    rows = AuditEvent.objects.filter(workspace=workspace).select_related("actor").order_by("-at", "-pk")
    if params.get("actor"):
        rows = rows.filter(actor_id=params["actor"])
    if params.get("action"):
        rows = rows.filter(action__startswith=params["action"])
    if params.get("object_type"):
        rows = rows.filter(object_type=params["object_type"])
    if params.get("object_id"):
        rows = rows.filter(object_id=params["object_id"])
    if params.get("since"):
        rows = rows.filter(at__date__gte=params["since"])
    if params.get("until"):
        rows = rows.filter(at__date__lte=params["until"])
    return rows


def parse(raw: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Query-string filters, with the ones that do not parse named (and ignored)."""
    params: dict[str, Any] = {}
    bad: list[str] = []
    for key in ("action", "object_type", "object_id"):
        if raw.get(key):
            params[key] = raw[key].strip()[:80]
    if raw.get("actor"):
        if raw["actor"].isdigit():
            params["actor"] = int(raw["actor"])
        else:
            bad.append("actor")
    for key in ("since", "until"):
        if raw.get(key):
            try:
                params[key] = dt.date.fromisoformat(raw[key])
            except ValueError:
                bad.append(key)
    return params, bad


def csv_rows(events: Iterable[AuditEvent], tz_name: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(COLUMNS)
    yield flush()
    for event in events.iterator() if isinstance(events, QuerySet) else events:
        writer.writerow(
            _cell(v)
            for v in [
                to_local(event.at, tz_name).isoformat(timespec="seconds"),
                event.actor.email if event.actor else "",
                event.action,
                event.object_type,
                event.object_id,
                json.dumps(event.data, sort_keys=True, default=str),
                event.ip or "",
            ]
        )
        yield flush()


def _cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; a leading quote keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
