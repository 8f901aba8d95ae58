"""The permissions the inbox needs from Meta: asked at login by default, read back after it
(GET /me/permissions, shaped as https://developers.facebook.com/docs/graph-api/reference/user/
permissions/ documents it: {"data": [{"permission", "status": "granted"|"declined"}]}), and a
declined one is said plainly on the inbox and channels pages while polling skips what it would
read (the read would fail each sweep with Meta's "(#10) requires the permission" error). The
channel still connects. Against the HTTP fake of the Graph API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chorus.accounts.models import User
from chorus.channels.models import Channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.inbox import actions
from tests.conftest import Cast
from tests.connectors.graph_fake import GraphFake, fixture, graph, meta_apps  # noqa: F401  (fixtures)
from tests.test_i18n import ensure_compiled_catalog

pytestmark = pytest.mark.django_db
HERE = Path(__file__).parent
FB_HERE = HERE.parent / "connectors" / "facebook"
IG_HERE = HERE.parent / "connectors" / "instagram"
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
FB_NOTE = (
    "Chorus may not read messages on this Page: the permission pages_messaging was not granted. "
    "Reconnect and allow it."
)
FB_NOTE_FR = (
    "Chorus ne peut pas lire les messages de cette Page : l’autorisation pages_messaging n’a pas "
    "été accordée. Reconnectez la Page et autorisez-la."
)
IG_NOTE = (
    "Chorus may not read messages on this account: the permission instagram_manage_messages was "
    "not granted. Reconnect and allow it."
)
NO_PERMISSION = httpx.Response(
    400,
    json={
        "error": {
            "message": "(#10) This endpoint requires the 'pages_messaging' permission.",
            "type": "OAuthException",
            "code": 10,
            "fbtrace_id": "AbC",
        }
    },
)


def log_in(client, graph: GraphFake, kind: str, accounts: Path, permissions: str):  # noqa: F811
    """The Meta login through the views: code exchange, the Pages, then the granted permissions."""
    graph.on(
        "GET",
        f"{G}/oauth/access_token",
        fixture(FB_HERE, "oauth_access_token.json"),
        fixture(FB_HERE, "oauth_long_lived.json"),
    )
    graph.on("GET", f"{G}/me/accounts", fixture(accounts.parents[1], accounts.name))
    graph.on("GET", f"{G}/me/permissions", fixture(HERE, permissions))
    started = client.post(f"/w/campaign/channels/connect/{kind}/", {"go": "1"})
    assert started.status_code == 302, started.content
    scope = parse_qs(urlsplit(started["Location"]).query)["scope"][0].split(",")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    answer = client.get(f"/channels/oauth/{kind}/callback/", {"code": "c0de", "state": state})
    assert answer.status_code == 302
    return scope


def page_feeds(graph: GraphFake, page: str = "1111") -> None:  # noqa: F811
    graph.on("GET", f"{G}/{page}/feed", {"data": []})
    graph.on("GET", f"{G}/{page}/tagged", {"data": []})
    graph.on("GET", f"{G}/{page}/conversations", {"data": []})


def test_every_permission_granted_reads_every_stream_and_says_nothing(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    scope = log_in(
        owner_client,
        graph,
        "facebook",
        FB_HERE / "fixtures/me_accounts_one.json",
        "me_permissions_all_granted.json",
    )
    assert {
        "pages_read_user_content",
        "pages_manage_engagement",
        "pages_messaging",
        "pages_manage_metadata",
    } <= set(scope)
    channel = Channel.objects.get(workspace=cast.workspace)
    assert (channel.status, channel.config["missing_permissions"]) == ("active", [])
    assert graph.query(graph.to("GET", f"{G}/me/permissions")[0]) == {"access_token": "long-user-token"}
    page_feeds(graph)
    actions.poll(channel)
    assert len(graph.to("GET", f"{G}/1111/conversations")) == 1
    assert "inbox-permission-notes" not in owner_client.get("/w/campaign/inbox/").content.decode()


def test_a_declined_messaging_permission_is_said_plainly_and_polling_skips_messages(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    log_in(
        owner_client,
        graph,
        "facebook",
        FB_HERE / "fixtures/me_accounts_one.json",
        "me_permissions_messaging_declined.json",
    )
    channel = Channel.objects.get(workspace=cast.workspace)
    assert (channel.status, channel.config["missing_permissions"]) == ("active", ["pages_messaging"])
    page_feeds(graph)
    graph.on("GET", f"{G}/1111/conversations", NO_PERMISSION)  # what Meta answers without it
    for _sweep in range(3):
        actions.poll(channel)
    channel.refresh_from_db()
    assert channel.status == "active" and not channel.paused_reason
    assert not graph.to("GET", f"{G}/1111/conversations")
    assert len(graph.to("GET", f"{G}/1111/feed")) == 3 and len(graph.to("GET", f"{G}/1111/tagged")) == 3
    inbox = owner_client.get("/w/campaign/inbox/").content.decode()
    assert FB_NOTE in inbox
    assert FB_NOTE in owner_client.get("/w/campaign/channels/").content.decode()
    ensure_compiled_catalog()
    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    assert FB_NOTE_FR in owner_client.get("/w/campaign/inbox/").content.decode()
    # Reconnecting and allowing it clears the note, and messages are read again.
    User.objects.filter(pk=cast.owner.pk).update(language="en")
    graph.routes.pop(("GET", f"{G}/me/permissions"))
    graph.routes.pop(("GET", f"{G}/1111/conversations"))
    log_in(
        owner_client,
        graph,
        "facebook",
        FB_HERE / "fixtures/me_accounts_one.json",
        "me_permissions_all_granted.json",
    )
    channel.refresh_from_db()
    assert channel.config["missing_permissions"] == []
    graph.on("GET", f"{G}/1111/conversations", {"data": []})
    actions.poll(channel)
    assert len(graph.to("GET", f"{G}/1111/conversations")) == 1
    assert FB_NOTE not in owner_client.get("/w/campaign/inbox/").content.decode()


def test_an_instagram_account_without_its_messaging_permission_skips_its_messages(
    cast: Cast,
    owner_client,
    graph: GraphFake,  # noqa: F811
    meta_apps,  # noqa: F811
) -> None:
    from chorus.channels.actions import connect_channel
    from chorus.connectors.instagram.connector import InstagramConnector

    redirect = InstagramConnector.begin_connect({}, callback_url="https://chorus.example/cb/", state="s")
    scope = parse_qs(urlsplit(redirect.url).query)["scope"][0].split(",")
    assert {"instagram_manage_comments", "instagram_manage_messages", "pages_manage_metadata"} <= set(scope)
    assert not [s for s in scope if s.startswith("instagram_business_")]  # the Facebook-Login variant
    graph.on("GET", f"{G}/oauth/access_token", fixture(FB_HERE, "oauth_long_lived.json"))
    graph.on("GET", f"{G}/me/accounts", fixture(IG_HERE, "me_accounts_two_accounts.json"))
    graph.on("GET", f"{G}/me/permissions", fixture(HERE, "me_permissions_messaging_declined.json"))
    choice = InstagramConnector.finish_connect(
        {"code": "c"}, state_data={}, callback_url="https://chorus.example/cb/"
    )
    result = choice.options[0].result
    assert result.config["missing_permissions"] == ["instagram_manage_messages"]
    channel = connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        account_id=result.account_id,
    )
    user = result.config["ig_user_id"]
    graph.on("GET", f"{G}/{user}/media", {"data": []})
    graph.on("GET", f"{G}/{user}/tags", {"data": []})
    graph.on("GET", f"{G}/1111/conversations", NO_PERMISSION)
    actions.poll(channel)
    actions.poll(channel)
    channel.refresh_from_db()
    assert channel.status == "active"
    assert not graph.to("GET", f"{G}/1111/conversations")
    assert len(graph.to("GET", f"{G}/{user}/media")) == 2
    assert IG_NOTE in owner_client.get("/w/campaign/inbox/").content.decode()
