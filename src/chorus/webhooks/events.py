"""The event types Chorus sends and the shape of their data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
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
    "inbox.message.received": _("A new reply, mention, comment or message reached the inbox"),
    "listening.alert": _("A listening alert was raised (spike, negative surge, notable author)"),
    "ad.status_changed": _("A boost's status changed (approved, in review, active, rejected…)"),
    "experiment.concluded": _("An experiment was concluded (with its winner, if any)"),
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


# --- the new capabilities' events: each carries the workspace and links to the object ------------


def workspace_data(workspace: Any) -> dict[str, Any]:
    return {"id": workspace.pk, "slug": workspace.slug}


def links(page: str, api: str) -> dict[str, str]:
    """Absolute addresses (CHORUS_BASE_URL) of the object's page and of its API operation."""
    base = settings.CHORUS_BASE_URL
    return {"page": f"{base}{page}", "api": f"{base}/api{api}"}


def inbox_item_data(item: Any, workspace: Any, channel: dict[str, Any]) -> dict[str, Any]:
    """inbox.message.received: one stored InboxItem of a conversation kind."""
    conversation = item.conversation_id
    return {
        "workspace": workspace_data(workspace),
        "item_id": item.pk,
        "conversation_id": conversation,
        "channel": channel,
        "kind": item.kind,
        "network_id": item.network_id,
        "url": item.url or None,
        "author": {"id": item.author_id, "handle": item.author_handle, "name": item.author_name},
        "text": item.text,
        "created_at": _iso(item.created_at),
        "received_at": _iso(item.received_at),
        "via": item.via,
        "links": links(
            reverse("inbox:conversation", args=[workspace.slug, conversation]),
            f"/workspaces/{workspace.slug}/inbox/conversations/{conversation}",
        ),
    }


def listening_alert_data(alert: Any, workspace: Any) -> dict[str, Any]:
    """listening.alert: one raised Alert (`data` is the detector's figures, by kind)."""
    query = alert.query
    return {
        "workspace": workspace_data(workspace),
        "alert_id": alert.pk,
        "kind": alert.kind,
        "message": alert.message,
        "query": {"id": query.pk, "name": query.name, "group": query.group} if query else None,
        "data": alert.data,
        "created_at": _iso(alert.created_at),
        "links": links(
            reverse("listening:home", args=[workspace.slug]),
            f"/workspaces/{workspace.slug}/listening/matches" + (f"?query={query.pk}" if query else ""),
        ),
    }


def boost_status_data(boost: Any, old: str, new: str, reason: str = "") -> dict[str, Any]:
    """ad.status_changed: a Boost moved from `old` to `new` (Boost.Status values)."""
    workspace, target, account = boost.workspace, boost.target, boost.account
    return {
        "workspace": workspace_data(workspace),
        "boost_id": boost.pk,
        "old_status": str(old),
        "status": str(new),
        "reason": reason or None,
        "post_id": target.post_id,
        "target_id": target.pk,
        "channel": {"id": target.channel_id, "kind": account.channel.kind, "name": account.channel.name},
        "account": {"id": account.pk, "external_id": account.external_id, "name": account.name},
        "objective": boost.objective,
        "budget_kind": boost.budget_kind,
        "budget_minor": boost.budget_minor,
        "currency": boost.currency,
        "starts_at": _iso(boost.starts_at),
        "ends_at": _iso(boost.ends_at),
        "links": links(
            reverse("ads:boost", kwargs={"slug": workspace.slug, "boost_id": boost.pk}),
            f"/workspaces/{workspace.slug}/boosts/{boost.pk}",
        ),
    }


def experiment_data(experiment: Any, learning: str) -> dict[str, Any]:
    """experiment.concluded: the conclusion as recorded (winner None: no difference detected)."""
    workspace, conclusion = experiment.workspace, experiment.conclusion or {}
    return {
        "workspace": workspace_data(workspace),
        "experiment_id": experiment.pk,
        "question": experiment.question,
        "metric": experiment.metric,
        "design": experiment.design,
        "winner": conclusion.get("winner"),
        "p_value": conclusion.get("p_value"),
        "variants": conclusion.get("variants", []),
        "learning": learning,
        "started_at": _iso(experiment.started_at),
        "concluded_at": _iso(experiment.concluded_at),
        "links": links(
            reverse("experiments:detail", args=[workspace.slug, experiment.pk]),
            f"/workspaces/{workspace.slug}/experiments/{experiment.pk}",
        ),
    }
