"""Every failure becomes one error of the hierarchy, in one place."""

from __future__ import annotations

import httpx
import pytest

from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.bluesky.client import classify


def _response(
    status: int, error: str = "", message: str = "", headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"error": error, "message": message} if error else {}
    return httpx.Response(
        status, json=body, headers=headers, request=httpx.Request("POST", "https://pds.example/xrpc/x")
    )


@pytest.mark.parametrize("status", [400, 401])
def test_it_reads_an_expired_token_as_auth_expired(status: int) -> None:
    assert isinstance(classify(_response(status, "ExpiredToken", "Token has expired")), AuthExpired)


def test_it_asks_for_reauth_on_other_auth_errors() -> None:
    assert isinstance(
        classify(_response(401, "AuthenticationRequired", "Invalid identifier or password")), ReauthRequired
    )
    assert isinstance(
        classify(_response(400, "AccountTakedown", "Account has been taken down")), ReauthRequired
    )


def test_it_shows_the_servers_reason_for_rejected_content() -> None:
    error = classify(_response(400, "InvalidRequest", "Invalid app.bsky.feed.post record: text too long"))
    assert isinstance(error, ContentRejected)
    assert error.message == "Bluesky: Invalid app.bsky.feed.post record: text too long"


def test_it_waits_until_the_rate_limit_resets() -> None:
    error = classify(
        _response(429, "RateLimitExceeded", "Rate Limit Exceeded", headers={"ratelimit-reset": "120"})
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 120


def test_a_server_error_on_a_write_is_unknown_but_on_a_read_transient() -> None:
    assert isinstance(
        classify(_response(500, "InternalServerError", "Internal Server Error"), write=True), OutcomeUnknown
    )
    assert isinstance(classify(_response(502), write=False), Transient)


def test_a_timeout_after_sending_is_unknown_but_a_connect_error_transient() -> None:
    request = httpx.Request("POST", "https://pds.example/xrpc/com.atproto.repo.createRecord")
    assert isinstance(classify(httpx.ReadTimeout("slow", request=request), write=True), OutcomeUnknown)
    assert isinstance(classify(httpx.ConnectError("refused", request=request), write=True), Transient)
    assert isinstance(classify(httpx.ReadTimeout("slow", request=request), write=False), Transient)
