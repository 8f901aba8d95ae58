from __future__ import annotations

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast


def channel(cast: Cast, kind: str, name: str, config: dict | None = None) -> Channel:
    return connect_channel(
        workspace=cast.workspace, kind=kind, name=name, config=config or {}, credentials={}, actor=cast.owner
    )


@pytest.fixture
def bluesky(cast: Cast) -> Channel:
    return channel(cast, "bluesky", "NGO on Bluesky", {"handle": "ngo.bsky.social", "did": "did:plc:x"})


@pytest.fixture
def mastodon(cast: Cast) -> Channel:
    return channel(
        cast,
        "mastodon",
        "NGO on Mastodon",
        {"instance": "https://social.example", "username": "ngo", "limits": {"max_characters": 100}},
    )


@pytest.fixture
def sink(cast: Cast) -> Channel:
    return channel(cast, "sink", "Sink")
