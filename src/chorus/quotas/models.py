"""Platform caps, two ways: what Chorus spent (the rolling-window ledger, QuotaUsage) and what the
platform last said is left (QuotaObservation, from usage headers). The connectors' clients record
observations (observe.py) and chorus.publishing.quotas reserves against both, so neither the
connectors nor publishing owns the other's tables.

Both tables keep the names they had in the apps they came from (publishing, quotastate): moving
the models moved no data (migrations/0001_initial.py)."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


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
        db_table = "publishing_quotausage"
        indexes = [models.Index(fields=["channel", "bucket", "at"], name="quota_window")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.bucket} {self.amount} @ {self.at.isoformat()}"


class QuotaObservation(models.Model):
    """What a platform last said about a channel's remaining capacity (usage headers such as
    Meta's X-App-Usage / X-Business-Use-Case-Usage and X's x-rate-limit-*): one row per channel
    and bucket, overwritten by each new observation."""

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
        db_table = "quotastate_quotaobservation"
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
