"""Choosing the LinkedIn author, through the views, against the fake of the versioned REST API:
a member who administers organization pages picks themself and/or pages (each a channel sharing
the member's grant); a member without pages is connected as themself at once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from chorus.channels.models import Channel
from tests.connectors.oauth_fakes import fixture

REST = "https://api.linkedin.com/rest"
TOKEN = "https://www.linkedin.com/oauth/v2/accessToken"
MEMBER = "urn:li:person:782bbtaQ"


def login(client, fake, acls: str):
    def ok(name: str) -> httpx.Response:
        return httpx.Response(200, json=fixture("linkedin", name))

    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", "https://api.linkedin.com/v2/userinfo", ok("userinfo"))
    fake.on("GET", f"{REST}/organizationAcls", ok(acls))
    fake.on("GET", f"{REST}/organizations", ok("organizations_batch"))
    started = client.post("/w/campaign/channels/connect/linkedin/", {"go": "1"})
    assert started.status_code == 302, started.content
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    return client.get("/channels/oauth/linkedin/callback/", {"code": "c0de", "state": state})


def test_the_picker_lists_the_member_and_their_pages_and_connects_the_chosen_authors(
    cast, owner_client, fake, oauth_apps
):
    response = login(owner_client, fake, "organization_acls_two")
    picker = response["Location"]
    assert picker.startswith("/w/campaign/channels/choose/")
    html = owner_client.get(picker).content.decode()
    for key, name in (
        (MEMBER, "Ada Lovelace"),
        ("urn:li:organization:2414183", "Chorus Foundation"),
        ("urn:li:organization:5515715", "Reef Alliance"),
    ):
        assert name in html.split(f'data-option="{key}"')[1].split("</li>")[0]
    assert "Yourself: posts appear on your member profile" in html
    assert "li-access-1" not in html and "li-refresh-1" not in html
    owner_client.post(picker, {"option": [MEMBER, "urn:li:organization:5515715"]})
    channels = Channel.objects.filter(workspace=cast.workspace, kind="linkedin").order_by("name")
    assert [(c.name, c.config["author"]) for c in channels] == [
        ("Ada Lovelace", MEMBER),
        ("Reef Alliance", "urn:li:organization:5515715"),
    ]
    assert all(c.credentials["refresh_token"] == "li-refresh-1" for c in channels)
    assert all("li-access-1" not in c.credentials_encrypted for c in channels)


def test_one_page_still_offers_a_choice_between_the_member_and_the_page(cast, owner_client, fake, oauth_apps):
    picker = login(owner_client, fake, "organization_acls")["Location"]
    owner_client.post(picker, {"option": ["urn:li:organization:2414183"]})
    (channel,) = Channel.objects.filter(workspace=cast.workspace)
    assert (channel.name, channel.config["author"]) == ("Chorus Foundation", "urn:li:organization:2414183")
    (lookup,) = fake.to("GET", f"{REST}/organizations")
    assert lookup.url.query == b"ids=List(2414183)"


def test_a_member_without_pages_is_connected_as_themself_without_the_picker(
    cast, owner_client, fake, oauth_apps
):
    response = login(owner_client, fake, "organization_acls_none")
    assert response["Location"] == "/w/campaign/channels/"
    (channel,) = Channel.objects.filter(workspace=cast.workspace)
    assert (channel.name, channel.config["author"], channel.config["organizations"]) == (
        "Ada Lovelace",
        MEMBER,
        [],
    )
