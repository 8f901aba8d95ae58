from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from chorus.analytics import figures
from chorus.analytics.models import PostMetrics
from tests.analytics.conftest import published, snap_account, snap_post

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PARIS).astimezone(dt.UTC)


def month(cast, start: str = "2026-03-01", end: str = "2026-03-31", **kw) -> figures.Filters:
    return figures.Filters(cast.workspace, dt.date.fromisoformat(start), dt.date.fromisoformat(end), **kw)


def test_it_computes_follower_growth_from_the_last_snapshot_before_each_bound(cast, metrics_channel):
    snap_account(metrics_channel, {"followers": 90}, at("2026-02-20"))
    snap_account(metrics_channel, {"followers": 100}, at("2026-02-28", 23))
    snap_account(metrics_channel, {"followers": 118}, at("2026-03-15"))
    snap_account(metrics_channel, {"followers": 125}, at("2026-03-31", 23))
    snap_account(metrics_channel, {"followers": 300}, at("2026-04-01", 1))  # after the period

    [row] = figures.account_growth(month(cast))
    assert (row["followers_start"], row["followers_end"]) == (100, 125)
    assert row["follower_growth"] == 25
    assert row["follower_growth_pct"] == 25.0


def test_it_sums_reach_per_day_and_compares_it_with_the_previous_period(cast, metrics_channel):
    for day, reach in (("2026-02-10", 40), ("2026-02-20", 60), ("2026-03-05", 120), ("2026-03-06", 30)):
        snap_account(metrics_channel, {"reach": reach}, at(day))
    f = figures.Filters(
        cast.workspace, dt.date(2026, 3, 1), dt.date(2026, 3, 28)
    )  # 28 days: previous = February
    data = figures.dashboard(f)
    assert data["accounts"]["reach"] == 150
    assert data["previous"]["accounts"]["reach"] == 100
    assert data["change"]["account_reach"] == 50.0
    assert data["accounts"]["followers_end"] is None  # no follower snapshot: not available, not 0


def test_it_says_not_available_when_no_post_has_a_metric_and_zero_when_it_is_zero(cast, metrics_channel):
    target = published(cast, metrics_channel, at("2026-03-03"))
    snap_post(target, {"likes": 0, "reposts": 0}, at("2026-03-04"))
    totals = figures.post_totals(month(cast))
    assert totals["likes"] == 0 and totals["reposts"] == 0 and totals["engagement"] == 0
    assert totals["impressions"] is None and totals["saves"] is None
    assert totals["engagement_rate"] is None


def test_it_rates_engagement_only_over_posts_whose_network_gives_impressions(cast, metrics_channel):
    a = published(cast, metrics_channel, at("2026-03-03"))
    b = published(cast, metrics_channel, at("2026-03-04"))
    snap_post(a, {"likes": 8, "comments": 2, "impressions": 200}, at("2026-03-05"))
    snap_post(b, {"likes": 50}, at("2026-03-05"))  # no impressions from this one
    totals = figures.post_totals(month(cast))
    assert totals["engagement"] == 60
    assert totals["engagement_rate"] == 5.0  # 10 / 200, not 60 / 200


def test_it_counts_a_post_in_the_month_it_was_published_in_the_workspace_time_zone(cast, metrics_channel):
    # 23:30 UTC on 31 March is 1 April in Paris.
    target = published(cast, metrics_channel, dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC))
    snap_post(target, {"likes": 5}, dt.datetime(2026, 4, 2, tzinfo=dt.UTC))
    assert figures.post_totals(month(cast))["posts"] == 0
    assert figures.post_totals(month(cast, "2026-04-01", "2026-04-30"))["likes"] == 5


def test_it_breaks_figures_down_per_campaign_tag_and_author(cast, metrics_channel):
    campaign = cast.workspace.campaigns.create(name="Water", slug="water")
    tag = cast.workspace.tags.create(name="rivers")
    a = published(cast, metrics_channel, at("2026-03-03"), campaign=campaign)
    a.post.tags.add(tag)
    b = published(cast, metrics_channel, at("2026-03-04"))
    snap_post(a, {"likes": 7}, at("2026-03-05"))
    snap_post(b, {"likes": 2}, at("2026-03-05"))
    by_campaign = {r["name"]: r["engagement"] for r in figures.breakdown(month(cast), "campaign")}
    assert by_campaign == {"Water": 7, "—": 2}
    assert [(r["name"], r["engagement"]) for r in figures.breakdown(month(cast), "tag")] == [("rivers", 7)]
    assert figures.post_totals(month(cast, tag_id=tag.pk))["engagement"] == 7
    assert figures.breakdown(month(cast), "author")[0]["engagement"] == 9
    assert [p.target_id for p in figures.ranked_posts(month(cast))] == [a.pk, b.pk]
    assert [p.target_id for p in figures.ranked_posts(month(cast), best=False)] == [b.pk, a.pk]


def test_it_buckets_best_times_by_local_weekday_and_hour_with_the_posts_behind_each(cast, metrics_channel):
    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    # Three Mondays at 09:00 Paris time with high engagement, three Tuesdays at 18:00 with less,
    # and one Wednesday at 07:00 that did best but stands on a single post.
    for week in range(3):
        day = monday - dt.timedelta(weeks=week)
        for weekday, hour, likes in ((0, 9, 30), (1, 18, 10)):
            local = dt.datetime.combine(day + dt.timedelta(days=weekday), dt.time(hour, 15), PARIS)
            target = published(cast, metrics_channel, local.astimezone(dt.UTC))
            snap_post(target, {"likes": likes + week}, local.astimezone(dt.UTC) + dt.timedelta(days=1))
    lone = dt.datetime.combine(monday + dt.timedelta(days=2), dt.time(7), PARIS)
    snap_post(
        published(cast, metrics_channel, lone.astimezone(dt.UTC)), {"likes": 500}, lone.astimezone(dt.UTC)
    )

    heat = figures.best_time_heatmap(metrics_channel)
    assert heat.posts == 7
    assert heat.cells[(0, 9)].posts == 3 and heat.cells[(0, 9)].avg_engagement == 31.0
    assert heat.cells[(1, 18)].avg_engagement == 11.0
    suggestions = figures.suggested_times(metrics_channel, n=3)
    assert [(s.weekday, s.hour, s.posts) for s in suggestions] == [
        (0, 9, 3),
        (1, 18, 3),
    ]  # the lone post is not enough
    assert PostMetrics.objects.filter(local_weekday=2, local_hour=7).count() == 1


def test_it_compares_with_a_previous_period_of_the_same_length(cast):
    f = month(cast, "2026-03-01", "2026-03-31")
    prev = f.previous()
    assert (prev.start, prev.end) == (dt.date(2026, 1, 29), dt.date(2026, 2, 28))
    assert (
        figures.pct_change(120, 100) == 20.0
        and figures.pct_change(5, 0) is None
        and figures.pct_change(None, 3) is None
    )


def test_the_ranked_posts_carry_their_copys_channel_so_listing_them_asks_nothing_more(
    cast, metrics_channel, django_assert_num_queries
):
    """The top and bottom posts ask their copy's channel whether it can be boosted (ads_tags'
    boost_link): loaded with them, not one query per row (bench/pages: analytics 55 queries)."""
    for day in ("2026-03-03", "2026-03-04", "2026-03-05"):
        snap_post(published(cast, metrics_channel, at(day)), {"likes": 3}, at("2026-03-06"))
    ranked = figures.ranked_posts(month(cast))
    assert len(ranked) == 3
    with django_assert_num_queries(0):
        assert {pm.target.channel.kind for pm in ranked} == {metrics_channel.kind}
        assert all(pm.target.post.pk for pm in ranked)


def test_a_dashboard_and_its_previous_period_read_the_channels_and_each_followers_day_once(
    cast, metrics_channel
):
    """The scope's channels and the followers at the period's start were read by every figure
    that needs them (account growth twice, the growth chart, the amplifiers): once now, shared
    with the previous period's filters (bench/pages: analytics 45 -> 38 queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    snap_account(metrics_channel, {"followers": 100}, at("2026-02-27"))
    snap_account(metrics_channel, {"followers": 125}, at("2026-03-20"))
    f = month(cast, "2026-03-01", "2026-03-28")
    with CaptureQueriesContext(connection) as seen:
        data = figures.dashboard(f)
        series = figures.followers_series(f)
        figures.notable_amplifiers(f)
        channels = figures.workspace_channels(f)
    sql = [q["sql"] for q in seen.captured_queries]
    assert sum('FROM "channels_channel" WHERE' in s and "followers" not in s for s in sql) == 1, sql
    # Before 1 Mar, before 29 Mar, before 1 Feb, and the first from 1 Feb (February's start has
    # no count yet): 4, where each figure asking for itself made 6.
    assert sum('"followers" FROM "analytics_accountdaily"' in s and "LIMIT 1" in s for s in sql) == 4
    assert [c.pk for c in channels] == [metrics_channel.pk]
    assert (data["accounts"]["followers_start"], data["accounts"]["followers_end"]) == (100, 125)
    assert data["previous"]["accounts"]["followers_end"] == 100
    assert series[metrics_channel.name][0] == 100 and series[metrics_channel.name][-1] == 125
