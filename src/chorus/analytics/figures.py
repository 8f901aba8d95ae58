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

from django.db.models import Avg, Count, OuterRef, Q, QuerySet, Subquery, Sum

from chorus.accounts.models import Workspace
from chorus.analytics.models import ACCOUNT_FLOWS, POST_METRICS, AccountDaily, PostMetrics
from chorus.channels.models import Channel

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


SLIM = ("impressions", "engagement")  # what the dashboard's breakdown tables show


def _totals_aggregates(names: tuple[str, ...] = (*POST_METRICS, "engagement")) -> dict[str, Any]:
    # SQL's SUM over only NULLs is NULL: a metric no post in scope has stays "not available".
    aggs: dict[str, Any] = {"posts": Count("id")}
    for name in names:
        aggs[f"{name}__sum"] = Sum(name)
    # The rate counts only posts whose network gives impressions, so a network without
    # impressions does not dilute it.
    aggs["engaged_with_impressions"] = Sum("engagement", filter=Q(impressions__isnull=False))
    return aggs


def _shape_totals(
    raw: dict[str, Any], names: tuple[str, ...] = (*POST_METRICS, "engagement")
) -> dict[str, Any]:
    out: dict[str, Any] = {"posts": raw["posts"]}
    for name in names:
        out[name] = raw[f"{name}__sum"]
    out["engagement_rate"] = ratio(raw["engaged_with_impressions"], out["impressions"])
    return out


def post_totals(f: Filters) -> dict[str, Any]:
    return _shape_totals(post_rows(f).aggregate(**_totals_aggregates()))


def daily_series(f: Filters) -> list[dict[str, Any]]:
    rows = {
        r["local_day"]: r
        for r in post_rows(f)
        .values("local_day")
        .annotate(
            posts=Count("id"),
            engagement=Sum("engagement"),
            impressions=Sum("impressions"),
            reach=Sum("reach"),
        )
    }
    out = []
    day = f.start
    while day <= f.end:
        r: Any = rows.get(day) or {}
        out.append(
            {
                "day": day,
                "posts": r.get("posts", 0),
                "engagement": r.get("engagement"),
                "impressions": r.get("impressions"),
                "reach": r.get("reach"),
            }
        )
        day += dt.timedelta(days=1)
    return out


def breakdown(f: Filters, by: str, *, slim: bool = False) -> list[dict[str, Any]]:
    """Totals per channel, campaign, tag or author; `slim` keeps posts, impressions, engagement
    and rate (the dashboard tables), the full form has every metric (reports)."""
    key = BREAKDOWNS[by]
    names = SLIM if slim else (*POST_METRICS, "engagement")
    grouped = post_rows(f).values(key).annotate(**_totals_aggregates(names)).order_by(key)
    labels = _names(f.workspace, by)
    out = []
    for raw in grouped:
        ident = raw[key]
        if ident is None and by == "tag":
            continue
        row = _shape_totals(raw, names)
        row["id"] = ident
        row["name"] = labels.get(ident, "—")
        out.append(row)
    out.sort(key=lambda r: (-(r["engagement"] or 0), r["name"]))
    return out


def _names(workspace: Workspace, by: str) -> dict[Any, str]:
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
    rows = post_rows(f).filter(engagement__isnull=False).select_related("target__post", "channel")
    order = ("-engagement", "-published_at") if best else ("engagement", "published_at")
    return list(rows.order_by(*order)[:n])


# --- accounts -------------------------------------------------------------------------------


def scoped_channels(f: Filters) -> list[Channel]:
    channels = Channel.objects.filter(workspace=f.workspace).order_by("name")
    if f.channel_ids:
        channels = channels.filter(pk__in=f.channel_ids)
    return list(channels)


def _followers_at(
    channel_ids: list[int], *, before: dt.date | None = None, from_day: dt.date | None = None
) -> dict[int, int | None]:
    """Per channel, in one query: followers on the last day before `before`, or (with
    `from_day`) on the first day from `from_day` on."""
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
    at_start = _followers_at(ids, before=f.start)
    at_end = _followers_at(ids, before=f.end + dt.timedelta(days=1))
    if any(at_start.get(i) is None and at_end.get(i) is not None for i in ids):
        first_seen = _followers_at(ids, from_day=f.start)  # channels connected during the period
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
    start_values = _followers_at(ids, before=f.start)
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
