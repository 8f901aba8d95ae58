"""Where a Bluesky account lives decides its AppView, its post links and the proxy header; the
connection check logs in afresh. Against a fake of the XRPC endpoints at the one HTTP seam (the
same behaviours run against the real local network in test_network_facts_peer.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.base import ReauthRequired
from chorus.connectors.bluesky.client import (
    APPVIEW_PROXY,
    PUBLIC_APPVIEW,
    appview_of,
    default_appview,
    post_url,
)
from chorus.connectors.bluesky.connector import (
    BlueskyConnectForm,
    BlueskyConnector,
    BlueskySettingsForm,
    record_key,
)
from tests.conftest import Cast
from tests.connectors.bluesky.test_connector_faked import fake_network, make_target, xrpc_error  # noqa: F401

pytestmark = pytest.mark.django_db
DID = "did:plc:author"


def bluesky_channel(cast: Cast, service: str, appview: str | None) -> Channel:
    """appview None: no setting stored (the server's default applies)."""
    config = {"handle": "ngo.example", "did": DID, "service": service}
    if appview is not None:
        config["appview"] = appview
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="@ngo",
        config=config,
        credentials={"accessJwt": "access", "refreshJwt": "refresh", "appPassword": "app-pass"},
    )


@pytest.fixture(autouse=True)
def _private_urls(settings: Any) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True


def test_the_default_appview_depends_on_where_the_account_lives() -> None:
    assert default_appview("https://bsky.social") == APPVIEW_PROXY == "did:web:api.bsky.app#bsky_appview"
    assert default_appview("https://morel.us-east.host.bsky.network") == APPVIEW_PROXY
    assert default_appview("https://pds.example.org") == ""  # the PDS itself
    assert default_appview("https://bsky.social.example.org") == ""
    assert appview_of({"service": "https://bsky.social"}) == APPVIEW_PROXY  # none set: the default
    assert appview_of({"service": "https://bsky.social", "appview": ""}) == ""  # set to the PDS


@pytest.mark.parametrize(
    ("service", "extra", "link"),
    [
        ("https://bsky.social", {}, "https://bsky.app/profile/ngo.example/post/3k"),
        ("https://morel.us-east.host.bsky.network", {}, "https://bsky.app/profile/ngo.example/post/3k"),
        # A self-hosted PDS may not federate with bsky.app: even with Bluesky's AppView named,
        # no bsky.app link unless the channel's web address says so.
        ("https://pds.example.org", {"appview": APPVIEW_PROXY}, f"at://{DID}/app.bsky.feed.post/3k"),
        ("https://pds.example.org", {}, f"at://{DID}/app.bsky.feed.post/3k"),
        ("https://bsky.social.example.org", {}, f"at://{DID}/app.bsky.feed.post/3k"),
        (
            "https://pds.example.org",
            {"web_url": "https://social.example.org"},
            "https://social.example.org/profile/ngo.example/post/3k",
        ),
    ],
)
def test_the_post_link_follows_where_the_account_lives(
    service: str, extra: dict[str, str], link: str
) -> None:
    assert post_url({"handle": "ngo.example", "did": DID, "service": service, **extra}, "3k") == link


def test_a_published_post_on_a_self_hosted_pds_links_to_its_at_uri(cast: Cast, fake_network: Any) -> None:  # noqa: F811
    fake_network(lambda request: httpx.Response(200, json={"uri": "at://x", "cid": "c"}))
    channel = bluesky_channel(cast, "https://pds.example.org", appview="")
    target = make_target(cast, channel, "Bonjour")
    target.save()
    result = channel.connector().publish(target)
    assert result.url == result.external_id == f"at://{DID}/app.bsky.feed.post/{record_key(target)}"
    assert not result.url.startswith("https://bsky.app")


def test_the_connect_form_takes_an_appview_and_the_connection_keeps_it(fake_network: Any) -> None:  # noqa: F811
    form = BlueskyConnectForm(
        {"handle": "@NGO.example", "app_password": "p", "service": "https://pds.example.org/", "appview": ""}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["appview"] == ""

    fake_network(
        lambda request: httpx.Response(
            200,
            json={"accessJwt": "a", "refreshJwt": "r", "did": DID, "handle": "ngo.example", "active": True},
        )
    )
    given = BlueskyConnector.begin_connect(
        {
            "handle": "ngo.example",
            "app_password": "p",
            "service": "https://pds.example.org",
            "appview": "https://appview.example.org/",
        },
        callback_url="",
        state="",
    )
    assert given.config["appview"] == "https://appview.example.org"
    default = BlueskyConnector.begin_connect(
        {"handle": "ngo.example", "app_password": "p", "service": "https://pds.example.org"},
        callback_url="",
        state="",
    )
    assert "appview" not in default.config  # a reconnect keeps what the settings page set
    assert appview_of(default.config) == ""


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("", None),
        ("did:web:appview.example.org#bsky_appview", "did:web:appview.example.org#bsky_appview"),
        ("https://appview.example.org/", "https://appview.example.org"),
    ],
)
def test_the_settings_form_takes_a_url_or_a_service_did(typed: str, stored: str | None) -> None:
    config = {"handle": "ngo.example", "did": DID, "service": "https://pds.example.org"}
    form = BlueskySettingsForm({"appview": typed, "web_url": ""})
    assert form.is_valid(), form.errors
    assert form.config_changes(config) == {"appview": stored or "", "web_url": ""}
    on_bluesky = BlueskySettingsForm({"appview": "", "web_url": ""})
    assert on_bluesky.is_valid()
    assert on_bluesky.config_changes({**config, "service": "https://bsky.social"})["appview"] == APPVIEW_PROXY


@pytest.mark.parametrize("typed", ["did:web:appview.example.org", "not a url", "ftp://appview.example.org"])
def test_the_settings_form_refuses_what_is_not_an_appview(typed: str) -> None:
    form = BlueskySettingsForm({"appview": typed, "web_url": ""})
    assert not form.is_valid()
    assert "appview" in form.errors


def test_a_deactivated_account_is_not_connected(fake_network: Any) -> None:  # noqa: F811
    session = {"accessJwt": "a", "refreshJwt": "r", "did": DID, "handle": "ngo.example"}
    fake_network(
        lambda request: httpx.Response(200, json={**session, "active": False, "status": "deactivated"})
    )
    with pytest.raises(ReauthRequired, match=r"still not active \(deactivated\)"):
        BlueskyConnector.begin_connect(
            {"handle": "ngo.example", "app_password": "p", "service": "https://pds.example.org"},
            callback_url="",
            state="",
        )


@pytest.mark.parametrize(
    ("service", "appview", "proxy"),
    [
        ("https://pds.example.org", None, None),  # the default: the PDS itself, no header
        ("https://pds.example.org", "", None),
        ("https://bsky.social", None, APPVIEW_PROXY),  # the default on Bluesky's network
        ("https://pds.example.org", "did:plc:appview#bsky_appview", "did:plc:appview#bsky_appview"),
    ],
)
def test_reads_through_the_pds_name_the_appview_setting_in_atproto_proxy(
    cast: Cast,
    fake_network: Any,  # noqa: F811
    service: str,
    appview: str | None,
    proxy: str | None,
) -> None:
    sent = fake_network(lambda request: httpx.Response(200, json={"followersCount": 3}))
    channel = bluesky_channel(cast, service, appview=appview)
    assert channel.connector().account_metrics() == {"followers": 3}
    (request,) = sent
    assert str(request.url).startswith(f"{service}/xrpc/app.bsky.actor.getProfile")
    assert request.headers["Authorization"] == "Bearer access"
    assert request.headers.get("atproto-proxy") == proxy


def test_an_appview_url_is_read_directly_without_the_accounts_token(cast: Cast, fake_network: Any) -> None:  # noqa: F811
    sent = fake_network(lambda request: httpx.Response(200, json={"followersCount": 3}))
    channel = bluesky_channel(cast, "https://pds.example.org", appview="https://appview.example.org")
    assert channel.connector().account_metrics() == {"followers": 3}
    (request,) = sent
    assert str(request.url).startswith("https://appview.example.org/xrpc/app.bsky.actor.getProfile")
    assert "Authorization" not in request.headers and "atproto-proxy" not in request.headers


def test_check_logs_in_afresh_and_keeps_the_new_session(cast: Cast, fake_network: Any) -> None:  # noqa: F811
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"identifier": DID, "password": "app-pass"}
        return httpx.Response(
            200,
            json={
                "accessJwt": "fresh",
                "refreshJwt": "fresh-r",
                "did": DID,
                "handle": "ngo.example",
                "active": True,
            },
        )

    sent = fake_network(handler)
    channel = bluesky_channel(cast, "https://pds.example.org", "")
    assert channel.connector().check() == "Connected as @ngo.example"
    assert [r.url.path for r in sent] == ["/xrpc/com.atproto.server.createSession"]
    channel.refresh_from_db()
    assert channel.credentials["accessJwt"] == "fresh" and channel.credentials["refreshJwt"] == "fresh-r"

    fake_network(lambda request: xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password"))
    with pytest.raises(ReauthRequired, match="Bluesky refused the saved app password"):
        channel.connector().check()


def test_a_read_back_carries_the_records_time_and_a_threads_own_reply_is_not_counted(
    cast: Cast,
    fake_network: Any,  # noqa: F811
) -> None:
    channel = bluesky_channel(cast, "https://pds.example.org", "https://appview.example.org")
    target = make_target(cast, channel, "Nous marchons ensemble. " * 30, options={"thread": True})
    target.save()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("getRecord"):
            rkey = request.url.params["rkey"]
            when = "2026-12-07T05:05:51.123Z" if rkey == record_key(target) else "2026-12-07T05:05:52Z"
            return httpx.Response(
                200, json={"uri": f"at://{DID}/x/{rkey}", "cid": "c", "value": {"createdAt": when}}
            )
        return httpx.Response(200, json={"posts": [{"likeCount": 2, "replyCount": 3}]})

    fake_network(handler)
    found = channel.connector().lookup(target)
    assert found is not None and found.published_at is not None
    assert found.published_at.isoformat() == "2026-12-07T05:05:51.123000+00:00"  # the first part's
    assert channel.connector().post_metrics(target) == {"likes": 2, "replies": 2}


def test_amplifiers_link_to_bsky_app_only_on_blueskys_network(
    cast: Cast,
    fake_network: Any,  # noqa: F811
) -> None:
    quote = {
        "uri": "at://did:plc:paper/app.bsky.feed.post/3kq",
        "author": {"did": "did:plc:paper", "handle": "paper.test"},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.rsplit("/", 1)[-1]
        if nsid == "app.bsky.feed.getQuotes":
            return httpx.Response(200, json={"posts": [quote]})
        if nsid == "app.bsky.actor.getProfiles":
            return httpx.Response(200, json={"profiles": []})
        return httpx.Response(200, json={"repostedBy": []})

    sent = fake_network(answer)
    on_bluesky = bluesky_channel(cast, "https://bsky.social", PUBLIC_APPVIEW)
    target = make_target(cast, on_bluesky, "Hi", external_id=f"at://{DID}/app.bsky.feed.post/3kabc")
    (found,) = on_bluesky.connector().amplifiers(target)
    assert found.url == "https://bsky.app/profile/paper.test/post/3kq"
    assert found.profile_url == "https://bsky.app/profile/paper.test"
    assert {r.url.host for r in sent} == {"public.api.bsky.app"}
