"""Connecting channels by API (`POST /api/workspaces/{slug}/channels`): Mastodon with an access
token the program holds, against the Mastodon imitation (PyPI mastodon_mock, not Mastodon
itself); the refusals of the endpoint for every network."""

from __future__ import annotations

import json

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.connectors.mastodon.client import MastodonAPI
from chorus.connectors.mastodon.connector import MastodonConnector
from chorus.core.models import AuditEvent
from tests.connectors.mastodon.conftest import CALLBACK, authorize_as


def _api(client, user, scope="admin"):
    _token, raw = ApiToken.issue(user, "test", scope=scope)
    return lambda body: client.post(
        "/api/workspaces/campaign/channels",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def _token_of(instance: str, username: str) -> str:
    """An access token as a program holds it (here: through the imitation's own OAuth)."""
    redirect = MastodonConnector.begin_connect({"instance": instance}, callback_url=CALLBACK, state="s")
    params = authorize_as(username, redirect)
    data = redirect.state_data
    return MastodonAPI(instance).exchange_code(
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        redirect_uri=CALLBACK,
        code=params["code"],
    )


def test_mastodon_connects_with_a_token_and_a_second_connect_reconnects(client, cast, mastodon_imitation):
    instance = mastodon_imitation.base_url
    token = _token_of(instance, "alice")
    connect = _api(client, cast.members["admin"])
    answer = connect({"kind": "mastodon", "fields": {"instance": instance, "access_token": token}})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["reconnected"] is False and body["channel"]["kind"] == "mastodon"
    assert body["channel"]["name"].startswith("@alice@")
    assert token not in answer.content.decode()  # credentials never come back
    channel = Channel.objects.get(pk=body["channel"]["id"], workspace=cast.workspace)
    assert channel.credentials == {"access_token": token}
    assert channel.connector().check().startswith("@alice")  # the stored token works on the network
    assert AuditEvent.objects.filter(action="channel.connected", object_id=str(channel.pk)).exists()

    again = connect(
        {"kind": "mastodon", "fields": {"instance": instance, "access_token": _token_of(instance, "alice")}}
    )
    assert again.status_code == 200 and again.json()["reconnected"] is True
    assert again.json()["channel"]["id"] == channel.pk
    assert Channel.objects.filter(workspace=cast.workspace, kind="mastodon").count() == 1


def test_a_token_the_instance_refuses_stores_nothing(client, cast, mastodon_imitation):
    connect = _api(client, cast.members["admin"])
    answer = connect(
        {
            "kind": "mastodon",
            "fields": {"instance": mastodon_imitation.base_url, "access_token": "not-a-token"},
        }
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "connect_refused" and answer.json()["message"]
    assert not Channel.objects.filter(kind="mastodon").exists()


def test_the_endpoint_names_what_is_wrong(client, cast, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    connect = _api(client, cast.members["admin"])
    unknown = connect({"kind": "myspace", "fields": {}})
    assert unknown.status_code == 422 and unknown.json()["fields"] == {"kind": "unknown"}
    browser = connect({"kind": "facebook", "fields": {}})
    assert browser.status_code == 422 and browser.json()["code"] == "connect_in_browser"
    assert "Facebook" in browser.json()["message"] and "Channels page" in browser.json()["message"]
    missing = connect({"kind": "bluesky", "fields": {"handle": "ngo.example"}})
    assert missing.status_code == 422 and "app_password" in missing.json()["fields"]
    private = connect({"kind": "mastodon", "fields": {"instance": "http://127.0.0.1:9", "access_token": "t"}})
    assert private.status_code == 422 and "instance" in private.json()["fields"]
    huge = connect({"kind": "bluesky", "fields": {"handle": "x" * 3000, "app_password": "p"}})
    assert huge.status_code == 422 and huge.json()["fields"] == {"fields": "size"}
    assert not Channel.objects.filter(workspace=cast.workspace).exists()


def test_only_who_manages_channels_with_an_admin_token_may_connect(client, cast):
    body = {"kind": "mastodon", "fields": {"instance": "https://social.example", "access_token": "t"}}
    assert _api(client, cast.members["editor"])(body).status_code == 403
    scoped = _api(client, cast.members["admin"], scope="write")(body)
    assert scoped.status_code == 403 and scoped.json()["code"] == "token_scope"
