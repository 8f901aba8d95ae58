from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from chorus.analytics.collect import store_account_snapshot, store_post_snapshot
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.publishing import actions
from tests.analytics.fake import AmplifyingConnector, MetricsConnector
from tests.conftest import Cast


@pytest.fixture
def fake_connector(settings: Any) -> type[MetricsConnector]:
    settings.CHORUS_EXTRA_CONNECTORS = {
        **settings.CHORUS_EXTRA_CONNECTORS,
        "metricsfake": "tests.analytics.fake.MetricsConnector",
        "amplifyfake": "tests.analytics.fake.AmplifyingConnector",
    }
    AmplifyingConnector.amplifiers_answer = []
    MetricsConnector.post_answer = {}
    MetricsConnector.account_answer = {}
    MetricsConnector.calls = []
    return MetricsConnector


@pytest.fixture
def metrics_channel(cast: Cast, fake_connector: type[MetricsConnector]) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="metricsfake",
        name="Fake",
        config={},
        credentials={"token": "t"},
        actor=cast.owner,
    )


def published(
    cast: Cast, channel: Channel, at: dt.datetime, text: str = "Story", **post_fields: Any
) -> PostTarget:
    """A published target (the state a publish leaves), without a network."""
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text
    )
    for name, value in post_fields.items():
        setattr(post, name, value)
    post.save()
    PostTarget.objects.filter(post=post).update(
        status=PostTarget.Status.PUBLISHED, published_at=at, scheduled_at=at, external_id=f"x-{post.pk}"
    )
    return PostTarget.objects.select_related("workspace", "channel", "post").get(post=post)


def snap_post(target: PostTarget, metrics: dict[str, int | None], at: dt.datetime) -> None:
    store_post_snapshot(target, metrics, at)


def snap_account(channel: Channel, metrics: dict[str, int], at: dt.datetime) -> None:
    store_account_snapshot(channel, metrics, at)


@pytest.fixture
def amplifying_channel(cast: Cast, fake_connector: type[MetricsConnector]) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="amplifyfake",
        name="Amplifying",
        config={},
        credentials={"token": "t"},
        actor=cast.owner,
    )
