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

from django.utils.translation import gettext as _

UTC = dt.UTC


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
