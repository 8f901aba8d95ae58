"""DST decisions (DESIGN.md, Time): a gap moves forward, a fold takes the first occurrence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chorus.content.models import PostTarget, Recurrence
from chorus.core.timeutil import next_slot, resolve_local
from chorus.publishing import actions, recurrence
from tests.publishing.conftest import make_target

UTC = dt.UTC


@pytest.mark.parametrize(
    ("zone", "local", "expected_utc", "note_has"),
    [
        # Paris springs forward 2026-03-29 02:00 → 03:00 (CET+1 → CEST+2).
        (
            "Europe/Paris",
            dt.datetime(2026, 3, 29, 2, 30),
            dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            "03:00",
        ),
        ("Europe/Paris", dt.datetime(2026, 3, 29, 1, 59), dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), ""),
        ("Europe/Paris", dt.datetime(2026, 3, 29, 3, 0), dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), ""),
        # Paris falls back 2026-10-25 03:00 → 02:00: 02:30 happens twice; the first is CEST (UTC+2).
        (
            "Europe/Paris",
            dt.datetime(2026, 10, 25, 2, 30),
            dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            "+02:00",
        ),
        # New York springs forward 2026-03-08 02:00 → 03:00 (EST-5 → EDT-4).
        (
            "America/New_York",
            dt.datetime(2026, 3, 8, 2, 15),
            dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
            "03:00",
        ),
        # New York falls back 2026-11-01 02:00 → 01:00: 01:30 twice; the first is EDT (UTC-4).
        (
            "America/New_York",
            dt.datetime(2026, 11, 1, 1, 30),
            dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            "-04:00",
        ),
        ("America/New_York", dt.datetime(2026, 7, 4, 9, 0), dt.datetime(2026, 7, 4, 13, 0, tzinfo=UTC), ""),
    ],
)
def test_it_resolves_local_times_on_the_documented_minute(zone, local, expected_utc, note_has):
    resolved = resolve_local(local, zone)
    assert resolved.utc == expected_utc
    if note_has:
        assert note_has in resolved.note
    else:
        assert resolved.note == ""


def test_it_refuses_aware_datetimes_as_local_times():
    with pytest.raises(ValueError, match="naive"):
        resolve_local(dt.datetime(2026, 1, 1, tzinfo=UTC), "Europe/Paris")


def test_it_keeps_the_schedule_note_on_the_target(cast, sink_channel):
    target = make_target(cast, sink_channel)
    actions.schedule_local(target, actor=cast.owner, local=dt.datetime(2026, 3, 29, 2, 30))
    target.refresh_from_db()
    assert target.scheduled_at == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert "does not exist" in target.schedule_note


def test_it_finds_the_next_free_queue_slot_across_dst():
    slots = [(0, dt.time(9, 0)), (2, dt.time(9, 0))]  # Monday and Wednesday 09:00 Paris
    after = dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # Friday before the spring change
    first = next_slot(slots, "Europe/Paris", after, taken=set())
    assert first is not None and first.utc == dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    second = next_slot(slots, "Europe/Paris", after, taken={first.utc})
    assert second is not None and second.utc == dt.datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def test_add_to_queue_uses_the_channel_slots(cast, sink_channel):
    sink_channel.posting_slots = [{"weekday": d, "time": "10:30"} for d in range(7)]
    sink_channel.save()
    first = make_target(cast, sink_channel)
    second = make_target(cast, sink_channel)
    a = actions.add_to_queue(first, actor=cast.owner)
    b = actions.add_to_queue(second, actor=cast.owner)
    assert a.local.strftime("%H:%M") == b.local.strftime("%H:%M") == "10:30"
    assert b.utc - a.utc == dt.timedelta(days=1) or (b.utc - a.utc).days == 1


def test_add_to_queue_without_slots_says_why(cast, sink_channel):
    target = make_target(cast, sink_channel)
    with pytest.raises(actions.TransitionRefused, match="no posting slots"):
        actions.add_to_queue(target, actor=cast.owner)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_a_weekly_recurring_post_keeps_its_local_time_across_the_change(cast, sink_channel, zone):
    cast.workspace.timezone = zone
    cast.workspace.save()
    template = make_target(cast, sink_channel, text="Weekly digest")
    actions.submit_for_review(template, actor=cast.members["editor"])
    actions.approve(template, actor=cast.members["approver"])
    rec = Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        timezone=zone,
        starts_local=Recurrence.wall(dt.datetime(2026, 2, 2, 9, 0)),
    )
    # Pretend "now" is just before the first occurrence, then walk ahead week by week.
    now = dt.datetime(2026, 2, 2, 7, 0, tzinfo=UTC)
    created = []
    for _week in range(12):
        created += recurrence.generate(rec, now=now)
        now += dt.timedelta(days=7)
    times = sorted(t.scheduled_at for t in created)
    assert len(times) == len(set(times)) >= 10
    locals_ = {t.astimezone(__import__("zoneinfo").ZoneInfo(zone)).strftime("%a %H:%M") for t in times}
    assert locals_ == {"Mon 09:00"}
    offsets = {t.astimezone(__import__("zoneinfo").ZoneInfo(zone)).utcoffset() for t in times}
    assert len(offsets) == 2  # the series crosses the spring change, same wall time


def test_recurrence_catch_up_is_capped(cast, sink_channel):
    template = make_target(cast, sink_channel, text="Daily")
    actions.submit_for_review(template, actor=cast.members["editor"])
    actions.approve(template, actor=cast.members["approver"])  # only an approved template repeats
    rec = Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=HOURLY",
        timezone="UTC",
        starts_local=Recurrence.wall(dt.datetime(2026, 5, 1, 0, 0)),
        last_generated_local=Recurrence.wall(dt.datetime(2026, 5, 1, 0, 0)),
    )
    # The scheduler was down for 10 hours: only the latest missed hour (within tolerance) is made.
    now = dt.datetime(2026, 5, 1, 10, 5, tzinfo=UTC)
    created = recurrence.generate(rec, now=now)
    past = [t for t in created if t.scheduled_at <= now]
    assert [t.scheduled_at for t in past] == [dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)]
    assert all(t.status == PostTarget.Status.SCHEDULED for t in created)
    # Running again (a second scheduler) creates no duplicates.
    again = recurrence.generate(Recurrence.objects.get(pk=rec.pk), now=now)
    assert again == []
    assert (
        PostTarget.objects.filter(
            recurrence=rec, scheduled_at=dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
        ).count()
        == 1
    )


def test_timezone_now_is_utc():
    assert timezone.now().tzinfo is not None
