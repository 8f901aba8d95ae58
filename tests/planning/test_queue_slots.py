"""Queue slots: each channel's weekly times, typed per weekday on their own page, checked,
audited, shown on the overview with the next free slot, and used by the composer's "Next free
queue slot" (refused with a pointer to the page when a channel has none)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.test import Client

from chorus.channels.models import Channel
from chorus.content.models import Post, PostTarget
from chorus.core.models import AuditEvent
from chorus.planning import slots
from tests.conftest import Cast

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def _form(**days: str) -> dict[str, str]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {f"day-{i}": days.get(name, "") for i, name in enumerate(names)}


def test_an_editor_sets_a_channels_weekly_slots_and_sees_them_on_the_overview(
    cast: Cast, sink_channel: Channel
) -> None:
    editor = cast.client_for(cast.members["editor"])
    page = editor.get(f"/w/campaign/queue/{sink_channel.pk}/")
    assert page.status_code == 200 and b'name="day-6"' in page.content
    response = editor.post(
        f"/w/campaign/queue/{sink_channel.pk}/", _form(mon="12h30 9:00, 09:00", fri="18.00")
    )
    assert response.status_code == 302
    sink_channel.refresh_from_db()
    assert sink_channel.posting_slots == [
        {"weekday": 0, "time": "09:00"},
        {"weekday": 0, "time": "12:30"},
        {"weekday": 4, "time": "18:00"},
    ]
    event = AuditEvent.objects.get(action="channel.slots_changed")
    assert (event.actor, event.data["before"], event.data["after"]) == (cast.members["editor"], 0, 3)
    # Saving the same slots again changes nothing and writes no second row.
    editor.post(f"/w/campaign/queue/{sink_channel.pk}/", _form(mon="09:00, 12:30", fri="18:00"))
    assert AuditEvent.objects.filter(action="channel.slots_changed").count() == 1
    overview = editor.get("/w/campaign/queue/").content.decode()
    assert "<strong>Monday</strong> 09:00, 12:30" in overview
    assert "<strong>Friday</strong> 18:00" in overview
    upcoming = slots.next_free(sink_channel)
    assert upcoming is not None and upcoming.local.weekday() in (0, 4)
    assert upcoming.local.strftime("%H:%M") in {"09:00", "12:30", "18:00"}


def test_bad_times_are_named_and_nothing_is_saved(cast: Cast, sink_channel: Channel) -> None:
    editor = cast.client_for(cast.members["editor"])
    response = editor.post(
        f"/w/campaign/queue/{sink_channel.pk}/", _form(tue="25:00, lunch, 10:00", wed="08:00")
    )
    assert response.status_code == 200  # the form again, with its errors
    text = response.content.decode()
    assert "Not a time of day: 25:00, lunch. Write times like 09:00, 12:30." in text
    assert 'value="25:00, lunch, 10:00"' in text  # what was typed is kept
    too_many = ", ".join(f"{h:02d}:{m:02d}" for h in range(13) for m in (0, 30))
    assert (
        "At most 24 times a day."
        in editor.post(f"/w/campaign/queue/{sink_channel.pk}/", _form(sat=too_many)).content.decode()
    )
    sink_channel.refresh_from_db()
    assert sink_channel.posting_slots == []
    assert not AuditEvent.objects.filter(action="channel.slots_changed").exists()


def test_slots_are_scoped_to_the_workspace_and_to_roles_that_schedule(
    cast: Cast, sink_channel: Channel
) -> None:
    outsider = cast.client_for(cast.outsider)
    assert outsider.get(f"/w/elsewhere/queue/{sink_channel.pk}/").status_code == 404
    assert outsider.post(f"/w/elsewhere/queue/{sink_channel.pk}/", _form(mon="09:00")).status_code == 404
    viewer = cast.client_for(cast.members["viewer"])
    assert viewer.get("/w/campaign/queue/").status_code == 200
    assert viewer.post(f"/w/campaign/queue/{sink_channel.pk}/", _form(mon="09:00")).status_code == 403
    sink_channel.refresh_from_db()
    assert sink_channel.posting_slots == []


def test_the_composer_queues_into_the_next_free_slot_or_points_to_the_slots_page(
    owner_client: Client, cast: Cast, sink_channel: Channel
) -> None:
    data = {"channels": [str(sink_channel.pk)], "text": "Queued for later", "when": "queue"}
    refused = owner_client.post("/w/campaign/posts/new/", data)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "No queue slots yet for Sink: add them on the Queue slots page, or choose a time." in page
    assert 'href="/w/campaign/queue/"' in page
    assert not Post.objects.exists()

    sink_channel.posting_slots = [{"weekday": 2, "time": "10:00"}]
    sink_channel.save()
    expected = slots.next_free(sink_channel)
    assert expected is not None
    composer = owner_client.get("/w/campaign/posts/new/").content.decode()
    assert f"Sink: {expected.local.strftime('%a')}" in composer  # the next slot, before choosing
    assert owner_client.post("/w/campaign/posts/new/", data).status_code == 302
    target = PostTarget.objects.get()
    assert target.status == PostTarget.Status.SCHEDULED
    assert target.scheduled_at == expected.utc
    local = target.scheduled_at.astimezone(PARIS)
    assert (local.weekday(), local.time()) == (2, dt.time(10, 0))


def test_read_day_accepts_common_spellings_and_drops_duplicates() -> None:
    row = slots.read_day(0, " 9:05,9h05 ; 23.59  0:00 ")
    assert (row.error, row.times) == ("", [dt.time(0, 0), dt.time(9, 5), dt.time(23, 59)])
    assert slots.read_day(1, "24:00").error
    assert slots.read_day(1, "9:5").error
    assert slots.read_day(1, "x" * 401).error == "At most 400 characters."
