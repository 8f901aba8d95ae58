"""Mastodon in the inbox: against PyPI `mastodon_mock` (a stateful imitation of the Mastodon API,
not Mastodon itself) and against a recording fake at the HTTP seam for the exact requests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from mastodon_mock.testing.server import MockServer

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.core import http
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Cursor, InboxItem, Reply
from tests.conftest import Cast
from tests.connectors.mastodon.conftest import connect_via_oauth

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def imitation() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def alice(cast: Cast, imitation: MockServer, settings) -> Channel:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    httpx.post(f"{imitation.base_url}/api/v1/_mock/reset").raise_for_status()
    return connect_via_oauth(cast, imitation.base_url, username="alice")


def bob_token(cast: Cast, imitation: MockServer) -> str:
    bob = connect_via_oauth(cast, imitation.base_url, username="bob", state="bob")
    return str(bob.credentials["access_token"])


def post_as(imitation: MockServer, token: str, **payload: object) -> dict:
    response = httpx.post(
        f"{imitation.base_url}/api/v1/statuses", headers={"Authorization": f"Bearer {token}"}, json=payload
    )
    response.raise_for_status()
    return dict(response.json())


def test_mastodon_mock_mentions_replies_and_direct_messages_become_conversations(
    cast: Cast, alice: Channel, imitation: MockServer, monkeypatch
) -> None:
    ours = (
        alice.connector()
        .api()
        .post_status({"status": "Our story", "visibility": "public"}, idempotency_key="k1")
    )  # type: ignore[attr-defined]
    token = bob_token(cast, imitation)
    reply = post_as(
        imitation, token, status="@alice where?", in_reply_to_id=ours["id"], visibility="unlisted"
    )
    direct = post_as(imitation, token, status="@alice a private question", visibility="direct")
    httpx.post(
        f"{imitation.base_url}/api/v1/statuses/{ours['id']}/favourite",
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    monkeypatch.setattr(type(alice.connector()), "inbox_page_size", 2)  # forward paging over pages

    assert actions.poll(alice) == 3
    kinds = dict(InboxItem.objects.values_list("network_id", "kind"))
    assert kinds[f"status:{reply['id']}"] == "reply"
    assert kinds[f"status:{direct['id']}"] == "message"
    assert "favourite" in kinds.values()
    newest = max(int(i.extra["notification_id"]) for i in InboxItem.objects.all())
    assert Cursor.objects.get(channel=alice).value == str(newest)
    assert actions.poll(alice) == 0

    on_post = Conversation.objects.get(channel=alice, items__network_id=f"status:{reply['id']}")
    answer = actions.request_reply(conversation=on_post, actor=cast.owner, text="In Lyon")
    assert actions.send_reply(answer.pk) == "sent"
    answer.refresh_from_db()
    sent = httpx.get(f"{imitation.base_url}/api/v1/statuses/{answer.network_id}").json()
    assert sent["in_reply_to_id"] == reply["id"] and sent["visibility"] == "unlisted"
    assert "@bob" in sent["content"]

    dm = Conversation.objects.get(channel=alice, items__network_id=f"status:{direct['id']}")
    private = actions.request_reply(conversation=dm, actor=cast.owner, text="Sure, ask away")
    actions.send_reply(private.pk)
    private.refresh_from_db()
    assert private.status == Reply.Status.SENT
    answered = httpx.get(
        f"{imitation.base_url}/api/v1/statuses/{private.network_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert answered["visibility"] == "direct" and answered["in_reply_to_id"] == direct["id"]


@pytest.fixture
def recorded() -> Iterator[list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/api/v1/notifications":
            return httpx.Response(
                200,
                json=[
                    {
                        "id": "905",
                        "type": "mention",
                        "created_at": "2026-12-01T10:00:00.000Z",
                        "account": {"id": "77", "acct": "carol@elsewhere.example", "display_name": "Carol"},
                        "status": {
                            "id": "4411",
                            "created_at": "2026-12-01T10:00:00.000Z",
                            "in_reply_to_id": "4400",
                            "visibility": "private",
                            "content": "<p>@alice hello</p>",
                            "url": "https://social.example/@carol/4411",
                        },
                    }
                ],
            )
        if request.url.path == "/api/v1/statuses":
            return httpx.Response(200, json={"id": "4500", "url": "https://social.example/@alice/4500"})
        if request.url.path == "/api/v1/statuses/4411/favourite":  # the API's Status, favourited
            return httpx.Response(200, json={"id": "4411", "favourited": True, "favourites_count": 1})
        return httpx.Response(404, json={"error": "Record not found"})

    http.set_transport_for_tests(httpx.MockTransport(answer))
    yield sent
    http.set_transport_for_tests(None)


def test_the_exact_requests_for_paging_and_a_private_reply(
    cast: Cast, recorded: list[httpx.Request], settings
) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the fake answers for a name that does not resolve here
    channel = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="@alice@social.example",
        config={"instance": "https://social.example", "account_id": "1", "username": "alice", "limits": {}},
        credentials={"access_token": "tok"},
    )
    Cursor.objects.create(channel=channel, stream="notifications", value="900")
    actions.poll(channel)
    assert str(recorded[0].url) == "https://social.example/api/v1/notifications?min_id=900&limit=40"
    assert recorded[0].headers["Authorization"] == "Bearer tok"
    assert Cursor.objects.get().value == "905"

    conversation = Conversation.objects.get()
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Hi Carol")
    actions.send_reply(reply.pk)
    post = recorded[-1]
    assert (post.method, post.url.path) == ("POST", "/api/v1/statuses")
    assert post.headers["Idempotency-Key"] == reply.idempotency_key()
    assert json.loads(post.content) == {
        "status": "@carol@elsewhere.example Hi Carol",
        "in_reply_to_id": "4411",
        "visibility": "private",  # never wider than what it answers
    }
    # Like: POST /api/v1/statuses/:id/favourite, no body.
    item = conversation.items.get()
    actions.moderate(item=item, action="like", actor=cast.owner)
    liked = recorded[-1]
    assert (liked.method, str(liked.url), liked.content) == (
        "POST",
        "https://social.example/api/v1/statuses/4411/favourite",
        b"",
    )
    assert liked.headers["Authorization"] == "Bearer tok"
    item.refresh_from_db()
    assert item.extra["moderation"] == "like"
