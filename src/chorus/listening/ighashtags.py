"""Instagram hashtag search (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/hashtag-search),
through the workspace's first Instagram channel.

GET /ig_hashtag_search?user_id=&q= gives a hashtag's id (static and global), then
GET /{hashtag-id}/recent_media?user_id=&fields=... the media tagged with it in the last 24 hours,
newest first, paged with `after` cursors. Instagram allows an account 30 unique hashtags in a
rolling 7 days, each counted from its first search (searching it again in that week costs
nothing and does not restart its 7 days). `HashtagSearch` keeps that ledger per account and is
consulted before every call: a 31st hashtag is refused with the limit and the time a slot frees,
at query saving and at polling. Should Instagram refuse anyway (the account searched from another
tool), its error is recorded the same way.

Hashtag media carry no author (Instagram does not give the username of hashtag media), so a match
has the caption, the permalink, likes and comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.connectors.base import PublishError, RateLimited
from chorus.listening import notes
from chorus.listening.matching import Matcher, Post, QuerySpec, fold, hashtags_of
from chorus.listening.models import HashtagSearch, Match, Query, StreamCursor
from chorus.listening.stream import Enricher, spec_of
from chorus.listening.xsearch import new_matches

LIMIT = 30
WINDOW = dt.timedelta(days=7)
PAGE = 50  # recent_media answers at most 50 media a page
MAX_PAGES = 5  # per poll and hashtag
MEDIA_FIELDS = "id,caption,permalink,timestamp,like_count,comments_count"
# What Instagram answers to a search beyond the limit, as developers report it (Meta's error table
# does not list it): code 24 with this subcode.
LIMIT_CODE, LIMIT_SUBCODE = 24, 2207034


class HashtagLimit(Exception):
    """Worded in the active language by str(); `note` keeps the code and words for later."""

    def __init__(self, code: str, **words: Any) -> None:
        self.note = notes.encode(code, **words)
        super().__init__(self.note)

    def __str__(self) -> str:
        return notes.text(self.note)


def instagram_channel(workspace_id: int) -> Channel | None:
    return Channel.objects.filter(workspace_id=workspace_id, kind="instagram").order_by("pk").first()


def source_for(channel: Channel, tag: str) -> str:
    return f"instagram:{channel.config.get('ig_user_id', channel.pk)}#{tag}"


def window(channel: Channel, now: dt.datetime | None = None) -> list[HashtagSearch]:
    """The hashtags that count against the account's 30, oldest first, one row per hashtag.

    The limit is Instagram's, per Instagram account: when two workspaces connected the same
    account, their searches share it, so the rows of every channel of that account count (only
    the hashtags' names, static global ids and times are read across them)."""
    since = (now or timezone.now()) - WINDOW
    rows = HashtagSearch.objects.filter(
        channel__kind="instagram",
        channel__config__ig_user_id=channel.config.get("ig_user_id"),
        searched_at__gt=since,
    ).order_by("searched_at")
    first: dict[str, HashtagSearch] = {}
    for row in rows:  # oldest first: a hashtag counts from its first search
        first.setdefault(row.hashtag, row)
    return list(first.values())


def _limit(used: list[HashtagSearch], tag: str) -> HashtagLimit:
    frees = used[0].searched_at + WINDOW if used else timezone.now()
    return HashtagLimit("ig_limit", limit=LIMIT, used=len(used), tag=tag, time=frees)


def check_room(workspace_id: int, hashtags: Iterable[str]) -> None:
    """HashtagLimit when searching these hashtags would pass the account's 30 in 7 days."""
    channel = instagram_channel(workspace_id)
    if channel is None:
        return
    used = window(channel)
    known = {row.hashtag for row in used}
    new = [t for t in dict.fromkeys(fold(h.lstrip("#")) for h in hashtags) if t and t not in known]
    if len(known) + len(new) > LIMIT:
        raise _limit(used, new[LIMIT - len(known)])


def hashtag_id(channel: Channel, api: Any, tag: str) -> str:
    """The id of a hashtag, searched only when it is not in the account's current 7 days."""
    used = window(channel)
    for row in used:
        if row.hashtag == tag:
            return row.hashtag_id
    if len(used) >= LIMIT:
        raise _limit(used, tag)
    try:
        answer = api.get("ig_hashtag_search", user_id=channel.config["ig_user_id"], q=tag)
    except PublishError as exc:
        if exc.detail.get("code") == LIMIT_CODE or exc.detail.get("subcode") == LIMIT_SUBCODE:
            reason = (exc.params or {}).get("reason") or exc.message
            raise HashtagLimit("ig_refused", tag=tag, limit=LIMIT, reason=reason) from exc
        raise
    found = (answer.get("data") or [{}])[0].get("id")
    if not found:
        raise HashtagLimit("ig_unknown", tag=tag)
    with transaction.atomic():
        HashtagSearch.objects.update_or_create(
            channel=channel, hashtag=tag, defaults={"hashtag_id": str(found), "searched_at": timezone.now()}
        )
    return str(found)


def poll(query: Query) -> int:
    """One poll of each hashtag of the query on Instagram; returns the matches stored."""
    if not query.active or "instagram" not in query.networks or not query.hashtags:
        return 0
    channel = instagram_channel(query.workspace_id)
    if channel is None:
        return 0
    spec = spec_of(query)
    matcher, enricher, stored = Matcher([spec]), Enricher(), 0
    connector: Any = channel.connector()
    api = connector.api()
    for tag in spec.hashtags:
        source = source_for(channel, tag)
        row, _created = StreamCursor.objects.get_or_create(source=source)
        try:
            media = _recent(api, channel, hashtag_id(channel, api, tag), row.event_time)
        except HashtagLimit as exc:
            StreamCursor.objects.filter(source=source).update(note=exc.note[:500], updated_at=timezone.now())
            continue
        except RateLimited as exc:
            notes.record(source, "ig_rate", time=timezone.now() + dt.timedelta(seconds=exc.retry_after))
            return stored
        stored += _store(query, spec, matcher, enricher, source, media)
    return stored


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("+0000", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None


def _recent(api: Any, channel: Channel, tag_id: str, newer_than: dt.datetime | None) -> list[dict[str, Any]]:
    """The hashtag's media newer than the last poll's newest (all, on the first poll), up to
    MAX_PAGES pages; newest first as Instagram answers."""
    out: list[dict[str, Any]] = []
    params = {"user_id": channel.config["ig_user_id"], "fields": MEDIA_FIELDS, "limit": PAGE}
    for _page in range(MAX_PAGES):
        answer = api.get(f"{tag_id}/recent_media", **params)
        page = answer.get("data") or []
        fresh = [
            m for m in page if newer_than is None or (_time(m.get("timestamp")) or newer_than) > newer_than
        ]
        out.extend(fresh)
        after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
        if len(fresh) < len(page) or not after or not (answer.get("paging") or {}).get("next"):
            break
        params = {**params, "after": after}
    return out


def _store(
    query: Query,
    spec: QuerySpec,
    matcher: Matcher,
    enricher: Enricher,
    source: str,
    media: list[dict[str, Any]],
) -> int:
    rows = []
    for item in media:
        caption = str(item.get("caption") or "")
        post = Post(network="instagram", author_id="", text=caption)
        if not matcher.match(post):
            continue
        language, feeling = enricher.enrich(caption, query.workspace_id, {})
        if not matcher.language_filter(spec, language):
            continue
        rows.append(
            Match(
                workspace_id=query.workspace_id,
                query=query,
                network="instagram",
                uri=f"instagram:{item['id']}",
                url=str(item.get("permalink") or ""),
                author_id="",
                text=caption[:3000],
                hashtags=sorted({fold(w) for w in _tags(caption)})[:30],
                language=language or "",
                sentiment=feeling.label,
                sentiment_score=feeling.score,
                engagement=int(item.get("like_count") or 0) + int(item.get("comments_count") or 0),
                posted_at=_time(item.get("timestamp")) or timezone.now(),
            )
        )
    newest = max((t for t in (_time(m.get("timestamp")) for m in media) if t), default=None)
    with transaction.atomic():
        created = new_matches(query, rows)
        values: dict[str, Any] = {
            "note": "",
            "events": F("events") + len(media),
            "matched": F("matched") + len(created),
            "updated_at": timezone.now(),
        }
        if newest is not None:
            values["event_time"] = newest
            values["cursor"] = newest.isoformat()
        StreamCursor.objects.filter(source=source).update(**values)
    return len(created)


def _tags(caption: str) -> list[str]:
    return sorted(hashtags_of(Post(network="instagram", author_id="", text=caption)))


def usage(workspace_id: int) -> dict[str, Any] | None:
    """For the settings page: the account's hashtags in its 7 days and when the next slot frees."""
    channel = instagram_channel(workspace_id)
    if channel is None:
        return None
    used = window(channel)
    return {
        "channel": channel.name,
        "used": len(used),
        "limit": LIMIT,
        "hashtags": [row.hashtag for row in used],
        "next_free": used[0].searched_at + WINDOW if used else None,
    }
