from __future__ import annotations

import time

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)


@pytest.fixture
def tiktok_channel(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="tiktok",
        name="chorusfoundation",
        config={
            "open_id": "723f24d7-e717-40f8-a2b6-cb8464cd23b4",
            "display_name": "chorusfoundation",
            "audited": True,
        },
        credentials={
            "access_token": "act.tt-access-1",
            "refresh_token": "rft.tt-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )
