"""The report's HTML view in a real browser, in English and French, on a desktop and a phone:
the cover states the period and the time zone, the charts load, the tables stay inside the page
(a wide table scrolls inside its own box)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.analytics.demo import load_demo
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "view": "View",
        "cover": "Results report",
        "zone": "Paris (Europe/Paris)",
        "metric": "Followers at end",
    },
    "fr": {
        "view": "Afficher",
        "cover": "Rapport de résultats",
        "zone": "Paris (Europe/Paris)",
        "metric": "Abonnés à la fin",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_report_view_reads_well_in_each_language_on_desktop_and_phone(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    workspace = load_demo(days=70, posts_per_day=2, owner=cast.owner)
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{workspace.slug}/analytics/reports/")
        page.get_by_role("button", name=words["view"], exact=True).click()
        expect(page.locator("#report-cover h1")).to_have_text(words["cover"])
        expect(page.locator("#report-zone")).to_contain_text(words["zone"])
        expect(page.locator("table[data-section=summary]")).to_contain_text(words["metric"])
        charts = page.locator(".report img.chart")
        expect(charts).to_have_count(2)
        loaded = page.evaluate(
            "() => [...document.querySelectorAll('.report img.chart')].map(i => i.naturalWidth)"
        )
        assert all(width > 300 for width in loaded), loaded
        # No report section is wider than the window: wide tables scroll inside their section.
        overflow = page.evaluate(
            """() => [...document.querySelectorAll('.report .section')]
                 .filter(s => s.getBoundingClientRect().right > window.innerWidth + 1).map(s => s.id)"""
        )
        assert overflow == [], overflow
        shot(page, f"report {language} {device}")
        page.screenshot(path=SCREENS / f"report-{language}-{device}.png", full_page=True)
