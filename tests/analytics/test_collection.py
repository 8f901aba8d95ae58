from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chorus.analytics import collect, tasks
from chorus.analytics.collect import poll_interval
from chorus.analytics.models import ChannelMetricsState, PostMetrics, PostSnapshot
from chorus.channels.actions import connect_channel
from chorus.connectors.base import RateLimited
from tests.analytics.conftest import published
from tests.analytics.fake import MetricsConnector

pytestmark = pytest.mark.django_db


def test_it_stores_a_snapshot_and_the_latest_figures_of_a_published_post(
    cast, metrics_channel, fake_connector
):
    target = published(cast, metrics_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"likes": 3, "reposts": 1, "replies": 0, "impressions": None}

    assert collect.collect_post(target.pk) == "collected"

    snapshot = PostSnapshot.objects.get(target=target)
    assert snapshot.metrics == {"likes": 3, "reposts": 1, "replies": 0}  # None is dropped: not available
    row = PostMetrics.objects.get(target=target)
    assert (row.likes, row.reposts, row.replies, row.impressions, row.engagement) == (3, 1, 0, None, 4)
    assert row.next_poll_at - row.collected_at == dt.timedelta(hours=1)  # fresh post: hourly


def test_it_polls_fresh_posts_hourly_recent_ones_daily_and_old_ones_weekly():
    assert poll_interval(dt.timedelta(hours=47)) == dt.timedelta(hours=1)
    assert poll_interval(dt.timedelta(days=3)) == dt.timedelta(days=1)
    assert poll_interval(dt.timedelta(days=29)) == dt.timedelta(days=1)
    assert poll_interval(dt.timedelta(days=31)) == dt.timedelta(days=7)


def test_it_holds_the_channel_when_the_network_rate_limits(cast, metrics_channel, fake_connector):
    target = published(cast, metrics_channel, timezone.now() - dt.timedelta(days=2))
    fake_connector.post_answer = RateLimited("slow down", retry_after=120)
    before = timezone.now()

    assert collect.collect_post(target.pk) == "rate_limited"
    state = ChannelMetricsState.objects.get(channel=metrics_channel)
    assert state.held_until >= before + dt.timedelta(seconds=119)
    assert PostMetrics.objects.filter(target=target).exists() is False or (
        PostMetrics.objects.get(target=target).next_poll_at >= before + dt.timedelta(seconds=119)
    )
    calls = len(MetricsConnector.calls)
    assert collect.collect_post(target.pk) == "held"
    assert collect.collect_account(metrics_channel.pk) == "held"
    assert len(MetricsConnector.calls) == calls  # nothing sent while held
    assert not PostSnapshot.objects.exists()


def test_it_enqueues_due_work_once_even_when_two_schedulers_run_it(
    cast, metrics_channel, fake_connector, monkeypatch
):
    queued: list[tuple[str, int]] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def enqueue(self, ident: int) -> None:
            queued.append((self.name, ident))

    monkeypatch.setattr(tasks, "collect_account_metrics", Recorder("account"))
    monkeypatch.setattr(tasks, "collect_post_metrics", Recorder("post"))
    fresh = published(cast, metrics_channel, timezone.now() - dt.timedelta(hours=2))
    published(cast, cast.workspace.channels.create(kind="sink", name="No metrics"), timezone.now())

    assert collect.enqueue_due() == {"accounts": 1, "posts": 1}
    assert collect.enqueue_due() == {"accounts": 0, "posts": 0}  # claimed: nothing twice
    assert sorted(queued) == [("account", metrics_channel.pk), ("post", fresh.pk)]


def test_it_runs_twice_safely_and_keeps_history(cast, metrics_channel, fake_connector):
    target = published(cast, metrics_channel, timezone.now() - dt.timedelta(hours=1))
    fake_connector.post_answer = {"likes": 1}
    tasks.collect_post_metrics.call(target.pk)
    fake_connector.post_answer = {"likes": 2}
    tasks.collect_post_metrics.call(target.pk)
    assert [s.metrics["likes"] for s in PostSnapshot.objects.filter(target=target).order_by("taken_at")] == [
        1,
        2,
    ]
    assert PostMetrics.objects.get(target=target).likes == 2


def test_it_backfills_account_and_posts_when_a_channel_connects(
    cast, fake_connector, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[tuple[str, int]] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def enqueue(self, ident: int) -> None:
            queued.append((self.name, ident))

    monkeypatch.setattr(tasks, "collect_account_metrics", Recorder("account"))
    monkeypatch.setattr(tasks, "collect_post_metrics", Recorder("post"))
    with django_capture_on_commit_callbacks(execute=True):
        channel = connect_channel(
            workspace=cast.workspace, kind="metricsfake", name="F", config={}, credentials={}
        )
    assert queued == [("account", channel.pk)]


def test_it_records_account_metrics_without_inventing_missing_ones(cast, metrics_channel, fake_connector):
    fake_connector.account_answer = {"followers": 120, "posts": 8, "reach": None}
    assert collect.collect_account(metrics_channel.pk) == "collected"
    snapshot = metrics_channel.account_snapshots.get()
    assert snapshot.metrics == {"followers": 120, "posts": 8}
