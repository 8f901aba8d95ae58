"""Mastodon hashtag timelines: GET /api/v1/timelines/tag/:hashtag, paged with min_id.

For each active query that names a Mastodon instance and hashtags, `poll` reads the statuses
newer than the last one seen (min_id, the cursor), oldest page first, matches them against that
query, and stores the matches and the new cursor in one transaction. The first poll of a tag
starts from the newest page (no backfill of the instance's whole history). The instance is a URL
a person typed: every request goes through the SSRF guard.

Not done here: the streaming API (`/api/v1/streaming/hashtag`, which needs a user token since
Mastodon 4.2); `min_id` polling is the backstop the issue names and works on its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import strip_tags

from chorus.core import http
from chorus.listening.matching import Matcher, Post, fold
from chorus.listening.models import Match, Query, StreamCursor
from chorus.listening.stream import Enricher, spec_of

log = logging.getLogger(__name__)

PAGE = 40  # Mastodon's maximum for timelines
MAX_PAGES = 10  # per poll and tag; the rest waits for the next poll (the cursor says where)


class MastodonUnavailable(RuntimeError):
    pass


def source_for(instance: str, tag: str) -> str:
    return f"mastodon:{urllib.parse.urlsplit(instance).netloc}#{fold(tag.lstrip('#'))}"


def _get(session: Any, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    http.check_public_url(url)
    response = session.get(url, params=params)
    if response.status_code == 429:
        raise MastodonUnavailable(f"rate limited for {http.retry_after_seconds(response):.0f} s")
    if response.status_code != 200:
        raise MastodonUnavailable(f"{url} answered {response.status_code}")
    body = response.json()
    if not isinstance(body, list):
        raise MastodonUnavailable(f"{url} did not answer a list of statuses")
    return body


def fetch_new(session: Any, instance: str, tag: str, min_id: str) -> list[dict[str, Any]]:
    """Statuses of the tag newer than `min_id`, oldest first (all pages up to MAX_PAGES)."""
    url = f"{instance.rstrip('/')}/api/v1/timelines/tag/{urllib.parse.quote(tag)}"
    if not min_id:
        return sorted(_get(session, url, {"limit": PAGE}), key=lambda s: int(s["id"]))
    out: list[dict[str, Any]] = []
    cursor = min_id
    for _page in range(MAX_PAGES):
        # With min_id, Mastodon answers the statuses immediately after it (newest first in the page).
        page = _get(session, url, {"limit": PAGE, "min_id": cursor})
        if not page:
            break
        page.sort(key=lambda s: int(s["id"]))
        out.extend(page)
        cursor = page[-1]["id"]
        if len(page) < PAGE:
            break
    return out


def post_of(status: dict[str, Any]) -> Post:
    account = status.get("account") or {}
    return Post(
        network="mastodon",
        author_id=str(account.get("url") or account.get("id") or ""),
        author_handle=str(account.get("acct") or ""),
        text=strip_tags(str(status.get("content") or "")).replace("&#39;", "'").replace("&amp;", "&"),
        hashtags=tuple(str(t.get("name", "")) for t in status.get("tags") or ()),
        mentions=tuple(str(m.get("acct", "")) for m in status.get("mentions") or ()),
    )


def _posted_at(value: Any) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def poll(query: Query) -> int:
    """One poll of every hashtag of the query on its instance; returns the matches stored."""
    if not query.mastodon_instance or not query.hashtags or not query.active:
        return 0
    if query.networks and "mastodon" not in query.networks:
        return 0
    spec = spec_of(query)
    matcher = Matcher([spec])
    enricher = Enricher()
    stored = 0
    with http.client(user_url=True) as session:
        for tag in spec.hashtags:
            source = source_for(query.mastodon_instance, tag)
            row, _created = StreamCursor.objects.get_or_create(source=source)
            statuses = fetch_new(session, query.mastodon_instance, tag, row.cursor)
            stored += _store(query, spec, matcher, enricher, source, statuses)
    return stored


def _store(
    query: Query, spec: Any, matcher: Matcher, enricher: Enricher, source: str, statuses: list[dict[str, Any]]
) -> int:
    rows = []
    for status in statuses:
        if status.get("reblog"):
            continue
        post = post_of(status)
        if not matcher.match(post):
            continue
        language, feeling = enricher.enrich(post.text, query.workspace_id, {})
        if not matcher.language_filter(spec, language):
            continue
        account = status.get("account") or {}
        rows.append(
            Match(
                workspace_id=query.workspace_id,
                query=query,
                network="mastodon",
                uri=str(status.get("uri") or status.get("url") or status["id"]),
                url=str(status.get("url") or ""),
                author_id=post.author_id,
                author_handle=post.author_handle,
                author_followers=account.get("followers_count"),
                text=post.text[:3000],
                hashtags=sorted({fold(h) for h in post.hashtags})[:30],
                language=language or "",
                sentiment=feeling.label,
                sentiment_score=feeling.score,
                engagement=sum(
                    int(status.get(k) or 0) for k in ("favourites_count", "reblogs_count", "replies_count")
                ),
                posted_at=_posted_at(status.get("created_at")),
            )
        )
    now = timezone.now()
    with transaction.atomic():
        created = Match.objects.bulk_create(rows, ignore_conflicts=True) if rows else []
        values: dict[str, Any] = {"updated_at": now, "events": F("events") + len(statuses)}
        if statuses:
            newest = statuses[-1]
            values["cursor"] = str(newest["id"])
            values["event_time"] = _posted_at(newest.get("created_at"))
        StreamCursor.objects.filter(source=source).update(**values)
    return len(created)
