from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.publishing import actions
from tests.conftest import Cast


@pytest.fixture
def sink_channel(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="sink",
        name="Sink",
        config={},
        credentials={"token": "secret-token"},
        actor=cast.owner,
    )


def make_target(
    cast: Cast, channel: Channel, text: str = "Hello", when: dt.datetime | None = None
) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text
    )
    target = post.targets.get()
    if when is not None:
        actions.schedule(target, actor=cast.owner, when=when)
    return PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)


@pytest.fixture
def due_target(cast: Cast, sink_channel: Channel) -> PostTarget:
    return make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
