"""Connecting channels from the UI: the connector's form, OAuth state handling, checks."""

from __future__ import annotations

from unittest import mock

from chorus.channels.models import Channel
from chorus.connectors.base import ConnectRedirect, ConnectResult
from chorus.connectors.wordpress.connector import WordPressConnector


def test_the_channels_page_offers_each_connectable_network(owner_client):
    response = owner_client.get("/w/campaign/channels/")
    body = response.content.decode()
    assert response.status_code == 200
    for label in ("Bluesky", "Mastodon", "WordPress"):
        assert f"Connect {label}" in body
    assert "Local sink" not in body  # the test connector has no connect form


def test_a_form_connect_creates_the_channel_with_encrypted_credentials(owner_client, cast):
    result = ConnectResult(
        name="Our site",
        config={"site_url": "https://example.org"},
        credentials={"application_password": "abcd efgh"},
    )
    with mock.patch.object(WordPressConnector, "begin_connect", return_value=result) as begin:
        response = owner_client.post(
            "/w/campaign/channels/connect/wordpress/",
            {"site_url": "https://example.org", "username": "admin", "application_password": "abcd efgh"},
        )
    assert response.status_code == 302, response.content
    assert begin.call_args.args[0]["site_url"].startswith("https://example.org")
    channel = Channel.objects.get(workspace=cast.workspace, kind="wordpress")
    assert channel.name == "Our site" and "abcd" not in channel.credentials_encrypted
    assert channel.credentials == {"application_password": "abcd efgh"}


def test_a_connect_error_is_shown_on_the_form(owner_client):
    with mock.patch.object(
        WordPressConnector, "begin_connect", side_effect=ValueError("WordPress refused the password")
    ):
        response = owner_client.post(
            "/w/campaign/channels/connect/wordpress/",
            {"site_url": "https://example.org", "username": "admin", "application_password": "nope"},
        )
    assert response.status_code == 200
    assert "WordPress refused the password" in response.content.decode()
    assert not Channel.objects.exists()


def test_oauth_callback_needs_the_state_this_session_started(owner_client, cast, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # no DNS here: skip resolving the made-up instance
    from chorus.connectors.mastodon.connector import MastodonConnector

    redirect = ConnectRedirect(
        url="https://social.example/oauth/authorize?x=1", state_data={"instance": "https://social.example"}
    )
    with mock.patch.object(MastodonConnector, "begin_connect", return_value=redirect) as begin:
        response = owner_client.post(
            "/w/campaign/channels/connect/mastodon/", {"instance": "https://social.example"}
        )
    assert response.status_code == 302 and response["Location"] == redirect.url
    state = begin.call_args.kwargs["state"]
    result = ConnectResult(name="@team@social.example", config={}, credentials={"access_token": "t"})
    with mock.patch.object(MastodonConnector, "finish_connect", return_value=result) as finish:
        forged = owner_client.get("/channels/oauth/mastodon/callback/", {"state": "forged", "code": "c"})
        assert forged.status_code == 302 and not finish.called
        ok = owner_client.get("/channels/oauth/mastodon/callback/", {"state": state, "code": "c"})
        replay = owner_client.get("/channels/oauth/mastodon/callback/", {"state": state, "code": "c"})
    assert ok.status_code == 302 and finish.call_count == 1
    assert finish.call_args.kwargs["state_data"] == {"instance": "https://social.example"}
    assert replay.status_code == 302  # the state is single use
    assert Channel.objects.filter(workspace=cast.workspace, name="@team@social.example").count() == 1


def _bluesky_channel(cast, service="https://pds.example.org"):
    from chorus.channels.actions import connect_channel

    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="@ngo",
        config={"handle": "ngo.example", "did": "did:plc:ngo", "service": service},
        credentials={"accessJwt": "a"},
    )


def test_a_bluesky_channels_settings_page_edits_its_appview_and_web_address(owner_client, cast):
    from chorus.core.models import AuditEvent

    channel = _bluesky_channel(cast)
    listing = owner_client.get("/w/campaign/channels/").content.decode()
    assert f"/w/campaign/channels/{channel.pk}/settings/" in listing
    page = owner_client.get(f"/w/campaign/channels/{channel.pk}/settings/")
    assert page.status_code == 200
    assert 'name="appview"' in page.content.decode() and 'name="web_url"' in page.content.decode()

    response = owner_client.post(
        f"/w/campaign/channels/{channel.pk}/settings/",
        {"appview": "did:web:appview.example.org#bsky_appview", "web_url": "https://social.example.org/"},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config["appview"] == "did:web:appview.example.org#bsky_appview"
    assert channel.config["web_url"] == "https://social.example.org"
    assert channel.config["handle"] == "ngo.example"  # the rest of the config is kept
    assert AuditEvent.objects.filter(action="channel.settings_changed", object_id=str(channel.pk)).exists()
    again = owner_client.get(f"/w/campaign/channels/{channel.pk}/settings/").content.decode()
    assert 'value="did:web:appview.example.org#bsky_appview"' in again


def test_an_empty_appview_takes_the_default_for_the_server(owner_client, cast):
    channel = _bluesky_channel(cast, service="https://bsky.social")
    response = owner_client.post(
        f"/w/campaign/channels/{channel.pk}/settings/", {"appview": "", "web_url": ""}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config["appview"] == "did:web:api.bsky.app#bsky_appview"


def test_an_appview_that_is_neither_a_url_nor_a_service_did_is_refused(owner_client, cast):
    channel = _bluesky_channel(cast)
    response = owner_client.post(
        f"/w/campaign/channels/{channel.pk}/settings/",
        {"appview": "did:web:appview.example.org", "web_url": ""},
    )
    assert response.status_code == 200
    assert "service DID with its service id" in response.content.decode()
    channel.refresh_from_db()
    assert "appview" not in channel.config


def test_a_channel_without_settings_says_so_and_changes_nothing(owner_client, cast):
    from chorus.channels.actions import connect_channel

    sink = connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink", config={"a": 1}, credentials={}
    )
    assert f"/channels/{sink.pk}/settings/" not in owner_client.get("/w/campaign/channels/").content.decode()
    for response in (
        owner_client.get(f"/w/campaign/channels/{sink.pk}/settings/"),
        owner_client.post(f"/w/campaign/channels/{sink.pk}/settings/", {"a": "2"}),
    ):
        assert response.status_code == 200
        assert "This network has no settings to change." in response.content.decode()
    sink.refresh_from_db()
    assert sink.config == {"a": 1}
