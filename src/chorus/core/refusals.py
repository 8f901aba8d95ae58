"""Refusals: what a person or an API client is told when an action cannot be done.

Every user-facing refusal derives from `Refused`: a stable `code` (for API clients and tests),
the parameters of its message, and the message itself, a translatable template with named
parameters formatted when it is shown (so the reader's language is used, not the language of
whoever raised it). Views show it with `chorus.core.refusals.show` (or let the middleware do it),
the API answers {"code", "message", "fields"} with `http_status` (see chorus.api.api).

Network errors have their own hierarchy (chorus.connectors.base.PublishError); this one is for
refusals of a person's or a client's request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme


class Refused(Exception):
    """An action refused with a reason the user can read (and act on)."""

    code: ClassVar[str] = "refused"
    http_status: ClassVar[int] = 409  # of the API answer and of the view's response

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        http_status: int | None = None,
        **params: Any,
    ) -> None:
        self.template = message
        self.params = params
        self.fields = fields or {}
        if code is not None:
            self.code = code  # type: ignore[misc]
        if http_status is not None:
            self.http_status = http_status  # type: ignore[misc]
        super().__init__(message)

    @property
    def message(self) -> str:
        """The message in the active language, its parameters filled in."""
        text = str(self.template)
        if self.params:
            text = text % {k: str(v) if isinstance(v, Promise) else v for k, v in self.params.items()}
        return text

    def __str__(self) -> str:
        return self.message

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "fields": {k: str(v) for k, v in self.fields.items()},
        }


class TransitionRefused(Refused):
    """The target is not in a state that allows this change (e.g. it is already publishing)."""

    code = "transition_refused"
    http_status = 409


class NotAllowed(Refused):
    """The actor's role may not do this."""

    code = "not_allowed"
    http_status = 403


class Invalid(Refused, ValueError):
    """The request itself is wrong (a missing or bad value); `fields` names the culprits. A
    ValueError too, as the refusals it replaced were."""

    code = "invalid"
    http_status = 422


def respond(request: HttpRequest, exc: Refused) -> HttpResponse:
    """The web views' one handler (chorus.accounts.access.workspace_view calls it for a refusal a
    view did not handle itself): the message, with the refusal's status; htmx gets the message
    alone, a page gets it with a link back to where the request came from."""
    if request.headers.get("HX-Request"):
        return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8")
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return render(request, "core/refused.html", {"refusal": exc, "back": back}, status=exc.http_status)
