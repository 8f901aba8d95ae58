"""Request context for the audit log: the client IP, without threading `request` through actions."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException

_client_ip: ContextVar[str | None] = ContextVar("chorus_audit_client_ip", default=None)


def current_ip() -> str | None:
    """The IP of the web request being served, or None outside a request (worker, scheduler, shell)."""
    return _client_ip.get()


def _valid(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or — only behind CHORUS_TRUSTED_PROXY_COUNT trusted proxies — the address those
    proxies saw, read from the right of X-Forwarded-For (left entries are client-supplied and forgeable)."""
    remote = _valid(str(request.META.get("REMOTE_ADDR", "")))
    proxies = int(getattr(settings, "CHORUS_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote
    hops = [h for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    if len(hops) < proxies:
        return remote
    return _valid(hops[-proxies]) or remote


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _out_of_range(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT64_MIN <= value <= INT64_MAX
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-+").isdigit() and len(text) < 4300:
            return _out_of_range(int(text))
    return False


def _json_fields(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_fields(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_fields(item, f"{path}[{index}]")
    else:
        yield path, value


def _fields(request: HttpRequest, view_kwargs: dict[str, object]) -> Iterator[tuple[str, str, object]]:
    """(where, name, value) of everything a client sent: path, query, form or JSON body."""
    for name, value in view_kwargs.items():
        yield "path", name, value
    for name, values in request.GET.lists():
        for value in values:
            yield "query", name, value
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_type != "application/json":
        # A form or multipart upload: what Django already parsed (reading `request.body` after a
        # multipart upload was read raises RawPostDataException).
        for name, values in request.POST.lists():
            for value in values:
                yield "body", name, value
        return
    import json

    try:
        raw = request.body
    except RawPostDataException:
        return
    if len(raw) > 1024 * 1024:
        return
    try:
        body = json.loads(raw)
    except ValueError:
        return
    for name, value in _json_fields(body):
        yield "body", name, value


class NumbersInRangeMiddleware:
    """Integers beyond 64 bits never reach the database (SQLite raises OverflowError, PostgreSQL
    a DataError): a path id out of range is refused before the view; a query or body number that
    overflows is answered 400 (pages) or 422 (API) naming the field — never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: object, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> HttpResponse | None:
        for name, value in kwargs.items():
            if _out_of_range(value):
                return _refusal(request, "path", name)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import DataError

        if not isinstance(exception, (OverflowError, DataError)):
            return None
        kwargs = request.resolver_match.kwargs if request.resolver_match else {}
        for where, name, value in _fields(request, kwargs):
            if _out_of_range(value):
                return _refusal(request, where, name)
        return None


def _refusal(request: HttpRequest, where: str, name: str) -> HttpResponse:
    from django.http import HttpResponseBadRequest, JsonResponse
    from django.utils.translation import gettext as _

    message = _("%(field)s is out of range (at most %(max)s).") % {"field": name, "max": INT64_MAX}
    if request.path.startswith("/api/"):
        detail = {"loc": [where, *name.split(".")], "msg": message, "type": "value_error"}
        body = {"code": "out_of_range", "message": message, "fields": {name: message}, "detail": [detail]}
        return JsonResponse(body, status=422)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
