"""The calendar in a real browser: a scheduled post appears, is dragged to another day, and the
list view and the database show the new time (issue 5, browser flows)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, PostTarget
from chorus.publishing import actions
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {"scheduled": "Scheduled", "time": "10:00am"},
    "fr": {"scheduled": "Programmée", "time": "10:00"},
}


def drag(page: Page, source: str, target: str) -> None:
    """A real pointer drag (FullCalendar listens to pointer moves, not HTML5 drag events).

    Both ends are brought to the middle of the viewport first: FullCalendar scrolls the page when
    the pointer comes near an edge, which would move the drop cell away from under the pointer."""
    page.locator(target).evaluate("el => el.scrollIntoView({block: 'center'})")
    page.locator(source).evaluate("el => el.scrollIntoView({block: 'nearest'})")
    start = page.locator(source).bounding_box()
    end = page.locator(target).bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=15)
    page.mouse.up()


def test_a_scheduled_post_is_dragged_to_another_day_and_the_list_shows_the_new_time(
    page: Page, shot: Shot, cast: Cast
) -> None:
    year = dt.date.today().year + 1
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    campaign = Campaign.objects.create(
        workspace=cast.workspace, name="Spring", slug="spring", color="#c2410c"
    )
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Rivers report launch"
    )
    post.campaign = campaign
    post.save(update_fields=["campaign"])
    target = post.targets.get()
    actions.schedule_local(target, actor=cast.owner, local=dt.datetime(year, 6, 10, 10, 0))

    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    go_to(page, "Plan", "Calendar")
    expect(page.get_by_role("heading", name="Calendar", exact=True)).to_be_visible()
    page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-10")
    event = page.locator(f'.fc-event[data-target="{target.pk}"]')
    expect(event).to_contain_text("Sink: Rivers report launch")
    expect(event.locator(".fc-daygrid-event-dot")).to_have_css("border-color", "rgb(194, 65, 12)")
    shot(page, "month view with the post")

    drag(page, f'.fc-event[data-target="{target.pk}"]', f'td.fc-daygrid-day[data-date="{year}-06-12"]')
    expect(page.locator("#calendar-status")).to_have_text(f"Moved to {year}-06-12 10:00.")
    expect(page.locator(f'td[data-date="{year}-06-12"] .fc-event[data-target="{target.pk}"]')).to_be_visible()
    shot(page, "dragged to another day")
    target.refresh_from_db()
    assert target.status == PostTarget.Status.SCHEDULED
    assert target.scheduled_at == dt.datetime(year, 6, 12, 10, 0, tzinfo=PARIS)

    page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-12&view=listWeek")
    row = page.locator(f'.fc-list-event[data-target="{target.pk}"]')
    expect(row).to_contain_text("10:00")
    expect(row).to_contain_text("Rivers report launch")
    # The row sits under the heading of its new day (the next heading is another day's).
    day = page.locator(f'tr.fc-list-day[data-date="{year}-06-12"]')
    expect(day).to_contain_text("June 12")
    expect(day.locator("xpath=following-sibling::tr[1]")).to_have_attribute("data-target", str(target.pk))
    shot(page, "list view shows the new time")

    # The API agrees with the database and the list.
    api = page.request.get(
        f"/api/workspaces/{cast.workspace.slug}/calendar/events?start={year}-06-01T00:00&end={year}-07-01T00:00"
    )
    assert api.ok
    assert [(e["id"], e["start"]) for e in api.json()] == [(target.pk, f"{year}-06-12T10:00")]


def test_a_post_that_is_already_publishing_springs_back_with_the_reason(
    page: Page, shot: Shot, cast: Cast
) -> None:
    year = dt.date.today().year + 1
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[channel], text="Busy")
    target = post.targets.get()
    actions.schedule_local(target, actor=cast.owner, local=dt.datetime(year, 6, 10, 10, 0))

    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-10")
    expect(page.locator(f'.fc-event[data-target="{target.pk}"]')).to_be_visible()
    # The scheduler claims it while the page is open.
    PostTarget.objects.filter(pk=target.pk).update(status="publishing", phase="claimed")
    drag(page, f'.fc-event[data-target="{target.pk}"]', f'td.fc-daygrid-day[data-date="{year}-06-12"]')
    expect(page.locator("#calendar-status")).to_have_text(
        "Not moved: Already publishing: this post can no longer be changed."
    )
    expect(page.locator(f'td[data-date="{year}-06-10"] .fc-event[data-target="{target.pk}"]')).to_be_visible()
    shot(page, "refused and reverted")
    target.refresh_from_db()
    assert target.scheduled_at == dt.datetime(year, 6, 10, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_phone_opens_the_list_and_a_desktop_the_month_unless_the_person_chose(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    """Item 7 of issue 16: 390×844 opens the list (time in the workspace's zone, channel chip,
    status, link to the post); a desktop keeps the month and the week; a view picked in the
    toolbar is remembered over the default, and ?view= wins over both."""
    year = dt.date.today().year + 1
    channel = connect_channel(
        workspace=cast.workspace, kind="sink", name="Newsroom", config={}, credentials={}
    )
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Rivers report launch"
    )
    target = post.targets.get()
    actions.schedule_local(target, actor=cast.owner, local=dt.datetime(year, 6, 10, 10, 0))
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)  # the browser runs in UTC: 10:00 below is Paris time
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-10")
        if device == "phone":
            expect(page.locator(".fc-listWeek-view")).to_be_visible()
            expect(page.locator(".fc-dayGridMonth-view")).to_have_count(0)
            row = page.locator(f'.fc-list-event[data-target="{target.pk}"]')
            expect(row.locator(".fc-list-event-time")).to_have_text(words["time"])
            expect(row.locator(".calendar-channel")).to_have_text("SI Newsroom")
            expect(row.locator(".chip.status-scheduled")).to_have_text(words["scheduled"])
            link = row.get_by_role("link", name="Rivers report launch")
            expect(link).to_have_attribute("href", f"/w/{cast.workspace.slug}/targets/{target.pk}/")
        else:
            expect(page.locator(".fc-dayGridMonth-view")).to_be_visible()
            expect(page.locator(f'.fc-daygrid-event[data-target="{target.pk}"]')).to_contain_text(
                "Newsroom: Rivers report launch"
            )
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"calendar default view {language} {device}")
        page.screenshot(path=SCREENS / f"calendar-default-{language}-{device}.png", full_page=True)
        assert not overflow, "the calendar page is wider than the window"

        # The person's choice wins over the default, and is remembered on the next visit.
        chosen, other = (
            ("timeGridWeek", "listWeek") if device == "desktop" else ("dayGridMonth", "timeGridWeek")
        )
        page.locator(f".fc-{chosen}-button").click()
        expect(page.locator(f".fc-{chosen}-view")).to_be_visible()
        page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-10")
        expect(page.locator(f".fc-{chosen}-view")).to_be_visible()
        expect(page.locator(f'.fc-event[data-target="{target.pk}"]')).to_be_visible()
        # An address that names a view wins over the remembered one.
        page.goto(f"/w/{cast.workspace.slug}/calendar/?date={year}-06-10&view={other}")
        expect(page.locator(f".fc-{other}-view")).to_be_visible()
        expect(page.locator(f".fc-{chosen}-view")).to_have_count(0)
