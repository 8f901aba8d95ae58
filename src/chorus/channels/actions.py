"""State changes of channels."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.connectors.registry import connector_class
from chorus.core import audit


@transaction.atomic
def connect_channel(
    *,
    workspace: Workspace,
    kind: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    actor: User | None = None,
) -> Channel:
    connector_class(kind)  # unknown kinds fail loudly here, not at publish time
    channel = Channel(workspace=workspace, kind=kind, name=name, config=config)
    channel.credentials = credentials
    channel.save()
    audit.record("channel.connected", workspace=workspace, actor=actor, obj=channel, kind=kind, name=name)
    from chorus.analytics.collect import on_channel_connected  # metrics backfill

    transaction.on_commit(lambda: on_channel_connected(channel.pk))
    return channel


@transaction.atomic
def pause_channel(*, channel: Channel, reason: str, actor: User | None = None) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=Channel.Status.PAUSED, paused_reason=reason, last_error=reason, last_error_at=timezone.now()
    )
    audit.record("channel.paused", workspace=channel.workspace, actor=actor, obj=channel, reason=reason)


@transaction.atomic
def resume_channel(*, channel: Channel, actor: User | None = None) -> int:
    """Reactivates the channel and releases the targets held because it was paused."""
    from chorus.content.models import PostTarget

    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.ACTIVE, paused_reason="")
    released = PostTarget.objects.filter(
        channel=channel, status=PostTarget.Status.SCHEDULED, hold_reason=PostTarget.Hold.CHANNEL_PAUSED
    ).update(hold_reason="", hold_detail="")
    audit.record("channel.resumed", workspace=channel.workspace, actor=actor, obj=channel, released=released)
    return released


def update_credentials(*, channel: Channel, credentials: dict[str, Any]) -> None:
    """Stores refreshed tokens. Never overwrites a stored refresh token with an empty one."""
    current = channel.credentials
    merged = {**current, **{k: v for k, v in credentials.items() if v not in (None, "")}}
    channel.credentials = merged
    Channel.objects.filter(pk=channel.pk).update(credentials_encrypted=channel.credentials_encrypted)
