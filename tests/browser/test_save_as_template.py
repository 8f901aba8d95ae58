"""“Save as template” from the composer in a real browser (issue 16, item 3), in English and
French, on a desktop and a 390 px phone: write for two channels with one channel's own text,
open “Save as template”, name it and press Enter; the template exists with the channel's text,
no post was saved, and the written text is still on the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Post, PostTemplate
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {"open": "Save as template", "saved": "Template “Week {device}” saved"},
    "fr": {"open": "Enregistrer comme modèle", "saved": "Modèle « Week {device} » enregistré"},
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_save_the_composer_as_a_template_by_pressing_enter(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    first = connect_channel(workspace=cast.workspace, kind="sink", name="Sink A", config={}, credentials={})
    second = connect_channel(workspace=cast.workspace, kind="sink", name="Sink B", config={}, credentials={})
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/posts/new/")
        page.locator(f'#channel-choice input[value="{first.pk}"]').check()
        page.locator(f'#channel-choice input[value="{second.pk}"]').check()
        page.locator("#id_text").fill("Rivers week starts Monday")
        page.locator(f"#tab-c{second.pk}").click()
        page.locator(f"#c{second.pk}-text").fill("Only on B")
        page.locator("#save-template summary").click()
        page.locator("#template-name").fill(f"Week {device}")
        page.locator("#template-name").press("Enter")
        expect(page.get_by_text(words["saved"].format(device=device))).to_be_visible()
        expect(page.locator("#id_text")).to_have_value("Rivers week starts Monday")
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"saved as template {language} {device}")
        page.screenshot(path=SCREENS / f"composer-save-as-template-{language}-{device}.png", full_page=True)
        assert not overflow, "the composer is wider than the window"
        template = PostTemplate.objects.get(workspace=cast.workspace, name=f"Week {device}")
        assert template.text == "Rivers week starts Monday"
        assert template.channel_texts == {str(second.pk): "Only on B"}
        assert not Post.objects.filter(workspace=cast.workspace).exists()
