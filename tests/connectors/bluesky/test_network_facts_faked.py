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
from chorus.connectors.bluesky.client import PUBLIC_APPVIEW, default_appview, post_url
from chorus.connectors.bluesky.connector import BlueskyConnectForm, BlueskyConnector, record_key
from tests.conftest import Cast
from tests.connectors.bluesky.test_connector_faked import fake_network, make_target, xrpc_error  # noqa: F401

pytestmark = pytest.mark.django_db
DID = "did:plc:author"


def bluesky_channel(cast: Cast, service: str, appview: str) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="@ngo",
        config={"handle": "ngo.example", "did": DID, "service": service, "appview": appview},
        credentials={"accessJwt": "access", "refreshJwt": "refresh", "appPassword": "app-pass"},
    )


@pytest.fixture(autouse=True)
def _private_urls(settings: Any) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True


def test_the_default_appview_depends_on_where_the_account_lives() -> None:
    assert default_appview("https://bsky.social") == PUBLIC_APPVIEW
    assert default_appview("https://morel.us-east.host.bsky.network") == PUBLIC_APPVIEW
    assert default_appview("https://pds.example.org") == ""  # the PDS itself
    assert default_appview("https://bsky.social.example.org") == ""


def test_the_post_link_is_bsky_app_only_on_blueskys_network() -> None:
    on_bluesky = {
        "handle": "ngo.bsky.social",
        "did": DID,
        "service": "https://bsky.social",
        "appview": PUBLIC_APPVIEW,
    }
    assert post_url(on_bluesky, "3k") == "https://bsky.app/profile/ngo.bsky.social/post/3k"
    federated = {**on_bluesky, "service": "https://pds.example.org"}  # a PDS set to Bluesky's AppView
    assert post_url(federated, "3k").startswith("https://bsky.app/")
    alone = {"handle": "ngo.example", "did": DID, "service": "https://pds.example.org", "appview": ""}
    assert post_url(alone, "3k") == (
        "https://pds.example.org/xrpc/com.atproto.repo.getRecord"
        "?repo=did%3Aplc%3Aauthor&collection=app.bsky.feed.post&rkey=3k"
    )


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
    assert default.config["appview"] == ""


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
    ("service", "proxied"), [("https://pds.example.org", False), ("https://bsky.social", True)]
)
def test_reads_through_the_pds_name_blueskys_appview_only_on_its_network(
    cast: Cast,
    fake_network: Any,  # noqa: F811
    service: str,
    proxied: bool,
) -> None:
    sent = fake_network(lambda request: httpx.Response(200, json={"followersCount": 3}))
    channel = bluesky_channel(cast, service, appview="")
    assert channel.connector().account_metrics() == {"followers": 3}
    (request,) = sent
    assert str(request.url).startswith(f"{service}/xrpc/app.bsky.actor.getProfile")
    assert request.headers["Authorization"] == "Bearer access"
    assert ("atproto-proxy" in request.headers) is proxied


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
