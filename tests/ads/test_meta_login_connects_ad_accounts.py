"""Connecting Meta ad accounts through Meta's login, against the Marketing API fake (tests/ads/fakes.py):
the authorization URL with the ads scopes, the code and long-lived token exchanges, /me/adaccounts
followed page by page, the picker, a reconnect that renews the token, a login that reaches no ad
account, and a refused login showing Meta's reason."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.accounts.permissions import Role
from chorus.ads import actions
from chorus.ads.models import AdAccount
from chorus.channels.actions import connect_channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.core.models import AuditEvent
from tests.ads.fakes import MetaMarketingFake
from tests.connectors.graph_fake import set_meta_app

CALLBACK = "http://testserver/ads/oauth/meta/callback/"

ACCOUNTS = [
    {
        "id": "act_1234",
        "account_id": "1234",
        "name": "Seas Alive ads",
        "currency": "EUR",
        "timezone_name": "Europe/Paris",
        "account_status": 1,
        "spend_cap": "0",
        "business": {"id": "5550001", "name": "Seas Alive"},
    },
    {
        "id": "act_5678",
        "account_id": "5678",
        "name": "Reef Watch ads",
        "currency": "USD",
        "timezone_name": "America/New_York",
        "account_status": 2,
        "spend_cap": "500000",
    },
    {
        "id": "act_9012",
        "account_id": "9012",
        "name": "Kids camp ads",
        "currency": "EUR",
        "timezone_name": "Europe/Paris",
        "account_status": 1,
        "spend_cap": "0",
    },
]


@pytest.fixture
def meta_app(settings):
    set_meta_app(settings, "facebook", "facebook-app", "facebook-secret", enabled=True)
    return settings


def _accounts_url(cast) -> str:
    return reverse("ads:accounts", kwargs={"slug": cast.workspace.slug})


def _start(client, cast, channel) -> dict[str, str]:
    """Clicks "Connect a Meta ad account"; returns the authorization URL's query."""
    answer = client.post(
        reverse("ads:meta_connect", kwargs={"slug": cast.workspace.slug}), {"channel": channel.pk}
    )
    assert answer.status_code == 302
    url = urlsplit(answer["Location"])
    assert (
        f"{url.scheme}://{url.netloc}{url.path}" == f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"
    )
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def _messages(answer) -> list[str]:
    return [str(m) for m in answer.context["messages"]] if answer.context else []


def test_the_login_asks_the_ads_permissions_exchanges_the_code_and_lists_every_ad_account(
    cast, page, meta: MetaMarketingFake, meta_app
) -> None:
    meta.my_ad_accounts = ACCOUNTS
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    assert query == {
        "client_id": "facebook-app",
        "redirect_uri": CALLBACK,
        "state": query["state"],
        "response_type": "code",
        "scope": "ads_management,ads_read,business_management",
    }
    back = owner.get(reverse("ads:meta_callback"), {"code": "c0de", "state": query["state"]})
    assert back.status_code == 302 and "/ads/accounts/meta/choose/" in back["Location"]
    short, long = (dict(r.url.params) for r in meta.sent if r.url.path.endswith("/oauth/access_token"))
    assert short == {
        "client_id": "facebook-app",
        "client_secret": "facebook-secret",
        "redirect_uri": CALLBACK,
        "code": "c0de",
    }
    assert long == {
        "grant_type": "fb_exchange_token",
        "client_id": "facebook-app",
        "client_secret": "facebook-secret",
        "fb_exchange_token": "short-user-token",
    }
    listing = [dict(r.url.params) for r in meta.sent if r.url.path.endswith("/me/adaccounts")]
    fields = "account_id,name,currency,timezone_name,account_status,spend_cap,business{id,name}"
    assert listing == [  # two pages of two: the cursor of the first asks the second, then it stops
        {"access_token": "long-user-token", "fields": fields, "limit": "100"},
        {"access_token": "long-user-token", "fields": fields, "limit": "100", "after": "cursor-2"},
    ]
    picker = owner.get(back["Location"])
    html = picker.content.decode()
    for account in ACCOUNTS:
        assert f'data-option="{account["id"]}"' in html
    assert "EUR · Europe/Paris · active · Seas Alive" in html
    assert "USD · America/New_York · disabled" in html
    assert "long-user-token" not in html and "long-user-token" not in back["Location"]

    with_token = owner.post(back["Location"], {"option": ["act_1234", "act_9012"]})
    assert with_token.status_code == 302 and with_token["Location"] == _accounts_url(cast)
    connected = {a.external_id: a for a in AdAccount.objects.filter(workspace=cast.workspace)}
    assert set(connected) == {"act_1234", "act_9012"}
    assert connected["act_1234"].credentials["access_token"] == "long-user-token"
    assert connected["act_1234"].credentials["expires_at"] > 0
    # Meta's long-lived token lasts expires_in = 5,183,944 s (60 days): its expiry is kept in the
    # open, for the warnings (test_token_expiry.py), to the second of the encrypted one.
    expires = connected["act_1234"].token_expires_at
    assert expires is not None and int(expires.timestamp()) == connected["act_1234"].credentials["expires_at"]
    assert 59 <= (expires - timezone.now()).days <= 60
    assert "long-user-token" not in connected["act_1234"].credentials_encrypted  # encrypted at rest
    assert (connected["act_9012"].currency, connected["act_9012"].channel) == ("EUR", page)
    assert AuditEvent.objects.filter(action="ads.account_connected").count() == 2
    # the picker is used up: the same page again is refused
    again = owner.get(back["Location"], follow=True)
    assert "expired or is not valid here" in " ".join(_messages(again))


def test_logging_in_again_renews_the_token_of_a_connected_account_instead_of_adding_one(
    cast, page, meta: MetaMarketingFake, meta_app
) -> None:
    actions.connect_ad_account(
        cast.workspace, actor=cast.owner, channel=page, external_id="1234", access_token="old-user-token"
    )
    meta.my_ad_accounts = ACCOUNTS[:1]
    meta.long_token = "renewed-user-token"
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    back = owner.get(reverse("ads:meta_callback"), {"code": "c0de", "state": query["state"]})
    picker = owner.get(back["Location"]).content.decode()
    assert "already connected — choosing it renews its token" in picker
    done = owner.post(back["Location"], {"option": "act_1234"}, follow=True)
    assert "Seas Alive ads was already connected: its token is renewed." in _messages(done)
    account = AdAccount.objects.get(workspace=cast.workspace)
    assert account.credentials["access_token"] == "renewed-user-token"
    assert list(
        AuditEvent.objects.filter(workspace=cast.workspace, action__startswith="ads.account")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["ads.account_connected", "ads.account_refreshed"]


def test_a_login_that_reaches_no_ad_account_says_what_to_do(cast, page, meta, meta_app) -> None:
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    answer = owner.get(reverse("ads:meta_callback"), {"code": "c0de", "state": query["state"]}, follow=True)
    assert answer.redirect_chain[-1][0] == _accounts_url(cast)
    assert any("Your Meta login reaches no ad account" in m for m in _messages(answer))
    assert not AdAccount.objects.exists()


def test_a_refused_login_shows_metas_reason(cast, page, meta, meta_app) -> None:
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    answer = owner.get(
        reverse("ads:meta_callback"),
        {
            "error": "access_denied",
            "error_code": "200",
            "error_reason": "user_denied",
            "error_description": "Permissions error",
            "state": query["state"],
        },
        follow=True,
    )
    assert "Meta refused the connection: Permissions error" in _messages(answer)
    assert not [r for r in meta.sent if "oauth/access_token" in r.url.path]  # no exchange attempted


def test_a_state_not_started_here_or_by_another_workspace_is_refused(cast, page, meta, meta_app) -> None:
    owner = cast.client_for(cast.owner)
    answer = owner.get(reverse("ads:meta_callback"), {"code": "c0de", "state": "forged"}, follow=True)
    assert any("expired or was not started here" in m for m in _messages(answer))
    assert not meta.sent


def test_a_key_not_offered_drops_the_choice_and_connects_nothing(cast, page, meta, meta_app) -> None:
    meta.my_ad_accounts = ACCOUNTS[:1]
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    back = owner.get(reverse("ads:meta_callback"), {"code": "c0de", "state": query["state"]})
    answer = owner.post(back["Location"], {"option": ["act_1234", "act_666"]}, follow=True)
    assert any("was not among those offered" in m for m in _messages(answer))
    assert not AdAccount.objects.exists()


def test_only_managers_start_the_login_and_only_for_their_own_meta_channels(
    cast, page, meta, meta_app
) -> None:
    editor = cast.client_for(cast.members[Role.EDITOR])
    url = reverse("ads:meta_connect", kwargs={"slug": cast.workspace.slug})
    assert editor.post(url, {"channel": page.pk}).status_code in (403, 404)
    bluesky = connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={}, actor=cast.owner
    )
    answer = cast.client_for(cast.owner).post(url, {"channel": bluesky.pk}, follow=True)
    assert any("Choose the Facebook Page or Instagram account" in m for m in _messages(answer))


def test_the_ads_page_offers_the_login_and_keeps_the_token_form(cast, page, meta_app) -> None:
    html = cast.client_for(cast.owner).get(_accounts_url(cast)).content.decode()
    assert reverse("ads:meta_connect", kwargs={"slug": cast.workspace.slug}) in html
    assert 'name="access_token"' in html  # system-user tokens are still pasted


def test_an_unconfigured_meta_app_says_what_is_missing(cast, page, settings) -> None:
    set_meta_app(settings, "facebook", "", "", enabled=None)
    html = cast.client_for(cast.owner).get(_accounts_url(cast)).content.decode()
    assert "Meta&#x27;s login is not configured on this server (missing: FACEBOOK_ENABLED" in html


def test_a_code_meta_refuses_to_exchange_shows_metas_message_and_keeps_nothing(
    cast, page, meta, meta_app
) -> None:
    meta.my_ad_accounts = ACCOUNTS
    owner = cast.client_for(cast.owner)
    query = _start(owner, cast, page)
    answer = owner.get(reverse("ads:meta_callback"), {"code": "stale", "state": query["state"]}, follow=True)
    assert answer.redirect_chain[-1][0] == _accounts_url(cast)
    assert any("Invalid verification code format." in m for m in _messages(answer))
    assert not [r for r in meta.sent if r.url.path.endswith("/me/adaccounts")]
    assert not AdAccount.objects.exists()
