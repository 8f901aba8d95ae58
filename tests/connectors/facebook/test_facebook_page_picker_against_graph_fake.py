"""The Page picker, through the views, against the HTTP fake of the Graph API (payloads shaped
as https://developers.facebook.com/docs/graph-api/reference/user/accounts/ documents them):
several Pages go to a picker that shows no token, each chosen Page becomes a channel with its
own encrypted Page token, and a pending choice that was altered, expired, replayed or moved to
another workspace is refused. One Page connects at once; none says what to do."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session

from chorus.accounts.models import Membership
from chorus.accounts.permissions import Role
from chorus.channels import pending
from chorus.channels.models import Channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from tests.connectors.graph_fake import fixture

HERE = Path(__file__).parent
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
CALLBACK = "http://testserver/channels/oauth/facebook/callback/"


def login_with_pages(client, graph, accounts: str, kind: str = "facebook"):
    """Starts the connection, lets the fake Graph answer the code exchange and /me/accounts with
    `accounts`, and returns the callback's response."""
    graph.on(
        "GET",
        f"{G}/oauth/access_token",
        fixture(HERE, "oauth_access_token.json"),
        fixture(HERE, "oauth_long_lived.json"),
    )
    graph.on("GET", f"{G}/me/accounts", fixture(HERE, accounts))
    started = client.post(f"/w/campaign/channels/connect/{kind}/", {"go": "1"})
    assert started.status_code == 302, started.content
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    return client.get(f"/channels/oauth/{kind}/callback/", {"code": "c0de", "state": state})


def messages_of(client) -> str:
    return client.get("/w/campaign/channels/").content.decode()


@pytest.fixture
def picker_url(owner_client, graph, meta_apps) -> str:
    response = login_with_pages(owner_client, graph, "me_accounts.json")
    assert response.status_code == 302
    return str(response["Location"])


def test_several_pages_go_to_a_picker_that_lists_them_without_any_token(
    cast, owner_client, graph, picker_url
):
    assert picker_url.startswith("/w/campaign/channels/choose/")
    assert "token" not in picker_url and "page-token" not in picker_url
    response = owner_client.get(picker_url)
    html = response.content.decode()
    assert response.status_code == 200
    for key, name, category in (
        ("1111", "Seas Alive", "Nonprofit Organization"),
        ("2222", "Seas Alive Kids", "Community"),
    ):
        item = html.split(f'data-option="{key}"')[1].split("</li>")[0]
        assert f'value="{key}"' in item and name in item and category in item
    assert 'src="https://scontent.xx.fbcdn.net/v/t39.30808-1/1111_n.jpg"' in html
    assert "page-token" not in html and "user-token" not in html
    assert not Channel.objects.filter(workspace=cast.workspace).exists()
    # The code was exchanged with the callback this server registered.
    assert graph.query(graph.to("GET", f"{G}/oauth/access_token")[0])["redirect_uri"] == CALLBACK
    # What waits in the session is encrypted: no token in clear in the session table.
    (session,) = Session.objects.all()
    decoded = json.dumps(session.get_decoded())
    assert pending.SESSION_KEY in decoded and "page-token" not in decoded and "user-token" not in decoded


def test_choosing_two_pages_makes_two_channels_with_their_own_encrypted_page_tokens(
    cast, owner_client, picker_url
):
    response = owner_client.post(picker_url, {"option": ["1111", "2222"]})
    assert response.status_code == 302 and response["Location"] == "/w/campaign/channels/"
    channels = Channel.objects.filter(workspace=cast.workspace, kind="facebook").order_by("name")
    assert [(c.name, c.config, c.credentials) for c in channels] == [
        (
            "Seas Alive",
            {
                "page_id": "1111",
                "page_name": "Seas Alive",
                "missing_permissions": [],
                "webhook_subscription": {},  # not subscribed yet: the inbox sweep does it
                "network_account_id": "1111",
            },
            {"access_token": "page-token-1111"},
        ),
        (
            "Seas Alive Kids",
            {
                "page_id": "2222",
                "page_name": "Seas Alive Kids",
                "missing_permissions": [],
                "webhook_subscription": {},  # not subscribed yet: the inbox sweep does it
                "network_account_id": "2222",
            },
            {"access_token": "page-token-2222"},
        ),
    ]
    assert all("page-token" not in c.credentials_encrypted for c in channels)
    assert "Seas Alive, Seas Alive Kids are connected." in messages_of(owner_client)
    # Single use: the choice is gone once made.
    again = owner_client.post(picker_url, {"option": ["1111"]})
    assert again.status_code == 302 and Channel.objects.filter(workspace=cast.workspace).count() == 2
    assert not owner_client.session.get(pending.SESSION_KEY)


def test_choosing_one_page_of_two_makes_one_channel(cast, owner_client, picker_url):
    owner_client.post(picker_url, {"option": ["2222"]})
    (channel,) = Channel.objects.filter(workspace=cast.workspace)
    assert (channel.name, channel.credentials) == ("Seas Alive Kids", {"access_token": "page-token-2222"})


def test_choosing_nothing_asks_again(cast, owner_client, picker_url):
    response = owner_client.post(picker_url, {})
    assert response.status_code == 200 and "Choose at least one account." in response.content.decode()
    assert not Channel.objects.exists()
    assert owner_client.post(picker_url, {"option": ["1111"]}).status_code == 302
    assert Channel.objects.filter(workspace=cast.workspace).count() == 1


def test_a_page_that_was_not_offered_is_refused_and_nothing_is_connected(cast, owner_client, picker_url):
    response = owner_client.post(picker_url, {"option": ["1111", "9999"]})
    assert response.status_code == 302
    assert not Channel.objects.exists()
    assert "That account was not among those offered" in messages_of(owner_client)
    assert owner_client.post(picker_url, {"option": ["1111"]}).status_code == 302
    assert not Channel.objects.exists()  # the choice was dropped: connect again


def test_a_tampered_pending_choice_is_refused(cast, owner_client, picker_url):
    session = owner_client.session
    stored = session[pending.SESSION_KEY]
    (pending_id,) = stored
    record = stored[pending_id]["record"]
    middle = len(record) // 2
    stored[pending_id]["record"] = (
        record[:middle] + ("A" if record[middle] != "A" else "B") + record[middle + 1 :]
    )
    session[pending.SESSION_KEY] = stored
    session.save()
    response = owner_client.post(picker_url, {"option": ["1111"]})
    assert response.status_code == 302 and response["Location"] == "/w/campaign/channels/"
    assert not Channel.objects.exists()
    assert "This choice of accounts expired or is not valid here" in messages_of(owner_client)


def test_an_expired_pending_choice_is_refused(cast, owner_client, picker_url, monkeypatch):
    import time

    later = time.time() + pending.LIFETIME_SECONDS + 1
    monkeypatch.setattr(pending.time, "time", lambda: later)
    assert owner_client.get(picker_url).status_code == 302
    assert owner_client.post(picker_url, {"option": ["1111"]}).status_code == 302
    assert not Channel.objects.exists()


def test_a_pending_choice_is_refused_in_another_workspace(cast, owner_client, picker_url):
    Membership.objects.create(workspace=cast.other_workspace, user=cast.owner, role=Role.OWNER)
    elsewhere = picker_url.replace("/w/campaign/", f"/w/{cast.other_workspace.slug}/")
    response = owner_client.post(elsewhere, {"option": ["1111"]})
    assert response.status_code == 302 and not Channel.objects.exists()
    assert owner_client.get(picker_url).status_code == 200  # still valid where it was started


def test_a_pending_choice_in_another_session_is_unknown(cast, picker_url):
    admin = cast.client_for(cast.members[Role.ADMIN])  # may manage channels, but did not log in
    response = admin.post(picker_url, {"option": ["1111"]})
    assert response.status_code == 302 and not Channel.objects.exists()


def test_one_page_is_connected_without_the_picker(cast, owner_client, graph, meta_apps):
    response = login_with_pages(owner_client, graph, "me_accounts_one.json")
    assert response.status_code == 302 and response["Location"] == "/w/campaign/channels/"
    (channel,) = Channel.objects.filter(workspace=cast.workspace)
    assert (channel.kind, channel.name, channel.config["page_id"]) == ("facebook", "Seas Alive", "1111")
    assert channel.credentials == {"access_token": "page-token-1111"}
    assert not owner_client.session.get(pending.SESSION_KEY)


def test_no_page_says_to_create_one_or_share_it(cast, owner_client, graph, meta_apps):
    response = login_with_pages(owner_client, graph, "me_accounts_none.json")
    assert response.status_code == 302 and response["Location"] == "/w/campaign/channels/"
    html = messages_of(owner_client)
    assert "Your Facebook account shared no Page with Chorus. Create a Page" in html
    assert "select the Pages Chorus may use" in html
    assert not Channel.objects.exists()


def test_instagram_accounts_go_through_the_same_picker(cast, owner_client, graph, meta_apps):
    graph.on(
        "GET",
        f"{G}/oauth/access_token",
        fixture(HERE, "oauth_long_lived.json"),
    )
    graph.on("GET", f"{G}/me/accounts", fixture(HERE.parent / "instagram", "me_accounts_two_accounts.json"))
    started = owner_client.post("/w/campaign/channels/connect/instagram/", {"go": "1"})
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    picker = owner_client.get("/channels/oauth/instagram/callback/", {"code": "c", "state": state})[
        "Location"
    ]
    html = owner_client.get(picker).content.decode()
    assert "@seasalive" in html and "@reefphotos" in html and "linked to the Page Reef Photos" in html
    owner_client.post(picker, {"option": ["17841400000000004"]})
    (channel,) = Channel.objects.filter(workspace=cast.workspace)
    assert (channel.kind, channel.name, channel.config) == (
        "instagram",
        "@reefphotos",
        {
            "ig_user_id": "17841400000000004",
            "username": "reefphotos",
            "page_id": "4444",
            "missing_permissions": [],  # /me/permissions unanswered here: nothing marked missing
            "webhook_subscription": {},
            "network_account_id": "17841400000000004",
        },
    )
    assert channel.credentials == {"access_token": "page-token-4444"}
