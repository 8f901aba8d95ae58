"""Connecting a Facebook Page that is already a channel of the workspace reconnects it, through
the views against the HTTP fake of the Graph API: one channel, the new Page token, the picker
saying which Pages are already connected, and a paused channel reactivated."""

from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from chorus.accounts.models import Membership
from chorus.accounts.permissions import Role
from chorus.channels import actions
from chorus.channels.models import Channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.content.models import PostTarget
from chorus.publishing import actions as publishing
from tests.connectors.graph_fake import fixture

HERE = Path(__file__).parent
G = f"https://graph.facebook.com/{GRAPH_VERSION}"


def login(client, graph, pages: dict, slug: str = "campaign"):
    """A fresh login whose /me/accounts answers `pages`; returns the callback's response."""
    graph.routes.clear()
    graph.on(
        "GET",
        f"{G}/oauth/access_token",
        fixture(HERE, "oauth_access_token.json"),
        fixture(HERE, "oauth_long_lived.json"),
    )
    graph.on("GET", f"{G}/me/accounts", pages)
    started = client.post(f"/w/{slug}/channels/connect/facebook/", {"go": "1"})
    assert started.status_code == 302, started.content
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    return client.get("/channels/oauth/facebook/callback/", {"code": "c0de", "state": state})


def with_tokens(name: str, suffix: str) -> dict:
    pages = copy.deepcopy(fixture(HERE, name))
    for page in pages["data"]:
        page["access_token"] += suffix
    return pages


def message_of(client, slug: str = "campaign") -> str:
    return client.get(f"/w/{slug}/channels/").content.decode()


def test_connecting_the_same_page_twice_keeps_one_channel_with_the_new_token(
    cast, owner_client, graph, meta_apps
):
    login(owner_client, graph, with_tokens("me_accounts_one.json", ""))
    (first,) = Channel.objects.filter(workspace=cast.workspace, kind="facebook")
    assert first.config["network_account_id"] == "1111"
    login(owner_client, graph, with_tokens("me_accounts_one.json", "-renewed"))
    (channel,) = Channel.objects.filter(workspace=cast.workspace, kind="facebook")
    assert channel.pk == first.pk
    assert channel.credentials == {"access_token": "page-token-1111-renewed"}
    assert "Seas Alive is reconnected." in message_of(owner_client)


def test_the_picker_says_which_pages_are_already_connected_and_reconnects_them(
    cast, owner_client, graph, meta_apps
):
    login(owner_client, graph, with_tokens("me_accounts_one.json", ""))
    (old,) = Channel.objects.filter(workspace=cast.workspace, kind="facebook")
    actions.pause_channel(channel=old, reason="The Page token was revoked.")
    post = publishing.create_post(workspace=cast.workspace, author=cast.owner, channels=[old], text="Held")
    PostTarget.objects.filter(post=post).update(
        status=PostTarget.Status.SCHEDULED, hold_reason=PostTarget.Hold.CHANNEL_PAUSED, hold_detail="paused"
    )

    picker = login(owner_client, graph, with_tokens("me_accounts.json", "-renewed"))["Location"]
    html = owner_client.get(picker).content.decode()
    known = html.split('data-option="1111"')[1].split("</li>")[0]
    new = html.split('data-option="2222"')[1].split("</li>")[0]
    assert "already connected — choosing it reconnects" in known
    assert "already connected" not in new

    assert owner_client.post(picker, {"option": ["1111", "2222"]}).status_code == 302
    channels = {c.config["page_id"]: c for c in Channel.objects.filter(workspace=cast.workspace)}
    assert sorted(channels) == ["1111", "2222"] and channels["1111"].pk == old.pk
    reconnected = channels["1111"]
    assert reconnected.status == Channel.Status.ACTIVE and reconnected.paused_reason == ""
    assert reconnected.credentials == {"access_token": "page-token-1111-renewed"}
    target = PostTarget.objects.get(post=post)
    assert (target.hold_reason, target.hold_detail) == ("", "")
    body = message_of(owner_client)
    assert "Seas Alive Kids is connected." in body and "Seas Alive is reconnected." in body


def test_another_workspace_connecting_the_same_page_gets_its_own_channel(
    cast, owner_client, graph, meta_apps
):
    login(owner_client, graph, with_tokens("me_accounts_one.json", ""))
    Membership.objects.create(workspace=cast.other_workspace, user=cast.owner, role=Role.OWNER)
    login(
        owner_client, graph, with_tokens("me_accounts_one.json", "-elsewhere"), slug=cast.other_workspace.slug
    )
    mine = Channel.objects.get(workspace=cast.workspace, kind="facebook")
    theirs = Channel.objects.get(workspace=cast.other_workspace, kind="facebook")
    assert mine.pk != theirs.pk
    assert mine.credentials == {"access_token": "page-token-1111"}
    assert theirs.credentials == {"access_token": "page-token-1111-elsewhere"}
    assert "Seas Alive is connected." in message_of(owner_client, cast.other_workspace.slug)
