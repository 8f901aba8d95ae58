"""Inbox tasks: they take ids, have explicit queues and are safe to run twice."""

from __future__ import annotations

import logging

from django.db import close_old_connections
from django.tasks import task

log = logging.getLogger(__name__)


@task(queue_name="default")
def poll_channel_task(channel_id: int) -> int:
    """One poll of a channel's inbox streams. Twice at once is harmless: items are unique per
    channel and network id, and each page is stored with its cursor."""
    from chorus.channels.models import Channel
    from chorus.inbox import actions

    close_old_connections()
    channel = Channel.objects.filter(pk=channel_id, status=Channel.Status.ACTIVE).first()
    if channel is None:
        return 0
    actions.subscribe_webhooks(channel)  # once per channel (Meta's Page subscription)
    return actions.poll_if_due(channel)


@task(queue_name="default")
def send_reply_task(reply_id: int) -> str:
    from chorus.inbox import actions

    close_old_connections()
    return actions.send_reply(reply_id)


@task(queue_name="default")
def settle_reply_task(reply_id: int) -> str:
    from chorus.inbox import actions

    close_old_connections()
    return actions.settle_reply(reply_id)


@task(queue_name="default")
def settle_delete_task(reply_id: int) -> str:
    from chorus.inbox import actions

    close_old_connections()
    return actions.settle_delete(reply_id)


def on_channel_connected(channel_id: int) -> None:
    """Hook for the channels connect flow (called on commit): a channel whose network has an
    inbox is polled at once, not at the next sweep, so its webhook subscription (Meta's Page
    subscription, `actions.subscribe_webhooks`) is made within seconds of a connect or a
    reconnect. Never breaks a connection."""
    from chorus.channels.models import Channel
    from chorus.connectors.base import Feature

    try:
        channel = Channel.objects.filter(pk=channel_id, status=Channel.Status.ACTIVE).first()
        if channel is not None and Feature.INBOX in channel.connector_type().features:
            poll_channel_task.enqueue(channel_id)
    except Exception:
        log.exception("the first inbox poll of channel %s could not be queued", channel_id)


def enqueue_polls() -> int:
    """Scheduler job: a poll for every active channel whose network has an inbox, a read-back
    for every reply whose outcome is unknown, and one for every delete claim past its lease."""
    from chorus.channels.models import Channel
    from chorus.connectors.base import Feature
    from chorus.inbox.models import Reply

    count = 0
    # Per kind, and per sample or not: a `chorus demo` channel's simulated network has no inbox
    # (connectors/simulated.py), so polling it would fail every minute.
    kinds: dict[tuple[str, bool], bool] = {}
    for channel in Channel.objects.filter(status=Channel.Status.ACTIVE).only("pk", "kind", "config"):
        key = (channel.kind, channel.is_sample)
        if key not in kinds:
            try:
                kinds[key] = Feature.INBOX in channel.connector_type().features
            except (KeyError, ImportError):
                kinds[key] = False
        if kinds[key]:
            poll_channel_task.enqueue(channel.pk)
            count += 1
    for reply_id in Reply.objects.filter(status=Reply.Status.UNKNOWN).values_list("pk", flat=True)[:100]:
        settle_reply_task.enqueue(reply_id)
    from chorus.inbox.actions import stale_deletes

    for reply_id in stale_deletes():
        settle_delete_task.enqueue(reply_id)
    return count


def notify_overdue() -> int:
    """Scheduler job: tell people about conversations past the first-response target (once each)."""
    from chorus.inbox import actions

    return actions.notify_overdue()
