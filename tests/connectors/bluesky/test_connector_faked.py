"""The connector's decisions with the network faked at the one HTTP seam (sent requests asserted)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.base import Transient
from chorus.connectors.bluesky.connector import record_key
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.publishing import actions
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
DID = "did:plc:author"


@pytest.fixture
def fake_network() -> Iterator[Callable[[Callable[[httpx.Request], httpx.Response]], list[httpx.Request]]]:
    def install(handler: Callable[[httpx.Request], httpx.Response]) -> list[httpx.Request]:
        sent: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return handler(request)

        http.set_transport_for_tests(httpx.MockTransport(record))
        return sent

    yield install
    http.set_transport_for_tests(None)


@pytest.fixture
def channel(cast: Cast, settings: Any) -> Channel:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="@ngo.test",
        config={
            "handle": "ngo.test",
            "did": DID,
            "service": "https://pds.test",
            "appview": "https://appview.test",
        },
        credentials={"accessJwt": "old-access", "refreshJwt": "old-refresh", "appPassword": "app-pass"},
    )


def make_target(cast: Cast, channel: Channel, text: str, **fields: Any) -> PostTarget:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[channel], text=text)
    target = post.targets.get()
    for name, value in fields.items():
        setattr(target, name, value)
    return target


def xrpc_error(status: int, error: str, message: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": error, "message": message or error})


def test_the_record_key_is_a_stable_tid_per_target_and_part(cast: Cast, channel: Channel) -> None:
    target = make_target(cast, channel, "Hi")
    keys = [record_key(target, i) for i in range(3)]
    assert keys == [record_key(target, i) for i in range(3)]
    assert len(set(keys)) == 3
    assert all(len(k) == 13 and k[0] in "234567abcdefghij" for k in keys)
    other = make_target(cast, channel, "Hi")
    assert record_key(other) != keys[0]


def test_validation_names_the_field_and_the_reason(
    cast: Cast, channel: Channel, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "a.png").write_bytes(b"x")
    media = (
        [{"path": "a.png", "alt": "x" * 2001}]
        + [{"path": "a.png", "alt": ""}] * 4
        + [{"path": "../etc/passwd"}]
    )
    target = make_target(
        cast, channel, "👨‍👩‍👧‍👦" * 300 + "!", media=media, options={"link_card": "https://x.org"}
    )
    problems = {(p.field, p.code) for p in channel.connector().validate(target)}
    assert problems == {
        ("text", "too_long"),
        ("media", "too_many"),
        ("media.0.alt", "too_long"),
        ("media.5.path", "missing"),
        ("options.link_card", "conflict"),
    }
    assert channel.connector().validate(make_target(cast, channel, "👨‍👩‍👧‍👦" * 300)) == []


def test_a_server_error_with_no_record_behind_it_is_retried(
    cast: Cast, channel: Channel, fake_network: Any
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("createRecord"):
            return xrpc_error(500, "InternalServerError")
        return xrpc_error(400, "RecordNotFound", "Could not locate record")

    sent = fake_network(handler)
    target = make_target(cast, channel, "Hello")
    with pytest.raises(Transient):
        channel.connector().publish(target)
    assert [r.url.path for r in sent] == [
        "/xrpc/com.atproto.repo.createRecord",
        "/xrpc/com.atproto.repo.getRecord",
    ]
    body = json.loads(sent[0].content)
    assert body["rkey"] == record_key(target) and body["repo"] == DID
    assert sent[0].headers["Authorization"] == "Bearer old-access"
    assert sent[1].url.params["rkey"] == record_key(target)


def test_a_refused_refresh_logs_in_once_with_the_app_password(channel: Channel, fake_network: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("refreshSession"):
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        assert json.loads(request.content) == {"identifier": DID, "password": "app-pass"}
        return httpx.Response(
            200, json={"accessJwt": "new-access", "refreshJwt": "", "did": DID, "handle": "ngo.test"}
        )

    sent = fake_network(handler)
    channel.connector().refresh_credentials()
    assert [r.url.path.rsplit(".", 1)[1] for r in sent] == ["refreshSession", "createSession"]
    assert sent[0].headers["Authorization"] == "Bearer old-refresh"
    channel.refresh_from_db()
    # An empty refresh token in the answer never replaces the stored one.
    assert channel.credentials["accessJwt"] == "new-access"
    assert channel.credentials["refreshJwt"] == "old-refresh"


def test_a_reply_and_a_quote_name_the_post_by_uri_and_cid_read_from_the_appview(
    cast: Cast, channel: Channel, fake_network: Any
) -> None:
    parent_uri = "at://did:plc:fan/app.bsky.feed.post/3kparent"
    root_uri = "at://did:plc:op/app.bsky.feed.post/3kroot"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("app.bsky.feed.getPosts"):
            record = {
                "text": "a reply",
                "reply": {"root": {"uri": root_uri, "cid": "bafyroot"}, "parent": {}},
            }
            return httpx.Response(
                200, json={"posts": [{"uri": parent_uri, "cid": "bafyparent", "record": record}]}
            )
        if request.url.path.endswith("createRecord"):
            rkey = json.loads(request.content)["rkey"]
            return httpx.Response(
                200, json={"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafynew"}
            )
        return httpx.Response(404, json={"error": "NotFound"})

    sent = fake_network(handler)
    reply = make_target(cast, channel, "We will be there", options={"reply_to": parent_uri})
    assert channel.connector().validate(reply) == []
    channel.connector().publish(reply)
    lookup, create = sent
    assert lookup.url.host == "appview.test" and lookup.url.params["uris"] == parent_uri
    assert json.loads(create.content)["record"]["reply"] == {
        "root": {"uri": root_uri, "cid": "bafyroot"},  # the thread's root, not the post answered
        "parent": {"uri": parent_uri, "cid": "bafyparent"},
    }
    sent.clear()
    quote = make_target(cast, channel, "Read this", options={"quote": parent_uri})
    channel.connector().publish(quote)
    record = json.loads(sent[-1].content)["record"]
    assert record["embed"] == {
        "$type": "app.bsky.embed.record",
        "record": {"uri": parent_uri, "cid": "bafyparent"},
    }
    assert "reply" not in record
    bad = make_target(cast, channel, "x", options={"reply_to": "https://bsky.app/profile/x/post/1"})
    assert [p.field for p in channel.connector().validate(bad)] == ["options.reply_to"]
