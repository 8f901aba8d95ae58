"""Alerts on synthetic series: a spike alerts once, a flat series never; rate limit; notable author."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from chorus.core.models import Notification
from chorus.listening import actions, alerts
from chorus.listening.alerts import negative_surge, spikes
from chorus.listening.models import Alert, Match


def test_a_spike_is_reported_once_however_long_it_lasts():
    series = [5] * 30 + [40, 45, 42, 38] + [5] * 10
    found = spikes(series, factor=3)
    assert [s.index for s in found] == [30]
    assert found[0].baseline == 5


def test_a_flat_or_gently_noisy_series_never_alerts():
    assert spikes([10] * 200, factor=3) == []
    rng = random.Random(1)
    assert spikes([rng.randint(8, 14) for _ in range(500)], factor=3) == []
    assert spikes([0] * 50 + [2] + [0] * 50, factor=3) == []  # 2 posts are below the minimum


def test_two_separate_spikes_are_two_alerts():
    series = [4] * 30 + [30] + [4] * 30 + [50]
    assert [s.index for s in spikes(series, factor=3)] == [30, 61]


def test_negative_surge():
    assert negative_surge([1, 1, 1, 8], [10, 10, 10, 10], share=0.5)
    assert not negative_surge([6, 6, 6, 6], [10, 10, 10, 10], share=0.5)  # always this negative
    assert not negative_surge([0, 0, 0, 3], [10, 10, 10, 3], share=0.5)  # too few posts


def _hourly_matches(query, counts, now, *, sentiment="neutral", start=0):
    rows = []
    n = start
    for hours_ago, count in enumerate(reversed(counts)):
        for k in range(count):
            n += 1
            rows.append(
                Match(
                    workspace=query.workspace,
                    query=query,
                    network="bluesky",
                    uri=f"at://x/app.bsky.feed.post/{n}",
                    author_id="did:plc:x",
                    text="chorus",
                    sentiment=sentiment,
                    posted_at=now - dt.timedelta(hours=hours_ago, minutes=1 + k % 50),
                )
            )
    Match.objects.bulk_create(rows)
    return n


@pytest.mark.django_db
def test_check_raises_a_spike_once_with_its_rate_limit_and_tells_managers(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    now = timezone.now()
    _hourly_matches(query, [3] * 24 + [30], now)
    assert alerts.check(cast.workspace.pk, now=now) == 1
    alert = Alert.objects.get()
    assert alert.kind == "spike" and "30 posts in the last hour" in alert.message
    assert Notification.objects.filter(user=cast.owner, kind="listening.alert").exists()
    assert not Notification.objects.filter(user=cast.members["viewer"]).exists()
    # The same spike, checked again within the interval, is not announced twice.
    assert alerts.check(cast.workspace.pk, now=now + dt.timedelta(minutes=5)) == 0
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_check_on_a_flat_series_never_alerts(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    now = timezone.now()
    _hourly_matches(query, [6] * 25, now)
    for minutes in range(0, 600, 60):  # checked every hour for ten hours
        assert alerts.check(cast.workspace.pk, now=now - dt.timedelta(minutes=minutes)) == 0
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_negative_surge_and_notable_author(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    now = timezone.now()
    n = _hourly_matches(query, [4] * 24 + [0], now, sentiment="positive")
    _hourly_matches(query, [0] * 24 + [6], now, sentiment="negative", start=n)
    Match.objects.filter(sentiment="negative").update(
        author_followers=250_000, author_handle="famous.example"
    )
    assert alerts.check(cast.workspace.pk, now=now) == 2  # 6 posts against 4 an hour is no spike
    assert set(Alert.objects.values_list("kind", flat=True)) == {"negative", "notable"}
    assert "famous.example (250000 followers)" in Alert.objects.get(kind="notable").message
