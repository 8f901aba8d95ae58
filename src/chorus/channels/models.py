from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.core import vault

if TYPE_CHECKING:
    from chorus.connectors.base import Connector


class Channel(models.Model):
    """A connected social account / page / site. Public config and encrypted credentials are
    separate fields; credentials never reach serializers, admin lists or logs."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("network"), max_length=30)  # validated against the connector registry
    name = models.CharField(_("name"), max_length=150)
    config = models.JSONField(_("public configuration"), default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    paused_reason = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Its network's host did not answer (connection refused, DNS, connect timeout): the channel's
    # due posts wait as one group (hold "unreachable") while one probe at a time asks again, no
    # earlier than `unreachable_probe_at`; `unreachable_probe` is the target sent as that probe.
    # Written by chorus.channels.actions (mark_unreachable, schedule_probe, mark_reachable).
    unreachable_host = models.CharField(max_length=300, blank=True)
    unreachable_since = models.DateTimeField(null=True, blank=True)
    unreachable_probe_at = models.DateTimeField(null=True, blank=True)
    unreachable_probe = models.PositiveBigIntegerField(null=True, blank=True)
    unreachable_probes = models.PositiveIntegerField(default=0)
    # Weekly posting slots for "add to queue": [{"weekday": 0-6 (Monday=0), "time": "HH:MM"}, ...]
    # in the workspace's time zone.
    posting_slots = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        indexes = [models.Index(fields=["workspace", "kind"], name="channel_ws_kind")]

    def __str__(self) -> str:
        """Its name and its network as people call it ("Stories (WordPress)"), never the kind's
        key: form choices (report channels, filters) and calendar titles show it."""
        return f"{self.name} ({self.network_label})"

    @property
    def network_label(self) -> str:
        """The network as people call it ("WordPress", "X"); pages show it, never the kind's key."""
        from chorus.connectors.registry import connector_class

        try:
            return str(connector_class(self.kind).label)
        except (KeyError, ImportError):
            return self.kind

    @property
    def credentials(self) -> dict[str, Any]:
        return vault.decrypt(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = vault.encrypt(value)

    def connector_type(self) -> type[Connector]:
        """The class `connector()` makes: its features say what this channel can do (a sample
        channel's simulated network does less than the real one)."""
        from chorus.connectors.registry import connector_class

        cls = connector_class(self.kind)
        if self.is_sample:
            from chorus.connectors.simulated import simulated

            cls = simulated(cls)
        return cls

    def connector(self) -> Connector:
        return self.connector_type()(self)

    @property
    def is_sample(self) -> bool:
        """A `chorus demo` channel: its network is simulated (connectors/simulated.py)."""
        return bool((self.config or {}).get("sample"))

    @property
    def is_unreachable(self) -> bool:
        return self.unreachable_since is not None

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def slot_times(self) -> list[tuple[int, dt.time]]:
        slots = []
        for slot in self.posting_slots:
            hour, minute = (int(x) for x in str(slot["time"]).split(":"))
            slots.append((int(slot["weekday"]), dt.time(hour, minute)))
        return sorted(slots)
