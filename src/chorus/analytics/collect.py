"""Collecting metrics: one account snapshot per channel, one post snapshot per published target.

Polling cadence follows a post's age (fresh posts move fast): under 48 h hourly, under 30 days
daily, older weekly. Account metrics are taken every 6 hours. A `RateLimited` from the network
holds the whole channel until `retry_after` has passed; nothing is lost, the next poll catches up.

Each post snapshot also refreshes the dashboard's rollup cells of that post (rollup.py), and,
for networks that list them (Feature.AMPLIFIERS), who reposted or quoted the post — read again
only when its reposts + quotes count moved.

The scheduler job `enqueue_due` claims due rows by moving their `next_poll_at` forward with a
conditional UPDATE (another scheduler that read the same row then updates nothing), then
enqueues tasks with ids. Network calls happen in the tasks, outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from chorus.analytics import rollup
from chorus.analytics.models import (
    ACCOUNT_FLOWS,
    ACCOUNT_GAUGES,
    ENGAGEMENT_METRICS,
    POST_METRICS,
    AccountDaily,
    AccountSnapshot,
    Amplification,
    ChannelMetricsState,
    PostMetrics,
    PostSnapshot,
)
from chorus.channels.models import Channel
from chorus.connectors.base import Amplifier, Connector, Feature, PublishError, RateLimited
from chorus.connectors.registry import connector_class
from chorus.content.models import PostTarget

log = logging.getLogger(__name__)

ACCOUNT_EVERY = dt.timedelta(hours=6)
CLAIM_LEASE = dt.timedelta(minutes=15)  # a claimed poll whose task never ran is retried after this
BATCH = 500  # rows claimed per tick and kind
ACCOUNT_METRICS = (*ACCOUNT_GAUGES, *ACCOUNT_FLOWS)


def poll_interval(age: dt.timedelta) -> dt.timedelta:
    if age < dt.timedelta(hours=48):
        return dt.timedelta(hours=1)
    if age < dt.timedelta(days=30):
        return dt.timedelta(days=1)
    return dt.timedelta(days=7)


def collects_metrics(channel: Channel) -> bool:
    # Sample channels collect too: their network is simulated (connectors/simulated.py).
    try:
        return Feature.METRICS in type(channel.connector()).features
    except KeyError:
        return False


def engagement_of(metrics: dict[str, Any]) -> int | None:
    values = [metrics[k] for k in ENGAGEMENT_METRICS if metrics.get(k) is not None]
    return sum(int(v) for v in values) if values else None


def local_parts(published_at: dt.datetime, tz: str) -> dict[str, Any]:
    local = published_at.astimezone(ZoneInfo(tz))
    return {"local_day": local.date(), "local_weekday": local.weekday(), "local_hour": local.hour}


def post_metrics_row(target: PostTarget, due: dt.datetime | None = None) -> PostMetrics:
    """The latest-figures row of a published target, created on first sight (due at once)."""
    published_at = target.published_at or target.scheduled_at or target.created_at
    row, created = PostMetrics.objects.get_or_create(
        target=target,
        defaults={
            "workspace_id": target.workspace_id,
            "channel_id": target.channel_id,
            "campaign_id": target.post.campaign_id,
            "author_id": target.post.author_id,
            "published_at": published_at,
            "next_poll_at": due or timezone.now(),
            **local_parts(published_at, target.workspace.timezone),
        },
    )
    if created:  # the post counts in its day's cells from now on, figures or not
        rollup.refresh_rows([row])
    return row


def store_post_snapshot(
    target: PostTarget,
    metrics: dict[str, Any],
    at: dt.datetime | None = None,
    *,
    refresh_rollups: bool = True,
) -> PostSnapshot:
    """Stores a collected snapshot, updates the post's latest metrics and its rollup cells.
    `refresh_rollups=False` is for a caller that rebuilds the workspace's rollups afterwards
    (the sample workspace): a cell refresh per post costs ~50 ms."""
    at = at or timezone.now()
    clean = {k: int(v) for k, v in metrics.items() if v is not None}
    with transaction.atomic():
        snapshot = PostSnapshot.objects.create(
            workspace_id=target.workspace_id, target=target, taken_at=at, metrics=clean
        )
        row = post_metrics_row(target)
        fields: dict[str, Any] = {name: clean.get(name) for name in POST_METRICS}
        fields["engagement"] = engagement_of(clean)
        fields["collected_at"] = at
        fields["last_error"] = ""
        fields["next_poll_at"] = at + poll_interval(at - row.published_at)
        PostMetrics.objects.filter(pk=row.pk).update(**fields)
        if refresh_rollups:
            rollup.refresh_rows([row])  # recomputed from the rows: a re-collection replaces, never adds
    return snapshot


def collect_post(target_id: int) -> str:
    target = (
        PostTarget.objects.select_related("channel", "workspace", "post")
        .filter(pk=target_id, status=PostTarget.Status.PUBLISHED)
        .first()
    )
    if target is None or not collects_metrics(target.channel):
        return "skipped"
    state, _ = ChannelMetricsState.objects.get_or_create(channel=target.channel)
    now = timezone.now()
    if state.held_until and state.held_until > now:
        PostMetrics.objects.filter(target=target).update(next_poll_at=state.held_until)
        return "held"
    connector = target.channel.connector()
    try:
        metrics = connector.post_metrics(target)
    except RateLimited as exc:
        _hold(target.channel, exc.retry_after)
        PostMetrics.objects.filter(target=target).update(
            next_poll_at=now + dt.timedelta(seconds=exc.retry_after)
        )
        return "rate_limited"
    except PublishError as exc:
        row = post_metrics_row(target)
        PostMetrics.objects.filter(pk=row.pk).update(
            last_error=exc.message[:300], next_poll_at=now + poll_interval(now - row.published_at)
        )
        return "error"
    store_post_snapshot(target, metrics)
    collect_amplifiers(target, connector, metrics)
    return "collected"


# --- who amplified a post ---------------------------------------------------------------------

AMPLIFYING_METRICS = ("reposts", "quotes")
REFRESHED = ("handle", "display_name", "profile_url", "url", "last_seen_at")  # on every sighting


def supports_amplifiers(channel: Channel) -> bool:
    try:
        return Feature.AMPLIFIERS in connector_class(channel.kind).features
    except KeyError:
        return False


def collect_amplifiers(target: PostTarget, connector: Connector, metrics: dict[str, Any]) -> str:
    """Reads who reposted or quoted the post, only when its reposts + quotes count moved since the
    last read (a read costs a request per page of accounts and per 25 profiles). A rate limit
    holds the channel like any metrics call; the next poll tries again."""
    if Feature.AMPLIFIERS not in type(connector).features:
        return "not_available"
    count = sum(int(metrics.get(name) or 0) for name in AMPLIFYING_METRICS)
    seen = PostMetrics.objects.filter(target=target).values_list("amplified_count", flat=True).first()
    if seen == count:
        return "unchanged"
    found: list[Amplifier] = []
    if count:  # nobody to list when nothing was reposted or quoted: no request
        try:
            found = connector.amplifiers(target)
        except RateLimited as exc:
            _hold(target.channel, exc.retry_after)
            return "rate_limited"
        except PublishError as exc:
            log.warning("amplifiers of target %s not read: %s", target.pk, exc.message)
            return "error"
    store_amplifiers(target, found, count)
    return "collected"


def store_amplifiers(
    target: PostTarget, found: list[Amplifier], count: int, at: dt.datetime | None = None
) -> None:
    """Adds the accounts seen for the first time, refreshes the others (their follower count,
    name, last sighting); an account no longer listed stays, with its last sighting."""
    at = at or timezone.now()
    unique = {(a.kind, a.account_id): a for a in found if a.kind in Amplification.Kind.values}
    with transaction.atomic():
        known = {
            (row.kind, row.account_id): row
            for row in Amplification.objects.select_for_update().filter(target=target)
        }
        new, changed = [], []
        for key, amp in unique.items():
            values: dict[str, Any] = {
                "handle": amp.handle[:255],
                "display_name": amp.display_name[:255],
                "profile_url": amp.profile_url[:500],
                "url": amp.url[:500],
                "last_seen_at": at,
            }
            row = known.get(key)
            if row is None:
                new.append(
                    Amplification(
                        workspace_id=target.workspace_id,
                        target=target,
                        channel_id=target.channel_id,
                        kind=amp.kind,
                        account_id=amp.account_id[:255],
                        followers=amp.followers,
                        first_seen_at=at,
                        **values,
                    )
                )
                continue
            for name, value in values.items():
                setattr(row, name, value)
            if amp.followers is not None:  # a count the network left out this time stays
                row.followers = amp.followers
            changed.append(row)
        Amplification.objects.bulk_create(new, ignore_conflicts=True)
        Amplification.objects.bulk_update(changed, ["followers", *REFRESHED])
        PostMetrics.objects.filter(target=target).update(amplified_count=count, amplifiers_checked_at=at)


def store_account_snapshot(
    channel: Channel, metrics: dict[str, Any], at: dt.datetime | None = None
) -> AccountSnapshot:
    at = at or timezone.now()
    clean = {k: int(v) for k, v in metrics.items() if v is not None}
    with transaction.atomic():
        snapshot = AccountSnapshot.objects.create(
            workspace_id=channel.workspace_id, channel=channel, taken_at=at, metrics=clean
        )
        day = at.astimezone(ZoneInfo(channel.workspace.timezone)).date()
        values = {name: clean.get(name) for name in ACCOUNT_METRICS}
        row = AccountDaily.objects.filter(channel=channel, day=day).first()
        if row is None:
            AccountDaily.objects.create(
                workspace_id=channel.workspace_id, channel=channel, day=day, taken_at=at, **values
            )
        elif row.taken_at <= at:  # a late, older snapshot never overwrites a newer one
            AccountDaily.objects.filter(pk=row.pk).update(taken_at=at, **values)
    return snapshot


def rebuild_account_daily(channel_ids: list[int], tz: str) -> int:
    """Recomputes the daily rows of these channels from their snapshots (bulk loads: demo, bench)."""
    zone = ZoneInfo(tz)
    latest: dict[tuple[int, dt.date], AccountSnapshot] = {}
    snapshots = AccountSnapshot.objects.filter(channel_id__in=channel_ids).order_by("taken_at")
    for snap in snapshots.iterator(chunk_size=5000):
        latest[(snap.channel_id, snap.taken_at.astimezone(zone).date())] = snap
    AccountDaily.objects.filter(channel_id__in=channel_ids).delete()
    rows = [
        AccountDaily(
            workspace_id=snap.workspace_id,
            channel_id=channel_id,
            day=day,
            taken_at=snap.taken_at,
            **{name: snap.metrics.get(name) for name in ACCOUNT_METRICS},
        )
        for (channel_id, day), snap in latest.items()
    ]
    AccountDaily.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def collect_account(channel_id: int) -> str:
    channel = (
        Channel.objects.select_related("workspace")
        .filter(pk=channel_id, status=Channel.Status.ACTIVE)
        .first()
    )
    if channel is None or not collects_metrics(channel):
        return "skipped"
    state, _ = ChannelMetricsState.objects.get_or_create(channel=channel)
    now = timezone.now()
    if state.held_until and state.held_until > now:
        return "held"
    try:
        metrics = channel.connector().account_metrics()
    except RateLimited as exc:
        _hold(channel, exc.retry_after)
        return "rate_limited"
    except PublishError as exc:
        ChannelMetricsState.objects.filter(pk=state.pk).update(
            last_error=exc.message[:300], next_poll_at=now + ACCOUNT_EVERY
        )
        return "error"
    store_account_snapshot(channel, metrics, now)
    ChannelMetricsState.objects.filter(pk=state.pk).update(last_error="", next_poll_at=now + ACCOUNT_EVERY)
    return "collected"


def _hold(channel: Channel, retry_after: float) -> None:
    until = timezone.now() + dt.timedelta(seconds=max(retry_after, 1))
    ChannelMetricsState.objects.filter(channel=channel).update(held_until=until, next_poll_at=until)
    log.info("metrics of channel %s held until %s (rate limited)", channel.pk, until.isoformat())


# --- the scheduler job ----------------------------------------------------------------------


def _metric_channel_ids() -> list[int]:
    return [c.pk for c in Channel.objects.filter(status=Channel.Status.ACTIVE) if collects_metrics(c)]


def enqueue_due(now: dt.datetime | None = None) -> dict[str, int]:
    from chorus.analytics import tasks

    now = now or timezone.now()
    channel_ids = _metric_channel_ids()
    # Published targets never seen yet get their rollup row (due at once).
    unseen = PostTarget.objects.filter(
        status=PostTarget.Status.PUBLISHED, channel_id__in=channel_ids, latest_metrics__isnull=True
    ).select_related("workspace", "post")[:BATCH]
    for target in unseen:
        post_metrics_row(target, due=now)
    for channel_id in channel_ids:
        ChannelMetricsState.objects.get_or_create(channel_id=channel_id, defaults={"next_poll_at": now})

    accounts = 0
    for state in ChannelMetricsState.objects.filter(channel_id__in=channel_ids, next_poll_at__lte=now)[
        :BATCH
    ]:
        # Claim: only the scheduler whose UPDATE matched enqueues (another got there first).
        if ChannelMetricsState.objects.filter(pk=state.pk, next_poll_at=state.next_poll_at).update(
            next_poll_at=now + CLAIM_LEASE
        ):
            tasks.collect_account_metrics.enqueue(state.channel_id)
            accounts += 1
    posts = 0
    due = PostMetrics.objects.filter(channel_id__in=channel_ids, next_poll_at__lte=now).order_by(
        "next_poll_at"
    )
    for row_id, target_id, next_poll_at in due.values_list("pk", "target_id", "next_poll_at")[:BATCH]:
        if PostMetrics.objects.filter(pk=row_id, next_poll_at=next_poll_at).update(
            next_poll_at=now + CLAIM_LEASE
        ):
            tasks.collect_post_metrics.enqueue(target_id)
            posts += 1
    return {"accounts": accounts, "posts": posts}


def backfill_channel(channel_id: int) -> None:
    """On connect: take the account's numbers now and every already published post's."""
    from chorus.analytics import tasks

    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None or not collects_metrics(channel):
        return
    tasks.collect_account_metrics.enqueue(channel_id)
    for target_id in PostTarget.objects.filter(
        channel_id=channel_id, status=PostTarget.Status.PUBLISHED
    ).values_list("pk", flat=True):
        tasks.collect_post_metrics.enqueue(target_id)


def on_channel_connected(channel_id: int) -> None:
    """Hook for the channels connect flow (called on commit). Never breaks a connection."""
    try:
        backfill_channel(channel_id)
    except Exception:
        log.exception("metrics backfill of channel %s could not be queued", channel_id)
