"""Channels whose host does not answer: one group, one banner, one probe at a time.

When a publish finds its host unreachable (`connectors.base.Unreachable`: connection refused,
DNS, connect timeout), the engine holds the post ("unreachable") and marks the channel
(`channels.actions.mark_unreachable`); the claim then holds the channel's other due posts with
it instead of sending each to a host that does not answer. This scheduler job, each tick:

1. holds for a person the waiting posts past their retry horizon (the reason names the host);
2. when the channel's next probe is due and the last one is no longer in flight, releases the
   oldest waiting post as the probe — one request to the host, then capped exponential backoff
   with jitter before the next;
3. a probe (or any post) that gets an answer makes the engine release the whole group together
   (`channels.actions.mark_reachable`); a channel with nothing left waiting is cleared.

Every move is an action (chorus.publishing.actions, chorus.channels.actions), with audit rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from chorus.channels import actions as channel_actions
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.publishing import actions

log = logging.getLogger(__name__)
S = PostTarget.Status


def probe_due(now: dt.datetime | None = None) -> int:
    """The scheduler job; returns how many probes it sent."""
    now = now or timezone.now()
    sent = 0
    for channel in Channel.objects.filter(unreachable_since__isnull=False).select_related("workspace"):
        actions.expire_unreachable(channel, host=channel.unreachable_host)
        if _probe_in_flight(channel):
            continue
        oldest = actions.waiting_for(channel).order_by("due_at", "pk").values_list("pk", flat=True).first()
        if oldest is None:
            channel_actions.mark_reachable(channel=channel)  # nothing waits: forget the mark
            continue
        if channel.unreachable_probe_at is not None and channel.unreachable_probe_at > now:
            continue
        if channel_actions.send_probe(channel=channel, target_id=oldest, now=now):
            sent += 1
            log.info("probing %s at %s with target %s", channel, channel.unreachable_host, oldest)
    return sent


def _probe_in_flight(channel: Channel) -> bool:
    if channel.unreachable_probe is None:
        return False
    return (
        PostTarget.objects.filter(pk=channel.unreachable_probe)
        .filter(Q(status=S.PUBLISHING) | Q(status=S.SCHEDULED, hold_reason=""))
        .exists()
    )


@dataclass(frozen=True)
class Outage:
    """What the banner says: "Bluesky at <host> unreachable since 05:05, 10 posts waiting"."""

    channel: Channel
    network: str
    host: str
    since: dt.datetime
    waiting: int


def outages(workspace_id: int) -> list[Outage]:
    """The workspace's unreachable channels, one entry each (one query when there are none)."""
    channels = list(
        Channel.objects.filter(workspace_id=workspace_id, unreachable_since__isnull=False)
        .annotate(
            waiting=Count(
                "targets",
                filter=Q(targets__status=S.SCHEDULED, targets__hold_reason=PostTarget.Hold.UNREACHABLE),
            )
        )
        .order_by("unreachable_since", "pk")
    )
    out = []
    for channel in channels:
        assert channel.unreachable_since is not None
        try:
            network = channel.connector().label
        except KeyError:
            network = channel.kind
        out.append(
            Outage(channel, network, channel.unreachable_host, channel.unreachable_since, channel.waiting)
        )  # type: ignore[attr-defined]
    return out
