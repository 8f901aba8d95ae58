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
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.errors import HttpError

from chorus.accounts.access import membership_for
from chorus.accounts.models import ApiToken, User
from chorus.accounts.permissions import Perm, Scope, can, scope_allows, scope_needed
from chorus.api import ratelimit
from chorus.core.refusals import Refused

AUTHENTICATED = "authenticated"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotAuthenticated(Refused):
    code = "not_authenticated"
    http_status = 401


class TokenExpired(NotAuthenticated):
    code = "token_expired"


class ScopeRefused(Refused):
    code = "token_scope"
    http_status = 403


class TwoFactorMissing(Refused):
    """The owner's organization requires two-factor sign-in and the owner has not set it up: the
    token is refused, as the pages are (accounts.middleware.TwoFactorRequiredMiddleware), until
    they do; it is not revoked."""

    code = "two_factor_required"
    http_status = 403


def _csrf_ok(request: HttpRequest) -> bool:
    check = CsrfViewMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]  # only process_view is used
    return check.process_view(request, lambda r: None, (), {}) is None  # type: ignore[arg-type,return-value]


def _token_user(request: HttpRequest, raw: str, perm: Perm | None) -> User:
    """The token's owner, once the request is counted against its rate limits and the token is
    live and scoped for this operation (`scope_needed`); otherwise a refusal that says why."""
    token = ApiToken.find(raw) if raw.startswith(ApiToken.PREFIX) else None
    live = token is not None and token.is_live
    ratelimit.count(request, token.pk if token is not None and live else None)
    if token is None or token.revoked_at is not None or not token.user.is_active:
        raise NotAuthenticated(_("This API token is unknown or was revoked."), code="token_invalid")
    if not live:
        raise TokenExpired(
            _("This API token expired on %(date)s (UTC); create a new one under Account → API tokens."),
            date=token.expires_at.strftime("%Y-%m-%d %H:%M") if token.expires_at else "",
        )
    if getattr(token, "owner_needs_two_factor", False) and not token.user.two_factor_enabled:
        raise TwoFactorMissing(
            _(
                "Your organization requires two-factor sign-in, and it is not on for your account. "
                "Sign in to Chorus and set it up under Account → Two-factor sign-in (/accounts/two-factor/); "
                "this token works "
                "again as soon as it is on."
            )
        )
    needed = scope_needed(request.method or "GET", perm)
    if not scope_allows(token.scope, needed):
        raise ScopeRefused(
            _("This token's scope is “%(scope)s”; this operation needs “%(needed)s”."),
            scope=Scope(token.scope).label,
            needed=needed.label,
        )
    token.touch()
    request.api_token = token  # type: ignore[attr-defined]
    return token.user  # type: ignore[return-value]


def authenticate(request: HttpRequest, perm: Perm | None = None) -> User | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _token_user(request, header.removeprefix("Bearer ").strip(), perm)
    ratelimit.count(request, None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if request.method not in _SAFE_METHODS and not _csrf_ok(request):
            raise HttpError(403, "CSRF check failed; send the X-CSRFToken header or use a bearer token.")
        return user  # type: ignore[no-any-return]
    return None


class UserAuth:
    """Any signed-in user (for /me and the list of one's own workspaces)."""

    permission: Perm | str = AUTHENTICATED

    def __call__(self, request: HttpRequest) -> User | None:
        perm = self.permission if isinstance(self.permission, Perm) else None
        user = authenticate(request, perm)
        if user is None:
            raise NotAuthenticated(_("Send a personal API token (Authorization: Bearer …) or sign in."))
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


# The one body of every 4xx answer (refusals, validation errors, authentication, tenancy).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "required": ["code", "message", "fields"],
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable, for programs: `not_found`, `token_scope`, `invalid`…",
        },
        "message": {"type": "string", "description": "For people, in the token owner's language."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "The invalid fields (dotted locations) and why; empty when no field is at fault.",
        },
        "detail": {
            "description": "The message again, or the list of validation errors (kept for older clients)."
        },
    },
}

_RATE_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window ends.", "schema": {"type": "integer"}},
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
    if headers:
        response["headers"] = headers
    return response


# The refusals every authenticated operation may answer, declared once so the OpenAPI document
# lists every 4xx the API returns (schemathesis checks it in tests/security/test_api_fuzz.py).
COMMON_ERRORS: dict[int, dict[str, Any]] = {
    400: _error("The request is refused; the message says why."),
    401: _error("No valid token or session (`not_authenticated`, `token_invalid`, `token_expired`)."),
    403: _error(
        "Your role, or the token's scope (`token_scope`), does not allow this, the token's owner must "
        "first turn on the two-factor sign-in their organization requires (`two_factor_required`), "
        "or the CSRF check failed."
    ),
    404: _error("No such object in this workspace."),
    409: _error("The object's state does not allow this now."),
    422: _error("A parameter or the body is invalid; `fields` names each field and why."),
    429: _error(
        "Too many requests (`rate_limited`): per token and per client address, each a minute.",
        {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}, **_RATE_HEADERS},
    ),
}
RATE_HEADERS = _RATE_HEADERS


class ErrorOut(Schema):
    """The one error body as a schema, for an operation's `response=` map (a 4xx beyond
    COMMON_ERRORS, e.g. 413)."""

    code: str
    message: str
    fields: dict[str, str]
    detail: Any = None


def ws_perm(perm: Perm, *, responses: dict[int, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for a workspace operation: `@router.get("/...", **ws_perm(Perm.X))`.
    `responses` adds OpenAPI response objects (e.g. a 200 that is a file, not JSON)."""
    return {
        "auth": WorkspaceAuth(perm),
        "openapi_extra": {
            "x-chorus-permission": str(perm),
            "responses": {**COMMON_ERRORS, **(responses or {})},
        },
    }


def user_op() -> dict[str, Any]:
    return {
        "auth": UserAuth(),
        "openapi_extra": {"x-chorus-permission": AUTHENTICATED, "responses": dict(COMMON_ERRORS)},
    }
