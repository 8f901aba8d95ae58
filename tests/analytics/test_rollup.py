"""The dashboard's rollup cells (PostRollup) stay equal to the PostMetrics rows they sum: a new
snapshot updates them, a re-collected one does not count twice, tag changes and deletions move
them, and every figure read from them equals the same figure read from the posts."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from chorus.analytics import collect, figures, rollup
from chorus.analytics.models import PostMetrics, PostRollup
from tests.analytics.conftest import published, snap_post

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
D = PostRollup.Dimension


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PARIS).astimezone(dt.UTC)


def cell(cast, dimension: str, day: str, key: int) -> PostRollup:
    return PostRollup.objects.get(
        workspace=cast.workspace, dimension=dimension, day=dt.date.fromisoformat(day), key=key
    )


def march(cast, **kw) -> figures.Filters:
    return figures.Filters(cast.workspace, dt.date(2026, 3, 1), dt.date(2026, 3, 31), **kw)


def assert_same_figures(f: figures.Filters) -> None:
    """Every post figure, from the cells and from the posts, is the same."""
    assert figures.post_totals(f) == figures.post_totals(f, rollup=False)
    assert figures.daily_series(f) == figures.daily_series(f, rollup=False)
    for by in figures.BREAKDOWNS:
        for slim in (True, False):
            assert figures.breakdown(f, by, slim=slim) == figures.breakdown(f, by, slim=slim, rollup=False), (
                by
            )


def test_a_new_snapshot_updates_the_cells_of_its_post(cast, metrics_channel):
    target = published(cast, metrics_channel, at("2026-03-03"))
    snap_post(target, {"likes": 3, "impressions": 100}, at("2026-03-03", 13))
    channel_cell = cell(cast, D.CHANNEL, "2026-03-03", metrics_channel.pk)
    assert (channel_cell.posts, channel_cell.likes, channel_cell.engagement, channel_cell.reposts) == (
        1,
        3,
        3,
        None,  # no post of the cell has reposts: not available, not 0
    )
    assert cell(cast, D.AUTHOR, "2026-03-03", cast.members["editor"].pk).likes == 3
    assert cell(cast, D.CAMPAIGN, "2026-03-03", 0).posts == 1  # no campaign

    snap_post(target, {"likes": 8, "reposts": 2, "impressions": 150}, at("2026-03-04"))
    channel_cell.refresh_from_db()
    assert (channel_cell.posts, channel_cell.likes, channel_cell.reposts, channel_cell.engagement) == (
        1,
        8,
        2,
        10,
    )
    assert channel_cell.engaged_with_impressions == 10


def test_a_recollected_snapshot_does_not_count_twice(cast, metrics_channel):
    a = published(cast, metrics_channel, at("2026-03-03"))
    b = published(cast, metrics_channel, at("2026-03-03", 18))
    snap_post(a, {"likes": 5}, at("2026-03-04"))
    snap_post(b, {"likes": 7}, at("2026-03-04"))
    for _ in range(3):  # the same numbers collected again (a task run twice, a retry)
        snap_post(a, {"likes": 5}, at("2026-03-05"))
    c = cell(cast, D.CHANNEL, "2026-03-03", metrics_channel.pk)
    assert (c.posts, c.likes) == (2, 12)
    assert figures.post_totals(march(cast))["likes"] == 12


def test_a_post_without_figures_yet_counts_as_published(cast, metrics_channel):
    target = published(cast, metrics_channel, at("2026-03-10"))
    collect.post_metrics_row(target)  # what the scheduler does for a target it has not seen yet
    c = cell(cast, D.CHANNEL, "2026-03-10", metrics_channel.pk)
    assert (c.posts, c.likes, c.engagement) == (1, None, None)
    assert figures.post_totals(march(cast))["posts"] == 1


def test_tag_changes_move_the_tag_cells(cast, metrics_channel):
    rivers = cast.workspace.tags.create(name="rivers")
    lakes = cast.workspace.tags.create(name="lakes")
    target = published(cast, metrics_channel, at("2026-03-03"))
    snap_post(target, {"likes": 4}, at("2026-03-04"))
    assert not PostRollup.objects.filter(dimension=D.TAG).exists()

    target.post.tags.add(rivers, lakes)
    assert cell(cast, D.TAG, "2026-03-03", rivers.pk).likes == 4
    target.post.tags.remove(rivers)
    assert not PostRollup.objects.filter(dimension=D.TAG, key=rivers.pk).exists()
    lakes.posts.clear()  # from the tag's side
    assert not PostRollup.objects.filter(dimension=D.TAG).exists()
    rivers.posts.add(target.post)
    target.post.tags.set([lakes])
    assert list(PostRollup.objects.filter(dimension=D.TAG).values_list("key", "likes")) == [(lakes.pk, 4)]
    target.post.tags.clear()
    assert not PostRollup.objects.filter(dimension=D.TAG).exists()
    assert_same_figures(march(cast))


def test_deleting_a_post_or_a_campaign_or_a_tag_keeps_figures_equal_to_the_posts(cast, metrics_channel):
    campaign = cast.workspace.campaigns.create(name="Water", slug="water")
    tag = cast.workspace.tags.create(name="rivers")
    kept = published(cast, metrics_channel, at("2026-03-03"), campaign=campaign)
    gone = published(cast, metrics_channel, at("2026-03-03", 15), campaign=campaign)
    other = published(cast, metrics_channel, at("2026-03-03", 16))
    for target, likes in ((kept, 2), (gone, 30), (other, 5)):
        target.post.tags.add(tag)
        snap_post(target, {"likes": likes}, at("2026-03-04"))

    gone.post.delete()
    assert cell(cast, D.CHANNEL, "2026-03-03", metrics_channel.pk).likes == 7
    assert cell(cast, D.TAG, "2026-03-03", tag.pk).likes == 7
    assert_same_figures(march(cast))

    campaign.delete()  # its posts now have no campaign
    by_campaign = figures.breakdown(march(cast), "campaign")
    assert [(r["id"], r["posts"], r["likes"]) for r in by_campaign] == [(None, 2, 7)]
    tag.delete()
    assert figures.breakdown(march(cast), "tag") == []
    assert_same_figures(march(cast))


def test_deleting_the_workspace_takes_its_cells_along(cast, metrics_channel):
    target = published(cast, metrics_channel, at("2026-03-03"))
    snap_post(target, {"likes": 1}, at("2026-03-04"))
    assert PostRollup.objects.exists()
    cast.workspace.delete()
    assert not PostRollup.objects.exists() and not PostMetrics.objects.exists()


def test_figures_from_the_cells_equal_figures_from_the_posts(cast, metrics_channel, fake_connector):
    """A month of varied posts: channels, campaigns, authors, tags, metrics some networks lack."""
    rng = random.Random(11)
    second = cast.workspace.channels.create(kind="metricsfake", name="Second")
    channels = [metrics_channel, second]
    campaigns = [None, *(cast.workspace.campaigns.create(name=f"C{i}", slug=f"c{i}") for i in range(2))]
    tags = [cast.workspace.tags.create(name=f"t{i}") for i in range(3)]
    authors = [cast.members["editor"], cast.owner, None]
    for i in range(60):
        day = dt.date(2026, 2, 20) + dt.timedelta(days=rng.randrange(45))
        when = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), PARIS)
        target = published(
            cast,
            rng.choice(channels),
            when.astimezone(dt.UTC),
            text=f"Post {i}",
            campaign=rng.choice(campaigns),
            author=rng.choice(authors),
        )
        target.post.tags.add(*rng.sample(tags, rng.randint(0, 2)))
        metrics = {"likes": rng.randint(0, 40), "reposts": rng.randint(0, 9)}
        if rng.random() < 0.5:
            metrics["impressions"] = rng.randint(50, 900)
        if rng.random() < 0.2:
            metrics = {}  # a network that gave nothing
        snap_post(target, metrics, when.astimezone(dt.UTC) + dt.timedelta(hours=2))
        if rng.random() < 0.3:  # collected again later with grown numbers
            metrics = {k: v + rng.randint(0, 5) for k, v in metrics.items()}
            snap_post(target, metrics, when.astimezone(dt.UTC) + dt.timedelta(days=1))

    month = march(cast)
    assert figures.post_totals(month)["posts"] > 20
    assert_same_figures(month)
    assert_same_figures(month.previous())
    assert_same_figures(march(cast, channel_ids=(second.pk,)))
    assert_same_figures(march(cast, campaign_id=campaigns[1].pk))
    assert_same_figures(march(cast, tag_id=tags[0].pk))
    assert_same_figures(march(cast, author_id=cast.owner.pk))
    assert_same_figures(march(cast, campaign_id=campaigns[2].pk, tag_id=tags[1].pk))  # the posts
    assert figures.cells(march(cast, tag_id=tags[0].pk)) is not None  # totals of one tag: its cells
    cells_before = set(
        PostRollup.objects.values_list("dimension", "day", "key", "posts", "likes", "engagement")
    )
    rollup.rebuild(cast.workspace.pk)  # the bulk path gives the same cells as the incremental one
    assert set(PostRollup.objects.values_list("dimension", "day", "key", "posts", "likes", "engagement")) == (
        cells_before
    )


def test_filters_the_cells_cannot_answer_read_the_posts(cast, metrics_channel):
    campaign = cast.workspace.campaigns.create(name="Water", slug="water")
    a = published(cast, metrics_channel, at("2026-03-03"), campaign=campaign)
    b = published(cast, metrics_channel, at("2026-03-04"))
    snap_post(a, {"likes": 7}, at("2026-03-05"))
    snap_post(b, {"likes": 2}, at("2026-03-05"))
    assert figures.cells(march(cast, campaign_id=campaign.pk), "channel") is None
    assert figures.cells(march(cast, channel_ids=(metrics_channel.pk,)), "campaign") is None
    assert figures.post_totals(march(cast, campaign_id=campaign.pk))["likes"] == 7
    by_campaign = figures.breakdown(march(cast, channel_ids=(metrics_channel.pk,)), "campaign")
    assert {r["name"]: r["likes"] for r in by_campaign} == {"Water": 7, "—": 2}
