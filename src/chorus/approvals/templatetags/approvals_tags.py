from __future__ import annotations

from django import template
from django.http import HttpRequest

from chorus.accounts.permissions import Perm, can
from chorus.approvals.auditlog import object_type_label as _object_type_label
from chorus.core.auditlabels import event_label as _event_label

register = template.Library()


@register.filter
def may_view_audit(request: HttpRequest) -> bool:
    """For the nav: the request's workspace role (set by workspace_view) may read the audit log."""
    membership = getattr(request, "membership", None)
    return membership is not None and can(membership.role, Perm.VIEW_AUDIT_LOG)


@register.filter
def object_type_label(value: str) -> str:
    """'content.post' → 'Post' in the reader's language (see auditlog.object_type_label)."""
    return _object_type_label(value)


@register.filter
def event_label(value: str) -> str:
    """'target.scheduled' → 'Scheduled' in the reader's language (see core.auditlabels)."""
    return _event_label(value)
