"""Meta delivers a Page's webhooks only for fields subscribed at the app level (the app dashboard)
and at the Page level: Chorus installs its app on each connected Page itself (POST
/{page-id}/subscribed_apps, read back by GET), once per channel, from the inbox sweep; a declined
pages_manage_metadata makes no call, a refusal is said on the pages and polling still runs, a
reconnect subscribes again, and an Instagram account's linked Page is subscribed the same way.
Against the HTTP fakes of the Graph API (`SubscribedAppsFake`), asserting the requests sent."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from chorus.accounts.models import User
from chorus.channels.actions import Connection, connect_account, connect_channel
from chorus.channels.models import Channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.core.models import AuditEvent
from chorus.inbox import tasks
from tests.conftest import Cast
from tests.connectors.graph_fake import (  # noqa: F401  (fixtures)
    GraphFake,
    SubscribedAppsFake,
    graph,
    meta_apps,
    permission_error,
)
from tests.inbox.test_meta_permissions_fake import FB_HERE, log_in, page_feeds
from tests.test_i18n import ensure_compiled_catalog

pytestmark = pytest.mark.django_db
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
PAGE = "1111"
REFUSED = (
    "Real-time updates are off (new items arrive with the next poll): (#200) The user "
    "hasn&#x27;t authorized the application to perform this action: pages_manage_metadata"
)
REFUSED_FR = (
    "Les mises à jour en temps réel sont désactivées (les nouveaux éléments arrivent au prochain relevé) : "
)


def subscriptions(graph: GraphFake, page: str = PAGE) -> tuple[list[httpx.Request], list[httpx.Request]]:  # noqa: F811
    url = f"{G}/{page}/subscribed_apps"
    return graph.to("POST", url), graph.to("GET", url)


def facebook_page(cast: Cast, **config: object) -> Channel:
    """A Page connected before Chorus subscribed Pages: its config has no record of it."""
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": PAGE, "page_name": "Seas Alive", "missing_permissions": [], **config},
        credentials={"access_token": "page-token-1111"},
    )


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task closes stale connections first (a worker's habit); the test's own must stay."""
    monkeypatch.setattr(tasks, "close_old_connections", lambda: None)


def sweep(channel: Channel) -> None:
    """What the scheduler's inbox sweep runs for the channel: its poll task."""
    tasks.poll_channel_task.call(channel.pk)
    channel.refresh_from_db()


def test_the_sweep_subscribes_a_page_once_with_exactly_its_fields(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    fake = SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    page_feeds(graph)
    channel = facebook_page(cast)
    sweep(channel)
    posts, gets = subscriptions(graph)
    assert len(posts) == 1 and len(gets) == 1
    assert GraphFake.form(posts[0]) == {"subscribed_fields": "feed,mention,messages"}
    assert GraphFake.query(posts[0]) == {"access_token": "page-token-1111"}  # the Page token
    assert GraphFake.query(gets[0]) == {"access_token": "page-token-1111"}
    record = channel.config["webhook_subscription"]
    assert record["fields"] == ["feed", "mention", "messages"] == fake.fields
    assert record["at"] and "refused" not in record
    (audited,) = AuditEvent.objects.filter(action="channel.webhooks_subscribed")
    assert audited.object_id == str(channel.pk)
    assert audited.data["fields"] == ["feed", "mention", "messages"]
    assert len(graph.to("GET", f"{G}/{PAGE}/feed")) == 1  # and the poll ran in the same sweep
    sweep(channel)
    assert [len(found) for found in subscriptions(graph)] == [1, 1]  # a second sweep: no call
    assert len(graph.to("GET", f"{G}/{PAGE}/feed")) == 2
    assert AuditEvent.objects.filter(action="channel.webhooks_subscribed").count() == 1


def test_the_fields_recorded_are_the_ones_meta_reads_back_for_our_app(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    """Meta may keep fewer fields than asked (one the app dashboard does not offer): the record
    says what the read-back lists for Chorus's app, not what was sent."""
    SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    graph.routes[("GET", f"{G}/{PAGE}/subscribed_apps")] = [
        httpx.Response(
            200,
            json={
                "data": [
                    {"name": "Another tool", "id": "999000", "subscribed_fields": ["feed"]},
                    {"name": "Chorus", "id": "facebook-app", "subscribed_fields": ["feed", "messages"]},
                ]
            },
        )
    ]
    page_feeds(graph)
    channel = facebook_page(cast)
    sweep(channel)
    assert channel.config["webhook_subscription"]["fields"] == ["feed", "messages"]


def test_a_declined_pages_manage_metadata_makes_no_call_and_keeps_its_note(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    page_feeds(graph)
    channel = facebook_page(cast, missing_permissions=["pages_manage_metadata"])
    sweep(channel)
    sweep(channel)
    assert subscriptions(graph) == ([], [])
    assert "webhook_subscription" not in channel.config
    assert not AuditEvent.objects.filter(action__startswith="channel.webhooks_").exists()
    assert len(graph.to("GET", f"{G}/{PAGE}/feed")) == 2  # polling, the backstop, reads on
    page = owner_client.get("/w/campaign/channels/").content.decode()
    assert "the permission pages_manage_metadata was not granted" in page
    assert "Real-time updates are off" not in page


@pytest.mark.parametrize("code", [200, 10])
def test_a_refusal_is_recorded_and_shown_and_polling_still_runs(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
    code: int,
) -> None:
    fake = SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    fake.refuse = permission_error(code)
    page_feeds(graph)
    channel = facebook_page(cast)
    sweep(channel)
    assert channel.status == "active" and not channel.paused_reason  # not fatal
    assert len(graph.to("GET", f"{G}/{PAGE}/feed")) == 1
    record = channel.config["webhook_subscription"]
    assert record["refused"].startswith(f"(#{code}) ") and "pages_manage_metadata" in record["refused"]
    assert record["code"] == code
    (audited,) = AuditEvent.objects.filter(action="channel.webhooks_refused")
    assert audited.data["reason"] == record["refused"]
    sweep(channel)
    assert [len(found) for found in subscriptions(graph)] == [1, 0]  # refused once: not retried
    for path in ("/w/campaign/channels/", "/w/campaign/inbox/"):
        shown = owner_client.get(path).content.decode()
        assert f"Real-time updates are off (new items arrive with the next poll): (#{code}) " in shown
        if code == 200:
            assert REFUSED in shown
    ensure_compiled_catalog()
    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    for path in ("/w/campaign/channels/", "/w/campaign/inbox/"):
        assert REFUSED_FR in owner_client.get(path).content.decode()


def test_a_transient_failure_records_nothing_and_the_next_sweep_subscribes(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    fake = SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    fake.refuse = httpx.Response(
        500, json={"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}
    )
    page_feeds(graph)
    channel = facebook_page(cast)
    sweep(channel)
    assert "webhook_subscription" not in channel.config
    fake.refuse = None
    sweep(channel)
    assert channel.config["webhook_subscription"]["fields"] == ["feed", "mention", "messages"]
    assert len(subscriptions(graph)[0]) == 2


def test_a_reconnect_subscribes_the_page_again(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    """Through the views: log in, sweep (subscribed), log in again (the record is emptied: the
    Page may have removed the app meanwhile), sweep (subscribed again), sweep (no call)."""
    fake = SubscribedAppsFake(graph, f"{G}/{PAGE}/subscribed_apps", app_id="facebook-app")
    log_in(owner_client, graph, "facebook", FB_HERE / "fixtures/me_accounts_one.json", "me_permissions_all_granted.json")  # fmt: skip
    channel = Channel.objects.get(workspace=cast.workspace)
    assert channel.config["webhook_subscription"] == {}
    page_feeds(graph)
    sweep(channel)
    assert channel.config["webhook_subscription"]["fields"] == ["feed", "mention", "messages"]
    fake.fields = None  # someone removed Chorus from the Page's integrations
    log_in(owner_client, graph, "facebook", FB_HERE / "fixtures/me_accounts_one.json", "me_permissions_all_granted.json")  # fmt: skip
    channel.refresh_from_db()
    assert channel.config["webhook_subscription"] == {}
    sweep(channel)
    sweep(channel)
    posts, _gets = subscriptions(graph)
    assert [GraphFake.form(sent) for sent in posts] == [{"subscribed_fields": "feed,mention,messages"}] * 2
    assert channel.config["webhook_subscription"]["fields"] == ["feed", "mention", "messages"]
    assert AuditEvent.objects.filter(action="channel.webhooks_subscribed").count() == 2


def test_an_instagram_accounts_linked_page_is_subscribed_with_its_page_token(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    ig_user, linked = "17841400000000001", "2222"
    fake = SubscribedAppsFake(graph, f"{G}/{linked}/subscribed_apps", app_id="instagram-app")
    graph.on("GET", f"{G}/{ig_user}/media", {"data": []})
    graph.on("GET", f"{G}/{ig_user}/tags", {"data": []})
    graph.on("GET", f"{G}/{linked}/conversations", {"data": []})
    channel = connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": ig_user, "username": "seasalive", "page_id": linked, "missing_permissions": []},
        credentials={"access_token": "page-token-2222"},
    )
    sweep(channel)
    sweep(channel)
    posts, gets = subscriptions(graph, linked)
    assert len(posts) == 1 and len(gets) == 1
    assert GraphFake.form(posts[0]) == {"subscribed_fields": "feed"}
    assert GraphFake.query(posts[0]) == {"access_token": "page-token-2222"}
    assert channel.config["webhook_subscription"]["fields"] == ["feed"] == fake.fields
    assert len(graph.to("GET", f"{G}/{ig_user}/media")) == 2


def test_an_instagram_account_without_pages_manage_metadata_makes_no_call(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    ig_user, linked = "17841400000000001", "2222"
    SubscribedAppsFake(graph, f"{G}/{linked}/subscribed_apps", app_id="instagram-app")
    graph.on("GET", f"{G}/{ig_user}/media", {"data": []})
    graph.on("GET", f"{G}/{ig_user}/tags", {"data": []})
    graph.on("GET", f"{G}/{linked}/conversations", {"data": []})
    channel = connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={
            "ig_user_id": ig_user,
            "username": "seasalive",
            "page_id": linked,
            "missing_permissions": ["pages_manage_metadata"],
        },
        credentials={"access_token": "page-token-2222"},
    )
    sweep(channel)
    assert subscriptions(graph, linked) == ([], [])
    assert "webhook_subscription" not in channel.config


def test_a_connect_and_a_reconnect_queue_the_first_poll_at_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    """The Page is subscribed within seconds of its connect, not at the next sweep: the connect
    queues the channel's poll task on commit (a network without an inbox queues nothing)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks, "poll_channel_task", SimpleNamespace(enqueue=queued.append))

    def connect(token: str) -> Connection:
        return connect_account(
            workspace=cast.workspace,
            kind="facebook",
            name="Seas Alive",
            config={"page_id": PAGE, "page_name": "Seas Alive", "webhook_subscription": {}},
            credentials={"access_token": token},
            account_id=PAGE,
        )

    with django_capture_on_commit_callbacks(execute=True):
        channel = connect("page-token-1").channel
    assert queued == [channel.pk]
    with django_capture_on_commit_callbacks(execute=True):
        again = connect("page-token-2")
    assert again.reconnected and queued == [channel.pk, channel.pk]
    sink = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    tasks.on_channel_connected(sink.pk)  # the local sink has no inbox
    assert queued == [channel.pk, channel.pk]
