"""The OAuth 2 token plumbing is one base (connectors/oauth2.py): each network only declares its
token endpoint (URL, how the app identifies itself), and every network's OAuth app is read from
one shape of settings. Against fakes of the networks' documented token endpoints."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.connectors.base import ReauthRequired
from chorus.connectors.facebook.connector import FacebookConnector
from chorus.connectors.linkedin.client import TOKEN_URL as LINKEDIN_TOKEN
from chorus.connectors.oauth2 import OAuth2Connector, oauth_app
from chorus.connectors.pinterest.client import TOKEN_URL as PINTEREST_TOKEN
from chorus.connectors.registry import connector_class
from chorus.connectors.tiktok.client import TOKEN_URL as TIKTOK_TOKEN
from chorus.connectors.x.client import TOKEN_URL as X_TOKEN
from chorus.connectors.x.connector import XConnector
from chorus.connectors.youtube.client import TOKEN_URL as YOUTUBE_TOKEN
from tests.connectors.graph_fake import set_meta_app
from tests.connectors.oauth_fakes import Fake, fake, oauth_apps  # noqa: F401  (fixtures)

# network → (token URL, the form it must receive besides the grant, the Basic header or None)
ENDPOINTS: dict[str, tuple[str, dict[str, str], str | None]] = {
    "linkedin": (LINKEDIN_TOKEN, {"client_id": "linkedin-id", "client_secret": "linkedin-secret"}, None),
    "youtube": (YOUTUBE_TOKEN, {"client_id": "youtube-id", "client_secret": "youtube-secret"}, None),
    "tiktok": (TIKTOK_TOKEN, {"client_key": "tiktok-id", "client_secret": "tiktok-secret"}, None),
    "pinterest": (PINTEREST_TOKEN, {}, "pinterest-id:pinterest-secret"),
    "x": (X_TOKEN, {"client_id": "x-id"}, "x-id:x-secret"),
}


def _channel(cast: Any, kind: str) -> Any:
    credentials = {
        "access_token": "old",
        "refresh_token": "kept-refresh",
        "expires_at": int(time.time()) + 60,
    }
    return connect_channel(
        workspace=cast.workspace, kind=kind, name=kind, config={}, credentials=credentials, actor=cast.owner
    )


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_a_refresh_goes_through_the_one_base_and_keeps_a_refresh_token_the_answer_lacks(
    kind: str,
    cast: Any,
    fake: Fake,  # noqa: F811
    oauth_apps: dict,  # noqa: F811
) -> None:
    url, identity, basic = ENDPOINTS[kind]
    fake.on("POST", url, httpx.Response(200, json={"access_token": "new", "expires_in": 3600}))
    channel = _channel(cast, kind)
    connector = channel.connector()
    assert isinstance(connector, OAuth2Connector)
    assert type(connector).exchange_refresh_token is OAuth2Connector.exchange_refresh_token  # no copy
    assert connector.access_token() == "new"  # expiring within the margin: refreshed first
    (sent,) = fake.to("POST", url)
    assert fake.form(sent) == {"grant_type": "refresh_token", "refresh_token": "kept-refresh", **identity}
    expected = "Basic " + base64.b64encode(basic.encode()).decode() if basic else None
    assert sent.headers.get("authorization") == expected
    channel.refresh_from_db()
    assert channel.credentials["refresh_token"] == "kept-refresh"  # never overwritten by nothing


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_a_dead_grant_asks_for_a_reconnection_and_leaves_the_tokens(
    kind: str,
    cast: Any,
    fake: Fake,  # noqa: F811
    oauth_apps: dict,  # noqa: F811
) -> None:
    url = ENDPOINTS[kind][0]
    fake.on("POST", url, httpx.Response(400, json={"error": "invalid_grant"}))
    channel = _channel(cast, kind)
    with pytest.raises(ReauthRequired):
        channel.connector().refresh_credentials()
    channel.refresh_from_db()
    assert channel.credentials["refresh_token"] == "kept-refresh"
    assert channel.credentials["access_token"] == "old"


def test_the_code_exchange_sends_the_pkce_verifier_through_the_base(
    fake: Fake,  # noqa: F811
    oauth_apps: dict,  # noqa: F811
) -> None:
    fake.on("POST", X_TOKEN, httpx.Response(200, json={"access_token": "a", "refresh_token": "r"}))
    XConnector.exchange_code("the-code", "https://chorus.example/cb", verifier="v" * 43)
    assert fake.form(fake.to("POST", X_TOKEN)[0]) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://chorus.example/cb",
        "code_verifier": "v" * 43,
        "client_id": "x-id",
    }


def test_every_oauth_app_has_one_shape_meta_included(settings: Any) -> None:
    settings.CHORUS_OAUTH_APPS = {}
    set_meta_app(settings, "facebook", "fb-id", "", enabled=None)
    assert not FacebookConnector.configured()
    assert FacebookConnector.missing_settings() == ["FACEBOOK_ENABLED", "FACEBOOK_CLIENT_SECRET"]
    set_meta_app(settings, "facebook", "fb-id", "fb-secret", enabled=None)
    assert FacebookConnector.configured() and FacebookConnector.app_credentials() == ("fb-id", "fb-secret")
    set_meta_app(settings, "facebook", "fb-id", "fb-secret", enabled=False)
    assert not FacebookConnector.configured()
    # The OAuth 2 networks read the very same entries.
    set_meta_app(settings, "linkedin", "li-id", "li-secret", enabled=None)
    assert connector_class("linkedin").configured()  # type: ignore[attr-defined]
    assert oauth_app("linkedin").missing() == [] and oauth_app("tiktok").missing() == [
        "TIKTOK_ENABLED",
        "TIKTOK_CLIENT_ID",
        "TIKTOK_CLIENT_SECRET",
    ]
