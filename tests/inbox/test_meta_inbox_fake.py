"""Facebook Page and Instagram in the inbox, against fakes built from Meta's documented requests
and answers (Graph API v24.0, Webhooks, Send API), asserting the exact requests Chorus sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.core import http
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
SECRET = "fb-app-secret"
IG_SECRET = "ig-app-secret"
PAGE = "1122334455"
IG_USER = "17841400000000000"
GRAPH = "https://graph.facebook.com/v24.0"


class MetaFake:
    """Answers Graph API requests like the documented examples; records each request."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.feed: list[dict[str, Any]] = []
        self.conversations: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path.removeprefix("/v24.0/")
        if request.method == "GET" and path == f"{PAGE}/feed":
            return httpx.Response(200, json={"data": self.feed})
        if request.method == "GET" and path == f"{PAGE}/tagged":  # the mentions stream (see mentions tests)
            return httpx.Response(200, json={"data": []})
        if request.method == "GET" and path in (f"{IG_USER}/media", f"{IG_USER}/tags"):
            return httpx.Response(200, json={"data": []})  # Instagram's comments and mentions: none
        if request.method == "GET" and path == f"{PAGE}/conversations":
            # Conversations API: {"data": [{"id", "updated_time", "messages": {"data": [...]}}]}
            # (the documented list of conversations with their messages expanded in one read).
            return httpx.Response(200, json={"data": self.conversations})
        if request.method == "POST" and path.endswith("/comments"):
            return httpx.Response(200, json={"id": f"{PAGE}_reply{len(self.sent)}"})
        if request.method == "POST" and path.endswith("/replies"):
            return httpx.Response(200, json={"id": f"1790{len(self.sent)}"})
        if request.method == "POST" and path.endswith("/messages"):
            body = json.loads(request.content)
            recipient = body["recipient"].get("id") or "psid-from-comment"
            return httpx.Response(200, json={"recipient_id": recipient, "message_id": f"m_{len(self.sent)}"})
        if request.method in ("POST", "DELETE"):
            return httpx.Response(200, json={"success": True})
        return httpx.Response(
            404, json={"error": {"message": "Unsupported", "type": "GraphMethodException", "code": 100}}
        )

    def last(self) -> httpx.Request:
        return self.sent[-1]


@pytest.fixture
def meta(settings: Any) -> Iterator[MetaFake]:
    settings.FACEBOOK_CLIENT_SECRET = SECRET
    settings.INSTAGRAM_CLIENT_SECRET = IG_SECRET
    settings.CHORUS_META_WEBHOOK_VERIFY_TOKEN = "verify-me"
    fake = MetaFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    yield fake
    http.set_transport_for_tests(None)


@pytest.fixture
def page(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Our Page",
        config={"page_id": PAGE, "page_name": "Our Page"},
        credentials={"access_token": "page-token"},
    )


@pytest.fixture
def instagram(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@ourngo",
        config={"ig_user_id": IG_USER, "username": "ourngo", "page_id": PAGE},
        credentials={"access_token": "ig-token"},
    )


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "HTTP_X_HUB_SIGNATURE_256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def deliver(
    body: dict[str, Any], network: str = "facebook", secret: str = SECRET, **headers: str
) -> httpx.Response:
    raw = json.dumps(body).encode()
    return Client().post(  # type: ignore[return-value]
        f"/hooks/meta/{network}/", raw, content_type="application/json", **(headers or signed(raw, secret))
    )


def feed_comment(
    comment_id: str, text: str, *, when: dt.datetime | None = None, parent: str = ""
) -> dict[str, Any]:
    created = int((when or timezone.now()).timestamp())
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": created,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": "24", "name": "Dana"},
                            "item": "comment",
                            "verb": "add",
                            "post_id": f"{PAGE}_900",
                            "comment_id": comment_id,
                            "parent_id": parent or f"{PAGE}_900",
                            "message": text,
                            "created_time": created,
                        },
                    }
                ],
            }
        ],
    }


def messenger(mid: str, text: str, when: dt.datetime) -> dict[str, Any]:
    millis = int(when.timestamp() * 1000)
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": millis,
                "messaging": [
                    {
                        "sender": {"id": "PSID-7"},
                        "recipient": {"id": PAGE},
                        "timestamp": millis,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def test_the_subscription_challenge_needs_the_verify_token(meta: MetaFake) -> None:
    ok = Client().get(
        "/hooks/meta/facebook/",
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.content) == (200, b"1158201444")
    wrong = Client().get(
        "/hooks/meta/facebook/", {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403


def test_valid_invalid_and_replayed_signatures(meta: MetaFake, page: Channel) -> None:
    body = feed_comment(f"{PAGE}_900_501", "Great work!")
    raw = json.dumps(body).encode()
    bad = deliver(body, HTTP_X_HUB_SIGNATURE_256="sha256=" + "0" * 64)
    assert bad.status_code == 403 and not InboxItem.objects.exists()
    other_secret = deliver(body, secret="someone-elses-secret")
    assert other_secret.status_code == 403 and not InboxItem.objects.exists()
    ok = Client().post("/hooks/meta/facebook/", raw, content_type="application/json", **signed(raw))
    assert ok.status_code == 200 and ok.json() == {"stored": 1, "duplicate": False}
    replay = Client().post("/hooks/meta/facebook/", raw, content_type="application/json", **signed(raw))
    assert replay.status_code == 200 and replay.json() == {"stored": 0, "duplicate": True}
    # A body altered after signing fails, even with the original signature.
    tampered = raw.replace(b"Great work!", b"Send money!")
    assert (
        Client()
        .post("/hooks/meta/facebook/", tampered, content_type="application/json", **signed(raw))
        .status_code
        == 403
    )
    item = InboxItem.objects.get()
    assert (item.network_id, item.kind, item.via, item.text) == (
        f"{PAGE}_900_501",
        "comment",
        "webhook",
        "Great work!",
    )


def test_a_comment_by_webhook_and_by_polling_is_stored_once(meta: MetaFake, page: Channel) -> None:
    when = timezone.now().replace(microsecond=0)
    deliver(feed_comment(f"{PAGE}_900_501", "Great work!", when=when))
    meta.feed = [
        {
            "id": f"{PAGE}_900",
            "comments": {
                "data": [
                    {
                        "id": f"{PAGE}_900_501",
                        "message": "Great work!",
                        "from": {"id": "24", "name": "Dana"},
                        "created_time": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    }
                ]
            },
        }
    ]
    assert actions.poll(page) == 0
    [request] = [r for r in meta.sent if r.method == "GET" and r.url.path == f"/v24.0/{PAGE}/feed"]
    assert request.url.params["fields"] == "id,comments.limit(50){id,message,from,created_time,parent{id}}"
    assert request.url.params["access_token"] == "page-token"
    assert InboxItem.objects.count() == 1


def test_a_public_reply_a_like_a_hide_and_a_delete_send_the_documented_requests(
    cast: Cast, meta: MetaFake, page: Channel
) -> None:
    deliver(feed_comment(f"{PAGE}_900_501", "Where?"))
    conversation = Conversation.objects.get()
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="In Lyon")
    assert actions.send_reply(reply.pk) == "sent"
    sent = meta.last()
    assert (sent.method, str(sent.url)) == (
        "POST",
        f"{GRAPH}/{PAGE}_900_501/comments?access_token=page-token",
    )
    assert parse_qs(sent.content.decode()) == {"message": ["In Lyon"]}
    item = InboxItem.objects.get()
    actions.moderate(item=item, action="like", actor=cast.owner)
    assert (meta.last().method, str(meta.last().url)) == (
        "POST",
        f"{GRAPH}/{PAGE}_900_501/likes?access_token=page-token",
    )
    actions.moderate(item=item, action="hide", actor=cast.owner)
    assert (meta.last().method, meta.last().url.path) == ("POST", f"/v24.0/{PAGE}_900_501")
    assert parse_qs(meta.last().content.decode()) == {"is_hidden": ["true"]}
    actions.moderate(item=item, action="delete", actor=cast.owner)
    assert (meta.last().method, meta.last().url.path) == ("DELETE", f"/v24.0/{PAGE}_900_501")


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (dt.timedelta(hours=2), {"messaging_type": "RESPONSE"}),
        (dt.timedelta(days=3), {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),
    ],
)
def test_a_message_is_answered_inside_its_window_with_the_right_type(
    cast: Cast, meta: MetaFake, page: Channel, age: dt.timedelta, expected: dict[str, str]
) -> None:
    deliver(messenger("m_AbC", "Are you open today?", timezone.now() - age))
    conversation = Conversation.objects.get()
    client = cast.client_for(cast.owner)
    page_html = client.get(f"/w/{cast.workspace.slug}/inbox/{conversation.pk}/").content.decode()
    assert 'data-testid="reply-window"' in page_html
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Yes, until 6pm")
    assert actions.send_reply(reply.pk) == "sent"
    sent = meta.last()
    assert (sent.method, str(sent.url)) == ("POST", f"{GRAPH}/{PAGE}/messages?access_token=page-token")
    assert json.loads(sent.content) == {
        "recipient": {"id": "PSID-7"},
        "message": {"text": "Yes, until 6pm"},
        **expected,
    }


def test_a_message_older_than_seven_days_is_not_sent(cast: Cast, meta: MetaFake, page: Channel) -> None:
    deliver(messenger("m_Old", "Hello?", timezone.now() - dt.timedelta(days=8)))
    conversation = Conversation.objects.get()
    assert actions.reply_window(conversation) == "closed"
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Sorry for the delay")
    before = len(meta.sent)
    assert actions.send_reply(reply.pk) == "failed"
    reply.refresh_from_db()
    assert reply.status == Reply.Status.FAILED and "7 days" in reply.error
    assert len(meta.sent) == before  # nothing went out


def test_one_private_reply_per_comment_within_seven_days(cast: Cast, meta: MetaFake, page: Channel) -> None:
    deliver(feed_comment(f"{PAGE}_900_501", "Can you DM me?"))
    item = InboxItem.objects.get()
    actions.private_reply(item=item, actor=cast.owner, text="Sent you the details")
    sent = meta.last()
    assert str(sent.url) == f"{GRAPH}/{PAGE}/messages?access_token=page-token"
    assert json.loads(sent.content) == {
        "recipient": {"comment_id": f"{PAGE}_900_501"},
        "message": {"text": "Sent you the details"},
    }
    before = len(meta.sent)
    with pytest.raises(actions.InboxRefused) as again:
        actions.private_reply(item=item, actor=cast.owner, text="And again")
    assert again.value.code == "private_reply_sent" and len(meta.sent) == before

    deliver(feed_comment(f"{PAGE}_900_502", "Old one", when=timezone.now() - dt.timedelta(days=8)))
    old = InboxItem.objects.get(network_id=f"{PAGE}_900_502")
    with pytest.raises(actions.InboxRefused):
        actions.private_reply(item=old, actor=cast.owner, text="Too late")
    assert len(meta.sent) == before
    old.refresh_from_db()
    assert "private_reply" not in old.extra  # refused before sending: still available


def ig_comment(comment_id: str, text: str, parent: str = "") -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": {"id": "5566", "username": "fan.of.ngo"},
        "media": {"id": "17900000000000001", "media_product_type": "FEED"},
        "id": comment_id,
        "text": text,
    }
    if parent:
        value["parent_id"] = parent
    return {
        "object": "instagram",
        "entry": [
            {
                "id": IG_USER,
                "time": int(timezone.now().timestamp()),
                "changes": [{"field": "comments", "value": value}],
            }
        ],
    }


def test_instagram_answers_top_level_comments_only(cast: Cast, meta: MetaFake, instagram: Channel) -> None:
    assert deliver(ig_comment("17851", "Love it"), network="instagram", secret=IG_SECRET).status_code == 200
    assert (
        deliver(
            ig_comment("17852", "Me too", parent="17851"), network="instagram", secret=IG_SECRET
        ).status_code
        == 200
    )
    top = Conversation.objects.get(items__network_id="17851")
    reply = actions.request_reply(
        conversation=top,
        actor=cast.owner,
        text="Thank you!",
        in_reply_to=InboxItem.objects.get(network_id="17851"),
    )
    assert actions.send_reply(reply.pk) == "sent"
    sent = meta.last()
    assert (sent.method, str(sent.url)) == ("POST", f"{GRAPH}/17851/replies?access_token=ig-token")
    assert parse_qs(sent.content.decode()) == {"message": ["Thank you!"]}

    nested = InboxItem.objects.get(network_id="17852")
    second = actions.request_reply(
        conversation=nested.conversation, actor=cast.owner, text="Hi", in_reply_to=nested
    )
    before = len(meta.sent)
    assert actions.send_reply(second.pk) == "failed"
    assert len(meta.sent) == before
    actions.moderate(item=nested, action="hide", actor=cast.owner)
    assert (meta.last().url.path, parse_qs(meta.last().content.decode())) == (
        "/v24.0/17852",
        {"hide": ["true"]},
    )


def test_a_message_by_webhook_and_by_polling_conversations_is_stored_once(
    meta: MetaFake, page: Channel, instagram: Channel
) -> None:
    """The messaging webhook's backstop: the Page's Messenger (and the linked Instagram account's)
    conversations, read with their newest messages; a message's id is the webhook's `mid`."""
    when = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    deliver(messenger("m_AbC", "Are you open today?", when))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
    meta.conversations = [
        {
            "id": "t_100",
            "updated_time": stamp,
            "messages": {
                "data": [
                    {
                        "id": "m_Ours",
                        "created_time": stamp,
                        "from": {"id": PAGE, "name": "Our Page"},
                        "message": "Hi",
                    },
                    {
                        "id": "m_AbC",
                        "created_time": stamp,
                        "from": {"id": "PSID-7"},
                        "message": "Are you open today?",
                    },
                    {
                        "id": "m_New",
                        "created_time": stamp,
                        "from": {"id": "PSID-7"},
                        "message": "And tomorrow?",
                    },
                ]
            },
        }
    ]
    assert actions.poll(page) == 1  # m_New; m_AbC came by webhook, m_Ours is the Page's own
    [read] = [r for r in meta.sent if r.url.path == f"/v24.0/{PAGE}/conversations"]
    assert dict(read.url.params) == {
        "platform": "messenger",
        "fields": "id,updated_time,messages.limit(25){id,created_time,from,message}",
        "limit": "25",
        "access_token": "page-token",
    }
    conversation = Conversation.objects.get(channel=page)
    assert sorted(conversation.items.values_list("network_id", "via")) == [
        ("m_AbC", "webhook"),
        ("m_New", "poll"),
    ]
    # Instagram's direct messages are read from the linked Page with platform=instagram.
    meta.conversations = []
    actions.poll(instagram)
    [ig_read] = [
        r
        for r in meta.sent
        if r.url.path == f"/v24.0/{PAGE}/conversations" and r.url.params["platform"] == "instagram"
    ]
    assert ig_read.url.params["access_token"] == "ig-token"
