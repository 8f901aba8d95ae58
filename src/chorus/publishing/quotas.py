"""Per-channel rolling-window quotas (DESIGN.md, Quotas).

`reserve` charges the ledger before a publish and says how long to wait when a cap is reached;
publishing then waits instead of failing. The reservation runs in one transaction that locks the
channel row (PostgreSQL) or holds SQLite's write lock (IMMEDIATE), so two workers cannot both
take the last unit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.connectors.base import Connector, Quota
from chorus.content.models import PostTarget
from chorus.quotas.models import QuotaUsage
from chorus.quotas.observe import blocked_channels, blocked_until, observe

__all__ = [
    "QuotaState",
    "blocked_channels",
    "blocked_until",
    "forecast_warnings",
    "observe",
    "refund",
    "reserve",
    "usage",
]


@dataclass(frozen=True)
class QuotaState:
    bucket: str
    used: int
    limit: int
    window: dt.timedelta
    frees_at: dt.datetime | None  # when the oldest unit in the window expires


def usage(channel: Channel, quota: Quota, at: dt.datetime | None = None) -> QuotaState:
    at = at or timezone.now()
    rows = QuotaUsage.objects.filter(channel=channel, bucket=quota.bucket, at__gt=at - quota.window)
    agg = rows.aggregate(used=Sum("amount"), oldest=Min("at"))
    oldest = agg["oldest"]
    return QuotaState(
        quota.bucket, agg["used"] or 0, quota.limit, quota.window, oldest + quota.window if oldest else None
    )


def reserve(
    connector: Connector, target: PostTarget, *, blocked: dict[int, dt.datetime] | None = None
) -> dt.datetime | None:
    """Charges the ledger for publishing `target`. Returns None when it fits, otherwise the time
    at which enough of the window frees up (nothing is charged then). The platform's own word
    (usage headers, `observe`) comes first: an exhausted bucket waits until its reset.
    `blocked`: `blocked_channels` already read for a batch (saves a query per target)."""
    reset = blocked_until(connector.channel.pk) if blocked is None else blocked.get(connector.channel.pk)
    if reset is not None:
        return reset
    if not connector.quotas:
        return None
    costs = connector.quota_cost(target)
    now = timezone.now()
    with transaction.atomic():
        Channel.objects.select_for_update().filter(pk=connector.channel.pk).exists()
        for quota in connector.quotas:
            state = usage(connector.channel, quota, now)
            if state.used + costs.get(quota.bucket, 0) > quota.limit:
                return state.frees_at or now + quota.window
        QuotaUsage.objects.bulk_create(
            QuotaUsage(channel=connector.channel, bucket=b, amount=n, at=now, target=target)
            for b, n in costs.items()
            if n
        )
    return None


def refund(target: PostTarget) -> None:
    """A publish that was certainly not applied (429, refused before sending) gives its units back."""
    QuotaUsage.objects.filter(target=target).delete()


def forecast_warnings(channel: Channel, when: dt.datetime, extra: int = 1) -> list[str]:
    """Save-time warning: would scheduling `extra` more posts at `when` pass a cap?"""
    connector = channel.connector()
    warnings = []
    for quota in connector.quotas:
        planned = PostTarget.objects.filter(
            channel=channel,
            status__in=[
                PostTarget.Status.SCHEDULED,
                PostTarget.Status.PUBLISHED,
                PostTarget.Status.PUBLISHING,
            ],
            scheduled_at__gt=when - quota.window,
            scheduled_at__lte=when + quota.window,
        ).count()
        if planned + extra > quota.limit:
            warnings.append(
                f"{channel.name}: {planned + extra} posts within {quota.window} of this time; "
                f"{connector.label} allows {quota.limit} ({quota.bucket}). Extra posts will wait."
            )
    return warnings
