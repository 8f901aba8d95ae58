"""The conversation page's moderation actions for YouTube in a real browser, in English and French,
on a desktop and a phone: a fan's comment offers hold and reject (final on YouTube) (no like: YouTube's API has
none), holding it sends comments.setModerationStatus to the Data API fake and the item then reads
"held" with approve and reject offered; our sent reply offers its deletion. Screenshots in
tests/artifacts/screens/inbox-moderation-*.png; the page is never wider than the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from chorus.channels.models import Channel
from chorus.connectors.inbox import InboxEntry
from chorus.inbox import actions
from chorus.inbox.models import InboxItem, Reply
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast
from tests.connectors.oauth_fakes import Fake, fake, oauth_apps  # noqa: F401  (fixtures)
from tests.connectors.youtube.conftest import youtube_channel  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "hold": "Hold for moderation",
        "held": "Held for moderation",
        "approve": "Approve",
        "hide": "Reject (cannot be undone)",
        "delete": "Delete our reply on the network",
    },
    "fr": {
        "hold": "Mettre en attente de modération",
        "held": "Retenu pour modération",
        "approve": "Approuver",
        "hide": "Rejeter (définitif)",
        "delete": "Supprimer notre réponse sur le réseau",
    },
}
MODERATE = "https://www.googleapis.com/youtube/v3/comments/setModerationStatus"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_hold_a_youtube_comment_from_the_conversation_page(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    live_server,
    language: str,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    comment = InboxEntry(
        network_id="UgzThread1",
        kind="comment",
        author_id="UCfan0000000000000000001",
        author_handle="Fan",
        author_name="Fan",
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        text="Is the march still on Saturday?",
        root_id="vidA",
        parent_id="vidA",
        extra={"thread_id": "UgzThread1"},
    )
    actions.ingest(channel=youtube_channel, entries=[comment])
    item = InboxItem.objects.get()
    Reply.objects.create(
        workspace=item.workspace,
        conversation=item.conversation,
        in_reply_to=item,
        author=cast.owner,
        text="Yes, at noon.",
        status=Reply.Status.SENT,
        network_id="UgzThread1.r9",
    )
    fake.on("POST", MODERATE, httpx.Response(204))
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        InboxItem.objects.filter(pk=item.pk).update(extra={"thread_id": "UgzThread1"})
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/inbox/{item.conversation_id}/")
        row = page.locator(f'[data-item="{item.pk}"]')
        expect(row.get_by_role("button", name=words["hold"])).to_be_visible()
        expect(row.get_by_role("button", name=words["hide"])).to_be_visible()
        expect(row.get_by_role("button", name="Like")).to_have_count(0)
        expect(page.get_by_test_id("delete-reply")).to_have_text(words["delete"])
        shot(page, f"youtube comment {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-moderation-{language}-{device}.png", full_page=True)
        row.get_by_role("button", name=words["hold"]).click()
        row = page.locator(f'[data-item="{item.pk}"]')
        expect(row.get_by_test_id("moderation-state")).to_have_text(words["held"])
        expect(row.get_by_role("button", name=words["approve"])).to_be_visible()
        expect(row.get_by_role("button", name=words["hold"])).to_have_count(0)
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"youtube comment held {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-moderation-held-{language}-{device}.png", full_page=True)
        assert not overflow, "the conversation page is wider than the window"
    sent = fake.to("POST", MODERATE)
    assert [dict(r.url.params) for r in sent] == [
        {"id": "UgzThread1", "moderationStatus": "heldForReview"}
    ] * 2
