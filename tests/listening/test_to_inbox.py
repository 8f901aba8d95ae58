"""From listening to action: a match becomes an inbox conversation the team answers there."""

from __future__ import annotations

import pytest

from chorus.channels.actions import connect_channel
from chorus.core.models import AuditEvent
from chorus.inbox.models import Conversation, InboxItem
from chorus.listening import actions
from tests.listening.test_pages_api import add_match
from tests.test_i18n import ensure_compiled_catalog

pytestmark = pytest.mark.django_db


def test_a_match_becomes_one_inbox_conversation_from_its_button(cast):
    channel = connect_channel(
        workspace=cast.workspace, kind="bluesky", name="Our Bluesky", config={}, credentials={}
    )
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    match = add_match(
        query,
        "Chorus climate march, who organises it?",
        uri="at://did:plc:a/app.bsky.feed.post/0001",
        author_handle="ann.test",
        cid="bafyreimatch",
    )
    insights = f"/w/{cast.workspace.slug}/listening/insights/?days=7"
    to_inbox = f"/w/{cast.workspace.slug}/listening/matches/{match.pk}/to-inbox/"
    owner = cast.client_for(cast.owner)
    assert f'action="{to_inbox}"' in owner.get(insights).content.decode()
    # A viewer may read listening but not answer: no button, and the action is refused.
    viewer = cast.client_for(cast.members["viewer"])
    assert 'data-testid="to-inbox"' not in viewer.get(insights).content.decode()
    assert viewer.post(to_inbox).status_code == 403
    assert not Conversation.objects.exists()

    response = owner.post(to_inbox)
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/w/{cast.workspace.slug}/inbox/{conversation.pk}/"
    assert (conversation.channel, conversation.author_id, conversation.author_handle) == (
        channel,
        "did:plc:a",
        "ann.test",
    )
    item = InboxItem.objects.get(conversation=conversation)
    assert (item.kind, item.network_id, item.text, item.via) == (
        "mention",
        match.uri,
        "Chorus climate march, who organises it?",
        "listening",
    )
    # What the Bluesky connector's reply needs: the post's CID (a post that is not a reply is its
    # own thread root).
    assert (item.extra["listening_match"], item.extra["cid"], item.root_id) == (match.pk, "bafyreimatch", "")
    page = owner.get(response["Location"]).content.decode()
    assert "Chorus climate march, who organises it?" in page
    # Twice: the same conversation, no second item.
    owner.post(to_inbox)
    assert (Conversation.objects.count(), InboxItem.objects.count()) == (1, 1)
    assert AuditEvent.objects.filter(action="listening.sent_to_inbox").count() == 2


def test_another_workspace_s_match_is_a_404_and_no_channel_says_what_to_do(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    match = add_match(query, "Chorus again", uri="at://did:plc:a/app.bsky.feed.post/0002")
    outsider = cast.client_for(cast.outsider)
    assert (
        outsider.post(f"/w/{cast.other_workspace.slug}/listening/matches/{match.pk}/to-inbox/").status_code
        == 404
    )
    owner = cast.client_for(cast.owner)
    url = f"/w/{cast.workspace.slug}/listening/matches/{match.pk}/to-inbox/"
    ensure_compiled_catalog()
    page = owner.post(url, follow=True, headers={"accept-language": "fr"}).content.decode()
    assert (
        "Connectez un canal bluesky pour répondre à cette publication depuis la boîte de réception." in page
    )
    english = owner.post(url, follow=True).content.decode()
    assert "Connect a bluesky channel to answer this post from the inbox." in english
    assert not Conversation.objects.exists()


def test_a_reply_keeps_its_thread_root_for_the_answer(cast):
    channel = connect_channel(
        workspace=cast.workspace, kind="bluesky", name="Ours", config={}, credentials={}
    )
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    match = add_match(
        query,
        "Chorus, answer me",
        uri="at://did:plc:a/app.bsky.feed.post/0003",
        cid="bafyreireply",
        root_uri="at://did:plc:b/app.bsky.feed.post/root",
        root_cid="bafyreiroot",
    )
    conversation = actions.send_to_inbox(match, actor=cast.owner, channel=channel)
    item = InboxItem.objects.get(conversation=conversation)
    assert (item.network_id, item.root_id) == (match.uri, "at://did:plc:b/app.bsky.feed.post/root")
    assert (item.extra["cid"], item.extra["root_cid"]) == ("bafyreireply", "bafyreiroot")
    # A channel of another workspace is refused.
    theirs = connect_channel(
        workspace=cast.other_workspace, kind="bluesky", name="Theirs", config={}, credentials={}
    )
    with pytest.raises(actions.NoInboxChannel):
        actions.send_to_inbox(match, actor=cast.owner, channel=theirs)
