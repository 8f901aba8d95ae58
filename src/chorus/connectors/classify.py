"""The one `classify()`: an HTTP answer of a network → an error of the contract (base.py), or None.

Each network declares an `ErrorTable`: a reader that turns its error body into a reason, a set of
codes and the details we keep, then rules tried in order (the first that matches decides), then
a fallback. What differs between networks is data; how a rule is matched, how long a rate limit
waits and how the message is worded is written once, here.

A rule matches when the status is one of its `statuses` (any status when empty; `server_error`
adds every 5xx) AND, when it names `codes` or `reason_has` words, one of the answer's codes is in
`codes` or one of the words is in the reason. Two conditions joined by "or" are two rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.utils import translation
from django.utils.functional import Promise

from chorus.connectors.base import PublishError, RateLimited
from chorus.core import http


@dataclass(frozen=True)
class Reading:
    """What a network's error body says: its own words (shown as the network gave them), the
    codes the rules look for, and the details kept on the post for whoever debugs it."""

    reason: str
    codes: frozenset[str] = frozenset()
    detail: dict[str, Any] = field(default_factory=dict)
    code: str = ""  # the network's own error code, when a message names it


#: (response, decoded JSON body or {}) → None for a success, else what the error says.
Reader = Callable[[httpx.Response, Any], Reading | None]


@dataclass(frozen=True)
class Rule:
    error: type[PublishError]
    message: str | Promise  # a lazy translation; %(network)s %(reason)s %(status)s %(code)s
    statuses: frozenset[int] = frozenset()
    server_error: bool = False  # every status >= 500
    codes: frozenset[str] = frozenset()
    reason_has: tuple[str, ...] = ()  # lower-case words
    # RateLimited only: seconds to wait when the answer has no Retry-After / reset header (a
    # number, or a function of now such as "until midnight UTC"), or a reader of its own headers.
    wait: float | Callable[[], float] = 60.0
    wait_from: Callable[[httpx.Response], float] | None = None
    min_wait: float = 0.0

    def matches(self, status: int, reading: Reading) -> bool:
        status_named = status in self.statuses or (self.server_error and status >= 500)
        if (self.statuses or self.server_error) and not status_named:
            return False
        if not self.codes and not self.reason_has:
            return True
        reason = reading.reason.lower()
        return bool(self.codes & reading.codes) or any(word in reason for word in self.reason_has)

    def build(self, response: httpx.Response, reading: Reading, network: str) -> PublishError:
        status = response.status_code
        words = {"network": network, "reason": reading.reason, "status": status, "code": reading.code}
        message = str(self.message) % words
        error: PublishError
        if issubclass(self.error, RateLimited):
            if self.wait_from is not None:
                seconds = self.wait_from(response)
            else:
                default = self.wait() if callable(self.wait) else self.wait
                seconds = http.retry_after_seconds(response, default=default)
            error = RateLimited(message, retry_after=max(seconds, self.min_wait), detail=reading.detail)
        else:
            error = self.error(message, detail=reading.detail)
        with translation.override(None):  # the untranslated template, translated when shown
            error.params = {"msgid": str(self.message), **words}
        return error


@dataclass(frozen=True)
class ErrorTable:
    network: str
    read: Reader
    rules: tuple[Rule, ...]
    fallback: Rule


def classify(response: httpx.Response, table: ErrorTable, *, network: str = "") -> PublishError | None:
    """None for a success; otherwise the contract error this answer means (`network` names it in
    the message when one table serves several, as the Graph API serves Facebook and Instagram)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    reading = table.read(response, body if isinstance(body, dict) else {})
    if reading is None:
        return None
    rule = next((r for r in table.rules if r.matches(response.status_code, reading)), table.fallback)
    return rule.build(response, reading, network or table.network)


def status_failed(response: httpx.Response) -> bool:
    """The usual test of failure (TikTok and Meta also fail a 200 that carries an error body)."""
    return response.status_code >= 400


def codes(*values: object) -> frozenset[str]:
    return frozenset(str(v) for v in values)
