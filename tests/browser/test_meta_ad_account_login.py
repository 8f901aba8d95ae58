"""Connecting Meta ad accounts through Meta's login in a real browser, in English and French, on a
desktop and a 390 px phone: the owner picks the Page, presses "Connect a Meta ad account", Meta's
dialog (a named fake: a Playwright route on www.facebook.com that answers as the dialog does once
the person allows, a redirect to the callback with `code` and the same `state`) sends them back,
the server exchanges the code and lists the ad accounts on the MetaMarketingFake at the HTTP seam,
the picker shows them, and the chosen one is connected (then, logging in again, renewed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Route, expect

from chorus.ads.models import AdAccount
from chorus.channels.actions import connect_channel
from tests.ads.conftest import meta  # noqa: F401  (fixture: the Meta fake on the HTTP transport)
from tests.ads.fakes import MetaMarketingFake
from tests.ads.test_meta_login_connects_ad_accounts import ACCOUNTS
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast
from tests.connectors.graph_fake import set_meta_app

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "connect": "Connect a Meta ad account",
        "submit": "Connect the chosen ad accounts",
        "added": "Seas Alive ads is connected.",
        "renewed": "Seas Alive ads was already connected: its token is renewed.",
    },
    "fr": {
        "connect": "Connecter un compte publicitaire Meta",
        "submit": "Connecter les comptes publicitaires choisis",
        "added": "Seas Alive ads est connecté.",
        "renewed": "Seas Alive ads était déjà connecté : son jeton est renouvelé.",
    },
}


def meta_dialog_allows(route: Route) -> None:
    """Meta's OAuth dialog, faked: the person allows, Meta redirects to redirect_uri with a code."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
    assert query["scope"] == "ads_management,ads_read,business_management"
    back = f"{query['redirect_uri']}?{urlencode({'code': 'c0de', 'state': query['state']})}"
    route.fulfill(status=302, headers={"Location": back})


@pytest.mark.parametrize("language", ["en", "fr"])
def test_connect_a_meta_ad_account_through_the_login_and_pick_it(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    live_server,
    settings,
    meta: MetaMarketingFake,  # noqa: F811
    language: str,
) -> None:
    set_meta_app(settings, "facebook", "facebook-app", "facebook-secret", enabled=True)
    meta.my_ad_accounts = ACCOUNTS
    page_channel = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token"},
        actor=cast.owner,
    )
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        page.route("https://www.facebook.com/**", meta_dialog_allows)
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/ads/accounts/")
        login = page.locator("form[data-meta-login]")
        login.locator("select[name=channel]").select_option(str(page_channel.pk))
        login.get_by_role("button", name=words["connect"]).click()
        expect(page.locator("h1")).to_have_text(words["connect"])
        expect(page.locator("[data-option]")).to_have_count(3)
        page.wait_for_load_state("load")  # the stylesheet too: a width measured before it is not the page's
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"meta ad accounts picker {language} {device}")
        page.screenshot(path=SCREENS / f"ads-meta-picker-{language}-{device}.png", full_page=True)
        assert not overflow, "the picker is wider than the window"
        page.locator('[data-option="act_1234"] input').check()
        page.get_by_role("button", name=words["submit"]).click()
        expected = words["added"] if device == "desktop" else words["renewed"]
        expect(page.get_by_text(expected)).to_be_visible()
        expect(page.locator("main table")).to_contain_text("act_1234")
        page.wait_for_load_state("load")
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"meta ad account connected {language} {device}")
        page.screenshot(path=SCREENS / f"ads-accounts-{language}-{device}.png", full_page=True)
        assert not overflow, "the ad accounts page is wider than the window"
    account = AdAccount.objects.get(workspace=cast.workspace)
    assert (account.external_id, account.channel, account.currency) == ("act_1234", page_channel, "EUR")
    assert account.credentials["access_token"] == "long-user-token"
    assert not errors
