"""API authentication and tenancy.

A request authenticates with a personal token (`Authorization: Bearer chorus_…`) or the browser
session (CSRF checked on unsafe methods). Workspace operations declare their permission with
`ws_perm(perm)`: the auth callable resolves the workspace from the path, so another tenant's
workspace is a 404 and a role without the permission a 403, before any body is parsed. The same
permission is published in the OpenAPI document as `x-chorus-permission`, which the tenancy test
reads to cover every operation.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from ninja.errors import AuthenticationError, HttpError

from chorus.accounts.access import membership_for
from chorus.accounts.models import ApiToken, User
from chorus.accounts.permissions import Perm, can

AUTHENTICATED = "authenticated"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _csrf_ok(request: HttpRequest) -> bool:
    check = CsrfViewMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]  # only process_view is used
    return check.process_view(request, lambda r: None, (), {}) is None  # type: ignore[arg-type,return-value]


def authenticate(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return ApiToken.authenticate(header.removeprefix("Bearer ").strip())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if request.method not in _SAFE_METHODS and not _csrf_ok(request):
            raise HttpError(403, "CSRF check failed; send the X-CSRFToken header or use a bearer token.")
        return user  # type: ignore[no-any-return]
    return None


class UserAuth:
    """Any signed-in user (for /me and the list of one's own workspaces)."""

    permission = AUTHENTICATED

    def __call__(self, request: HttpRequest) -> User | None:
        user = authenticate(request)
        if user is None:
            raise AuthenticationError()
        return user


class WorkspaceAuth(UserAuth):
    def __init__(self, perm: Perm) -> None:
        self.permission = perm

    def __call__(self, request: HttpRequest) -> User | None:
        user = super().__call__(request)
        slug = request.resolver_match.kwargs.get("slug") if request.resolver_match else None
        if slug is None:
            raise HttpError(500, "workspace operation without a {slug} path parameter")
        try:
            membership = membership_for(user, slug)
        except Exception:
            raise HttpError(404, "Not found") from None
        if not can(membership.role, self.permission):  # type: ignore[arg-type]
            raise HttpError(403, "Your role in this workspace does not allow this.")
        request.workspace = membership.workspace  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        return user


def _error(description: str) -> dict[str, Any]:
    # Any JSON object: django-ninja's {"detail": …} today; the body's shape is the error
    # handler's business, the status code is what the schema promises.
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


# The refusals every authenticated operation may answer, declared once so the OpenAPI document
# lists every 4xx the API returns (schemathesis checks it in tests/security/test_api_fuzz.py).
COMMON_ERRORS: dict[int, dict[str, Any]] = {
    400: _error("The request is refused; the message says why."),
    401: _error("No valid token or session."),
    403: _error("Your role does not allow this (or the CSRF check failed)."),
    404: _error("No such object in this workspace."),
    409: _error("The object's state does not allow this now."),
    422: _error("A parameter or the body is invalid; `detail` names the field."),
}


def ws_perm(perm: Perm) -> dict[str, Any]:
    """Keyword arguments for a workspace operation: `@router.get("/...", **ws_perm(Perm.X))`."""
    return {
        "auth": WorkspaceAuth(perm),
        "openapi_extra": {"x-chorus-permission": str(perm), "responses": dict(COMMON_ERRORS)},
    }


def user_op() -> dict[str, Any]:
    return {
        "auth": UserAuth(),
        "openapi_extra": {"x-chorus-permission": AUTHENTICATED, "responses": dict(COMMON_ERRORS)},
    }
