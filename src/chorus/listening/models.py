"""Listening: queries per workspace, the posts that matched them, stream cursors and alerts."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class ListeningSettings(models.Model):
    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="listening_settings"
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)  # ISO 639-1; empty: en, fr
    retention_days = models.PositiveIntegerField(_("keep matches for (days)"), default=90)
    spike_factor = models.FloatField(_("spike factor"), default=3.0)
    negative_share = models.FloatField(_("negative surge share"), default=0.5)
    notable_followers = models.PositiveIntegerField(_("notable author followers"), default=10000)
    alert_interval_minutes = models.PositiveIntegerField(
        _("at most one alert of a kind per (minutes)"), default=60
    )

    DEFAULT_LANGUAGES = ("en", "fr")

    def __str__(self) -> str:
        return f"listening settings of {self.workspace_id}"

    def language_list(self) -> list[str]:
        return list(self.languages) or list(self.DEFAULT_LANGUAGES)


class Query(models.Model):
    class Group(models.TextChoices):
        BRAND = "brand", _("Brand")
        CAMPAIGN = "campaign", _("Campaign")
        COMPETITOR = "competitor", _("Competitor / peer")
        OTHER = "other", _("Other")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="listening_queries"
    )
    name = models.CharField(_("name"), max_length=150)
    group = models.CharField(_("group"), max_length=12, choices=Group.choices, default=Group.BRAND)
    expression = models.TextField(_("words and phrases"), blank=True)
    hashtags = models.JSONField(_("hashtags"), default=list, blank=True)
    mentions = models.JSONField(_("mentions"), default=list, blank=True)
    authors_include = models.JSONField(_("only these authors"), default=list, blank=True)
    authors_exclude = models.JSONField(_("not these authors"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    networks = models.JSONField(_("networks"), default=list, blank=True)
    mastodon_instance = models.URLField(_("Mastodon instance"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("listening query")
        verbose_name_plural = _("listening queries")
        indexes = [models.Index(fields=["active"], name="listening_query_active")]

    def __str__(self) -> str:
        return self.name


class Match(models.Model):
    class Sentiment(models.TextChoices):
        POSITIVE = "positive", _("Positive")
        NEGATIVE = "negative", _("Negative")
        NEUTRAL = "neutral", _("Neutral")
        UNKNOWN = "unknown", _("Unknown")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="listening_matches"
    )
    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="matches")
    network = models.CharField(max_length=20)
    uri = models.CharField(max_length=500)  # at://did/app.bsky.feed.post/rkey, or the status URI
    # What a Bluesky reply needs to point at the post: its CID, and its thread's root when it is
    # itself a reply (a match sent to the inbox is answered from there). On Mastodon, `cid` is the
    # status's id on the instance it was read from (a `delete` event on its stream names it).
    cid = models.CharField(max_length=100, blank=True)
    root_uri = models.CharField(max_length=500, blank=True)
    root_cid = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)  # the original, for people
    author_id = models.CharField(max_length=300)
    author_handle = models.CharField(max_length=300, blank=True)
    author_followers = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    hashtags = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.UNKNOWN)
    sentiment_score = models.FloatField(null=True, blank=True)
    engagement = models.PositiveIntegerField(default=0)
    posted_at = models.DateTimeField()
    matched_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "uri"], name="listening_match_once")]
        indexes = [
            models.Index(fields=["workspace", "posted_at"], name="listening_match_ws_time"),
            models.Index(fields=["uri"], name="listening_match_uri"),
        ]

    def __str__(self) -> str:
        return self.uri


class StreamCursor(models.Model):
    """Where a stream consumer is, committed in the same transaction as the matches it stored."""

    source = models.CharField(max_length=300, unique=True)  # "bluesky:<host>", "mastodon:<instance>#tag"
    # firehose seq, Mastodon min_id, or the JSON state of an X recent search sweep
    cursor = models.CharField(max_length=400, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)  # time of the last committed event
    lag_seconds = models.FloatField(default=0.0)  # age of the last committed event when committed
    lag_events = models.PositiveBigIntegerField(default=0)  # estimated: lag x the stream's event rate
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    events = models.PositiveBigIntegerField(default=0)
    matched = models.PositiveBigIntegerField(default=0)
    gap_from = models.DateTimeField(null=True, blank=True)
    gap_until = models.DateTimeField(null=True, blank=True)
    gap_reported_at = models.DateTimeField(null=True, blank=True)
    # Why a polled source (X recent search, Instagram hashtag) stopped short, for the settings
    # page: the read budget reached, a rate limit, the hashtag limit. Empty when it read all.
    note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.source


class HashtagSearch(models.Model):
    """A hashtag an Instagram account looked up (GET /ig_hashtag_search): Instagram allows 30
    unique hashtags per account in a rolling 7 days, counted from the first search of each."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="hashtag_searches")
    hashtag = models.CharField(max_length=100)  # folded, without '#'
    hashtag_id = models.CharField(max_length=40)
    searched_at = models.DateTimeField(default=now)  # the first search of the current window

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "hashtag"], name="listening_hashtag_search_once")
        ]

    def __str__(self) -> str:
        return f"#{self.hashtag}"


class Alert(models.Model):
    class Kind(models.TextChoices):
        SPIKE = "spike", _("Volume spike")
        NEGATIVE = "negative", _("Negative surge")
        NOTABLE = "notable", _("Notable author")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="listening_alerts"
    )
    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="alerts", null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "created_at"], name="listening_alert_ws_kind")]

    def __str__(self) -> str:
        return self.message
