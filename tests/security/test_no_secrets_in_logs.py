"""No secrets in logs: httpx logs each outgoing request's URL at INFO, and Meta's Graph API takes
tokens in the query (`access_token`, the code exchange's `client_secret`), so every Graph call
wrote a token into Chorus's log. The one HTTP seam's filter keeps the line and drops the secrets."""

from __future__ import annotations

import logging

import httpx

from chorus.core import http


def test_an_outgoing_request_is_logged_without_the_tokens_in_its_url(caplog):
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"ok": True})

    http.set_transport_for_tests(httpx.MockTransport(answer))
    try:
        with caplog.at_level(logging.INFO, logger="httpx"), http.client() as client:
            client.get(
                "https://graph.facebook.com/v21.0/oauth/access_token",
                params={"client_id": "123", "client_secret": "app-secret-xyz", "code": "the-code-456"},
            )
            client.get(
                "https://graph.facebook.com/v21.0/me/adaccounts", params={"access_token": "EAAB-token-789"}
            )
    finally:
        http.set_transport_for_tests(None)
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "httpx")
    assert "graph.facebook.com/v21.0/me/adaccounts" in logged  # the line is kept
    for secret in ("app-secret-xyz", "the-code-456", "EAAB-token-789"):
        assert secret not in logged
        assert any(secret in str(request.url) for request in sent)  # and still sent to the network
    assert "access_token=[redacted]" in logged and "client_id=123" in logged


def test_redact_url_leaves_other_urls_alone():
    assert http.redact_url("https://example.org/a?b=1&c=two") == "https://example.org/a?b=1&c=two"
    assert http.redact_url("https://example.org/a") == "https://example.org/a"
    assert (
        http.redact_url("https://x.example/p?Access_Token=t&x=1")
        == "https://x.example/p?Access_Token=[redacted]&x=1"
    )
