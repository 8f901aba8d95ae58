"""What the listening page shows: volume over time, sentiment, share of voice, top authors and
terms, the matching posts, and the same totals for the period before (period comparison)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from chorus.listening.models import Match, Query

_STOP = """a an and are as at be but by for from has have i in is it its of on or our so that the their
    this to was we were will with you your not no just all can more about what when who how
    au aux avec ce ces cette dans de des du elle en est et il ils je la le les leur mais me ne nos
    notre nous on ou par pas plus pour qu que qui sa se ses son sont sur ta te tes ton tu un une vos
    votre vous y à été être ça c d j l m n s t"""
STOPWORDS = frozenset(_STOP.split())
_WORD = re.compile(r"(?<![#@\w])[^\W\d_][\w'-]{2,}")


@dataclass
class Insights:
    days: int
    total: int
    previous_total: int
    by_day: list[dict[str, Any]] = field(default_factory=list)  # {"day", "query", "network", "n"}
    volume_by_query: dict[str, int] = field(default_factory=dict)
    volume_by_network: dict[str, int] = field(default_factory=dict)
    sentiment: dict[str, int] = field(default_factory=dict)
    sentiment_by_day: list[dict[str, Any]] = field(default_factory=list)
    share_of_voice: dict[str, float] = field(default_factory=dict)  # group -> share in [0, 1]
    top_authors: list[tuple[str, int]] = field(default_factory=list)
    top_terms: list[tuple[str, int]] = field(default_factory=list)
    top_hashtags: list[tuple[str, int]] = field(default_factory=list)
    posts: list[Match] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        if not self.previous_total:
            return None
        return (self.total - self.previous_total) / self.previous_total

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "total": self.total,
            "previous_total": self.previous_total,
            "change": self.change,
            "by_day": [{**row, "day": row["day"].isoformat()} for row in self.by_day],
            "volume_by_query": self.volume_by_query,
            "volume_by_network": self.volume_by_network,
            "sentiment": self.sentiment,
            "sentiment_by_day": [{**row, "day": row["day"].isoformat()} for row in self.sentiment_by_day],
            "share_of_voice": self.share_of_voice,
            "top_authors": [{"author": a, "posts": n} for a, n in self.top_authors],
            "top_terms": [{"term": t, "posts": n} for t, n in self.top_terms],
            "top_hashtags": [{"hashtag": t, "posts": n} for t, n in self.top_hashtags],
        }


def _matches(
    workspace_id: int, start: dt.datetime, end: dt.datetime, query_id: int | None
) -> QuerySet[Match]:
    rows = Match.objects.filter(workspace_id=workspace_id, posted_at__gte=start, posted_at__lt=end)
    return rows.filter(query_id=query_id) if query_id else rows


def compute(
    workspace_id: int,
    *,
    days: int = 7,
    query_id: int | None = None,
    now: dt.datetime | None = None,
    posts: int = 50,
) -> Insights:
    end = now or timezone.now()
    start = end - dt.timedelta(days=days)
    rows = _matches(workspace_id, start, end, query_id)
    previous = _matches(workspace_id, start - dt.timedelta(days=days), start, query_id)
    names = dict(Query.objects.filter(workspace_id=workspace_id).values_list("pk", "name"))
    groups = dict(Query.objects.filter(workspace_id=workspace_id).values_list("pk", "group"))
    result = Insights(days=days, total=rows.count(), previous_total=previous.count())

    daily = (
        rows.annotate(day=TruncDate("posted_at")).values("day", "query_id", "network").annotate(n=Count("pk"))
    )
    for row in daily.order_by("day", "query_id", "network"):
        result.by_day.append(
            {
                "day": row["day"],
                "query": names.get(row["query_id"], ""),
                "network": row["network"],
                "n": row["n"],
            }
        )
        name = names.get(row["query_id"], "")
        result.volume_by_query[name] = result.volume_by_query.get(name, 0) + row["n"]
        result.volume_by_network[row["network"]] = result.volume_by_network.get(row["network"], 0) + row["n"]
    result.sentiment = {
        row["sentiment"]: row["n"]
        for row in rows.values("sentiment").annotate(n=Count("pk")).order_by("sentiment")
    }
    result.sentiment_by_day = [
        dict(row)
        for row in rows.annotate(day=TruncDate("posted_at"))
        .values("day", "sentiment")
        .annotate(n=Count("pk"))
        .order_by("day")
    ]
    # Share of voice: distinct posts per query group (a post matching two brand queries counts once).
    by_group: dict[str, set[str]] = {}
    for query_pk, uri in rows.values_list("query_id", "uri"):
        by_group.setdefault(groups.get(query_pk, "other"), set()).add(uri)
    voices = sum(len(uris) for uris in by_group.values())
    result.share_of_voice = {g: len(uris) / voices for g, uris in sorted(by_group.items())} if voices else {}

    authors = Counter[str]()
    terms = Counter[str]()
    hashtags = Counter[str]()
    seen: set[str] = set()
    for uri, author, handle, text, tags in rows.values_list(
        "uri", "author_id", "author_handle", "text", "hashtags"
    )[:5000]:
        if uri in seen:
            continue
        seen.add(uri)
        authors[handle or author] += 1
        hashtags.update({t.lower() for t in tags})
        terms.update({w.lower() for w in _WORD.findall(text)} - STOPWORDS)
    result.top_authors = authors.most_common(10)
    result.top_terms = terms.most_common(20)
    result.top_hashtags = hashtags.most_common(10)
    result.posts = list(rows.select_related("query").order_by("-engagement", "-posted_at")[:posts])
    return result


# --- the listening section of the analytics report ---------------------------------------------

SENTIMENTS = ("positive", "neutral", "negative", "unknown")
REPORT_TOP = 5  # top sources and terms per query


@dataclass
class ReportFigures:
    """Listening in the monthly report: mentions, sentiment split, and per query the volume, the
    sentiment split, the top sources (authors) and the top terms and hashtags of the period."""

    summary: dict[str, int] = field(default_factory=dict)  # listening_mentions, listening_<sentiment>
    queries: list[dict[str, Any]] = field(default_factory=list)  # name, mentions, <sentiment>...
    sources: list[tuple[str, int, str, int]] = field(default_factory=list)  # query, rank, author, posts
    terms: list[tuple[str, int, str, int]] = field(default_factory=list)  # query, rank, term, posts


def report_figures(workspace_id: int, start: dt.datetime, end: dt.datetime) -> ReportFigures:
    """Mentions are stored matches posted in [start, end): a post two queries match counts once
    in the summary and once for each query in the per-query rows."""
    rows = _matches(workspace_id, start, end, None)
    out = ReportFigures()
    by_uri: dict[str, str] = dict(rows.values_list("uri", "sentiment"))
    split = Counter(by_uri.values())
    out.summary = {"listening_mentions": len(by_uri)}
    out.summary.update({f"listening_{s}": split.get(s, 0) for s in SENTIMENTS})
    per_query: dict[int, Counter[str]] = {}
    for query_id, feeling in rows.values_list("query_id", "sentiment"):
        per_query.setdefault(query_id, Counter())[feeling] += 1
    for query in Query.objects.filter(workspace_id=workspace_id).order_by("name", "pk"):
        counts = per_query.get(query.pk, Counter())
        out.queries.append(
            {
                "name": query.name,
                "listening_mentions": sum(counts.values()),
                **{f"listening_{s}": counts.get(s, 0) for s in SENTIMENTS},
            }
        )
        if not counts:
            continue
        authors = Counter[str]()
        terms = Counter[str]()
        for handle, author, text, tags in rows.filter(query=query).values_list(
            "author_handle", "author_id", "text", "hashtags"
        )[:5000]:
            authors[handle or author] += 1
            terms.update({"#" + t.lower() for t in tags})
            terms.update({w.lower() for w in _WORD.findall(text)} - STOPWORDS)
        # Ties are broken by name so the report reads the same every time it is built.
        for rank, (author, n) in enumerate(
            sorted(authors.items(), key=lambda x: (-x[1], x[0]))[:REPORT_TOP], 1
        ):
            out.sources.append((query.name, rank, author, n))
        for rank, (term, n) in enumerate(sorted(terms.items(), key=lambda x: (-x[1], x[0]))[:REPORT_TOP], 1):
            out.terms.append((query.name, rank, term, n))
    return out
