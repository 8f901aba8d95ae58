"""Mastodon hashtag timelines: GET /api/v1/timelines/tag/:hashtag, paged with min_id.

A source is one hashtag on one instance (`mastodon:<host>#<tag>`): every active query that names
the instance and the hashtag is matched at once by one compiled `Matcher`, and the matches and
the source's cursor (the newest status id seen, Mastodon's `min_id`) are stored in one
transaction. Two queries, even of two workspaces, that name the same tag share the source and so
each sees every status (a cursor per query would let the first poll hide the statuses from the
second). The first poll of a tag starts from the newest page (no backfill of the instance's whole
history). The instance is a URL a person typed: every request goes through the SSRF guard.

The streaming API (`mastodon_stream.py`) reads the same sources live and moves the same cursor;
while a stream holds a source's lease the poll leaves it alone, and the stream catches up with
`fetch_new` from the cursor each time it (re)connects: polling is the backstop.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import strip_tags

from chorus.core import http
from chorus.listening.matching import Matcher, Post, fold
from chorus.listening.models import Match, Query, StreamCursor
from chorus.listening.stream import Enricher, LeaseLost, spec_of

log = logging.getLogger(__name__)

PAGE = 40  # Mastodon's maximum for timelines
MAX_PAGES = 10  # per poll and tag; the rest waits for the next poll (the cursor says where)


class MastodonUnavailable(RuntimeError):
    pass


def host_of(instance: str) -> str:
    return urllib.parse.urlsplit(instance).netloc.lower()


def source_for(instance: str, tag: str) -> str:
    return f"mastodon:{host_of(instance)}#{fold(tag.lstrip('#'))}"


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


def status_id(status: dict[str, Any]) -> int:
    """Mastodon ids are numeric strings that grow with time (snowflakes)."""
    try:
        return int(str(status.get("id")))
    except ValueError:
        return 0


def fetch_new(session: Any, instance: str, tag: str, min_id: str) -> list[dict[str, Any]]:
    """Statuses of the tag newer than `min_id`, oldest first (all pages up to MAX_PAGES)."""
    url = f"{instance.rstrip('/')}/api/v1/timelines/tag/{urllib.parse.quote(tag)}"
    if not min_id:
        return sorted(_get(session, url, {"limit": PAGE}), key=status_id)
    out: list[dict[str, Any]] = []
    cursor = min_id
    for _page in range(MAX_PAGES):
        # With min_id, Mastodon answers the statuses immediately after it (newest first in the page).
        page = _get(session, url, {"limit": PAGE, "min_id": cursor})
        if not page:
            break
        page.sort(key=status_id)
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


def full_acct(acct: str, instance: str) -> str:
    """`name@host` for every author: an instance names its own accounts without the host, and
    the same `name` on two instances is two people (a reply from another instance needs it)."""
    return acct if not acct or "@" in acct else f"{acct}@{host_of(instance)}"


def _listens_to_mastodon(query: Query) -> bool:
    return bool(query.mastodon_instance and query.hashtags and query.active) and (
        not query.networks or "mastodon" in query.networks
    )


def queries_on(source: str) -> list[Query]:
    """The active queries that read this instance's hashtag."""
    return [
        q
        for q in Query.objects.filter(active=True).exclude(mastodon_instance="").order_by("pk")
        if _listens_to_mastodon(q) and source in {source_for(q.mastodon_instance, t) for t in q.hashtags}
    ]


def sources() -> dict[str, tuple[str, str]]:
    """Every source some active query reads: source -> (instance URL, folded tag)."""
    out: dict[str, tuple[str, str]] = {}
    for q in Query.objects.filter(active=True).exclude(mastodon_instance="").order_by("pk"):
        if _listens_to_mastodon(q):
            for tag in q.hashtags:
                folded = fold(str(tag).lstrip("#"))
                out.setdefault(source_for(q.mastodon_instance, folded), (q.mastodon_instance, folded))
    return out


def streamed_now(row: StreamCursor) -> bool:
    return bool(row.lease_owner) and row.lease_until is not None and row.lease_until > timezone.now()


def poll_source(instance: str, tag: str) -> int:
    """One min_id poll of one source, matched against every query that reads it; returns the
    matches stored. Leaves a source alone while a stream holds it (the stream catches up itself)."""
    source = source_for(instance, tag)
    row, _created = StreamCursor.objects.get_or_create(source=source)
    if streamed_now(row):
        return 0
    queries = queries_on(source)
    if not queries:
        return 0
    with http.client(user_url=True) as session:
        statuses = fetch_new(session, instance, tag, row.cursor)
    return store_statuses(source, queries, statuses)


def poll(query: Query) -> int:
    """One poll of every hashtag of the query on its instance; returns the matches stored."""
    if not _listens_to_mastodon(query):
        return 0
    return sum(poll_source(query.mastodon_instance, fold(str(t).lstrip("#"))) for t in query.hashtags)


def match_rows(queries: Iterable[Query], statuses: Iterable[dict[str, Any]]) -> list[Match]:
    """The Match rows (unsaved) of these statuses for these queries: one compiled matcher."""
    by_id = {q.pk: q for q in queries}
    specs = {q.pk: spec_of(q) for q in by_id.values()}
    matcher = Matcher(specs.values())
    enricher = Enricher()
    rows = []
    for status in statuses:
        if status.get("reblog"):
            continue
        post = post_of(status)
        ids = matcher.match(post)
        memo: dict[Any, Any] = {}
        account = status.get("account") or {}
        followers = account.get("followers_count")
        for query_id in ids:
            query = by_id[query_id]
            language, feeling = enricher.enrich(post.text, query.workspace_id, memo)
            if not matcher.language_filter(specs[query_id], language):
                continue
            rows.append(
                Match(
                    workspace_id=query.workspace_id,
                    query=query,
                    network="mastodon",
                    uri=str(status.get("uri") or status.get("url") or status["id"])[:500],
                    url=str(status.get("url") or "")[:500],
                    cid=str(status.get("id") or "")[:100],  # its id where it was read: deletes name it
                    author_id=post.author_id[:300],
                    author_handle=full_acct(post.author_handle, query.mastodon_instance)[:300],
                    author_followers=followers if isinstance(followers, int) and followers >= 0 else None,
                    text=post.text[:3000],
                    hashtags=sorted({fold(h) for h in post.hashtags})[:30],
                    language=language or "",
                    sentiment=feeling.label,
                    sentiment_score=feeling.score,
                    engagement=sum(
                        int(status.get(k) or 0)
                        for k in ("favourites_count", "reblogs_count", "replies_count")
                    ),
                    posted_at=_posted_at(status.get("created_at")),
                )
            )
    return rows


def store_statuses(
    source: str,
    queries: list[Query],
    statuses: list[dict[str, Any]],
    *,
    owner: str = "",
    lease_seconds: float = 0.0,
) -> int:
    """Store the matches of `statuses` (oldest first) and move the source's cursor to the newest,
    in one transaction; returns the matches that were new. The unique (query, uri) constraint
    makes a status seen twice (streamed and caught up) harmless. With `owner`, the write is fenced
    on the lease (a stream that lost it stores nothing) and renews it."""
    rows = match_rows(queries, statuses) if queries else []
    now = timezone.now()
    with transaction.atomic():
        # bulk_create(ignore_conflicts=True) does not say which rows were new: ask first.
        seen = set(
            Match.objects.filter(query__in=queries, uri__in={m.uri for m in rows}).values_list(
                "query_id", "uri"
            )
        )
        created = list({(m.query_id, m.uri): m for m in rows if (m.query_id, m.uri) not in seen}.values())
        if created:
            Match.objects.bulk_create(created, ignore_conflicts=True)
        values: dict[str, Any] = {
            "updated_at": now,
            "events": F("events") + len(statuses),
            "matched": F("matched") + len(rows),
        }
        if statuses:
            newest = max(statuses, key=status_id)
            values["cursor"] = str(newest["id"])
            values["event_time"] = _posted_at(newest.get("created_at"))
            values["lag_seconds"] = max(0.0, (now - values["event_time"]).total_seconds())
            values["lag_events"] = 0
        rows_to_update = StreamCursor.objects.filter(source=source)
        if owner:
            values["lease_until"] = now + dt.timedelta(seconds=lease_seconds)
            rows_to_update = rows_to_update.filter(lease_owner=owner)
        if rows_to_update.update(**values) != 1 and owner:
            raise LeaseLost(f"lost the lease on {source}")
    if created:
        from chorus.listening import alerts

        for workspace_id in {m.workspace_id for m in created}:
            alerts.check_soon(workspace_id)
    return len(created)


def delete_statuses(source: str, status_ids: list[str]) -> int:
    """A status deleted on the instance leaves the matches of the queries reading it there (the
    streaming API's `delete` event names the id the instance gave it, kept in `cid`)."""
    queries = queries_on(source)
    if not queries or not status_ids:
        return 0
    deleted, _kinds = Match.objects.filter(network="mastodon", query__in=queries, cid__in=status_ids).delete()
    return deleted
