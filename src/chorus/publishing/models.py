from __future__ import annotations

from django.db import models
from django.utils.timezone import now


class QuotaUsage(models.Model):
    """The rolling-window ledger: one row per unit spent against a platform cap."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="quota_usage")
    bucket = models.CharField(max_length=30)
    amount = models.PositiveIntegerField(default=1)
    at = models.DateTimeField(default=now)
    target = models.ForeignKey(
        "content.PostTarget", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["channel", "bucket", "at"], name="quota_window")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.bucket} {self.amount} @ {self.at.isoformat()}"
