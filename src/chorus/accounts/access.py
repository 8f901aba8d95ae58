"""Tenancy for web views: resolve the workspace from the URL, 404 for non-members, 403 by role.

Every workspace view is wrapped by `workspace_view(perm)`; the tenancy walker test reads the
`chorus_permission` attribute this sets, so an unwrapped view under /w/ fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed

from chorus.accounts.models import Membership, Organization, User, Workspace
from chorus.accounts.permissions import Perm, Role, can
from chorus.core import refusals
from chorus.core.refusals import Refused

View = Callable[..., HttpResponse]


def membership_for(user: Any, slug: str) -> Membership:
    """The user's membership of the workspace `slug`, or 404 — also when the workspace exists
    but the user is not in it, so another tenant's workspaces cannot be discovered."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("workspace", "workspace__organization")
        .filter(workspace__slug=slug, user=user)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def workspace_view(perm: Perm, methods: tuple[str, ...] = ("GET", "POST")) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(request.user, slug)
            if not can(membership.role, perm):
                raise PermissionDenied
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except Refused as exc:  # one handler for every refusal a view leaves to it
                return refusals.respond(request, exc)

        wrapper.chorus_permission = perm  # type: ignore[attr-defined]
        return wrapper

    return decorator


def workspace_of(request: HttpRequest) -> Workspace:
    return request.workspace  # type: ignore[attr-defined,no-any-return]


def membership_of(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def current_user(request: HttpRequest) -> User:
    """The signed-in user, typed (views behind login_required only)."""
    user = request.user
    assert isinstance(user, User), "current_user() needs a signed-in user"
    return user


def creatable_organizations(user: User) -> QuerySet[Organization]:
    """Where `user` may create workspaces: staff anywhere; the owner of a workspace in an
    organization may add more there (the page and the API ask the same)."""
    if user.is_staff:
        return Organization.objects.order_by("name")
    return (
        Organization.objects.filter(
            workspaces__memberships__user=user, workspaces__memberships__role=Role.OWNER
        )
        .distinct()
        .order_by("name")
    )
