"""The figures every screen and report shows, computed in the database from the rollup rows.

Post figures count posts *published in the period* with their latest (lifetime) counters, the
way post-level reports of Buffer or Sprout Social read. Account figures come from the account
snapshots: gauges (followers) as a level at the start and end of the period, flows (reach,
impressions, profile visits: per-day amounts) summed over it. `None` means "not available"
(no snapshot in scope carried that metric), never 0.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from chorus.accounts.models import Workspace
from chorus.analytics.models import (
    ACCOUNT_FLOWS,
    POST_METRICS,
    AccountDaily,
    Amplification,
    AnalyticsSettings,
    PostMetrics,
    PostRollup,
)
from chorus.channels.models import Channel
from chorus.content.models import PostTarget

BREAKDOWNS = {
    "channel": "channel_id",
    "campaign": "campaign_id",
    "author": "author_id",
    "tag": "target__post__tags",
}


@dataclass(frozen=True)
class Filters:
    workspace: Workspace
    start: dt.date
    end: dt.date  # inclusive
    channel_ids: tuple[int, ...] = ()
    campaign_id: int | None = None
    tag_id: int | None = None
    author_id: int | None = None
    # What one request reads several times (the scope's channels, their names, followers on a
    # given day), shared with the filters `previous()` derives: the dashboard asked for them
    # 11 times, now once each (bench/pages full size: 45 -> 36 queries).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        end = self.start - dt.timedelta(days=1)
        return replace(self, start=end - dt.timedelta(days=self.days - 1), end=end)

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = ZoneInfo(self.workspace.timezone)
        start = dt.datetime.combine(self.start, dt.time(), tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tz)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def pct_change(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return round((new - old) / old * 100, 2)


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole * 100, 2)


# --- posts ----------------------------------------------------------------------------------
#
# Post figures come from the rollup cells (PostRollup: sums per local day and channel, campaign,
# author or tag) when the filters allow it, otherwise from the PostMetrics rows themselves. Both
# give the same numbers (tests/analytics/test_rollup.py compares them); the cells only spare the
# scan of every post in a long period.


def post_rows(f: Filters) -> QuerySet[PostMetrics]:
    rows = PostMetrics.objects.filter(workspace=f.workspace, local_day__gte=f.start, local_day__lte=f.end)
    if f.channel_ids:
        rows = rows.filter(channel_id__in=f.channel_ids)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    if f.author_id:
        rows = rows.filter(author_id=f.author_id)
    if f.tag_id:
        rows = rows.filter(target__post__tags=f.tag_id)
    return rows


def _filters_by_dimension(f: Filters) -> dict[str, tuple[int, ...]]:
    found = {
        PostRollup.Dimension.CHANNEL: f.channel_ids,
        PostRollup.Dimension.CAMPAIGN: (f.campaign_id,) if f.campaign_id else (),
        PostRollup.Dimension.AUTHOR: (f.author_id,) if f.author_id else (),
        PostRollup.Dimension.TAG: (f.tag_id,) if f.tag_id else (),
    }
    return {dimension: ids for dimension, ids in found.items() if ids}


def cells(f: Filters, dimension: str | None = None) -> QuerySet[PostRollup] | None:
    """The rollup cells that answer `f`, or None when the filters need the posts themselves.

    With a `dimension` (a breakdown by it): its cells, when nothing but that dimension is
    filtered. Without (totals, days): the cells of the one filtered dimension, or the channel
    cells when nothing is (every post is in exactly one channel cell of its day). Two filters
    at once, or a breakdown by one dimension filtered on another, read the posts."""
    filtered = _filters_by_dimension(f)
    if len(filtered) > 1:
        return None
    if dimension is None:
        dimension = next(iter(filtered), PostRollup.Dimension.CHANNEL)
    elif filtered and dimension not in filtered:
        return None
    rows = PostRollup.objects.filter(
        workspace=f.workspace, dimension=dimension, day__gte=f.start, day__lte=f.end
    )
    return rows.filter(key__in=filtered[dimension]) if dimension in filtered else rows


SLIM = ("impressions", "engagement")  # what the dashboard's breakdown tables show
ALL_POST = (*POST_METRICS, "engagement")


def _totals_aggregates(names: tuple[str, ...] = ALL_POST, *, from_cells: bool = False) -> dict[str, Any]:
    # SQL's SUM over only NULLs is NULL: a metric no post in scope has stays "not available".
    aggs: dict[str, Any] = {"posts": Coalesce(Sum("posts"), 0) if from_cells else Count("id")}
    for name in names:
        aggs[f"{name}__sum"] = Sum(name)
    # The rate counts only posts whose network gives impressions, so a network without
    # impressions does not dilute it.
    aggs["engaged_with_impressions"] = (
        Sum("engaged_with_impressions")
        if from_cells
        else Sum("engagement", filter=Q(impressions__isnull=False))
    )
    return aggs


def _shape_totals(raw: dict[str, Any], names: tuple[str, ...] = ALL_POST) -> dict[str, Any]:
    out: dict[str, Any] = {"posts": raw["posts"]}
    for name in names:
        out[name] = raw[f"{name}__sum"]
    out["engagement_rate"] = ratio(raw["engaged_with_impressions"], out["impressions"])
    return out


def post_totals(f: Filters, *, rollup: bool = True) -> dict[str, Any]:
    found = cells(f) if rollup else None
    if found is not None:
        return _shape_totals(found.aggregate(**_totals_aggregates(from_cells=True)))
    return _shape_totals(post_rows(f).aggregate(**_totals_aggregates()))


def daily_series(f: Filters, *, rollup: bool = True) -> list[dict[str, Any]]:
    sums = {"engagement": Sum("engagement"), "impressions": Sum("impressions"), "reach": Sum("reach")}
    found = cells(f) if rollup else None
    grouped: Any
    if found is not None:
        grouped = (
            found.values("day")
            .annotate(posts=Sum("posts"), **sums)
            .values_list("day", "posts", "engagement", "impressions", "reach")
        )
    else:
        grouped = (
            post_rows(f)
            .values("local_day")
            .annotate(posts=Count("id"), **sums)
            .values_list("local_day", "posts", "engagement", "impressions", "reach")
        )
    rows = {r[0]: r for r in grouped.order_by()}
    out = []
    day = f.start
    while day <= f.end:
        r = rows.get(day)
        out.append(
            {
                "day": day,
                "posts": r[1] if r else 0,
                "engagement": r[2] if r else None,
                "impressions": r[3] if r else None,
                "reach": r[4] if r else None,
            }
        )
        day += dt.timedelta(days=1)
    return out


def breakdown(f: Filters, by: str, *, slim: bool = False, rollup: bool = True) -> list[dict[str, Any]]:
    """Totals per channel, campaign, tag or author; `slim` keeps posts, impressions, engagement
    and rate (the dashboard tables), the full form has every metric (reports)."""
    names = SLIM if slim else ALL_POST
    labels = _names(f, by)
    found = cells(f, by) if rollup else None
    if found is not None:
        grouped = found.values("key").annotate(**_totals_aggregates(names, from_cells=True)).order_by("key")
        raws = _cell_keys_as_rows(by, [dict(r) for r in grouped], names)
    else:
        key = BREAKDOWNS[by]
        rows = post_rows(f)
        if by == "tag" and not f.tag_id:
            # An inner join: untagged posts are left out by the database. (With a tag filter its
            # join already is one; a second filter would add a join and list co-tags.)
            rows = rows.filter(target__post__tags__isnull=False)
        grouped = rows.values(key).annotate(**_totals_aggregates(names)).order_by(key)
        raws = [(r[key], r) for r in grouped]
    out = []
    for ident, raw in raws:
        if ident is None and by == "tag":
            continue
        row = _shape_totals(raw, names)
        row["id"] = ident
        row["name"] = labels.get(ident, "—")
        out.append(row)
    out.sort(key=lambda r: (-(r["engagement"] or 0), r["name"]))
    return out


def _cell_keys_as_rows(
    by: str, grouped: list[dict[str, Any]], names: tuple[str, ...]
) -> list[tuple[Any, dict[str, Any]]]:
    """Cell keys read the way the posts' own columns read now: 0, or a campaign or author
    deleted since (its posts' column became NULL), is "none"; a deleted tag has no posts."""
    from chorus.accounts.models import User
    from chorus.content.models import Campaign, Tag

    keys = [r["key"] for r in grouped if r["key"]]
    if by == "channel":
        alive = set(keys)
    else:
        model: Any = {"campaign": Campaign, "author": User, "tag": Tag}[by]
        alive = set(model.objects.filter(pk__in=keys).values_list("pk", flat=True))
    merged: dict[Any, dict[str, Any]] = {}
    for raw in grouped:
        ident = raw.pop("key")
        ident = ident if ident in alive else None
        if ident is None and by == "tag":
            continue
        if ident in merged:  # a deleted campaign's or author's cells join the "none" row
            into = merged[ident]
            for name in ("posts", "engaged_with_impressions", *(f"{n}__sum" for n in names)):
                into[name] = raw[name] if into[name] is None else into[name] + (raw[name] or 0)
        else:
            merged[ident] = raw
    return list(merged.items())


def _names(f: Filters, by: str) -> dict[Any, str]:
    if by == "channel":
        return {c.pk: c.name for c in workspace_channels(f)}
    key = ("names", by)
    if key not in f.memo:
        f.memo[key] = _read_names(f.workspace, by)
    return dict(f.memo[key])


def _read_names(workspace: Workspace, by: str) -> dict[Any, str]:
    from chorus.accounts.models import User
    from chorus.content.models import Campaign, Tag

    if by == "channel":
        return {c.pk: c.name for c in Channel.objects.filter(workspace=workspace)}
    if by == "campaign":
        return {c.pk: c.name for c in Campaign.objects.filter(workspace=workspace)}
    if by == "tag":
        return {t.pk: t.name for t in Tag.objects.filter(workspace=workspace)}
    return {u.pk: str(u) for u in User.objects.filter(memberships__workspace=workspace)}


def ranked_posts(f: Filters, n: int = 5, *, best: bool = True) -> list[PostMetrics]:
    order = ("-engagement", "-published_at") if best else ("engagement", "published_at")
    if f.channel_ids or f.campaign_id or f.author_id or f.tag_id:
        rows = post_rows(f)  # a filtered set: sort it
    else:
        # The whole workspace: walk the (workspace, engagement, published_at, local_day) index in
        # order and stop at the n-th post of the period. The period bound is written so no day
        # index can serve it (SQLite, which has no range statistics, would otherwise pick the
        # day index and sort the whole period: 0.2 s for a year of 100,000 posts).
        rows = (
            PostMetrics.objects.filter(workspace=f.workspace)
            .alias(period_day=Coalesce("local_day", "local_day"))
            .filter(period_day__gte=f.start, period_day__lte=f.end)
        )
    ids = list(rows.filter(engagement__isnull=False).order_by(*order).values_list("pk", flat=True)[:n])
    # The copy's own channel too: the list asks it whether the post can be boosted (ads_tags).
    found = PostMetrics.objects.select_related("target__post", "target__channel", "channel").in_bulk(ids)
    return [found[pk] for pk in ids]


# --- accounts -------------------------------------------------------------------------------


def scoped_channels(f: Filters) -> list[Channel]:
    key = ("channels", f.channel_ids)
    if key not in f.memo:
        channels = Channel.objects.filter(workspace=f.workspace).order_by("name")
        if f.channel_ids:
            channels = channels.filter(pk__in=f.channel_ids)
        f.memo[key] = list(channels)
    return list(f.memo[key])


def workspace_channels(f: Filters) -> list[Channel]:
    """Every channel of the workspace by name, whatever the channel filter (the filter's choices)."""
    return scoped_channels(replace(f, channel_ids=()))


def _followers_at(
    f: Filters, channel_ids: list[int], *, before: dt.date | None = None, from_day: dt.date | None = None
) -> dict[int, int | None]:
    """Per channel, in one query: followers on the last day before `before`, or (with
    `from_day`) on the first day from `from_day` on. The period's start is asked three times
    (this period's start, the previous one's end, the growth chart's first value)."""
    key = ("followers", tuple(channel_ids), before, from_day)
    if key not in f.memo:
        f.memo[key] = _read_followers_at(channel_ids, before=before, from_day=from_day)
    return dict(f.memo[key])


def _read_followers_at(
    channel_ids: list[int], *, before: dt.date | None, from_day: dt.date | None
) -> dict[int, int | None]:
    rows = AccountDaily.objects.filter(channel=OuterRef("pk"), followers__isnull=False)
    if before is not None:
        rows = rows.filter(day__lt=before).order_by("-day")
    else:
        rows = rows.filter(day__gte=from_day).order_by("day")
    found = Channel.objects.filter(pk__in=channel_ids).annotate(v=Subquery(rows.values("followers")[:1]))
    return dict(found.values_list("pk", "v"))


def account_growth(f: Filters) -> list[dict[str, Any]]:
    """Per channel: followers at start and end, growth (absolute, %), and the daily flows summed."""
    channels = scoped_channels(f)
    ids = [c.pk for c in channels]
    at_start = _followers_at(f, ids, before=f.start)
    at_end = _followers_at(f, ids, before=f.end + dt.timedelta(days=1))
    if any(at_start.get(i) is None and at_end.get(i) is not None for i in ids):
        first_seen = _followers_at(f, ids, from_day=f.start)  # channels connected during the period
        at_start = {i: at_start.get(i) if at_start.get(i) is not None else first_seen.get(i) for i in ids}
    aggs: dict[str, Any] = {}
    for name in ACCOUNT_FLOWS:
        aggs[name] = Sum(name)
    flows = {
        r["channel_id"]: r
        for r in AccountDaily.objects.filter(channel_id__in=ids, day__gte=f.start, day__lte=f.end)
        .values("channel_id")
        .annotate(**aggs)
    }
    out = []
    for channel in channels:
        start, end = at_start.get(channel.pk), at_end.get(channel.pk)
        growth = None if start is None or end is None else end - start
        flow: Any = flows.get(channel.pk) or {}
        out.append(
            {
                "id": channel.pk,
                "name": channel.name,
                "kind": channel.kind,
                "followers_start": start,
                "followers_end": end,
                "follower_growth": growth,
                "follower_growth_pct": pct_change(end, start),
                **{name: flow.get(name) for name in ACCOUNT_FLOWS},
            }
        )
    return out


def account_totals(growth: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int | None:
        values = [r[key] for r in growth if r[key] is not None]
        return sum(values) if values else None

    start, end = total("followers_start"), total("followers_end")
    both = [r for r in growth if r["followers_start"] is not None and r["followers_end"] is not None]
    start_both = sum(r["followers_start"] for r in both) if both else None
    growth_abs = sum(r["follower_growth"] for r in both) if both else None
    return {
        "followers_start": start,
        "followers_end": end,
        "follower_growth": growth_abs,
        "follower_growth_pct": ratio(growth_abs, start_both),
        **{name: total(name) for name in ACCOUNT_FLOWS},
    }


def followers_series(f: Filters) -> dict[str, list[Any]]:
    """Followers per channel at the end of each day (carried forward), for the growth chart."""
    channels = scoped_channels(f)
    ids = [c.pk for c in channels]
    last: dict[int, dict[dt.date, int | None]] = defaultdict(dict)
    rows = AccountDaily.objects.filter(
        channel_id__in=ids, day__gte=f.start, day__lte=f.end, followers__isnull=False
    )
    for channel_id, day, followers in rows.values_list("channel_id", "day", "followers"):
        last[channel_id][day] = followers
    start_values = _followers_at(f, ids, before=f.start)
    days = [f.start + dt.timedelta(days=i) for i in range(f.days)]
    series: dict[str, list[Any]] = {"days": [d.isoformat() for d in days]}
    for channel in channels:
        current = start_values.get(channel.pk)
        values = []
        for day in days:
            current = last[channel.pk].get(day, current)
            values.append(current)
        series[channel.name] = values
    return series


# --- best time to post ----------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    weekday: int  # Monday=0
    hour: int
    avg_engagement: float
    posts: int  # how many published posts the average stands on


@dataclass
class HeatMap:
    cells: dict[tuple[int, int], Slot] = field(default_factory=dict)
    posts: int = 0

    def grid(self) -> list[list[Slot | None]]:
        return [[self.cells.get((d, h)) for h in range(24)] for d in range(7)]

    @property
    def peak(self) -> float:
        return max((s.avg_engagement for s in self.cells.values()), default=0.0)


def best_time_heatmap(channel: Channel, *, since_days: int = 365) -> HeatMap:
    since = dt.date.today() - dt.timedelta(days=since_days)
    grouped = (
        PostMetrics.objects.filter(channel=channel, engagement__isnull=False, local_day__gte=since)
        .values("local_weekday", "local_hour")
        .annotate(avg=Avg("engagement"), n=Count("id"))
    )
    heat = HeatMap()
    for g in grouped:
        slot = Slot(g["local_weekday"], g["local_hour"], round(float(g["avg"]), 2), g["n"])
        heat.cells[(slot.weekday, slot.hour)] = slot
        heat.posts += slot.posts
    return heat


def suggested_times(channel: Channel, n: int = 3, *, min_posts: int = 3) -> list[Slot]:
    """The composer's "suggested times": the `n` weekday × hour slots (workspace time zone) with
    the highest average engagement, among slots with at least `min_posts` posts behind them.
    Each Slot says how many posts it stands on; empty when there is not enough history."""
    slots = [s for s in best_time_heatmap(channel).cells.values() if s.posts >= min_posts]
    slots.sort(key=lambda s: (-s.avg_engagement, -s.posts, s.weekday, s.hour))
    return slots[:n]


# --- who amplified the posts -------------------------------------------------------------------


@dataclass
class Amplifiers:
    """Accounts that reposted or quoted posts in scope, most followed first. `unavailable` are the
    channels in scope whose network does not say who amplified a post: for them the list can
    claim nothing. `threshold` is the workspace's "notable" follower count."""

    rows: list[Amplification]
    threshold: int
    unavailable: list[Channel]
    total: int = 0  # amplifications in scope (rows holds at most the first `limit`)
    channels_in_scope: int = 0

    @property
    def available(self) -> bool:
        """At least one channel in scope says who amplified its posts."""
        return self.channels_in_scope > len(self.unavailable)


def _by_followers(rows: QuerySet[Amplification]) -> QuerySet[Amplification]:
    return rows.order_by(F("followers").desc(nulls_last=True), "first_seen_at", "pk")


def notable_amplifiers(f: Filters, *, limit: int = 20) -> Amplifiers:
    """Notable amplifications (followers at or above the workspace threshold) of the posts
    published in the period, with the same filters as the post figures."""
    from chorus.analytics.collect import supports_amplifiers

    threshold = AnalyticsSettings.notable_threshold(f.workspace.pk)
    rows = Amplification.objects.filter(
        workspace=f.workspace,
        followers__gte=threshold,
        target__latest_metrics__local_day__gte=f.start,
        target__latest_metrics__local_day__lte=f.end,
    )
    if f.channel_ids:
        rows = rows.filter(channel_id__in=f.channel_ids)
    if f.campaign_id:
        rows = rows.filter(target__latest_metrics__campaign_id=f.campaign_id)
    if f.author_id:
        rows = rows.filter(target__latest_metrics__author_id=f.author_id)
    if f.tag_id:
        rows = rows.filter(target__post__tags=f.tag_id)
    channels = scoped_channels(f)
    return Amplifiers(
        rows=list(_by_followers(rows).select_related("target__post", "channel")[:limit]),
        threshold=threshold,
        unavailable=[c for c in channels if not supports_amplifiers(c)],
        total=rows.count(),
        channels_in_scope=len(channels),
    )


def post_amplifiers(target: PostTarget) -> Amplifiers:
    """Every account that amplified one post, most followed first (the notable ones marked by
    the template against `threshold`)."""
    from chorus.analytics.collect import supports_amplifiers

    rows = list(_by_followers(Amplification.objects.filter(target=target)))
    available = supports_amplifiers(target.channel)
    return Amplifiers(
        rows=rows,
        threshold=AnalyticsSettings.notable_threshold(target.workspace_id),
        unavailable=[] if available else [target.channel],
        total=len(rows),
        channels_in_scope=1,
    )


# --- everything a dashboard or report shows ---------------------------------------------------


def dashboard(f: Filters, *, compare: bool = True) -> dict[str, Any]:
    totals = post_totals(f)
    growth = account_growth(f)
    data: dict[str, Any] = {
        "filters": f,
        "totals": totals,
        "accounts": account_totals(growth),
        "per_channel_accounts": growth,
        "daily": daily_series(f),
        "per_channel": breakdown(f, "channel", slim=True),
        "top": ranked_posts(f),
        "bottom": ranked_posts(f, best=False),
    }
    if compare:
        prev = f.previous()
        prev_totals = post_totals(prev)
        prev_accounts = account_totals(account_growth(prev))
        data["previous"] = {"filters": prev, "totals": prev_totals, "accounts": prev_accounts}
        data["change"] = {
            **{
                k: pct_change(totals[k], prev_totals[k])
                for k in ("posts", "engagement", "impressions", "reach", "link_clicks")
            },
            "engagement_rate": None
            if totals["engagement_rate"] is None or prev_totals["engagement_rate"] is None
            else round(totals["engagement_rate"] - prev_totals["engagement_rate"], 2),
            "account_reach": pct_change(data["accounts"]["reach"], prev_accounts["reach"]),
            "follower_growth": pct_change(
                data["accounts"]["follower_growth"], prev_accounts["follower_growth"]
            ),
        }
    return data
