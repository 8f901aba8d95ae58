"""Own channels as a listening source: what the inbox ingests is matched against the workspace's
queries, and a mention or reply counts as a mention of the channel's own account."""

from __future__ import annotations

import pytest

from chorus.channels.actions import connect_channel
from chorus.inbox import actions as inbox
from chorus.listening import actions
from chorus.listening.models import Match
from chorus.listening.own import own_ids
from tests.inbox.conftest import entry

pytestmark = pytest.mark.django_db

OWN_DID = "did:plc:chorusorg"


@pytest.fixture
def channel(cast):
    return connect_channel(
        workspace=cast.workspace,
        kind="sink",
        name="Sink",
        config={"did": OWN_DID, "handle": "chorus.test"},
        credentials={},
    )


def test_mentions_and_replies_count_as_mentions_and_match_queries(cast, channel) -> None:
    mentions = actions.create_query(
        cast.workspace, actor=None, data={"name": "Us", "mentions": ["chorus.test"], "group": "brand"}
    )
    words = actions.create_query(cast.workspace, actor=None, data={"name": "Climat", "expression": "climat"})
    elsewhere = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Mastodon only", "expression": "climat", "networks": ["mastodon"]},
    )
    other_ws = actions.create_query(
        cast.other_workspace, actor=None, data={"name": "Theirs", "expression": "climat"}
    )
    items = [
        entry(1, kind="mention", text="Bravo pour la marche pour le climat #Climat !"),
        entry(2, kind="reply", text="Thanks, see you on Saturday"),
        entry(3, kind="message", text="A private message about the climat plan"),
        entry(4, kind="like", text=""),
        entry(5, kind="quote", text="   "),
    ]
    inbox.ingest(channel=channel, entries=items)

    got = sorted(Match.objects.values_list("query_id", "uri"))
    assert got == sorted(
        [
            (mentions.pk, items[0].network_id),
            (mentions.pk, items[1].network_id),
            (words.pk, items[0].network_id),
        ]
    )
    assert not Match.objects.filter(query__in=[elsewhere, other_ws]).exists()  # network filter, tenancy
    french = Match.objects.get(query=words)
    assert (french.workspace_id, french.network, french.language, french.sentiment) == (
        cast.workspace.pk,
        "sink",
        "fr",
        "positive",
    )
    assert french.hashtags == ["climat"] and french.author_handle == "fan.test"
    assert french.posted_at == items[0].created_at

    # The inbox skips what it has stored; listening stores nothing twice either.
    inbox.ingest(channel=channel, entries=[*items, entry(6, kind="comment", text="Le climat d'abord")])
    assert Match.objects.filter(query=mentions).count() == 3
    assert Match.objects.filter(query=words).count() == 2


def test_language_filter_and_no_queries(cast, channel) -> None:
    inbox.ingest(channel=channel, entries=[entry(1, kind="mention", text="Nothing listens yet")])
    assert not Match.objects.exists()
    actions.create_query(
        cast.workspace, actor=None, data={"name": "FR", "mentions": [OWN_DID], "languages": ["fr"]}
    )
    inbox.ingest(
        channel=channel,
        entries=[
            entry(2, kind="reply", text="This is an English reply to your post"),
            entry(3, kind="reply", text="Merci beaucoup pour cette belle journée"),
        ],
    )
    assert list(Match.objects.values_list("uri", flat=True)) == [entry(3).network_id]


def test_a_post_the_firehose_stored_already_is_not_stored_twice(cast, channel) -> None:
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Climat", "expression": "climat"})
    item = entry(1, kind="mention", text="Le climat, encore")
    Match.objects.create(
        workspace=cast.workspace,
        query=query,
        network="bluesky",
        uri=item.network_id,
        author_id=item.author_id,
        text=item.text,
        posted_at=item.created_at,
    )
    inbox.ingest(channel=channel, entries=[item, entry(2, kind="reply", text="climat")])
    assert sorted(Match.objects.values_list("uri", "network")) == [
        (item.network_id, "bluesky"),
        (entry(2).network_id, "sink"),
    ]


def test_own_ids_come_from_the_public_configuration(channel) -> None:
    assert own_ids(channel) == (OWN_DID, "chorus.test")
