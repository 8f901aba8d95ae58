"""The calendar in a real browser: a scheduled post appears, is dragged to another day, and the
list view and the database show the new time (issue 5, browser flows)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from playwright.sync_api import Page, expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, PostTarget
from chorus.publishing import actions
from tests.browser.conftest import Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


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
