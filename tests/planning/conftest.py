from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from chorus.publishing import actions
from tests.conftest import Cast
from tests.publishing.conftest import sink_channel  # noqa: F401  (a fixture, re-exported)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def scheduled(
    cast: Cast,
    channel: Channel,
    when: dt.datetime,
    text: str = "Hello",
    campaign: Campaign | None = None,
    author_role: str = "editor",
) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members[author_role], channels=[channel], text=text
    )
    if campaign is not None:
        post.campaign = campaign
        post.save(update_fields=["campaign"])
    target = post.targets.get()
    actions.schedule(target, actor=cast.owner, when=when)
    return PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)


@pytest.fixture
def future_year() -> int:
    return dt.date.today().year + 1
