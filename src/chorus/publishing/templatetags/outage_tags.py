"""The banner of unreachable channels, on every workspace page (one query when there are none)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import ngettext

from chorus.publishing.unreachable import outages

register = template.Library()


@register.simple_tag
def unreachable_banners(workspace: Any) -> list[str]:
    """One line per unreachable channel: "Bluesky at pds.example unreachable since 05:05,
    10 posts waiting" (the time in the workspace's zone; with the date when not today)."""
    lines = []
    zone = zoneinfo.ZoneInfo(workspace.timezone)
    today = timezone.localtime(timezone.now(), zone).date()
    for outage in outages(workspace.pk):
        local = timezone.localtime(outage.since, zone)
        since = (
            time_format(local, "TIME_FORMAT")
            if local.date() == today
            else date_format(local, "SHORT_DATETIME_FORMAT")
        )
        lines.append(
            ngettext(
                "%(network)s at %(host)s unreachable since %(since)s, %(count)s post waiting",
                "%(network)s at %(host)s unreachable since %(since)s, %(count)s posts waiting",
                outage.waiting,
            )
            % {"network": outage.network, "host": outage.host, "since": since, "count": outage.waiting}
        )
    return lines
