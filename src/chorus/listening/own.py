"""Own channels as a listening source: the mentions, replies, quotes and comments the inbox ingests.

When the inbox stores new public conversation items of a channel (`chorus.inbox.actions.ingest`,
in the same transaction), they are matched against the active queries of the channel's workspace
and stored as matches like the firehose's. Every such item is addressed to the organisation: it
counts as a mention of the channel's own account (its DID, handle or user name), so a query that
lists the organisation's handle under "mentions" sees every mention and reply, even when the
network's notification text does not spell the handle out. Private messages are not listening
material and are left out. A post the firehose stored already (same query, same at:// URI) is not
stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils import timezone

from chorus.core import textsignals
from chorus.listening.matching import Matcher, Post, hashtags_of
from chorus.listening.models import ListeningSettings, Match, Query

if TYPE_CHECKING:
    from chorus.channels.models import Channel
    from chorus.connectors.inbox import InboxEntry

LISTENED_KINDS = frozenset({"mention", "reply", "quote", "comment"})  # public; not "message"
OWN_ID_KEYS = ("did", "handle", "username", "acct", "account_id", "page_id")


def own_ids(channel: Channel) -> tuple[str, ...]:
    """The ways the channel's own account is named on its network, from its public configuration."""
    return tuple(str(channel.config[key]) for key in OWN_ID_KEYS if channel.config.get(key))


def store_inbox_entries(channel: Channel, entries: Sequence[InboxEntry]) -> int:
    """Matches the public conversation items among `entries` against the workspace's active
    queries and stores the matches; returns how many (query, item) pairs matched."""
    from chorus.listening.stream import spec_of

    public = [e for e in entries if e.kind in LISTENED_KINDS and e.text.strip()]
    if not public:
        return 0
    queries = list(Query.objects.filter(workspace_id=channel.workspace_id, active=True).order_by("pk"))
    if not queries:
        return 0
    matcher = Matcher(spec_of(q) for q in queries)
    current = ListeningSettings.objects.filter(workspace_id=channel.workspace_id).first()
    languages = current.language_list() if current else list(ListeningSettings.DEFAULT_LANGUAGES)
    mine = own_ids(channel)
    now = timezone.now()
    rows = []
    for entry in public:
        post = Post(
            network=channel.kind,
            author_id=entry.author_id,
            author_handle=entry.author_handle,
            text=entry.text,
            mentions=mine,
        )
        ids = matcher.match(post)
        if not ids:
            continue
        language = textsignals.detect_language(entry.text, languages)
        feeling = textsignals.sentiment(entry.text, language)
        tags = sorted(hashtags_of(post))[:30]
        for query_id in ids:
            if not Matcher.language_filter(matcher.queries[query_id], language):
                continue
            rows.append(
                Match(
                    workspace_id=channel.workspace_id,
                    query_id=query_id,
                    network=channel.kind,
                    uri=entry.network_id[:500],
                    url=entry.url[:500],
                    author_id=entry.author_id[:300],
                    author_handle=entry.author_handle[:300],
                    text=entry.text[:3000],
                    hashtags=tags,
                    language=language or "",
                    sentiment=feeling.label,
                    sentiment_score=feeling.score,
                    posted_at=entry.created_at,
                    matched_at=now,
                )
            )
    Match.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)
