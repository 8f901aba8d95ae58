"""The events endpoint: the visible range only, filters, campaign colours, workspace wall times,
a fixed number of queries whatever the number of posts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Tag
from chorus.publishing import actions
from tests.conftest import Cast
from tests.planning.conftest import paris, scheduled

pytestmark = pytest.mark.django_db


def events_url(cast: Cast) -> str:
    return reverse("planning:events", kwargs={"slug": cast.workspace.slug})


def fetch(cast: Cast, role: str = "owner", **params: Any) -> list[dict[str, Any]]:
    response = cast.client_for(cast.members[role]).get(events_url(cast), params)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_returns_only_the_posts_of_the_visible_range(cast: Cast, sink_channel: Channel, future_year: int):
    inside = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0), text="inside")
    scheduled(cast, sink_channel, paris(future_year, 2, 20, 9, 0), text="before")
    scheduled(cast, sink_channel, paris(future_year, 4, 20, 9, 0), text="after")
    events = fetch(cast, start=f"{future_year}-03-01T00:00:00Z", end=f"{future_year}-04-01T00:00:00Z")
    assert [e["id"] for e in events] == [inside.pk]


def test_it_sends_wall_times_of_the_workspace_zone(cast: Cast, sink_channel: Channel, future_year: int):
    # 09:00 in Paris in summer is 07:00 UTC; the calendar must show 09:00.
    target = scheduled(cast, sink_channel, paris(future_year, 7, 1, 9, 0))
    assert target.scheduled_at.hour == 7  # type: ignore[union-attr]
    (event,) = fetch(cast, start=f"{future_year}-07-01", end=f"{future_year}-07-02")
    assert event["start"] == f"{future_year}-07-01T09:00"


def test_it_colours_events_by_campaign(cast: Cast, sink_channel: Channel, future_year: int):
    spring = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring", color="#ff8800")
    scheduled(cast, sink_channel, paris(future_year, 3, 2, 9, 0), campaign=spring)
    scheduled(cast, sink_channel, paris(future_year, 3, 3, 9, 0))
    events = fetch(cast, start=f"{future_year}-03-01", end=f"{future_year}-03-31")
    assert [(e["color"], e["campaign"]) for e in events] == [("#ff8800", spring.pk), ("#6b7280", None)]


def test_it_filters_by_channel_campaign_tag_status_and_author(
    cast: Cast, sink_channel: Channel, future_year: int
):
    other_channel = connect_channel(
        workspace=cast.workspace, kind="sink", name="Other", config={}, credentials={}
    )
    spring = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    tag = Tag.objects.create(workspace=cast.workspace, name="climate")
    tagged = scheduled(cast, sink_channel, paris(future_year, 3, 2, 9, 0), campaign=spring)
    tagged.post.tags.add(tag, Tag.objects.create(workspace=cast.workspace, name="second"))
    on_other = scheduled(cast, other_channel, paris(future_year, 3, 3, 9, 0), author_role="admin")
    unscheduled = scheduled(cast, sink_channel, paris(future_year, 3, 4, 9, 0))
    actions.unschedule(unscheduled, actor=cast.owner)  # no scheduled_at: not on the calendar
    failed = scheduled(cast, sink_channel, paris(future_year, 3, 5, 9, 0))
    from chorus.content.models import PostTarget

    PostTarget.objects.filter(pk=failed.pk).update(status="failed")  # test setup, not a transition
    rng = {"start": f"{future_year}-03-01", "end": f"{future_year}-03-31"}

    def ids(**params: Any) -> list[int]:
        return [e["id"] for e in fetch(cast, **rng, **params)]

    assert ids() == [tagged.pk, on_other.pk, failed.pk]
    assert ids(channel=other_channel.pk) == [on_other.pk]
    assert ids(campaign=spring.pk) == [tagged.pk]
    assert ids(tag=tag.pk) == [tagged.pk]
    assert ids(tag=[tag.pk, Tag.objects.get(name="second").pk]) == [tagged.pk]  # once, not twice
    assert ids(status="failed") == [failed.pk]
    assert ids(author=cast.members["admin"].pk) == [on_other.pk]
    assert ids(channel="nonsense") == [tagged.pk, on_other.pk, failed.pk]  # ignored, not a 500


def test_it_never_shows_another_workspaces_posts(cast: Cast, sink_channel: Channel, future_year: int):
    from chorus.accounts.models import Membership

    scheduled(cast, sink_channel, paris(future_year, 3, 2, 9, 0))
    outsider = cast.client_for(cast.outsider)
    assert outsider.get(events_url(cast)).status_code == 404
    own = reverse("planning:events", kwargs={"slug": cast.other_workspace.slug})
    assert Membership.objects.filter(user=cast.outsider, workspace=cast.other_workspace).exists()
    response = outsider.get(own, {"start": f"{future_year}-03-01", "end": f"{future_year}-03-31"})
    assert response.json() == []


def test_it_marks_only_scheduled_posts_movable_and_only_for_roles_that_schedule(
    cast: Cast, sink_channel: Channel, future_year: int
):
    scheduled(cast, sink_channel, paris(future_year, 3, 2, 9, 0))
    rng = {"start": f"{future_year}-03-01", "end": f"{future_year}-03-31"}
    assert [e["editable"] for e in fetch(cast, "editor", **rng)] == [True]
    assert [e["editable"] for e in fetch(cast, "viewer", **rng)] == [False]


def test_it_refuses_a_range_longer_than_two_months(cast: Cast):
    response = cast.client_for(cast.owner).get(events_url(cast), {"start": "2030-01-01", "end": "2030-06-01"})
    assert response.status_code == 400
    assert "at most 62 days" in response.json()["error"]


def test_it_answers_any_number_of_posts_in_the_same_few_queries(
    cast: Cast, sink_channel: Channel, future_year: int, django_assert_max_num_queries
):
    spring = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    for day in range(1, 29):
        scheduled(cast, sink_channel, paris(future_year, 2, day, 9, 0), campaign=spring if day % 2 else None)
    client = cast.client_for(cast.owner)
    # session + user + membership + the one events query: no query per event.
    with django_assert_max_num_queries(4):
        response = client.get(
            events_url(cast), {"start": f"{future_year}-02-01", "end": f"{future_year}-03-01"}
        )
    assert len(response.json()) == 28


def test_it_answers_the_same_through_the_api(cast: Cast, sink_channel: Channel, future_year: int):
    from chorus.accounts.models import ApiToken

    target = scheduled(cast, sink_channel, paris(future_year, 3, 2, 9, 0))
    _token, raw = ApiToken.issue(cast.members["viewer"], "t")
    response = cast.client_for(None).get(
        f"/api/workspaces/{cast.workspace.slug}/calendar/events",
        {
            "start": f"{future_year}-03-01T00:00",
            "end": f"{future_year}-03-31T00:00",
            "channel": str(sink_channel.pk),
        },
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.content
    (event,) = response.json()
    assert (event["id"], event["start"], event["editable"]) == (
        target.pk,
        f"{future_year}-03-02T09:00",
        False,
    )


def test_the_calendar_page_loads_fullcalendar_in_the_page_language(cast: Cast):
    client = cast.client_for(cast.owner)
    page = client.get(reverse("planning:calendar", kwargs={"slug": cast.workspace.slug}))
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/fullcalendar/index.global.min.js" in html
    assert '"locale": "en"' in html
    french = client.get(
        reverse("planning:calendar", kwargs={"slug": cast.workspace.slug}), headers={"accept-language": "fr"}
    )
    assert '"locale": "fr"' in french.content.decode()
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/fullcalendar/index.global.min.js")
    assert finders.find("vendor/fullcalendar-locales/fr.global.min.js")


def test_it_defaults_to_the_current_month_without_a_range(cast: Cast, sink_channel: Channel):
    from django.utils import timezone

    from chorus.core.timeutil import to_local

    now = timezone.now()
    soon = now + dt.timedelta(minutes=5)
    target = scheduled(cast, sink_channel, soon)
    events = cast.client_for(cast.owner).get(events_url(cast)).json()
    same_month = to_local(soon, "Europe/Paris").month == to_local(now, "Europe/Paris").month
    assert [e["id"] for e in events] == ([target.pk] if same_month else [])
