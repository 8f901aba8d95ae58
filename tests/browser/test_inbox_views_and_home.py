"""Saved inbox views and the inbox figures on the workspace home, in a real browser, in English
and French, on a desktop and a phone: filter by sentiment and tag, save the view, find it in the
sidebar with its unread count, open it; the home shows open and overdue conversations and links
to the inbox; neither page is wider than the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.inbox import actions
from chorus.inbox.models import Conversation, SavedView
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast
from tests.inbox.conftest import entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "sentiment": "Sentiment",
        "negative": "Negative",
        "tag": "Tag",
        "filter": "Filter",
        "save_as": "Save these filters as",
        "shared": "Shared with the workspace",
        "save": "Save view",
        "saved": "saved.",
        "open": "Open conversations",
        "inbox": "Open the inbox",
    },
    "fr": {
        "sentiment": "Tonalité",
        "negative": "Négatif",
        "tag": "Étiquette",
        "filter": "Filtrer",
        "save_as": "Enregistrer ces filtres sous le nom",
        "shared": "Partagée avec l’espace de travail",
        "save": "Enregistrer la vue",
        "saved": "enregistrée.",
        "open": "Conversations ouvertes",
        "inbox": "Ouvrir la boîte de réception",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_save_a_view_then_see_the_inbox_on_the_home(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    now = dt.datetime.now(dt.UTC)
    actions.ingest(
        channel=channel,
        entries=[
            entry(1, author="did:plc:angry", text="Still no answer about the march?"),
            entry(2, author="did:plc:happy", text="Merci pour la marche !"),
        ],
    )
    angry = Conversation.objects.get(author_id="did:plc:angry")
    Conversation.objects.filter(pk=angry.pk).update(
        sentiment=-0.7, language="en", first_item_at=now - dt.timedelta(days=1)
    )
    Conversation.objects.filter(author_id="did:plc:happy").update(
        sentiment=0.8, language="fr", first_item_at=now
    )
    actions.set_tags(conversation=angry, tags=["press"], actor=cast.owner)
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        SavedView.objects.all().delete()
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/inbox/")
        page.get_by_label(words["sentiment"]).select_option("negative")
        page.get_by_label(words["tag"], exact=True).fill("press")
        page.get_by_role("button", name=words["filter"], exact=True).click()
        rows = page.get_by_test_id("conversations").locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-conversation", str(angry.pk))
        page.get_by_label(words["save_as"]).fill("Press complaints")
        page.get_by_label(words["shared"]).check()
        page.get_by_role("button", name=words["save"]).click()
        expect(page.get_by_text(words["saved"])).to_be_visible()
        view = SavedView.objects.get()
        assert view.owner is None and view.filters == {"tag": "press", "sentiment": "negative"}
        sidebar = page.get_by_test_id("inbox-views")
        expect(sidebar.get_by_role("link", name="Press complaints")).to_have_attribute("aria-current", "page")
        expect(page.locator(f'[data-view-unread="{view.pk}"]')).to_have_text("1")
        expect(rows).to_have_count(1)
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"inbox saved view {language} {device}")
        page.screenshot(path=SCREENS / f"inbox-saved-view-{language}-{device}.png", full_page=True)
        assert not overflow, "the inbox page is wider than the window"

        page.goto(f"/w/{cast.workspace.slug}/")
        figures = page.get_by_test_id("home-inbox")
        expect(figures.get_by_text(words["open"])).to_be_visible()
        expect(figures.locator('[data-figure="open"]')).to_have_text("2")
        expect(figures.locator('[data-figure="overdue"]')).to_have_text("1")
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"home inbox figures {language} {device}")
        page.screenshot(path=SCREENS / f"home-inbox-figures-{language}-{device}.png", full_page=True)
        assert not overflow, "the home is wider than the window"
        figures.get_by_role("link", name=words["inbox"]).click()
        expect(page).to_have_url(f"{live_server.url}/w/{cast.workspace.slug}/inbox/")
