"""Delivery tasks take the delivery id and the attempt count they were enqueued for: a duplicate
or stale task finds the row already moved and does nothing (see actions._claim)."""

from __future__ import annotations

from django.tasks import task


@task(queue_name="default")
def deliver(delivery_id: int, attempts: int, manual: bool = False) -> str | None:
    from chorus.webhooks import actions

    return actions.deliver(delivery_id, attempts, manual=manual)


@task(queue_name="default")
def flush(endpoint_id: int) -> int:
    """First attempts of an endpoint's new events, in batches (see actions.flush)."""
    from chorus.webhooks import actions

    return actions.flush(endpoint_id)
