"""The sample workspace works like a connected one: its channels publish to a simulated network
that says it is simulated (no 500, no "outcome unknown", no network call)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.analytics import collect
from chorus.analytics.demo import load_demo
from chorus.analytics.models import PostMetrics
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.publishing import actions, dispatch, engine

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(cast):
    return load_demo(days=10, posts_per_day=1, owner=cast.owner)


@pytest.fixture
def no_network(monkeypatch):
    """Any request through the one HTTP seam fails the test: the simulation sends nothing."""

    def refuse(request):  # pragma: no cover - reached only when the simulation leaks
        raise AssertionError(f"the sample network sent a real request: {request.method} {request.url}")

    http.set_transport_for_tests(httpx.MockTransport(refuse))
    yield
    http.set_transport_for_tests(None)


def test_checking_a_sample_channel_says_it_is_simulated(cast, sample, no_network):
    client = cast.client_for(cast.owner)
    for channel in sample.channels.all():
        response = client.post(reverse("channels:check", args=[sample.slug, channel.pk]), follow=True)
        assert response.status_code == 200
        assert "simulated" in response.content.decode(), channel.kind
    page = client.get(reverse("channels:list", args=[sample.slug])).content.decode()
    assert page.count('class="badge"') >= sample.channels.count()


def test_publishing_now_on_every_sample_channel_publishes_and_collects_metrics(cast, sample, no_network):
    channels = list(sample.channels.all())
    post = actions.create_post(workspace=sample, author=cast.owner, channels=channels, text="A sample post")
    for target in post.targets.all():
        actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))

    attempt_id, ids = dispatch.claim_due()
    outcomes = [engine.publish_one(pk, attempt_id) for pk in ids]

    assert outcomes == ["published"] * len(channels)
    targets = list(PostTarget.objects.filter(post=post))
    assert {t.status for t in targets} == {PostTarget.Status.PUBLISHED}
    assert all(t.external_id == f"sample-{t.uid}" for t in targets)
    # A day later the simulated audience has reacted, the way a real one does.
    PostTarget.objects.filter(post=post).update(published_at=timezone.now() - dt.timedelta(days=1))
    for target in PostTarget.objects.filter(post=post):
        assert collect.collect_post(target.pk) == "collected"
    rows = PostMetrics.objects.filter(target__post=post)
    assert rows.count() == len(channels)
    assert all((row.likes or 0) + (row.impressions or 0) > 0 for row in rows)


def test_collecting_an_invented_sample_post_keeps_the_demo_numbers(cast, sample, no_network):
    row = PostMetrics.objects.filter(workspace=sample).exclude(likes=None).select_related("target").first()
    before = row.likes

    assert collect.collect_post(row.target_id) == "collected"

    row.refresh_from_db()
    assert row.likes == before
