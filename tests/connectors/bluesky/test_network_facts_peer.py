"""What Chorus records matches the real local Bluesky network (PDS + AppView from
@atproto/dev-env): the record's own time after a read-back, a thread's continuation not counted
as a reply, counters read through a self-hosted PDS (no Bluesky AppView named), and credentials
checked with a fresh login."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest
from django.utils import timezone

from chorus.analytics import tasks
from chorus.analytics.models import PostSnapshot
from chorus.channels.actions import connect_channel, pause_channel
from chorus.channels.models import Channel
from chorus.connectors.base import ReauthRequired
from chorus.connectors.bluesky.client import appview_of
from chorus.connectors.bluesky.connector import BlueskyConnector, record_key
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.publishing import actions, dispatch, engine, reconcile
from tests.conftest import Cast
from tests.connectors.bluesky.test_bluesky_peer import (  # the peer helpers of the connector tests
    Account,
    appview_get,
    author,  # noqa: F401  (fixture)
    create_account,
    make_target,
    peer_settings,  # noqa: F401  (fixture)
    write_record,
)
from tests.peers.bluesky import BlueskyNetwork

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


def pds_call(network: BlueskyNetwork, account: Account, nsid: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{network.pds_url}/xrpc/{nsid}",
        headers={"Authorization": f"Bearer {account.access}"},
        json=body,
        timeout=30,
    )
    response.raise_for_status()
    return response.json() if response.content else {}


def connect(cast: Cast, network: BlueskyNetwork, handle: str, password: str, appview: str = "") -> Channel:
    """Connected as a person does on the Channels page: no AppView typed for a self-hosted PDS."""
    result = BlueskyConnector.begin_connect(
        {"handle": handle, "app_password": password, "service": network.pds_url, "appview": appview},
        callback_url="",
        state="",
    )
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


@pytest.fixture
def channel(cast: Cast, bluesky_network: BlueskyNetwork, author: Account, peer_settings: Any) -> Channel:  # noqa: F811
    return connect(cast, bluesky_network, author.handle, author.password)


def test_a_self_hosted_pds_defaults_to_itself_as_appview_and_links_to_where_the_account_lives(
    channel: Channel, bluesky_network: BlueskyNetwork
) -> None:
    assert appview_of(channel.config) == ""  # not Bluesky's: this PDS does not federate there
    result = channel.connector()._result("3kabcdefghijk")
    assert result.url == f"at://{channel.config['did']}/app.bsky.feed.post/3kabcdefghijk"


def test_a_read_back_settles_with_the_records_own_time(
    cast: Cast,
    channel: Channel,
    author: Account,  # noqa: F811
    bluesky_network: BlueskyNetwork,
) -> None:
    target = make_target(cast, channel, "Sent, then the worker died before recording it")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _claimed = dispatch.claim_due()
    assert actions.begin_sending(target.pk, attempt_id)
    target = PostTarget.objects.select_related("channel", "workspace", "post").get(pk=target.pk)
    channel.connector().publish(target)  # the record is on the PDS; its answer is lost
    actions.mark_unknown(target, message="The worker stopped while sending.")
    time.sleep(1.5)  # the read-back happens visibly later than the post

    assert reconcile.reconcile_one(target.pk) == "published"
    target.refresh_from_db()
    record = httpx.get(
        f"{bluesky_network.pds_url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": author.did, "collection": "app.bsky.feed.post", "rkey": record_key(target)},
        timeout=30,
    ).json()
    created_at = dt.datetime.fromisoformat(record["value"]["createdAt"])
    assert target.published_at == created_at
    assert timezone.now() - target.published_at >= dt.timedelta(seconds=1.5)


def test_a_threads_continuation_is_not_a_reply_and_counters_come_through_the_pds(
    cast: Cast,
    channel: Channel,
    author: Account,  # noqa: F811
    bluesky_network: BlueskyNetwork,
    monkeypatch: Any,
) -> None:
    sent: list[httpx.Request] = []
    real_client = http.client

    def recording_client(**kwargs: Any) -> httpx.Client:
        session = real_client(**kwargs)
        session.event_hooks["request"].append(sent.append)
        return session

    monkeypatch.setattr(http, "client", recording_client)
    text = "Nous marchons ensemble pour le climat 🌍. " * 20  # three parts
    target = make_target(cast, channel, text, options={"thread": True})
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _claimed = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target = PostTarget.objects.get(pk=target.pk)

    fan = create_account(bluesky_network)
    bluesky_network.process_all()
    view = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[target.external_id])["posts"][0]
    root = {"uri": view["uri"], "cid": view["cid"]}
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    write_record(bluesky_network, fan, "app.bsky.feed.like", {"subject": root, "createdAt": now})
    reply = {"text": "Count me in", "reply": {"root": root, "parent": root}, "createdAt": now}
    write_record(bluesky_network, fan, "app.bsky.feed.post", reply)
    bluesky_network.process_all()
    assert (
        appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[target.external_id])["posts"][0][
            "replyCount"
        ]
        == 2
    )  # the AppView counts our own second part too

    sent.clear()
    assert tasks.collect_post_metrics.call(target.pk) == "collected"
    snapshot = PostSnapshot.objects.filter(target=target).latest("taken_at")
    assert snapshot.metrics["replies"] == 1  # the fan's reply; not the thread's own continuation
    assert snapshot.metrics["likes"] == 1
    reads = [r for r in sent if "/xrpc/app.bsky." in r.url.path]
    assert reads and all(str(r.url).startswith(bluesky_network.pds_url) for r in reads)
    assert all("atproto-proxy" not in r.headers for r in reads)  # no Bluesky AppView named blindly


def test_a_given_appview_is_read_directly(
    cast: Cast,
    bluesky_network: BlueskyNetwork,
    peer_settings: Any,  # noqa: F811
) -> None:
    account = create_account(bluesky_network)
    channel = connect(cast, bluesky_network, account.handle, account.password, bluesky_network.appview_url)
    assert channel.config["appview"] == bluesky_network.appview_url
    bluesky_network.process_all()
    assert channel.connector().account_metrics()["followers"] == 0


def test_check_detects_a_revoked_app_password(
    cast: Cast,
    bluesky_network: BlueskyNetwork,
    author: Account,  # noqa: F811
    peer_settings: Any,  # noqa: F811
) -> None:
    app = pds_call(bluesky_network, author, "com.atproto.server.createAppPassword", {"name": "chorus"})
    channel = connect(cast, bluesky_network, author.handle, app["password"])
    assert channel.connector().check() == f"Connected as @{author.handle}"

    pds_call(bluesky_network, author, "com.atproto.server.revokeAppPassword", {"name": "chorus"})
    channel.refresh_from_db()
    with pytest.raises(ReauthRequired, match="Bluesky refused the saved app password"):
        channel.connector().check()
    # On the Channels page, the button says so (the cached session alone still looked "Connected").
    page = cast.client_for(cast.owner).post(
        f"/w/{cast.workspace.slug}/channels/{channel.pk}/check/", follow=True
    )
    assert "Bluesky refused the saved app password; reconnect" in page.content.decode()
    assert "Connected as" not in page.content.decode()


def test_reconnecting_a_deactivated_account_says_it_is_still_deactivated(
    cast: Cast,
    bluesky_network: BlueskyNetwork,
    author: Account,  # noqa: F811
    peer_settings: Any,  # noqa: F811
) -> None:
    channel = connect(cast, bluesky_network, author.handle, author.password)
    pds_call(bluesky_network, author, "com.atproto.server.deactivateAccount", {})
    with pytest.raises(ReauthRequired, match="still not active"):
        channel.connector().check()
    pause_channel(channel=channel, reason="This Bluesky account is deactivated.")

    # Reconnecting from the Channels page, as a person does: refused, the channel stays paused.
    page = cast.client_for(cast.owner).post(
        f"/w/{cast.workspace.slug}/channels/connect/bluesky/",
        {"handle": author.handle, "app_password": author.password, "service": bluesky_network.pds_url},
    )
    assert page.status_code == 200
    assert "This Bluesky account is still not active (deactivated)" in page.content.decode()
    channel.refresh_from_db()
    assert channel.status == Channel.Status.PAUSED
    assert Channel.objects.filter(workspace=cast.workspace, kind="bluesky").count() == 1
    # "Resume" on the Channels page checks first: still deactivated, so it stays paused.
    resumed = cast.client_for(cast.owner).post(
        f"/w/{cast.workspace.slug}/channels/{channel.pk}/resume/", follow=True
    )
    assert "still not active (deactivated)" in resumed.content.decode()
    assert "is active again" not in resumed.content.decode()
    channel.refresh_from_db()
    assert channel.status == Channel.Status.PAUSED


def test_analytics_are_collected_through_the_appview_set_on_the_channels_settings_page(
    cast: Cast,
    owner_client: Any,
    channel: Channel,
    bluesky_network: BlueskyNetwork,
    monkeypatch: Any,
) -> None:
    """The AppView named by its service DID, as a self-hosted network's admin gives it: the PDS
    proxies every app.bsky.* read there (before, Chorus named Bluesky's AppView and the PDS
    answered 500, "Bluesky: Internal Server Error" on the post page)."""
    appview = f"{bluesky_network.appview_did}#bsky_appview"
    response = owner_client.post(
        f"/w/{cast.workspace.slug}/channels/{channel.pk}/settings/", {"appview": appview, "web_url": ""}
    )
    assert response.status_code == 302, response.content.decode()
    channel.refresh_from_db()
    assert channel.config["appview"] == appview

    sent: list[httpx.Request] = []
    real_client = http.client

    def recording_client(**kwargs: Any) -> httpx.Client:
        session = real_client(**kwargs)
        session.event_hooks["request"].append(sent.append)
        return session

    monkeypatch.setattr(http, "client", recording_client)
    target = make_target(cast, channel, "Merci à toutes et à tous 🌱")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _claimed = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target = PostTarget.objects.get(pk=target.pk)
    assert target.external_url == target.external_id  # the at:// URI: no bsky.app on this network

    fan = create_account(bluesky_network)
    bluesky_network.process_all()
    view = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[target.external_id])["posts"][0]
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    subject = {"uri": view["uri"], "cid": view["cid"]}
    write_record(bluesky_network, fan, "app.bsky.feed.like", {"subject": subject, "createdAt": now})
    write_record(bluesky_network, fan, "app.bsky.feed.repost", {"subject": subject, "createdAt": now})
    bluesky_network.process_all()

    sent.clear()
    assert tasks.collect_post_metrics.call(target.pk) == "collected"
    snapshot = PostSnapshot.objects.filter(target=target).latest("taken_at")
    assert snapshot.metrics["likes"] == 1 and snapshot.metrics["reposts"] == 1
    assert snapshot.metrics["replies"] == 0
    reads = [r for r in sent if "/xrpc/app.bsky." in r.url.path]
    assert reads and all(str(r.url).startswith(bluesky_network.pds_url) for r in reads)
    assert all(r.headers.get("atproto-proxy") == appview for r in reads)
    assert channel.connector().account_metrics()["posts"] == 1


def test_a_program_connects_a_bluesky_account_by_api_with_an_app_password(
    client: Any,
    cast: Cast,
    bluesky_network: BlueskyNetwork,
    author: Account,  # noqa: F811
    peer_settings: Any,  # noqa: F811
) -> None:
    """`POST /api/workspaces/{slug}/channels` tries the credentials on the real PDS before storing
    anything; a refused password stores nothing."""
    from chorus.accounts.models import ApiToken

    _token, raw = ApiToken.issue(cast.members["admin"], "automation")

    def connect(fields: dict[str, str]) -> Any:
        return client.post(
            "/api/workspaces/campaign/channels",
            data={"kind": "bluesky", "fields": fields},
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    wrong = connect(
        {"handle": author.handle, "app_password": "wrong-password", "service": bluesky_network.pds_url}
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "connect_refused"
    assert not Channel.objects.filter(workspace=cast.workspace).exists()

    answer = connect(
        {"handle": author.handle, "app_password": author.password, "service": bluesky_network.pds_url}
    )
    assert answer.status_code == 201, answer.content
    channel = Channel.objects.get(pk=answer.json()["channel"]["id"], workspace=cast.workspace)
    assert channel.config["did"] == author.did and answer.json()["channel"]["config"]["did"] == author.did
    assert author.password not in answer.content.decode()
    assert channel.connector().check()  # a fresh session from the stored app password
