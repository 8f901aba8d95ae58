from __future__ import annotations

import time

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)


@pytest.fixture
def x_channel(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="x",
        name="@chorusteam",
        config={"user_id": "2244994945", "username": "chorusteam"},
        credentials={
            "access_token": "x-access-1",
            "refresh_token": "x-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )
