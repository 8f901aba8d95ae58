"""Facebook and Instagram mentions in a real browser, in English and French, on a desktop and a
phone: the inbox lists a mention whose author the network did not give under a readable name
(an empty name left the row's link with no text to click), the conversation marks the item as a
mention, offers only what the network allows on someone else's post (Facebook: like), says when
a mention's text is still to be read, and our reply being deleted reads so. The page is never
wider than the window. Screenshots in tests/artifacts/screens/inbox-mention-*.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.connectors.inbox import InboxEntry
from chorus.inbox import actions
from chorus.inbox.models import InboxItem, Reply
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "someone": "Someone (the network did not say who)",
        "mention": "Mention",
        "like": "Like",
        "pending": "The network has not let Chorus read this mention yet",
        "deleting": "Being deleted on the network",
    },
    "fr": {
        "someone": "Quelqu’un (le réseau n’a pas dit qui)",
        "mention": "Mention",
        "like": "Aimer",
        "pending": "Le réseau n’a pas encore laissé Chorus lire cette mention",
        "deleting": "Suppression en cours sur le réseau",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_facebook_and_instagram_mentions_read_as_mentions(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    page_channel = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Our Page",
        config={"page_id": "1122334455", "page_name": "Our Page"},
        credentials={"access_token": "page-token"},
    )
    instagram = connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@ourngo",
        config={"ig_user_id": "17841400000000000", "username": "ourngo", "page_id": "1122334455"},
        credentials={"access_token": "ig-token"},
    )
    now = dt.datetime.now(dt.UTC)
    tagged = InboxEntry(
        network_id="987654_11223344551",
        kind="mention",
        author_id="",  # /{page-id}/tagged does not say who wrote someone else's post
        created_at=now - dt.timedelta(hours=2),
        text="Thanks @Our Page for the flood relief in Valencia! Volunteers were there within a day.",
        url="https://www.facebook.com/987654_11223344551",
        root_id="987654_11223344551",
        extra={"post_id": "987654_11223344551"},
    )
    bare = InboxEntry(
        network_id="17895695668004550",
        kind="mention",
        author_id="",
        created_at=now - dt.timedelta(hours=1),
        root_id="17895695668004550",
        extra={"media_id": "17895695668004550", "comment_id": "", "enrich": "pending"},
    )
    actions.ingest(channel=page_channel, entries=[tagged], via="poll")
    actions.ingest(channel=instagram, entries=[bare], via="webhook")
    fb_item = InboxItem.objects.get(channel=page_channel)
    ig_item = InboxItem.objects.get(channel=instagram)
    Reply.objects.create(
        workspace=fb_item.workspace,
        conversation=fb_item.conversation,
        in_reply_to=fb_item,
        author=cast.owner,
        text="With pleasure: thank you for coming!",
        status=Reply.Status.DELETING,
        network_id="987654_11223344551_777",
    )
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/inbox/")
        row = page.locator(f'[data-conversation="{fb_item.conversation_id}"]')
        expect(row.get_by_role("link", name=words["someone"])).to_be_visible()
        shot(page, f"inbox list {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-mention-list-{language}-{device}.png", full_page=True)

        row.get_by_role("link", name=words["someone"]).click()
        item = page.locator(f'[data-item="{fb_item.pk}"]')
        expect(item.get_by_test_id("item-kind")).to_have_text(words["mention"])
        expect(item.get_by_role("button")).to_have_text([words["like"]])  # no hide, no delete
        expect(page.locator(f'[data-reply="{fb_item.conversation.replies.get().pk}"] .badge')).to_have_text(
            words["deleting"]
        )
        expect(page.get_by_test_id("delete-reply")).to_have_count(0)
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"facebook mention {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-mention-facebook-{language}-{device}.png", full_page=True)
        assert not overflow, "the conversation page is wider than the window"

        page.goto(f"/w/{cast.workspace.slug}/inbox/{ig_item.conversation_id}/")
        item = page.locator(f'[data-item="{ig_item.pk}"]')
        expect(item.get_by_test_id("enrich-pending")).to_contain_text(words["pending"])
        expect(item.get_by_role("button")).to_have_count(0)  # someone else's media: nothing to moderate
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"instagram mention pending {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-mention-instagram-{language}-{device}.png", full_page=True)
        assert not overflow, "the conversation page is wider than the window"
