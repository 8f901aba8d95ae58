"""Workspace writing rules in a real browser (issue 16, item 3), in English and French, on a
desktop and a 390 px phone: the rules screen shows the banned words and a channel's signature;
in the composer, typing a banned word shows the named problem on the channel live, the preview
ends with the channel's signature, and removing the word clears the problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.publishing import writing_rules
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PROBLEM = {
    "en": "“guaranteed” is a banned word in this workspace.",
    "fr": "« guaranteed » est un mot interdit dans cet espace de travail.",
}
HEADING = {"en": "Writing rules", "fr": "Règles de rédaction"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_banned_word_is_a_problem_live_and_the_signature_ends_the_preview(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    channel = connect_channel(
        workspace=cast.workspace, kind="sink", name="Newsroom", config={}, credentials={}
    )
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=["guaranteed"],
        signatures={channel.pk: "— The Rivers team"},
        campaign_hashtags={},
    )
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/writing-rules/")
        expect(page.get_by_role("heading", name=HEADING[language], exact=True)).to_be_visible()
        expect(page.locator("#banned-words")).to_have_value("guaranteed")
        expect(page.locator(f"#signature-{channel.pk}")).to_have_value("— The Rivers team")
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"writing rules {language} {device}")
        page.screenshot(path=SCREENS / f"writing-rules-{language}-{device}.png", full_page=True)
        assert not overflow, "the rules page is wider than the window"

        page.goto(f"/w/{cast.workspace.slug}/posts/new/")
        page.locator(f'#channel-choice input[value="{channel.pk}"]').check()
        text = page.locator("#id_text")
        text.press_sequentially("Results Guaranteed by Saturday")
        problems = page.locator(f"#check-c{channel.pk} .problems")
        expect(problems).to_contain_text(PROBLEM[language])
        expect(page.locator(f"#check-c{channel.pk} .net-text")).to_have_text(
            re.compile(r"^Results Guaranteed by Saturday\s*— The Rivers team\s*$")
        )
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"banned word live {language} {device}")
        page.screenshot(path=SCREENS / f"composer-banned-word-{language}-{device}.png", full_page=True)
        wide = page.evaluate(
            "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        assert not overflow, f"the composer is wider than the window: {wide}"
        text.fill("")
        text.press_sequentially("Results by Saturday")
        expect(problems).to_have_count(0)
        expect(page.locator(f"#check-c{channel.pk} .net-text")).to_have_text(
            re.compile(r"^Results by Saturday\s*— The Rivers team\s*$")
        )
