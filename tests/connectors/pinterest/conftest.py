from __future__ import annotations

import time

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)


@pytest.fixture
def pinterest_channel(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="pinterest",
        name="chorusfoundation",
        config={"username": "chorusfoundation", "boards": [{"id": "549755885175", "name": "Campaigns"}]},
        credentials={
            "access_token": "pina_access-1",
            "refresh_token": "pinr_refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )
