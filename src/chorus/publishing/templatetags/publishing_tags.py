from __future__ import annotations

from django import template
from django.http import HttpRequest

from chorus.accounts.permissions import Perm, can

register = template.Library()


@register.filter
def may_create_post(request: HttpRequest) -> bool:
    """For the header's one "New post" link: the request's workspace role may write posts."""
    membership = getattr(request, "membership", None)
    return membership is not None and can(membership.role, Perm.CREATE_POST)
