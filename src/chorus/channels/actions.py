"""State changes of channels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from chorus import webhooks
from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.connectors.registry import connector_class
from chorus.core import audit

# The config key holding the network's stable id of the connected account (ConnectResult's
# `account_id`). Not "account_id": Mastodon's config already uses that for its numeric id.
ACCOUNT_KEY = "network_account_id"


@dataclass(frozen=True)
class Connection:
    """What a connect did: a new channel, or an existing one reconnected (`released`: the posts
    held because it was paused that are now free to publish)."""

    channel: Channel
    reconnected: bool = False
    released: int = 0


def connect_channel(
    *,
    workspace: Workspace,
    kind: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    actor: User | None = None,
    account_id: str = "",
) -> Channel:
    return connect_account(
        workspace=workspace,
        kind=kind,
        name=name,
        config=config,
        credentials=credentials,
        actor=actor,
        account_id=account_id,
    ).channel


@transaction.atomic
def connect_account(
    *,
    workspace: Workspace,
    kind: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    actor: User | None = None,
    account_id: str = "",
) -> Connection:
    """Connects an account. One that is already a channel of this workspace (same kind, same
    `account_id`) is reconnected: new credentials and name, config merged, reactivated with its
    held posts released. Without an `account_id` a new channel is always made."""
    connector_class(kind)  # unknown kinds fail loudly here, not at publish time
    if account_id:
        # Serializes connects within the workspace, so two at once cannot both add the account.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        existing = (
            Channel.objects.select_for_update()
            .filter(workspace=workspace, kind=kind, **{f"config__{ACCOUNT_KEY}": account_id})
            .order_by("pk")
            .first()
        )
        if existing is not None:
            return _reconnect(existing, name=name, config=config, credentials=credentials, actor=actor)
        config = {**config, ACCOUNT_KEY: account_id}
    channel = Channel(workspace=workspace, kind=kind, name=name, config=config)
    channel.credentials = credentials
    channel.save()
    audit.record("channel.connected", workspace=workspace, actor=actor, obj=channel, kind=kind, name=name)
    _on_connected(channel.pk)
    return Connection(channel)


def _on_connected(channel_id: int) -> None:
    """After the commit: the metrics backfill and the first inbox poll (which also subscribes
    the channel to its network's webhooks where Chorus does that)."""
    from chorus.analytics.collect import on_channel_connected as backfill
    from chorus.inbox.tasks import on_channel_connected as first_poll

    transaction.on_commit(lambda: backfill(channel_id))
    transaction.on_commit(lambda: first_poll(channel_id))


def _reconnect(
    channel: Channel, *, name: str, config: dict[str, Any], credentials: dict[str, Any], actor: User | None
) -> Connection:
    was_paused = channel.status == Channel.Status.PAUSED
    channel.name = name
    channel.config = {**channel.config, **config}
    channel.credentials = credentials
    channel.save(update_fields=["name", "config", "credentials_encrypted"])
    released = _reactivate(channel, actor)
    channel.refresh_from_db()
    audit.record(
        "channel.reconnected",
        workspace=channel.workspace,
        actor=actor,
        obj=channel,
        kind=channel.kind,
        name=name,
        was_paused=was_paused,
        released=released,
    )
    from chorus.inbox.tasks import on_channel_connected as first_poll  # re-subscribes webhooks

    transaction.on_commit(lambda: first_poll(channel.pk))
    return Connection(channel, reconnected=True, released=released)


@transaction.atomic
def pause_channel(*, channel: Channel, reason: str, actor: User | None = None) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=Channel.Status.PAUSED, paused_reason=reason, last_error=reason, last_error_at=timezone.now()
    )
    audit.record("channel.paused", workspace=channel.workspace, actor=actor, obj=channel, reason=reason)
    if actor is None:  # the engine pauses a channel whose authorisation the network refused
        webhooks.emit(channel.workspace_id, "channel.needs_reconnect", {"channel_id": channel.pk, "kind": channel.kind, "name": channel.name, "reason": reason})  # fmt: skip


@transaction.atomic
def disconnect_channel(*, channel: Channel, actor: User | None) -> None:
    """Forgets the channel's credentials and pauses it; its posts and figures stay, and
    connecting the same account again resumes it."""
    Channel.objects.filter(pk=channel.pk).update(
        credentials_encrypted="", status=Channel.Status.PAUSED, paused_reason="disconnected"
    )
    audit.record("channel.disconnected", workspace=channel.workspace, actor=actor, obj=channel)


@transaction.atomic
def resume_channel(*, channel: Channel, actor: User | None = None) -> int:
    """Reactivates the channel and releases the targets held because it was paused."""
    released = _reactivate(channel, actor)
    audit.record("channel.resumed", workspace=channel.workspace, actor=actor, obj=channel, released=released)
    return released


def _reactivate(channel: Channel, actor: User | None = None) -> int:
    """Status back to active, pause reason cleared, the targets held because the channel was
    paused released (by chorus.publishing.actions, an audit row each); returns how many.
    Callers hold a transaction and write the channel's audit row."""
    from chorus.publishing.actions import release_channel_holds

    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.ACTIVE, paused_reason="")
    return release_channel_holds(channel, actor=actor)


@transaction.atomic
def update_settings(*, channel: Channel, changes: dict[str, Any], actor: User | None) -> None:
    """Merges edited public config (the connector's settings form) into the channel's config."""
    current = Channel.objects.select_for_update().get(pk=channel.pk)
    before = {key: current.config.get(key) for key in changes}
    current.config = {**current.config, **changes}
    current.save(update_fields=["config"])
    channel.config = current.config
    audit.record(
        "channel.settings_changed",
        workspace=channel.workspace,
        actor=actor,
        obj=channel,
        before=before,
        after=changes,
    )


@transaction.atomic
def record_webhook_subscription(*, channel: Channel, key: str, record: dict[str, Any]) -> None:
    """Keeps the outcome of subscribing the channel to the network's webhooks (Meta's Page
    subscription) in its public config under `key`: the fields and time, or the refusal."""
    current = Channel.objects.select_for_update().get(pk=channel.pk)
    current.config = {**current.config, key: record}
    current.save(update_fields=["config"])
    channel.config = current.config
    if record.get("refused"):
        audit.record(
            "channel.webhooks_refused", workspace=channel.workspace, obj=channel, reason=record["refused"]
        )
    else:
        audit.record(
            "channel.webhooks_subscribed",
            workspace=channel.workspace,
            obj=channel,
            fields=list(record.get("fields") or []),
            at=record.get("at"),
        )


def update_credentials(*, channel: Channel, credentials: dict[str, Any]) -> None:
    """Stores refreshed tokens. Never overwrites a stored refresh token with an empty one."""
    current = channel.credentials
    merged = {**current, **{k: v for k, v in credentials.items() if v not in (None, "")}}
    channel.credentials = merged
    Channel.objects.filter(pk=channel.pk).update(credentials_encrypted=channel.credentials_encrypted)


# --- an unreachable host (chorus.publishing.unreachable) --------------------------------------


def _probe_delay(probes: int) -> dt.timedelta:
    from django.conf import settings

    from chorus.publishing.actions import backoff_delay

    return dt.timedelta(seconds=backoff_delay(probes, cap=settings.CHORUS_PROBE_MAX_SECONDS))


@transaction.atomic
def mark_unreachable(*, channel: Channel, host: str, target_id: int | None = None) -> bool:
    """The channel's host did not answer (connection refused, DNS, connect timeout): its due
    posts wait as one group and one probe at a time asks again, the first after a short backoff.
    True if this call marked it (it was reachable); a channel already marked keeps its time."""
    now = timezone.now()
    changed = Channel.objects.filter(pk=channel.pk, unreachable_since__isnull=True).update(
        unreachable_host=host[:300],
        unreachable_since=now,
        unreachable_probe_at=now + _probe_delay(0),
        unreachable_probe=None,
        unreachable_probes=0,
        last_error=host,
        last_error_at=now,
    )
    if changed:
        audit.record(
            "channel.unreachable", workspace=channel.workspace, obj=channel, host=host, target=target_id
        )
    return bool(changed)


@transaction.atomic
def send_probe(*, channel: Channel, target_id: int, now: dt.datetime) -> bool:
    """Releases one waiting target as the probe of an unreachable channel, when the last probe
    is due and no other scheduler took this one (a conditional UPDATE); the next probe waits
    longer (capped exponential backoff with jitter). True if this call sent it."""
    from django.db.models import F, Q

    from chorus.publishing.actions import release_unreachable

    probes = Channel.objects.filter(pk=channel.pk).values_list("unreachable_probes", flat=True).first() or 0
    changed = (
        Channel.objects.filter(pk=channel.pk, unreachable_since__isnull=False)
        .filter(Q(unreachable_probe_at__isnull=True) | Q(unreachable_probe_at__lte=now))
        .update(
            unreachable_probe=target_id,
            unreachable_probe_at=now + _probe_delay(probes + 1),
            unreachable_probes=F("unreachable_probes") + 1,
        )
    )
    if not changed:
        return False
    audit.record(
        "channel.probe", workspace=channel.workspace, obj=channel, target=target_id, probe=probes + 1
    )
    release_unreachable(channel, target_ids=[target_id])
    return True


@transaction.atomic
def mark_reachable(*, channel: Channel) -> int:
    """The host answered (or nothing waits for it any more): the channel's waiting posts are
    released together. Returns how many."""
    from chorus.publishing.actions import release_unreachable

    row = Channel.objects.filter(pk=channel.pk).values("unreachable_since", "unreachable_host").first()
    if not row or row["unreachable_since"] is None:
        return 0
    changed = Channel.objects.filter(pk=channel.pk, unreachable_since=row["unreachable_since"]).update(
        unreachable_host="",
        unreachable_since=None,
        unreachable_probe_at=None,
        unreachable_probe=None,
        unreachable_probes=0,
    )
    if not changed:
        return 0
    released = release_unreachable(channel)
    down = (timezone.now() - row["unreachable_since"]).total_seconds()
    audit.record(
        "channel.reachable",
        workspace=channel.workspace,
        obj=channel,
        host=row["unreachable_host"],
        released=released,
        down_seconds=round(down, 1),
    )
    return released


MAX_SLOTS_PER_WEEK = 7 * 24  # a post an hour is more than any queue we have seen


@transaction.atomic
def set_posting_slots(*, channel: Channel, slots: list[tuple[int, dt.time]], actor: User | None) -> bool:
    """The channel's weekly queue slots (weekday Monday=0, wall time in the workspace's zone) that
    "add to the queue" fills. Duplicates are dropped; audited with before and after when they
    change. True if they changed."""
    if len(slots) > MAX_SLOTS_PER_WEEK:
        raise ValueError(f"at most {MAX_SLOTS_PER_WEEK} slots a week")
    if any(not 0 <= weekday <= 6 for weekday, _at in slots):
        raise ValueError("weekday out of range")
    wanted = [
        {"weekday": weekday, "time": at.strftime("%H:%M")}
        for weekday, at in sorted({(w, t.replace(second=0, microsecond=0)) for w, t in slots})
    ]
    before = [{"weekday": w, "time": t.strftime("%H:%M")} for w, t in channel.slot_times()]
    if wanted == before:
        return False
    Channel.objects.filter(pk=channel.pk).update(posting_slots=wanted)
    channel.posting_slots = wanted
    audit.record(
        "channel.slots_changed",
        workspace=channel.workspace,
        actor=actor,
        obj=channel,
        before=len(before),
        after=len(wanted),
        slots=[f"{s['weekday']} {s['time']}" for s in wanted][:50],
    )
    return True
