"""A Meta permission declined at login, in a real browser, in English and French, on a desktop
and a phone: the Inbox and Channels pages say what Chorus may not do and how to fix it, next to
the channel's name (and so does Meta's refusal of the Page's webhook subscription: real-time
updates off), and the page is never wider than the window. Screenshots in
tests/artifacts/screens/inbox-permissions-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
NOTES = {
    "en": (
        "Chorus may not read messages on this Page: the permission pages_messaging was not granted. "
        "Reconnect and allow it.",
        "Chorus may not read messages on this account: the permission instagram_manage_messages was "
        "not granted. Reconnect and allow it.",
    ),
    "fr": (
        "Chorus ne peut pas lire les messages de cette Page : l’autorisation pages_messaging n’a pas "
        "été accordée. Reconnectez la Page et autorisez-la.",
        "Chorus ne peut pas lire les messages de ce compte : l’autorisation instagram_manage_messages "
        "n’a pas été accordée. Reconnectez le compte et autorisez-la.",
    ),
}
# Meta refused the Page's webhook subscription (Meta's own words, as Chorus recorded them).
REASON = "(#200) The user hasn't authorized the application to perform this action: pages_manage_metadata"
REALTIME = {
    "en": f"Real-time updates are off (new items arrive with the next poll): {REASON}",
    "fr": "Les mises à jour en temps réel sont désactivées (les nouveaux éléments arrivent au "
    f"prochain relevé) : {REASON}",
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_declined_meta_permission_is_said_on_the_inbox_and_channels_pages(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Our Page",
        config={
            "page_id": "1122334455",
            "page_name": "Our Page",
            "missing_permissions": ["pages_messaging"],
            "webhook_subscription": {"refused": REASON, "code": 200, "at": "2026-12-08T04:00:00+00:00"},
        },
        credentials={"access_token": "page-token"},
    )
    connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@ourngo",
        config={
            "ig_user_id": "17841400000000000",
            "username": "ourngo",
            "page_id": "1122334455",
            "missing_permissions": ["instagram_manage_messages"],
        },
        credentials={"access_token": "ig-token"},
    )
    page_note, account_note = NOTES[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/inbox/")
        notes = page.get_by_test_id("inbox-permission-notes")
        expect(notes.locator("li")).to_have_text(
            [f"@ourngo — {account_note}", f"Our Page — {page_note}", f"Our Page — {REALTIME[language]}"]
        )
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"inbox {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-permissions-inbox-{language}-{device}.png", full_page=True)
        assert not overflow, "the inbox page is wider than the window"

        page.goto(f"/w/{cast.workspace.slug}/channels/")
        expect(page.locator("[data-permission-note]")).to_have_text(
            [account_note, page_note, REALTIME[language]]
        )
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"channels {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-permissions-channels-{language}-{device}.png", full_page=True)
        assert not overflow, "the channels page is wider than the window"
