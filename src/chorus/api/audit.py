"""The workspace's audit log, read-only: filtered by action (prefix), actor, object and date,
paged with limit/offset (newest first)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.approvals import auditlog

router = Router(tags=["audit"])
MAX_LIMIT = 500


class AuditFilters(Schema):
    action: str | None = None  # prefix: "target." matches every post move
    actor: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    limit: int = 100
    offset: int = 0


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    action: str
    actor_id: int | None
    actor_email: str | None
    object_type: str
    object_id: str
    data: dict[str, Any]
    ip: str | None


class AuditPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AuditEventOut]


@router.get("/workspaces/{slug}/audit", response=AuditPage, **ws_perm(Perm.VIEW_AUDIT_LOG))
def list_audit_events(request: HttpRequest, slug: str, filters: Query[AuditFilters]) -> dict[str, Any]:
    params = {k: v for k, v in filters.dict().items() if k not in ("limit", "offset") and v not in (None, "")}
    rows = auditlog.filtered(workspace_of(request), params)
    limit, offset = max(1, min(filters.limit, MAX_LIMIT)), max(0, filters.offset)
    items = [
        {
            "id": e.pk,
            "at": e.at,
            "action": e.action,
            "actor_id": e.actor_id,
            "actor_email": e.actor.email if e.actor else None,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "data": e.data,
            "ip": e.ip,
        }
        for e in rows[offset : offset + limit]
    ]
    return {"count": rows.count(), "limit": limit, "offset": offset, "items": items}
