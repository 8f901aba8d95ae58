"""The one outgoing HTTP client: timeouts, budgets, an SSRF guard for user-typed URLs, rate-limit
headers.

Every connector request goes through `client()`; tests fake the network at this seam (httpx's
MockTransport via `set_transport_for_tests`) or point it at real local servers.

Budgets: every response is read as a stream through `_Guarded`, which stops at the byte cap of
the request's *purpose* (`api`, `page`, `media`) and at a total deadline — a 400 MB page or a
server dripping one byte every two seconds ends with `TooLarge` / `TooSlow` (both
`httpx.TransportError`, so callers' network-error handling applies), never in memory.

SSRF: a URL a user typed (a Mastodon instance, a WordPress site, a link preview, a webhook) may
only reach public addresses — unless the deployment allows private ones with
CHORUS_ALLOW_PRIVATE_URLS (tests and self-hosted intranets). The host is resolved ONCE, every
address judged (IPv6 forms that embed an IPv4 address — `::/96`, `::ffff:0:0/96`,
`64:ff9b::/96`, 6to4 `2002::/16`, Teredo `2001::/32` — by the embedded address), and the
connection is made to the checked address (TLS still verifies the name): no second resolution,
no DNS-rebinding window. Redirects are followed by hand so each hop is checked too. Refusals
never say where a name resolves.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from chorus.core.refusals import Invalid

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
USER_AGENT = "Chorus/0.1 (+https://github.com/chorus-social/chorus)"
_test_transport: httpx.BaseTransport | None = None


@dataclass(frozen=True)
class Budget:
    max_bytes: int  # of the body as it arrives
    deadline: float  # seconds for the whole exchange, body included


# Defaults per purpose; CHORUS_HTTP_BUDGETS = {"page": {"max_bytes": ..., "deadline": ...}}
# overrides them. "media" follows the library's own size limit.
BUDGETS: dict[str, Budget] = {
    "api": Budget(max_bytes=32 * 1024 * 1024, deadline=120.0),
    "page": Budget(max_bytes=5 * 1024 * 1024, deadline=20.0),
    "media": Budget(max_bytes=0, deadline=300.0),
    "image": Budget(max_bytes=20 * 1024 * 1024, deadline=60.0),  # a link card's picture
    # A long-lived stream (Mastodon's streaming API): one connection at most this long and this
    # large, then the consumer reconnects and catches up; each event has its own budget there.
    "stream": Budget(max_bytes=256 * 1024 * 1024, deadline=3600.0),
}


def budget(purpose: str) -> Budget:
    base = BUDGETS[purpose]
    if purpose == "media" and not base.max_bytes:
        base = Budget(int(getattr(settings, "CHORUS_MEDIA_MAX_BYTES", 500 * 1024 * 1024)), base.deadline)
    override = getattr(settings, "CHORUS_HTTP_BUDGETS", {}).get(purpose, {})
    return Budget(
        int(override.get("max_bytes", base.max_bytes)), float(override.get("deadline", base.deadline))
    )


class UnsafeURL(Invalid):
    """The URL points somewhere Chorus must not fetch (a private address, another scheme...)."""


class TooLarge(httpx.TransportError):
    """The answer is bigger than the purpose's byte cap; reading stopped there."""


class TooSlow(httpx.TransportError):
    """The exchange ran past the purpose's total deadline; reading stopped there."""


def set_transport_for_tests(transport: httpx.BaseTransport | None) -> None:
    global _test_transport
    _test_transport = transport


def _private_allowed() -> bool:
    return bool(getattr(settings, "CHORUS_ALLOW_PRIVATE_URLS", False))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPAT = ipaddress.ip_network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _COMPAT or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast


def _check_parts(url: str) -> Any:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL(
            _("only http and https URLs are allowed, not %(scheme)s") % {"scheme": parts.scheme or "none"}
        )
    if not parts.hostname:
        raise UnsafeURL(_("the URL has no host name"))
    if parts.username or parts.password:
        raise UnsafeURL(_("URLs with credentials in them are not allowed"))
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise UnsafeURL(_("the URL's port is not valid")) from None
    return parts


def resolve_public(host: str, port: int) -> str:
    """The one resolution of `host`: the first address, after checking that every address it
    has is public. The message never names the addresses."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_("the host %(host)s cannot be resolved") % {"host": host}) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses or not all(is_public(a) for a in addresses):
        raise UnsafeURL(
            _(
                "%(host)s is not a public address (to reach a server on a private network, such as "
                "a self-hosted PDS on 127.0.0.1, set CHORUS_ALLOW_PRIVATE_URLS=true)"
            )
            % {"host": host}
        )
    return str(addresses[0])


def check_public_url(url: str) -> str:
    """Returns the URL if it is http(s) and every address its host resolves to is public."""
    parts = _check_parts(url)
    if not _private_allowed():
        resolve_public(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, limit: Budget, deadline: float, purpose: str) -> None:
        self.inner, self.limit, self.deadline, self.purpose = inner, limit, deadline, purpose

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self.inner:
            received += len(chunk)
            if received > self.limit.max_bytes:
                raise TooLarge(too_large_message(self.limit))
            if time.monotonic() > self.deadline:
                raise TooSlow(too_slow_message(self.limit))
            yield chunk

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def too_large_message(limit: Budget) -> str:
    return _("the answer is larger than the %(mb)s MB allowed") % {
        "mb": f"{limit.max_bytes / (1024 * 1024):g}"
    }


def too_slow_message(limit: Budget) -> str:
    return _("the answer took longer than the %(seconds)s seconds allowed") % {
        "seconds": f"{limit.deadline:g}"
    }


class _Guarded(httpx.BaseTransport):
    """Budgets on every response; for user-typed URLs, the connection pinned to the address
    that was checked."""

    def __init__(self, inner: httpx.BaseTransport, *, purpose: str, pin: bool, user_url: bool) -> None:
        self.inner, self.purpose, self.pin, self.user_url = inner, purpose, pin, user_url

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limit = budget(self.purpose)
        deadline = time.monotonic() + limit.deadline
        if self.user_url:
            _check_parts(str(request.url))
        if self.pin:
            host = request.url.host
            address = resolve_public(host, request.url.port or (443 if request.url.scheme == "https" else 80))
            if address != host:
                # A copy: the caller's request (and so response.url) keeps the name.
                extensions = dict(request.extensions)
                if request.url.scheme == "https":
                    extensions["sni_hostname"] = host
                request = httpx.Request(
                    request.method,
                    request.url.copy_with(host=address),
                    headers=request.headers,
                    stream=request.stream,
                    extensions=extensions,
                )
        # No single read may outlast the whole budget.
        timeouts = dict(request.extensions.get("timeout") or {})
        if timeouts:
            timeouts["read"] = min(timeouts.get("read") or limit.deadline, limit.deadline)
            request.extensions = {**request.extensions, "timeout": timeouts}
        response = self.inner.handle_request(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit.max_bytes:
            response.close()
            raise TooLarge(too_large_message(limit), request=request)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if self.user_url and encoding not in ("", "identity"):
            # We asked for identity: a compressed answer could expand past any cap.
            response.close()
            raise TooLarge(_("the site sent a compressed answer that was not asked for"), request=request)
        response.stream = _BoundedStream(response.stream, limit, deadline, self.purpose)
        return response

    def close(self) -> None:
        self.inner.close()


def _pins(user_url: bool) -> bool:
    return user_url and _test_transport is None and not _private_allowed()


def client(*, user_url: bool = False, purpose: str = "api", **kwargs: Any) -> httpx.Client:
    """An httpx client with Chorus's timeouts, user agent and the byte cap and deadline of
    `purpose`. `user_url=True` for hosts a user typed: the SSRF guard runs on every request and
    the connection goes to the checked address; redirects are then not followed automatically
    (use `request_public`)."""
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    if user_url:
        headers.setdefault("Accept-Encoding", "identity")
    own = kwargs.pop("transport", None)
    inner = _test_transport if _test_transport is not None else own or httpx.HTTPTransport()
    pin = _pins(user_url)
    transport = _Guarded(inner, purpose=purpose, pin=pin, user_url=user_url)
    return httpx.Client(headers=headers, follow_redirects=not user_url, transport=transport, **kwargs)


def request_public(
    method: str, url: str, *, max_redirects: int = 5, purpose: str = "page", **kwargs: Any
) -> httpx.Response:
    """A request to a user-typed URL, each redirect hop checked by the SSRF guard, the answer
    read within `purpose`'s byte cap and deadline."""
    with client(user_url=True, purpose=purpose) as http:
        for _hop in range(max_redirects + 1):
            if not _pins(True):
                check_public_url(url)  # otherwise the transport checks the address it connects to
            response = http.request(method, url, **kwargs)
            if response.is_redirect and "location" in response.headers:
                url = str(response.url.join(response.headers["location"]))
                method = "GET" if response.status_code in (301, 302, 303) else method
                continue
            return response
    raise UnsafeURL(_("too many redirects"))


# Failures where nothing reached the host: the connection was refused, the name did not resolve,
# connecting (or waiting for a pooled connection) timed out. Never "maybe sent".
NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def host_of(failure: httpx.HTTPError, fallback: str = "") -> str:
    """The host of a failed request as people know it (`pds.example:2583`; the port only when
    it is not the scheme's default), or `fallback` when the failure carries no request."""
    try:
        url = failure.request.url
    except RuntimeError:
        return fallback
    return url_host(url, fallback)


def url_host(url: httpx.URL, fallback: str = "") -> str:
    """`host:port` of `url`, the port only when it is not the scheme's default."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return f"{url.host}:{url.port}" if url.port and url.port != default else str(url.host or fallback)


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


# --- no secrets in logs ------------------------------------------------------------------------

#: Query parameters whose values are secrets: several networks take tokens in the URL (Meta's
#: Graph API `access_token`, its code exchange `client_secret`, `fb_exchange_token`, `code`...).
SECRET_QUERY_KEYS = frozenset(
    {
        "access_token", "client_secret", "fb_exchange_token", "code", "refresh_token", "token",
        "input_token", "appsecret_proof", "key", "api_key", "password", "secret", "signature",
    }
)  # fmt: skip


def redact_url(url: object) -> str:
    """`url` with the values of secret query parameters replaced by `[redacted]`."""
    parsed = httpx.URL(str(url))
    if not parsed.query:
        return str(parsed)
    pairs = [
        (name, "[redacted]" if name.lower() in SECRET_QUERY_KEYS else value)
        for name, value in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=pairs)).replace("%5Bredacted%5D", "[redacted]")


class RedactSecrets(logging.Filter):
    """On the `httpx` logger (settings.LOGGING): its one INFO line per request carries the full
    URL, and with it any token passed in the query. The line is kept, the secrets are not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True
