"""The event types Chorus sends and the shape of their data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

EVENT_TYPES: dict[str, Any] = {
    "post.scheduled": _("A post was scheduled on a channel"),
    "post.published": _("A post was published (with the network's URL)"),
    "post.failed": _("A post failed to publish"),
    "post.outcome_unknown": _("A post's outcome is unknown (being checked)"),
    "approval.requested": _("A post awaits approval"),
    "approval.decided": _("A post was approved or rejected"),
    "story.received": _("A contributor sent a story"),
    "import.finished": _("A bulk import finished"),
    "report.ready": _("A report is ready"),
    "channel.needs_reconnect": _("A channel needs reconnecting"),
    "webhook.test": _("A test event sent from the endpoint page"),
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def target_data(target: Any, channel: dict[str, Any] | None = None) -> dict[str, Any]:
    """One PostTarget as events carry it. `channel` saves a query in batches."""
    if channel is None:
        channel = {"id": target.channel_id, "kind": target.channel.kind, "name": target.channel.name}
    return {
        "post_id": target.post_id,
        "target_id": target.pk,
        "channel": channel,
        "status": str(target.status),
        "scheduled_at": _iso(target.scheduled_at),
        "published_at": _iso(target.published_at),
        "external_id": target.external_id or None,
        "url": target.external_url or None,
        "error_code": target.error_code or None,
        "error_message": target.error_message or None,
    }
