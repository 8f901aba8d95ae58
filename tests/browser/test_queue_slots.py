"""Queue slots in a real browser: a channel's weekly slots typed on its page, shown on the
overview, and "Next free queue slot" in the composer scheduling the post there. The screens in
English and French, on a desktop and a phone, into tests/artifacts/screens/."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.content.models import PostTarget
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def test_slots_set_on_their_page_are_where_the_composer_queues_a_post(
    new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    sink = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    page = new_page()
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    go_to(page, "Plan", "Queue slots")
    expect(page.locator(f"#queue-{sink.pk}")).to_contain_text("No slots yet")
    page.get_by_role("link", name="Edit slots Sink").click()
    page.get_by_label("Tuesday").fill("25:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#err-day-1")).to_contain_text("Not a time of day: 25:00.")
    page.get_by_label("Tuesday").fill("9:00, 17h30")
    page.get_by_label("Saturday").fill("11:00")
    shot(page, "slots of a channel")
    page.get_by_role("button", name="Save").click()
    row = page.locator(f"#queue-{sink.pk}")
    expect(row).to_contain_text("Tuesday 09:00, 17:30")
    expect(row).to_contain_text("Saturday 11:00")
    shot(page, "queue overview")

    page.get_by_test_id("new-post").click()
    page.locator(f'#channel-choice input[value="{sink.pk}"]').check()
    page.get_by_label("Main text (all channels)").fill("Weekly tip: bring a reusable cup")
    page.get_by_label("Next free queue slot").check()
    expect(page.locator(f'[data-queue-channel="{sink.pk}"]')).to_contain_text("Sink: ")
    shot(page, "composer queue choice")
    page.get_by_role("button", name="Add to the queue").click()
    expect(page.get_by_text("Queued on Sink for")).to_be_visible()
    target = PostTarget.objects.get()
    local = target.scheduled_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))  # type: ignore[union-attr]
    assert (local.weekday(), local.strftime("%H:%M")) in {(1, "09:00"), (1, "17:30"), (5, "11:00")}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_queue_screens_in_each_language_on_desktop_and_phone(
    new_page: NewPage, cast: Cast, live_server, language: str
) -> None:
    sink = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    sink.posting_slots = [{"weekday": 0, "time": "09:00"}, {"weekday": 3, "time": "12:30"}]
    sink.save()
    connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink without slots", config={}, credentials={}
    )
    heading = {"en": "Queue slots", "fr": "Créneaux de file"}[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, options in VIEWPORTS.items():
        page = new_page(**options)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        for name, path in (("queue", "/queue/"), ("queue-channel", f"/queue/{sink.pk}/")):
            page.goto(f"/w/{cast.workspace.slug}{path}")
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= page.viewport_size["width"] + 1, (name, device, wide)  # type: ignore[index]
            page.screenshot(path=SCREENS / f"{name}-{language}-{device}.png", full_page=True)
