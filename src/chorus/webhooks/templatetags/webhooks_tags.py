from __future__ import annotations

from django import template
from django.http import HttpRequest

from chorus.accounts.permissions import Perm, can

register = template.Library()


@register.filter
def may_manage_webhooks(request: HttpRequest) -> bool:
    """For the nav: the request's workspace role (set by workspace_view) may manage webhooks."""
    membership = getattr(request, "membership", None)
    return membership is not None and can(membership.role, Perm.MANAGE_WORKSPACE)
