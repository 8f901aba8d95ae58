from __future__ import annotations

import os
import socket
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """Last sign of life of one background process, for /health and the banner.

    A row per process: `role` ("worker", "scheduler") and `process` ("host:pid"); its `name`
    (the key) is "role@host:pid". A row without a process (`name` == `role`) is a role-wide beat
    (diagnostic probes, older rows). Rows of processes stopped longer than
    CHORUS_HEARTBEAT_EXPIRE_SECONDS are pruned by the scheduler."""

    name = models.CharField(max_length=200, primary_key=True)
    role = models.CharField(max_length=40, db_index=True, default="")
    process = models.CharField(max_length=160, blank=True, default="")
    beat_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("heartbeat")

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at.isoformat()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.role:
            self.role = self.name.split("@", 1)[0]
        super().save(*args, **kwargs)

    @classmethod
    def beat(cls, role: str, *, process: str = "", **detail: object) -> None:
        name = f"{role}@{process}" if process else role
        if process and process == cls.this_process():
            # Where and since when this process runs: on the same machine, its death is then
            # known at once from the kernel (chorus.core.liveness), not after missed beats.
            from chorus.core import liveness

            detail = {**liveness.stamp(), **detail}
        cls.objects.update_or_create(
            name=name[:200],
            defaults={"role": role, "process": process, "beat_at": timezone.now(), "detail": detail},
        )

    @staticmethod
    def this_process() -> str:
        """This process's identity: "host:pid"."""
        return f"{socket.gethostname()}:{os.getpid()}"[:160]

    @property
    def age_seconds(self) -> float:
        return (timezone.now() - self.beat_at).total_seconds()


class AuditEvent(models.Model):
    """Who did what, when, to which object. Written by actions, never edited."""

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)  # client of the web request, if any

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["workspace", "-at"], name="audit_ws_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """An in-app notice for one person (failed publish, review request...)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.title
