"""Queue slots: each channel's weekly posting times (weekday × times, in the workspace's zone)
that "add to the queue" fills (chorus.publishing.actions.add_to_queue). This module reads and
checks what people type and answers questions; chorus.channels.actions.set_posting_slots writes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.timeutil import Resolved, next_slot, to_local

MAX_PER_DAY = 24
MAX_FIELD_CHARS = 400
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:hH.]([0-5]\d)$")
S = PostTarget.Status


@dataclass
class DayRow:
    weekday: int  # Monday = 0
    label: str
    value: str  # "09:00, 12:30" as shown in the form
    error: str = ""
    times: list[dt.time] = field(default_factory=list)


def day_rows(channel: Channel) -> list[DayRow]:
    """One row per weekday, Monday first, with the channel's stored times."""
    by_day: dict[int, list[dt.time]] = {day: [] for day in range(7)}
    for weekday, at in channel.slot_times():
        by_day[weekday].append(at)
    return [
        DayRow(day, str(WEEKDAYS[day]), ", ".join(t.strftime("%H:%M") for t in times), times=times)
        for day, times in by_day.items()
    ]


def read_day(weekday: int, raw: str) -> DayRow:
    """A weekday's field: times separated by commas or spaces, "9:00", "09:00", "9h30" or "9.30"."""
    row = DayRow(weekday, str(WEEKDAYS[weekday]), raw)
    if len(raw) > MAX_FIELD_CHARS:
        row.error = _("At most %(limit)d characters.") % {"limit": MAX_FIELD_CHARS}
        return row
    parts = [p for p in re.split(r"[,;\s]+", raw.strip()) if p]
    bad = []
    times = set()
    for part in parts:
        match = TIME_RE.match(part)
        if match is None:
            bad.append(part)
        else:
            times.add(dt.time(int(match.group(1)), int(match.group(2))))
    if bad:
        row.error = _("Not a time of day: %(values)s. Write times like 09:00, 12:30.") % {
            "values": ", ".join(bad[:5])
        }
    elif len(times) > MAX_PER_DAY:
        row.error = _("At most %(limit)d times a day.") % {"limit": MAX_PER_DAY}
    row.times = sorted(times)
    return row


def next_free(channel: Channel, *, after: dt.datetime | None = None) -> Resolved | None:
    """The slot "add to the queue" would take now (the same question add_to_queue asks)."""
    after = after or timezone.now()
    taken = {
        at
        for at in PostTarget.objects.filter(
            channel=channel, status__in=[S.SCHEDULED, S.PUBLISHING, S.PUBLISHED], scheduled_at__gt=after
        ).values_list("scheduled_at", flat=True)
        if at is not None
    }
    return next_slot(channel.slot_times(), channel.workspace.timezone, after, taken)


def queued_count(channel: Channel, *, after: dt.datetime | None = None) -> int:
    """Scheduled posts of the channel that sit in one of its slots from now on."""
    slots = set(channel.slot_times())
    if not slots:
        return 0
    rows = PostTarget.objects.filter(
        channel=channel, status=S.SCHEDULED, scheduled_at__gt=after or timezone.now()
    ).values_list("scheduled_at", flat=True)[:2000]
    count = 0
    for at in rows:
        if at is None:
            continue
        local = to_local(at, channel.workspace.timezone)
        if (local.weekday(), local.time().replace(second=0, microsecond=0)) in slots:
            count += 1
    return count
