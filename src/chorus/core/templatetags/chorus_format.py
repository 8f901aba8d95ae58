"""`{% load chorus_format %}`: the one formatter (chorus.core.formatting) as template filters.

`{{ d|day }}`, `{{ d|day:"short" }}`, `{{ instant|when:workspace.timezone }}` (the zone named),
`{{ n|num }}`, `{{ n|num:1 }}`, `{{ change|percent }}` (signed), `{{ rate|percent:"plain" }}`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from chorus.core import formatting

register = template.Library()


@register.filter
def day(value: dt.date | dt.datetime | None, style: str = "") -> str:
    if not isinstance(value, dt.date):  # a missing value renders as "" (string_if_invalid)
        return ""
    return formatting.format_date(value, short=style == "short")


@register.filter
def when(value: dt.datetime | None, tz_name: str | None = None) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    return formatting.format_datetime(value, tz_name or None)


@register.filter
def num(value: Any, decimals: int | None = None) -> str:
    if value is None or value == "":
        return ""
    return formatting.format_number(value, None if decimals is None else int(decimals))


@register.filter
def percent(value: float | None, style: str = "signed") -> str:
    """A change (+5,8 %), or with "plain" a share such as an engagement rate (4,1 %)."""
    return formatting.format_percent(value, signed=style != "plain")
