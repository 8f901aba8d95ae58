"""Metric snapshots (time-stamped, as the network gave them), the latest figures per post, their
sums per day and dimension (the rollup the dashboard reads), who amplified a post, scheduled
reports and share links.

A metric the network does not give is absent from `metrics` (or NULL in a column): "not
available", never 0.
"""

from __future__ import annotations

import datetime as dt

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
    plus the target's dimensions copied in: what filtered figures and top posts read, and what
    the PostRollup cells sum.

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
    # Who reposted or quoted it (Feature.AMPLIFIERS): when the list was last read, and the
    # reposts + quotes count it was read at (read again only when that count moves).
    amplifiers_checked_at = models.DateTimeField(null=True, blank=True)
    amplified_count = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "local_day"], name="postm_ws_day"),
            models.Index(fields=["channel", "local_day"], name="postm_channel_day"),
            models.Index(fields=["next_poll_at"], name="postm_next_poll"),
            # Filtered pages (campaign results, author filter) and their rollup cells.
            models.Index(fields=["workspace", "campaign", "local_day"], name="postm_ws_campaign_day"),
            models.Index(fields=["workspace", "author", "local_day"], name="postm_ws_author_day"),
            # Top and bottom posts: read in engagement order instead of sorting the period.
            models.Index(
                fields=["workspace", "engagement", "published_at", "local_day"], name="postm_ws_engagement"
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of target {self.target_id}"


class PostRollup(models.Model):
    """One cell: the sums of the PostMetrics rows of a workspace published on one local day with
    one value of one dimension (a channel, a campaign, an author or a tag). The dashboard reads
    these cells instead of every post (figures.py says when it may). `chorus.analytics.rollup`
    recomputes a cell from its PostMetrics rows whenever one of them changes, so a cell always
    equals the aggregate it stands for; a cell with no post left is deleted. Sums follow SQL: NULL
    when no post of the cell has the metric ("not available")."""

    class Dimension(models.TextChoices):
        CHANNEL = "channel"
        CAMPAIGN = "campaign"
        AUTHOR = "author"
        TAG = "tag"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=8, choices=Dimension.choices)
    day = models.DateField()
    # The channel, campaign, user or tag id (no foreign key: a deleted campaign or author is
    # read as "none", a deleted tag is skipped, as the PostMetrics rows themselves read);
    # 0 = no campaign / no author.
    key = models.BigIntegerField()
    posts = models.PositiveIntegerField(default=0)
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
    engagement = models.BigIntegerField(null=True)
    # Engagement of the cell's posts whose network gives impressions: the engagement rate's part.
    engaged_with_impressions = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dimension", "day", "key"], name="post_rollup_cell")
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key} on {self.day}"


class Amplification(models.Model):
    """An account that reposted or quoted a published post, as the network listed it (only
    networks whose connector has Feature.AMPLIFIERS). `followers` is NULL when the network did
    not say. Read again when the post's reposts + quotes count moves; the first sighting stays."""

    class Kind(models.TextChoices):
        REPOST = "repost", _("Repost")
        QUOTE = "quote", _("Quote")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="amplifications")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    account_id = models.CharField(max_length=255)  # the network's id (a DID, a Mastodon account id)
    handle = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    profile_url = models.URLField(max_length=500, blank=True)
    followers = models.BigIntegerField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)  # the quote itself (quotes only)
    first_seen_at = models.DateTimeField(default=now)
    last_seen_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "kind", "account_id"], name="amplification_once")
        ]
        indexes = [models.Index(fields=["workspace", "followers"], name="amplification_ws_followers")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.target_id} by {self.handle or self.account_id}"


DEFAULT_NOTABLE_FOLLOWERS = 10_000


class AnalyticsSettings(models.Model):
    """Per-workspace analytics settings (a workspace without a row uses the defaults)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="analytics_settings"
    )
    notable_followers = models.PositiveBigIntegerField(
        _("notable amplifier: at least this many followers"), default=DEFAULT_NOTABLE_FOLLOWERS
    )
    # The logo on the cover of reports: an image of the media library (it entered through
    # chorus.media.actions.upload, sniffed, bounded and scrubbed like every file).
    report_logo = models.ForeignKey(
        "media.MediaAsset",
        verbose_name=_("report logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"analytics settings of {self.workspace_id}"

    @staticmethod
    def notable_threshold(workspace_id: int) -> int:
        value = (
            AnalyticsSettings.objects.filter(workspace_id=workspace_id)
            .values_list("notable_followers", flat=True)
            .first()
        )
        return DEFAULT_NOTABLE_FOLLOWERS if value is None else int(value)


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

    @property
    def period(self) -> str:
        """The report's period in the reader's words (du 1 novembre 2026 au 30 novembre 2026)."""
        from chorus.core.formatting import format_period

        return format_period(
            dt.date.fromisoformat(self.spec["start"]), dt.date.fromisoformat(self.spec["end"])
        )
