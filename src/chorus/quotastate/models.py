"""What a platform last said about a channel's remaining capacity (usage headers such as Meta's
X-App-Usage / X-Business-Use-Case-Usage and X's x-rate-limit-*): one row per channel and bucket,
overwritten by each new observation, read by chorus.publishing.quotas.reserve."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class QuotaObservation(models.Model):
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    bucket = models.CharField(max_length=120)
    remaining = models.IntegerField(null=True, blank=True)
    limit = models.IntegerField(null=True, blank=True)
    used_percent = models.FloatField(null=True, blank=True)
    resets_at = models.DateTimeField(null=True, blank=True)
    # False for a read endpoint's own limit (X counts each endpoint apart): it never delays a post.
    gates_publishing = models.BooleanField(default=True)
    observed_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("quota observation")
        verbose_name_plural = _("quota observations")
        constraints = [models.UniqueConstraint(fields=["channel", "bucket"], name="quota_obs_channel_bucket")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.bucket}"

    @property
    def exhausted(self) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (
            self.used_percent is not None and self.used_percent >= 100
        )
