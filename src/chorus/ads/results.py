"""Figures of paid reach: a boost's totals, paid vs organic for a post and a campaign, and the
month's spend against the budget with a forecast to the month's end (read-only)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from chorus.ads import rules
from chorus.ads.models import AdBudget, AdInsightDay, Boost, MonthSpend

SUMMED = ("spend_minor", "impressions", "reach", "clicks", "engagements", "video_views", "results")
ORGANIC = ("impressions", "reach", "engagement", "link_clicks", "video_views")


def totals(days: Any) -> dict[str, int | None]:
    """Sums of AdInsightDay rows (a queryset), with CPM, CPC and cost per result derived."""
    sums = days.aggregate(**{name: Sum(name) for name in SUMMED})
    counts = {name: int(sums[name] or 0) for name in SUMMED}
    spend = counts["spend_minor"]
    found: dict[str, int | None] = dict(counts)
    found["cpm_minor"] = round(spend * 1000 / counts["impressions"]) if counts["impressions"] else None
    found["cpc_minor"] = round(spend / counts["clicks"]) if counts["clicks"] else None
    found["cost_per_result_minor"] = round(spend / counts["results"]) if counts["results"] else None
    return found


def boost_totals(boost: Boost) -> dict[str, int | None]:
    return totals(AdInsightDay.objects.filter(boost=boost))


@dataclass(frozen=True)
class SideBySide:
    paid: dict[str, int | None]
    organic: dict[str, int | None]

    def rows(self) -> list[tuple[str, int | None, int | None]]:
        pairs = (
            (gettext("Impressions"), "impressions", "impressions"),
            (gettext("Reach"), "reach", "reach"),
            (gettext("Engagements"), "engagements", "engagement"),
            (gettext("Clicks"), "clicks", "link_clicks"),
            (gettext("Video views"), "video_views", "video_views"),
        )
        return [(label, self.paid.get(paid), self.organic.get(organic)) for label, paid, organic in pairs]


def _organic(targets: Any) -> dict[str, int | None]:
    from chorus.analytics.models import PostMetrics

    sums = PostMetrics.objects.filter(target__in=targets).aggregate(**{name: Sum(name) for name in ORGANIC})
    return {name: (int(value) if value is not None else None) for name, value in sums.items()}


def post_side_by_side(target: Any) -> SideBySide:
    return SideBySide(totals(AdInsightDay.objects.filter(boost__target=target)), _organic([target.pk]))


def campaign_side_by_side(campaign: Any) -> SideBySide:
    paid = totals(AdInsightDay.objects.filter(boost__campaign=campaign))
    from chorus.content.models import PostTarget

    targets = PostTarget.objects.filter(post__campaign=campaign).values_list("pk", flat=True)
    return SideBySide(paid, _organic(list(targets)))


@dataclass(frozen=True)
class MonthSummary:
    month: dt.date
    currency: str
    limit_minor: int
    reserved_minor: int
    spent_minor: int
    forecast: rules.Forecast
    days: list[str]
    spend_per_day: list[int]  # minor units, for the chart
    cumulative: list[int]


def month_summary(workspace: Any, today: dt.date | None = None) -> MonthSummary:
    zone = ZoneInfo(workspace.timezone)
    today = today or timezone.localdate(timezone.now(), zone)
    first = today.replace(day=1)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    budget = AdBudget.objects.filter(workspace=workspace).first()
    reserved = (
        MonthSpend.objects.filter(workspace=workspace, month=first)
        .values_list("reserved_minor", flat=True)
        .first()
    )
    rows = (
        AdInsightDay.objects.filter(workspace=workspace, day__gte=first, day__lte=last)
        .values("day")
        .annotate(spend=Sum("spend_minor"))
        .order_by("day")
    )
    per_day = {row["day"]: int(row["spend"] or 0) for row in rows}
    spent = sum(per_day.values())
    running = []
    for boost in Boost.objects.filter(
        workspace=workspace,
        status__in=(Boost.Status.ACTIVE, Boost.Status.IN_REVIEW, Boost.Status.CREATING, Boost.Status.QUEUED),
    ).filter(Q(ends_at__gte=timezone.now())):
        boost_spent = int(AdInsightDay.objects.filter(boost=boost).aggregate(s=Sum("spend_minor"))["s"] or 0)
        days = rules.local_days(boost.starts_at, boost.ends_at, workspace.timezone)
        # Today may already be partly billed: the forecast counts from tomorrow for days with figures.
        running.append(
            (
                boost.account.channel.kind,
                boost.budget_kind,
                boost.budget_minor,
                boost_spent,
                [d for d in days if d > today or (d == today and d not in per_day)],
            )
        )
    forecast = rules.forecast(first, today, spent, running)
    labels, series, cumulative, total = [], [], [], 0
    for n in range(last.day):
        day = first + dt.timedelta(days=n)
        labels.append(day.isoformat())
        series.append(per_day.get(day, 0))
        total += per_day.get(day, 0)
        cumulative.append(total)
    return MonthSummary(
        month=first,
        currency=budget.currency if budget else "",
        limit_minor=budget.monthly_limit_minor if budget else 0,
        reserved_minor=int(reserved or 0),
        spent_minor=spent,
        forecast=forecast,
        days=labels,
        spend_per_day=series,
        cumulative=cumulative,
    )


# --- paid vs organic per boosted post (analytics dashboard and report) --------------------------
BOOSTED_POSTS_SHOWN = 50


@dataclass(frozen=True)
class BoostedPost:
    """One boosted post: paid = every day of its boosts' ad insights, organic = the post's latest
    counters (both over the post's whole life, as the dashboard counts posts)."""

    metrics: Any  # analytics.PostMetrics of the post
    currency: str
    paid: dict[str, int | None]

    @property
    def label(self) -> str:
        """The post's title, or the start of its text (what the home and lists show)."""
        target = self.metrics.target
        text = (target.post.title or target.text or str(target.post)).strip()
        return text if len(text) <= 60 else text[:59] + "…"

    @property
    def organic(self) -> dict[str, int | None]:
        pm = self.metrics
        return {name: getattr(pm, name) for name in ORGANIC}


def boosted_posts(f: Any, limit: int = BOOSTED_POSTS_SHOWN) -> list[BoostedPost]:
    """The posts the analytics filters `f` select (published in the period, channel, campaign…)
    that were boosted, most paid spend first. A post boosted from ad accounts in two currencies
    gets one row per currency (spends in different currencies are never added)."""
    from chorus.analytics import figures

    metrics = figures.post_rows(f).filter(target__boosts__isnull=False).distinct()
    by_target = {pm.target_id: pm for pm in metrics.select_related("target__post", "channel")[:2000]}
    if not by_target:
        return []
    sums: Any = (
        AdInsightDay.objects.filter(workspace=f.workspace, boost__target_id__in=list(by_target))
        .values("boost__target_id", "boost__currency")
        .annotate(**{name: Sum(name) for name in SUMMED})
    )
    found = []
    for row in sums:
        paid: dict[str, int | None] = {name: int(row[name] or 0) for name in SUMMED}
        spend, results = int(paid["spend_minor"] or 0), int(paid["results"] or 0)
        paid["cost_per_result_minor"] = round(spend / results) if results else None
        found.append(BoostedPost(by_target[row["boost__target_id"]], row["boost__currency"], paid))
    found.sort(key=lambda b: (-int(b.paid["spend_minor"] or 0), b.metrics.pk))
    return found[:limit]


def boosted_totals(posts: list[BoostedPost]) -> list[dict[str, Any]]:
    """Sums over `posts`, one per currency: paid figures and the organic ones beside them (an
    organic counter no post has stays None, "not available")."""
    out: dict[str, dict[str, Any]] = {}
    for post in posts:
        total = out.setdefault(
            post.currency,
            {"currency": post.currency, "posts": 0, **dict.fromkeys(SUMMED, 0), "organic": {}},
        )
        total["posts"] += 1
        for name in SUMMED:
            total[name] += int(post.paid[name] or 0)
        for name, value in post.organic.items():
            if value is not None:
                total["organic"][name] = total["organic"].get(name, 0) + value
    for total in out.values():
        total["cost_per_result_minor"] = (
            round(total["spend_minor"] / total["results"]) if total["results"] else None
        )
        total["organic"] = {name: total["organic"].get(name) for name in ORGANIC}
    return sorted(out.values(), key=lambda t: t["currency"])
