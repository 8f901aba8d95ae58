"""Request context for the audit log: the client IP, without threading `request` through actions."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
