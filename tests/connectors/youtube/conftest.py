from __future__ import annotations

import time

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)


@pytest.fixture
def youtube_channel(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="youtube",
        name="Chorus Foundation",
        config={"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw", "title": "Chorus Foundation"},
        credentials={
            "access_token": "yt-access-1",
            "refresh_token": "yt-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )
