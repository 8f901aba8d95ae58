"""The audit log: one call, used by every action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from chorus.core.middleware import current_ip
from chorus.core.models import AuditEvent

if TYPE_CHECKING:
    from chorus.accounts.models import User, Workspace


def record(
    action: str,
    *,
    workspace: Workspace | None,
    actor: User | None = None,
    obj: models.Model | None = None,
    **data: Any,
) -> AuditEvent:
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data,
        ip=current_ip(),
    )


def record_raw(
    action: str, *, workspace_id: int | None, object_type: str, object_id: str, **data: Any
) -> AuditEvent:
    """For engine paths that hold ids, not objects."""
    return AuditEvent.objects.create(
        workspace_id=workspace_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data,
        ip=current_ip(),
    )
