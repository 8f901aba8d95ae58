from __future__ import annotations

import time

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from tests.conftest import Cast
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)


@pytest.fixture
def linkedin_channel(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="linkedin",
        name="Ada Lovelace",
        config={
            "author": "urn:li:person:782bbtaQ",
            "member": "urn:li:person:782bbtaQ",
            "organizations": ["urn:li:organization:2414183"],
        },
        credentials={
            "access_token": "li-access-1",
            "refresh_token": "li-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )


@pytest.fixture
def linkedin_page(cast: Cast, oauth_apps: dict) -> Channel:  # noqa: F811  (fixture parameter)
    return connect_channel(
        workspace=cast.workspace,
        kind="linkedin",
        name="Chorus Foundation",
        config={
            "author": "urn:li:organization:2414183",
            "member": "urn:li:person:782bbtaQ",
            "organizations": ["urn:li:organization:2414183"],
        },
        credentials={
            "access_token": "li-access-1",
            "refresh_token": "li-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )
