"""Instagram and Threads download each file from our public URL (CHORUS_BASE_URL): when that is
a private address, the composer, the channels page, the channel check and a system check say so
and what to set. Graph calls go to the HTTP fake of the Graph API (tests/connectors/graph_fake)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.urls import reverse

from chorus import cli
from chorus.channels.actions import connect_channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.connectors.meta.media import private_media_origin
from chorus.connectors.meta.setup import check_meta_apps
from chorus.publishing import actions
from tests.connectors import graph_fake
from tests.connectors.graph_fake import fixture, jpeg, set_meta_app
from tests.publishing.conftest import make_target

graph, meta_apps = graph_fake.graph, graph_fake.meta_apps  # the Graph fake's fixtures, for this module

HERE = Path(__file__).parent
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
IG = "17841400000000001"
PRIVATE = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://app.localhost",
        "http://10.0.3.7",
        "http://172.16.4.2:8080",
        "http://192.168.1.20:8000",
        "http://169.254.10.1",
        "http://[::1]:8000",
        "http://[fd12:3456::1]",
        "http://chorus.local",
        "https://chorus.internal",
        "http://nas.lan",
        "http://chorus.home.arpa",
        "http://chorus",  # a single-label name, e.g. a container's
    ],
)
def test_loopback_private_and_local_only_addresses_are_private(settings, base_url):
    settings.CHORUS_BASE_URL = base_url
    assert private_media_origin() == base_url


@pytest.mark.parametrize(
    "base_url", ["https://chorus.example.org", "https://8.8.8.8", "https://[2606:4700::1]"]
)
def test_public_addresses_are_not(settings, base_url):
    settings.CHORUS_BASE_URL = base_url
    assert private_media_origin() == ""


def test_media_on_public_storage_is_reachable_whatever_the_base_url(settings):
    settings.CHORUS_BASE_URL = PRIVATE
    settings.MEDIA_URL = "https://media.chorus.example.org/files/"
    assert private_media_origin() == ""


@pytest.fixture
def instagram(cast, meta_apps):
    meta_apps.CHORUS_BASE_URL = PRIVATE
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": IG, "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


@pytest.fixture
def threads(cast, meta_apps):
    meta_apps.CHORUS_BASE_URL = PRIVATE
    return connect_channel(
        workspace=cast.workspace,
        kind="threads",
        name="@seasalive",
        config={"user_id": "2648", "username": "seasalive"},
        credentials={"access_token": "long-threads-token"},
        actor=cast.owner,
    )


def target_with(cast, channel, media=(), text="Hello reef"):
    target = make_target(cast, channel, text=text)
    target.media = list(media)
    target.save()
    return target


def test_instagram_validation_says_it_cannot_fetch_from_a_private_address(cast, instagram, settings):
    target = target_with(cast, instagram, media=[jpeg("a.jpg")])
    (problem,) = [p for p in instagram.connector().validate(target) if p.code == "private_url"]
    assert problem.field == "media"
    assert problem.message.startswith(
        "Instagram cannot fetch media from http://127.0.0.1:8000: it is a private address"
    )
    assert "Set CHORUS_BASE_URL to the public https address of this server" in problem.message
    settings.CHORUS_BASE_URL = "https://chorus.example.org"
    assert "private_url" not in {p.code for p in instagram.connector().validate(target)}


def test_threads_validation_warns_only_when_the_post_carries_media(cast, threads):
    assert threads.connector().validate(target_with(cast, threads)) == []  # text goes in the request
    problems = threads.connector().validate(target_with(cast, threads, media=[jpeg("a.jpg")]))
    assert [(p.field, p.code) for p in problems] == [("media", "private_url")]
    assert problems[0].message.startswith("Threads cannot fetch media from http://127.0.0.1:8000")


def test_the_composer_shows_the_warning_for_an_instagram_post(cast, owner_client, instagram):
    jpeg("photos/a.jpg")
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[instagram], text="pic")
    target = post.targets.get()
    actions.edit(target, actor=cast.owner, media=[{"path": "photos/a.jpg", "alt": "A reef"}])
    data = {
        "channels": [instagram.pk],
        "text": "pic",
        "media-path": "photos/a.jpg",
        "media-alt": "A reef",
        "post_target": target.pk,
    }
    html = owner_client.post(reverse("publishing:compose_check", args=["campaign"]), data).content.decode()
    assert 'data-code="private_url"' in html
    assert "Instagram cannot fetch media from http://127.0.0.1:8000" in html


def test_the_channels_page_shows_the_warning_on_instagram_and_threads_only(
    cast, owner_client, instagram, threads
):
    connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
    )
    html = owner_client.get("/w/campaign/channels/").content.decode()
    rows = {pk: html.split(f'data-channel="{pk}"')[1].split("</tr>")[0] for pk in (instagram.pk, threads.pk)}
    assert "Instagram cannot fetch media from http://127.0.0.1:8000" in rows[instagram.pk]
    assert "Threads cannot fetch media from http://127.0.0.1:8000" in rows[threads.pk]
    facebook_row = html.split("Seas Alive</td>")[1].split("</tr>")[0]
    assert "cannot fetch media" not in facebook_row  # Facebook uploads the bytes itself
    connect_entry = html.split('data-network="instagram"')[1].split("</li>")[0]
    assert 'class="warning"' in connect_entry and "CHORUS_BASE_URL" in connect_entry


def test_the_channel_check_reports_the_account_and_the_warning(cast, owner_client, graph, instagram):
    graph.on("GET", f"{G}/{IG}", fixture(HERE / "instagram", "ig_user.json"))
    owner_client.post(f"/w/campaign/channels/{instagram.pk}/check/")
    html = owner_client.get("/w/campaign/channels/").content.decode()
    messages = html.split('<ul class="messages">')[1].split("</ul>")[0]
    assert '<li class="msg-success">@seasalive (1,204 followers)</li>' in messages
    assert '<li class="msg-warning">Instagram cannot fetch media from http://127.0.0.1:8000' in messages
    assert graph.query(graph.to("GET", f"{G}/{IG}")[0])["fields"] == "username,followers_count"


def test_chorus_channel_check_prints_the_warning(graph, instagram, capsys, settings):
    graph.on("GET", f"{G}/{IG}", fixture(HERE / "instagram", "ig_user.json"))
    assert cli.cmd_channel_check(argparse.Namespace(channel_id=instagram.pk)) == 0
    out, err = capsys.readouterr()
    assert "@seasalive (1,204 followers)" in out
    assert "WARNING: Instagram cannot fetch media from http://127.0.0.1:8000" in err
    settings.CHORUS_BASE_URL = "https://chorus.example.org"
    assert cli.cmd_channel_check(argparse.Namespace(channel_id=instagram.pk)) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_a_system_check_warns_when_instagram_or_threads_is_enabled_with_a_private_base_url(meta_apps):
    meta_apps.CHORUS_BASE_URL = PRIVATE
    (warning,) = [m for m in run_checks() if m.id == "chorus.W104"]
    assert warning.msg.startswith(
        "Instagram and Threads download each image and video from http://127.0.0.1:8000"
    )
    assert "Set CHORUS_BASE_URL" in warning.hint
    set_meta_app(meta_apps, "threads", "", "", enabled=False)
    (warning,) = [m for m in check_meta_apps() if m.id == "chorus.W104"]
    assert warning.msg.startswith("Instagram download")
    meta_apps.CHORUS_BASE_URL = "https://chorus.example.org"
    assert [m for m in check_meta_apps() if m.id == "chorus.W104"] == []


def test_no_system_check_warning_when_neither_network_is_meant_to_be_used(settings):
    settings.CHORUS_BASE_URL = PRIVATE
    for net in ("instagram", "threads"):
        set_meta_app(settings, net, "", "", enabled=False)
    assert [m for m in check_meta_apps() if m.id == "chorus.W104"] == []
