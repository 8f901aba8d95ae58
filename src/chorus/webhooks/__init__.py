"""Outbound webhooks: endpoints per workspace, signed (Standard Webhooks), retried, logged.

The apps that own an event call `emit` from their action, inside its transaction: the delivery
rows are written with the state change (nothing lost if the process dies after the commit) and
the delivery tasks are enqueued on commit. With no endpoint listening, emitting costs one
indexed query.
"""

from __future__ import annotations

from typing import Any


def emit(workspace: Any, event_type: str, data: Any) -> int:
    """Records `event_type` for every active endpoint of `workspace` (a Workspace or its id)
    subscribed to it; returns how many deliveries were queued. `data` is the payload, or a
    function returning it (called only when an endpoint listens)."""
    from chorus.webhooks import actions

    return actions.emit(workspace, event_type, data)


def emit_many(event_type: str, workspace_ids: Any, build: Any) -> int:
    """`emit` for a batch: `build(listening workspace ids)` yields (workspace id, data) pairs."""
    from chorus.webhooks import actions

    return actions.emit_many(event_type, workspace_ids, build)


def emit_targets(event_type: str, targets: Any, **extra: Any) -> int:
    """`emit` for a batch of PostTargets (the publishing hot path): one query for all of them."""
    from chorus.webhooks import actions

    return actions.emit_targets(event_type, targets, **extra)


def target_data(target: Any) -> dict[str, Any]:
    from chorus.webhooks import events

    return events.target_data(target)
