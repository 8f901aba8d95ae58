"""Local wall-clock times <-> UTC instants, with the DST decisions stated (DESIGN.md, Time).

- A local time inside a spring-forward gap does not exist: it moves forward to the first valid
  minute after the gap (02:30 on the night clocks jump 02:00 → 03:00 becomes 03:00).
- A local time inside an autumn fold happens twice: it takes the first occurrence (fold=0,
  the earlier UTC instant, still on summer time).
Both cases return a note the UI shows next to the time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from chorus.core.refusals import Invalid

UTC = dt.UTC

#: The one refusal of a time already passed (composer, calendar, bulk import, API).
PAST_MESSAGE = gettext_lazy("%(time)s has already passed: choose a later time, or publish now.")


def zone_label(tz_name: str) -> str:
    """'Europe/Paris' → 'Paris', as people name a zone."""
    return tz_name.rsplit("/", 1)[-1].replace("_", " ")


def _short_format() -> str:
    # Translated: French writes months in lower case ("mer 16 déc, 10:00").
    return pgettext("short date and time, Django date format", "D j M, H:i")


def short_label(local: dt.datetime) -> str:
    """'Wed 16 Dec, 10:00' in the active language (a wall time, shown as it is)."""
    return formats.date_format(local.replace(tzinfo=None), _short_format())


def short_names() -> tuple[list[str], list[str]]:
    """The day (Monday first) and month names `short_label` uses, for the composer's script."""
    month = "b" if "b" in _short_format() else "M"
    days = [formats.date_format(dt.date(2024, 1, 1 + i), "D") for i in range(7)]  # 2024-01-01: Monday
    months = [formats.date_format(dt.date(2024, m, 1), month) for m in range(1, 13)]
    return days, months


def refuse_past(utc: dt.datetime, tz_name: str, *, now: dt.datetime | None = None) -> None:
    """Refuses a time at or before now with one message offering "publish now" instead: every
    path that takes a time (composer, calendar move, bulk import, API) asks this."""
    if utc <= (now or timezone.now()):
        local = to_local(utc, tz_name)
        raise Invalid(
            PAST_MESSAGE,
            code="time_passed",
            fields={"when": "in the past"},
            time=f"{short_label(local)} ({zone_label(tz_name)})",
        )


@dataclass(frozen=True)
class Resolved:
    utc: dt.datetime
    local: dt.datetime  # aware, in the zone, the wall time actually used
    note: str = ""  # empty when the time was unambiguous


def _exists(naive: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _is_ambiguous(naive: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    return naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()


def resolve_local(naive: dt.datetime, tz_name: str) -> Resolved:
    if naive.tzinfo is not None:
        raise ValueError("resolve_local() takes a naive local time")
    tz = zoneinfo.ZoneInfo(tz_name)
    naive = naive.replace(second=0, microsecond=0)
    if not _exists(naive, tz):
        moved = naive
        # Gaps are at most a couple of hours; step by minutes to the first wall time that exists.
        for _step in range(24 * 60):
            moved += dt.timedelta(minutes=1)
            if _exists(moved, tz):
                break
        local = moved.replace(tzinfo=tz)
        note = _("%(asked)s does not exist in %(zone)s (clocks go forward); moved to %(used)s.") % {
            "asked": naive.strftime("%Y-%m-%d %H:%M"),
            "zone": tz_name,
            "used": moved.strftime("%H:%M"),
        }
        return Resolved(local.astimezone(UTC), local, note)
    if _is_ambiguous(naive, tz):
        local = naive.replace(tzinfo=tz, fold=0)
        note = _(
            "%(asked)s happens twice in %(zone)s (clocks go back); the first one (UTC%(offset)s) is used."
        ) % {
            "asked": naive.strftime("%Y-%m-%d %H:%M"),
            "zone": tz_name,
            "offset": local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:],
        }
        return Resolved(local.astimezone(UTC), local, note)
    local = naive.replace(tzinfo=tz)
    return Resolved(local.astimezone(UTC), local)


def to_local(instant: dt.datetime, tz_name: str) -> dt.datetime:
    return instant.astimezone(zoneinfo.ZoneInfo(tz_name))


def next_slot(
    slots: list[tuple[int, dt.time]], tz_name: str, after: dt.datetime, taken: set[dt.datetime]
) -> Resolved | None:
    """The first weekly slot (weekday, local time) strictly after `after` whose UTC instant is not
    in `taken`. Looks up to 8 weeks ahead; None when there are no slots."""
    if not slots:
        return None
    tz = zoneinfo.ZoneInfo(tz_name)
    start_local = after.astimezone(tz).date()
    for day_offset in range(7 * 8):
        day = start_local + dt.timedelta(days=day_offset)
        for weekday, at in slots:
            if weekday != day.weekday():
                continue
            resolved = resolve_local(dt.datetime.combine(day, at), tz_name)
            if resolved.utc > after and resolved.utc not in taken:
                return resolved
    return None
