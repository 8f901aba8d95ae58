"""One formatter for what people read: dates, times (with the zone where it matters), numbers
and percentages in the reader's language (the active translation).

Templates use the same functions through `{% load chorus_format %}` (`day`, `when`, `num`,
`percent`); Python code that writes text for people (reports, charts, emails) calls them here.
Stored times are UTC: `when` converts to the zone it is given (a workspace's) and names it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import formats, timezone
from django.utils.translation import gettext as _


def zone_label(tz_name: str) -> str:
    """ "Europe/Paris" → "Paris", "America/New_York" → "New York", "UTC" → "UTC"."""
    if tz_name in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return tz_name.rsplit("/", 1)[-1].replace("_", " ")


def format_date(
    value: dt.date | dt.datetime | None, *, short: bool = False, tz_name: str | None = None
) -> str:
    """5 mars 2026 / March 5, 2026; `short`: 05/03/2026 / 03/05/2026. A datetime is first put in
    `tz_name` (or the current zone), so the day is the reader's day."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, tz_name)
    return formats.date_format(value, "SHORT_DATE_FORMAT" if short else "DATE_FORMAT")


def format_day_month(value: dt.date) -> str:
    """A short day for chart axes: 5 mars / Mar. 5."""
    return formats.date_format(value, _("N j"))


def format_datetime(value: dt.datetime | None, tz_name: str | None = None, *, zone: bool = True) -> str:
    """5 mars 2026 14:30 (Paris) / March 5, 2026, 2:30 p.m. (Paris): the instant in `tz_name`
    (the current zone when None), with the zone named unless `zone=False`."""
    if value is None:
        return ""
    local = _local(value, tz_name)
    text = formats.date_format(local, "DATETIME_FORMAT")
    if not zone:
        return text
    name = tz_name or timezone.get_current_timezone_name()
    return _("%(datetime)s (%(zone)s)") % {"datetime": text, "zone": zone_label(name)}


def format_period(start: dt.date, end: dt.date) -> str:
    """du 1 novembre 2026 au 30 novembre 2026 / November 1, 2026 to November 30, 2026."""
    if start == end:
        return format_date(start)
    return _("%(start)s to %(end)s") % {"start": format_date(start), "end": format_date(end)}


def format_number(value: int | float | None, decimals: int | None = None) -> str:
    """8 284 / 8,284; floats get two decimals unless told otherwise (0,83 / 0.83)."""
    if value is None:
        return ""
    if decimals is None:
        decimals = 2 if isinstance(value, float) and not float(value).is_integer() else 0
    # Django's number_format cuts extra decimals off; people expect them rounded (2.66 → 2.7).
    return formats.number_format(round(value, decimals), decimals, force_grouping=True)


def format_percent(value: float | None, decimals: int = 1, *, signed: bool = False) -> str:
    """+5,8 % / +5.8%: `value` is already a percentage (5.8 for 5.8 %)."""
    if value is None:
        return ""
    number = format_number(abs(value) if signed else value, decimals)
    sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ""
    return _("%(number)s%%") % {"number": sign + number}


def _local(value: dt.datetime, tz_name: str | None) -> dt.datetime:
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    tz = ZoneInfo(tz_name) if tz_name else timezone.get_current_timezone()
    return value.astimezone(tz)
