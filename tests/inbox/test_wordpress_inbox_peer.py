"""WordPress comments in the inbox, against the real local WordPress (PHP + MariaDB)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.wordpress.connector import WordPressConnector
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem
from tests.conftest import Cast
from tests.peers.wordpress import WordPressSite

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


@pytest.fixture
def wp_channel(cast: Cast, wordpress_site: WordPressSite, settings: Any) -> Channel:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    result = WordPressConnector.begin_connect(
        {
            "site_url": wordpress_site.url,
            "username": wordpress_site.username,
            "application_password": wordpress_site.application_password,
        },
        callback_url="",
        state="",
    )
    return connect_channel(
        workspace=cast.workspace,
        kind="wordpress",
        name=result.name,  # type: ignore[union-attr]
        config=result.config,  # type: ignore[union-attr]
        credentials=result.credentials,  # type: ignore[union-attr]
        actor=cast.owner,
    )


def visitor_comment(site: WordPressSite, post_id: int, text: str) -> None:
    """What a visitor's browser sends: the site's own comment form (wp-comments-post.php)."""
    name = f"Visitor {secrets.token_hex(3)}"
    response = httpx.post(
        f"{site.url}/wp-comments-post.php",
        data={
            "comment_post_ID": post_id,
            "author": name,
            "email": f"{name.replace(' ', '.').lower()}@example.org",
            "url": "",
            "comment": text,
        },
        timeout=30,
    )
    assert response.status_code in (200, 302), response.text[:500]


def test_a_held_visitor_comment_is_approved_and_answered_from_chorus(
    cast: Cast, wp_channel: Channel, wordpress_site: WordPressSite
) -> None:
    with wordpress_site.client() as client:
        created = client.post(
            wordpress_site.rest("/wp/v2/posts"),
            json={
                "title": "Our story",
                "content": "<p>Story</p>",
                "status": "publish",
                "comment_status": "open",
            },
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
    text = f"Can I volunteer? {secrets.token_hex(4)}"
    visitor_comment(wordpress_site, post_id, text)

    actions.poll(wp_channel)
    item = InboxItem.objects.get(channel=wp_channel, text=text)
    assert item.kind == "comment" and item.extra["status"] == "hold"  # a first-time visitor waits
    public = httpx.get(
        f"{wordpress_site.url}/wp-json/wp/v2/comments", params={"post": post_id}, timeout=30
    ).json()
    assert [c["id"] for c in public] == []  # held: not on the site yet

    actions.moderate(item=item, action="approve", actor=cast.members["editor"])
    public = httpx.get(
        f"{wordpress_site.url}/wp-json/wp/v2/comments", params={"post": post_id}, timeout=30
    ).json()
    assert [c["id"] for c in public] == [int(item.network_id)]

    conversation = Conversation.objects.get(channel=wp_channel, items=item)
    reply = actions.request_reply(
        conversation=conversation, actor=cast.members["editor"], text="Yes, welcome!"
    )
    assert actions.send_reply(reply.pk) == "sent"
    reply.refresh_from_db()
    children = httpx.get(
        f"{wordpress_site.url}/wp-json/wp/v2/comments",
        params={"post": post_id, "parent": item.network_id},
        timeout=30,
    ).json()
    assert [(str(c["id"]), c["author"]) for c in children] == [(reply.network_id, wordpress_site.user_id)]
    assert "Yes, welcome!" in children[0]["content"]["rendered"]

    # Our own answer does not come back as an incoming comment; nothing is stored twice.
    assert actions.poll(wp_channel) == 0
    assert InboxItem.objects.filter(channel=wp_channel).count() == 1

    # Spam and trash from Chorus take it off the site.
    actions.moderate(item=item, action="spam", actor=cast.members["editor"])
    public = httpx.get(
        f"{wordpress_site.url}/wp-json/wp/v2/comments", params={"post": post_id}, timeout=30
    ).json()
    assert int(item.network_id) not in [c["id"] for c in public]
    item.refresh_from_db()
    assert item.extra["status"] == "spam"
