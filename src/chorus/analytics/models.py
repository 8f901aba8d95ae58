"""Metric snapshots (time-stamped, as the network gave them), the latest figures per post (the
rollup every dashboard query reads), scheduled reports and share links.

A metric the network does not give is absent from `metrics` (or NULL in a column): "not
available", never 0.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

# Post counters we know; the snapshot keeps whatever the connector returned.
POST_METRICS = (
    "impressions",
    "reach",
    "likes",
    "comments",
    "replies",
    "reposts",
    "shares",
    "quotes",
    "saves",
    "link_clicks",
    "video_views",
)
# Interactions counted as engagement (link clicks and views are reach-like, kept apart).
ENGAGEMENT_METRICS = ("likes", "comments", "replies", "reposts", "shares", "quotes", "saves")
# Account metrics: gauges are a level at a time (followers); flows are per-day amounts.
ACCOUNT_GAUGES = ("followers", "following", "posts")
ACCOUNT_FLOWS = ("impressions", "reach", "profile_visits")


class AccountSnapshot(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        "channels.Channel", on_delete=models.CASCADE, related_name="account_snapshots"
    )
    taken_at = models.DateTimeField(default=now)
    metrics = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["channel", "taken_at"], name="acct_snap_channel_time"),
            models.Index(fields=["workspace", "taken_at"], name="acct_snap_ws_time"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class AccountDaily(models.Model):
    """One row per channel and local day (workspace time zone): the day's last snapshot, in typed
    columns (NULL = not available). Gauges are the level at the end of the day; flows are the
    day's amount as the network reported it last that day (never summed across the day's
    snapshots, which would count a day several times)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    taken_at = models.DateTimeField()  # of the snapshot these values come from
    followers = models.BigIntegerField(null=True)
    following = models.BigIntegerField(null=True)
    posts = models.BigIntegerField(null=True)
    impressions = models.BigIntegerField(null=True)
    reach = models.BigIntegerField(null=True)
    profile_visits = models.BigIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="account_daily_once")]
        indexes = [models.Index(fields=["workspace", "day"], name="acct_daily_ws_day")]

    def __str__(self) -> str:
        return f"{self.channel_id} on {self.day}"


class PostSnapshot(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(default=now)
    metrics = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["target", "taken_at"], name="post_snap_target_time")]

    def __str__(self) -> str:
        return f"{self.target_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class PostMetrics(models.Model):
    """The latest snapshot of one published target, in typed columns (NULL = not available),
    plus the target's dimensions copied in, so dashboard figures are one indexed scan.

    `local_day`, `local_weekday` (Monday=0) and `local_hour` are the publish time in the
    workspace's time zone at collection time. `next_poll_at` drives collection."""

    target = models.OneToOneField(
        "content.PostTarget", on_delete=models.CASCADE, related_name="latest_metrics"
    )
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("content.Campaign", null=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField()
    local_day = models.DateField()
    local_weekday = models.PositiveSmallIntegerField()
    local_hour = models.PositiveSmallIntegerField()
    collected_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    impressions = models.BigIntegerField(null=True)
    reach = models.BigIntegerField(null=True)
    likes = models.BigIntegerField(null=True)
    comments = models.BigIntegerField(null=True)
    replies = models.BigIntegerField(null=True)
    reposts = models.BigIntegerField(null=True)
    shares = models.BigIntegerField(null=True)
    quotes = models.BigIntegerField(null=True)
    saves = models.BigIntegerField(null=True)
    link_clicks = models.BigIntegerField(null=True)
    video_views = models.BigIntegerField(null=True)
    engagement = models.BigIntegerField(null=True)  # sum of the available ENGAGEMENT_METRICS

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "local_day"], name="postm_ws_day"),
            models.Index(fields=["channel", "local_day"], name="postm_channel_day"),
            models.Index(fields=["next_poll_at"], name="postm_next_poll"),
        ]

    def __str__(self) -> str:
        return f"metrics of target {self.target_id}"


class ChannelMetricsState(models.Model):
    """When a channel's account metrics are next due, and how long a rate limit holds it back."""

    channel = models.OneToOneField("channels.Channel", on_delete=models.CASCADE, related_name="metrics_state")
    next_poll_at = models.DateTimeField(default=now)
    held_until = models.DateTimeField(null=True, blank=True)  # RateLimited: nothing before this
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"metrics state of channel {self.channel_id}"


class ScheduledReport(models.Model):
    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Weekly (previous Monday to Sunday)")
        MONTHLY = "monthly", _("Monthly (previous calendar month)")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=150)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    sections = models.JSONField(default=list)
    channel_ids = models.JSONField(default=list, blank=True)  # empty: every channel
    recipients = models.TextField(_("recipients"), help_text=_("One email address per line."))
    next_run_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["next_run_at"], name="sched_report_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def recipient_list(self) -> list[str]:
        return [line.strip() for line in self.recipients.splitlines() if line.strip()]


class ShareLink(models.Model):
    """A read-only report anyone with the link sees until it expires. Only a hash of the token
    is stored."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    spec = models.JSONField()  # sections, channel_ids, start, end
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"share link until {self.expires_at:%Y-%m-%d}"
