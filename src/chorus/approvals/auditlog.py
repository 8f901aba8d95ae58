"""The audit trail page's filters and CSV export (read-only: the log is never edited here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.utils.text import capfirst

from chorus.accounts.models import Workspace
from chorus.core.models import AuditEvent
from chorus.core.spreadsheet import safe_cell
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


def object_type_label(value: str) -> str:
    """The name people read for a stored object type: 'content.post' → 'Post' ('Publication' in
    French), from the model's verbose_name. The stored value stays the technical one: it is what
    the filter parameter and the CSV export carry. A type without a model, or whose model has no
    translated name of its own, is shown as stored rather than as an English guess."""
    try:
        model = apps.get_model(value)
    except (LookupError, ValueError):
        return value
    if "verbose_name" not in model._meta.original_attrs:
        return value
    return str(capfirst(model._meta.verbose_name))


def object_type_choices(values: Iterable[str]) -> list[tuple[str, str]]:
    """(stored value, label) for the filter's options, in the reader's alphabetical order."""
    return sorted(((value, object_type_label(value)) for value in values), key=lambda pair: pair[1].lower())


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
            safe_cell(v)
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
