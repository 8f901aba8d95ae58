"""Recording what a platform says about remaining capacity (see models.QuotaObservation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils import timezone

from chorus.quotas.models import QuotaObservation

# Meta's X-App-Usage at 100% gives no time: the app is blocked "up to an hour".
UNKNOWN_RESET_WAIT = dt.timedelta(hours=1)


def observe(
    channel: Any,
    bucket: str,
    *,
    remaining: int | None = None,
    limit: int | None = None,
    used_percent: float | None = None,
    resets_at: dt.datetime | None = None,
    gates_publishing: bool = True,
) -> None:
    """Keeps the platform's latest word on `bucket` of `channel` (a newer one replaces it). Called
    by the connectors' clients on every response; `channel` None (a connect flow) is ignored."""
    if channel is None or getattr(channel, "pk", None) is None:
        return
    QuotaObservation.objects.update_or_create(
        channel_id=channel.pk,
        bucket=bucket[:120],
        defaults={
            "remaining": remaining,
            "limit": limit,
            "used_percent": used_percent,
            "resets_at": resets_at,
            "gates_publishing": gates_publishing,
            "observed_at": timezone.now(),
        },
    )


def blocked_until(channel_id: int, at: dt.datetime | None = None) -> dt.datetime | None:
    """The latest reset among this channel's exhausted buckets that gate publishing, when it is
    still in the future; None when the platform said nothing that blocks."""
    return blocked_channels([channel_id], at).get(channel_id)


def blocked_channels(channel_ids: Iterable[int], at: dt.datetime | None = None) -> dict[int, dt.datetime]:
    """`blocked_until` for many channels in one query: {channel id: reset} for the blocked ones."""
    at = at or timezone.now()
    rows = QuotaObservation.objects.filter(channel_id__in=list(channel_ids), gates_publishing=True).filter(
        Q(remaining__lte=0) | Q(used_percent__gte=100)
    )
    until: dict[int, dt.datetime] = {}
    for obs in rows:
        reset = obs.resets_at or obs.observed_at + UNKNOWN_RESET_WAIT
        if reset > at and (obs.channel_id not in until or reset > until[obs.channel_id]):
            until[obs.channel_id] = reset
    return until
