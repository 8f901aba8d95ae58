"""Every WordPress failure lands on the right error (DESIGN.md, "Errors decide retries"),
with the network faked at the core.http seam and the sent requests asserted."""

from __future__ import annotations

import base64
import datetime as dt
import json

import httpx
import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors.base import (
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.wordpress.client import classify
from tests.connectors.wordpress.conftest import make_target, png_file

SITE = "https://blog.example.org"


def wp_error(status: int, code: str, message: str, **data) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status, **data}})


def test_a_revoked_application_password_needs_reauth():
    error = classify(
        wp_error(401, "incorrect_password", "The provided password is an invalid application password.")
    )
    assert isinstance(error, ReauthRequired)
    assert "invalid application password" in error.message


def test_a_missing_permission_is_a_rejection_with_wordpress_message():
    error = classify(
        wp_error(403, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
    )
    assert isinstance(error, ContentRejected)
    assert error.message == "Sorry, you are not allowed to create posts as this user."


def test_a_bad_request_is_rejected_with_the_parameter_details():
    response = wp_error(
        400, "rest_invalid_param", "Invalid parameter(s): date_gmt", params={"date_gmt": "Invalid date."}
    )
    error = classify(response)
    assert isinstance(error, ContentRejected)
    assert error.message == "Invalid parameter(s): date_gmt Invalid date."
    assert error.detail["code"] == "rest_invalid_param"


def test_too_many_requests_waits_for_retry_after():
    error = classify(httpx.Response(429, headers={"Retry-After": "120"}, text="slow down"))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 120


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(status):
    assert isinstance(classify(httpx.Response(status, text="<html>oops</html>")), Transient)


@pytest.fixture
def fake_channel(cast, local_urls):
    return connect_channel(
        workspace=cast.workspace,
        kind="wordpress",
        name="Blog",
        config={"site_url": SITE, "rest_root": f"{SITE}/wp-json/", "username": "editor", "user_id": 2},
        credentials={"application_password": "abcd efgh"},
        actor=cast.owner,
    )


def created_post(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        201,
        json={"id": 42, "link": f"{SITE}/?p=42", "status": body["status"], "date_gmt": "2030-01-02T03:04:05"},
    )


def test_it_sends_the_marker_slug_and_a_native_schedule(cast, fake_channel, fake_network):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])  # lookup: not published yet
        return created_post(request)

    sent = fake_network(handler)
    when = timezone.now() + dt.timedelta(days=1)
    target = make_target(cast, fake_channel, "Hello\n\nworld", title="T", options={"native_schedule": True})
    target.scheduled_at = when

    result = fake_channel.connector().publish(target)

    assert result.external_id == "42" and result.url == f"{SITE}/?p=42"
    lookup, create = sent
    assert lookup.url.params["slug"] == f"chorus-{target.uid}"
    assert lookup.url.params["status"] == "any"
    assert create.url == f"{SITE}/wp-json/wp/v2/posts"
    assert create.headers["authorization"] == "Basic " + base64.b64encode(b"editor:abcd efgh").decode()
    assert json.loads(create.content) == {
        "title": "T",
        "content": "<p>Hello</p>\n<p>world</p>",
        "slug": f"chorus-{target.uid}",
        "status": "future",
        "date_gmt": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    }


def test_a_timeout_after_sending_the_post_is_unknown(cast, fake_channel, fake_network):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])
        raise httpx.ReadTimeout("no answer", request=request)

    fake_network(handler)
    target = make_target(cast, fake_channel, "Body", title="T")
    with pytest.raises(OutcomeUnknown):
        fake_channel.connector().publish(target)


def test_a_timeout_while_uploading_the_image_is_only_transient(cast, fake_channel, fake_network, tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])
        raise httpx.ReadTimeout("no answer", request=request)  # the media upload: no post exists yet

    sent = fake_network(handler)
    target = make_target(cast, fake_channel, "Body", title="T", media=[{"path": str(png_file(tmp_path))}])
    with pytest.raises(Transient):
        fake_channel.connector().publish(target)
    assert [r.url.path for r in sent] == ["/wp-json/wp/v2/posts", "/wp-json/wp/v2/media"]


def test_an_unreachable_site_is_transient(cast, fake_channel, fake_network):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake_network(handler)
    with pytest.raises(Transient):
        fake_channel.connector().publish(make_target(cast, fake_channel, "Body", title="T"))


def test_a_redirect_does_not_carry_the_password_elsewhere(cast, fake_channel, fake_network):
    sent = fake_network(lambda request: httpx.Response(301, headers={"Location": "https://evil.example/x"}))
    with pytest.raises(ReauthRequired):
        fake_channel.connector().check()
    assert [r.url.host for r in sent] == ["blog.example.org"]


def test_a_channel_pointing_at_a_private_address_is_refused(cast, fake_channel, settings, fake_network):
    sent = fake_network(lambda request: httpx.Response(200, json={}))
    fake_channel.config["rest_root"] = "http://127.0.0.1/wp-json/"
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ReauthRequired, match="no longer allowed"):
        fake_channel.connector().check()
    assert sent == []
