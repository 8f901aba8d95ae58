"""Connecting an account that is already a channel of the workspace reconnects that channel: a
Bluesky login through the connect form (the PDS faked at the one HTTP seam), and the rules of
`actions.connect_account` (workspaces apart, no account id, a paused channel's held posts)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from chorus.channels import actions
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.core.models import AuditEvent
from chorus.publishing import actions as publishing

SERVICE = "https://pds.test"


@pytest.fixture
def fake_pds(settings) -> Iterator[list[str]]:
    """A fake PDS answering createSession with a new session each time (tokens numbered);
    yields the app passwords it was sent."""
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # no DNS here for the made-up host
    passwords: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/xrpc/com.atproto.server.createSession", request.url
        body = json.loads(request.content)
        passwords.append(body["password"])
        n = len(passwords)
        return httpx.Response(
            200,
            json={
                "did": "did:plc:ngo",
                "handle": body["identifier"],
                "accessJwt": f"access-{n}",
                "refreshJwt": f"refresh-{n}",
            },
        )

    http.set_transport_for_tests(httpx.MockTransport(handler))
    yield passwords
    http.set_transport_for_tests(None)


def connect_bluesky(client, handle: str, password: str, slug: str = "campaign") -> httpx.Response:
    return client.post(
        f"/w/{slug}/channels/connect/bluesky/",
        {"handle": handle, "app_password": password, "service": SERVICE},
    )


def test_connecting_the_same_bluesky_account_twice_keeps_one_channel_with_the_new_session(
    cast, owner_client, fake_pds
):
    assert connect_bluesky(owner_client, "ngo.test", "first-pass").status_code == 302
    (first,) = Channel.objects.filter(workspace=cast.workspace, kind="bluesky")
    assert first.config["network_account_id"] == "did:plc:ngo"
    # The account changed its handle since: same DID, so the same channel, renamed.
    assert connect_bluesky(owner_client, "ngo.example", "second-pass").status_code == 302
    (channel,) = Channel.objects.filter(workspace=cast.workspace, kind="bluesky")
    assert channel.pk == first.pk and fake_pds == ["first-pass", "second-pass"]
    assert channel.name == "@ngo.example" and channel.config["handle"] == "ngo.example"
    assert channel.credentials == {
        "accessJwt": "access-2",
        "refreshJwt": "refresh-2",
        "appPassword": "second-pass",
    }
    assert "second-pass" not in channel.credentials_encrypted
    page = owner_client.get("/w/campaign/channels/").content.decode()
    assert "@ngo.example is reconnected." in page
    assert AuditEvent.objects.filter(action="channel.reconnected", object_id=str(channel.pk)).count() == 1


def test_the_same_bluesky_account_in_another_workspace_gets_its_own_channel(cast, owner_client, fake_pds):
    connect_bluesky(owner_client, "ngo.test", "first-pass")
    outsider = cast.client_for(cast.outsider)
    assert (
        connect_bluesky(outsider, "ngo.test", "their-pass", slug=cast.other_workspace.slug).status_code == 302
    )
    mine = Channel.objects.get(workspace=cast.workspace)
    theirs = Channel.objects.get(workspace=cast.other_workspace)
    assert mine.pk != theirs.pk
    assert (
        mine.credentials["appPassword"] == "first-pass" and theirs.credentials["appPassword"] == "their-pass"
    )


def connect(cast, *, account_id: str, token: str, workspace=None, name: str = "Seas Alive", **config):
    return actions.connect_account(
        workspace=workspace or cast.workspace,
        kind="facebook",
        name=name,
        config={"page_id": "1111", **config},
        credentials={"access_token": token},
        account_id=account_id,
        actor=cast.owner,
    )


def test_a_paused_channel_is_reactivated_and_its_held_targets_released_when_reconnected(cast):
    old = connect(cast, account_id="1111", token="old", page_name="Seas Alive", extra="kept").channel
    actions.pause_channel(channel=old, reason="Reconnect the Page.")
    held = publishing.create_post(workspace=cast.workspace, author=cast.owner, channels=[old], text="Held")
    other = publishing.create_post(workspace=cast.workspace, author=cast.owner, channels=[old], text="Missed")
    PostTarget.objects.filter(post=held).update(
        status=PostTarget.Status.SCHEDULED, hold_reason=PostTarget.Hold.CHANNEL_PAUSED, hold_detail="paused"
    )
    PostTarget.objects.filter(post=other).update(
        status=PostTarget.Status.SCHEDULED, hold_reason=PostTarget.Hold.MISSED, hold_detail="late"
    )

    connection = connect(cast, account_id="1111", token="new", name="Seas Alive (new)", page_name="New name")

    assert connection.reconnected and connection.released == 1 and connection.channel.pk == old.pk
    channel = Channel.objects.get(pk=old.pk)
    assert (channel.status, channel.paused_reason, channel.name) == (
        Channel.Status.ACTIVE,
        "",
        "Seas Alive (new)",
    )
    assert channel.credentials == {"access_token": "new"}
    assert channel.config == {
        "page_id": "1111",
        "page_name": "New name",
        "extra": "kept",
        "network_account_id": "1111",
    }
    assert PostTarget.objects.get(post=held).hold_reason == ""
    assert PostTarget.objects.get(post=other).hold_reason == PostTarget.Hold.MISSED  # not ours to release
    assert Channel.objects.filter(workspace=cast.workspace).count() == 1
    entry = AuditEvent.objects.get(action="channel.reconnected")
    assert entry.data["released"] == 1 and entry.data["was_paused"] is True


def test_without_an_account_id_each_connect_makes_a_new_channel(cast):
    first = connect(cast, account_id="", token="one")
    second = connect(cast, account_id="", token="two")
    assert not first.reconnected and not second.reconnected
    assert first.channel.pk != second.channel.pk
    assert "network_account_id" not in Channel.objects.get(pk=first.channel.pk).config


def test_only_the_same_kind_and_account_is_reconnected(cast):
    first = connect(cast, account_id="1111", token="one").channel
    other_account = connect(cast, account_id="2222", token="two").channel
    same_id_other_kind = actions.connect_account(
        workspace=cast.workspace,
        kind="instagram",
        name="@seas",
        config={},
        credentials={"access_token": "ig"},
        account_id="1111",
    )
    assert not same_id_other_kind.reconnected
    assert len({first.pk, other_account.pk, same_id_other_kind.channel.pk}) == 3
    assert Channel.objects.get(pk=first.pk).credentials == {"access_token": "one"}


def test_a_channel_connected_before_account_ids_is_backfilled_and_then_reconnected(cast):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("chorus.channels.migrations.0002_backfill_network_account_id")
    legacy = Channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="@alice@social.example",
        config={"instance": "https://social.example", "account_id": "109", "username": "alice"},
        status=Channel.Status.PAUSED,
        paused_reason="Reconnect.",
    )
    legacy.credentials = {"access_token": "old"}
    legacy.save()
    nameless = Channel.objects.create(workspace=cast.workspace, kind="wordpress", name="Site", config={})

    migration.backfill(apps, None)

    assert Channel.objects.get(pk=legacy.pk).config["network_account_id"] == "https://social.example#109"
    assert "network_account_id" not in Channel.objects.get(pk=nameless.pk).config
    again = actions.connect_account(
        workspace=cast.workspace,
        kind="mastodon",
        name="@alice@social.example",
        config={"instance": "https://social.example", "account_id": "109", "username": "alice"},
        credentials={"access_token": "new"},
        account_id="https://social.example#109",
    )
    assert again.reconnected and again.channel.pk == legacy.pk
    assert Channel.objects.get(pk=legacy.pk).status == Channel.Status.ACTIVE
