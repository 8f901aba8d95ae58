"""The one outgoing HTTP client: timeouts, an SSRF guard for user-typed URLs, rate-limit headers.

Every connector request goes through `client()`; tests fake the network at this seam (httpx's
MockTransport via `set_transport_for_tests`) or point it at real local servers.

SSRF: a URL a user typed (a Mastodon instance, a WordPress site, a link preview, a webhook) may
only reach public addresses — unless the deployment allows private ones with
CHORUS_ALLOW_PRIVATE_URLS (tests and self-hosted intranets). The check resolves the host and
refuses loopback, private, link-local, multicast and reserved addresses; redirects are followed
by hand so each hop is checked too.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from chorus.core.refusals import Invalid

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
USER_AGENT = "Chorus/0.1 (+https://github.com/chorus-social/chorus)"
_test_transport: httpx.BaseTransport | None = None


class UnsafeURL(Invalid):
    """The URL points somewhere Chorus must not fetch (a private address, another scheme...)."""


def set_transport_for_tests(transport: httpx.BaseTransport | None) -> None:
    global _test_transport
    _test_transport = transport


def _private_allowed() -> bool:
    return bool(getattr(settings, "CHORUS_ALLOW_PRIVATE_URLS", False))


def check_public_url(url: str) -> str:
    """Returns the URL if it is http(s) and every address its host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL(f"only http and https URLs are allowed, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host name")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials in them are not allowed")
    if _private_allowed():
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror:
        raise UnsafeURL(f"the host {parts.hostname!r} cannot be resolved") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise UnsafeURL(f"{parts.hostname} resolves to a non-public address ({address})")
    return url


def client(*, user_url: bool = False, **kwargs: Any) -> httpx.Client:
    """An httpx client with Chorus's timeouts and user agent. `user_url=True` for hosts a user
    typed: redirects are then not followed automatically (use `get_public`)."""
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    if _test_transport is not None:
        kwargs["transport"] = _test_transport
    return httpx.Client(headers=headers, follow_redirects=not user_url, **kwargs)


def request_public(method: str, url: str, *, max_redirects: int = 5, **kwargs: Any) -> httpx.Response:
    """A request to a user-typed URL, each redirect hop checked by the SSRF guard."""
    with client(user_url=True) as http:
        for _hop in range(max_redirects + 1):
            check_public_url(url)
            response = http.request(method, url, **kwargs)
            if response.is_redirect and "location" in response.headers:
                url = str(response.url.join(response.headers["location"]))
                method = "GET" if response.status_code in (301, 302, 303) else method
                continue
            return response
    raise UnsafeURL("too many redirects")


def retry_after_seconds(response: httpx.Response, default: float = 60.0) -> float:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or common rate-limit reset
    headers (x-ratelimit-reset / ratelimit-reset as epoch seconds or delta)."""
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    for header in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        reset = response.headers.get(header)
        if not reset:
            continue
        try:
            number = float(reset)
        except ValueError:
            try:
                when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
                return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
            except ValueError:
                continue
        now = dt.datetime.now(dt.UTC).timestamp()
        return max(0.0, number - now) if number > 1e9 else number
    return default
