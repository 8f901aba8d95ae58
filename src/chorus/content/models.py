from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"))
    color = models.CharField(_("colour"), max_length=7, default="#3b4fd8")
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    goal = models.TextField(_("goal"), blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="campaign_slug_per_ws")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_name_per_ws")]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """The idea: who wrote it, for which campaign; one PostTarget per channel carries the variant."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    evergreen = models.BooleanField(
        _("evergreen"),
        default=False,
        help_text=_("Re-queued in the channel's next free slot after it is published."),
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)
    # The earliest scheduled_at of its copies (None: no copy has a time), which orders the Posts
    # list. Kept by `refresh_first_at` wherever a copy's time is written (the publishing actions
    # layer) or a copy is saved or deleted one by one (content.apps), so the list reads one page
    # on `post_ws_first` instead of finding and sorting every post's earliest copy.
    first_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="post_ws_recent"),
            # Read backwards: latest first, posts without a time (NULL sorts lowest) after.
            models.Index(fields=["workspace", "first_at", "created_at", "id"], name="post_ws_first"),
        ]

    def __str__(self) -> str:
        return self.title or str(_("Post %(number)s") % {"number": self.pk})


def refresh_first_at(post_ids: Iterable[int]) -> None:
    """Sets each post's `first_at` to the earliest scheduled_at of its copies (one UPDATE per
    500 posts, a seek on `target_post_time` each). Call it after writing copies' times."""
    ids = sorted(set(post_ids))
    earliest = (
        PostTarget.objects.filter(post=OuterRef("pk"), scheduled_at__isnull=False)
        .order_by("scheduled_at")
        .values("scheduled_at")[:1]
    )
    for start in range(0, len(ids), 500):
        Post.objects.filter(pk__in=ids[start : start + 500]).update(first_at=Subquery(earliest))


class Recurrence(models.Model):
    """A recurring schedule: an RFC 5545 RRULE evaluated in an IANA time zone at a local time, so
    a weekly 09:00 post stays at 09:00 local across daylight-saving changes."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="recurrences")
    template = models.ForeignKey("PostTarget", on_delete=models.CASCADE, related_name="+")
    rrule = models.CharField(_("recurrence rule"), max_length=500, help_text="e.g. FREQ=WEEKLY;BYDAY=MO")
    timezone = models.CharField(max_length=64)
    # Wall-clock times in `timezone`, stored with a UTC label (the database has no naive type):
    # read them with .replace(tzinfo=None). Use `wall()` to store one.
    starts_local = models.DateTimeField(help_text="local wall time of the first occurrence")
    last_generated_local = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("recurrence")

    def __str__(self) -> str:
        return f"{self.rrule} @ {self.timezone}"

    @staticmethod
    def wall(naive: dt.datetime) -> dt.datetime:
        return naive.replace(tzinfo=dt.UTC)


class PostTarget(models.Model):
    """One post on one channel: its own text, media and options, its schedule and its state.

    The status moves only through chorus.publishing.actions (DESIGN.md, publishing state machine).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHING = "publishing", _("Publishing")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Outcome unknown")

    class Phase(models.TextChoices):
        NONE = "", "-"
        CLAIMED = "claimed", "claimed"  # attempt recorded; nothing sent yet: safe to re-dispatch
        SENDING = "sending", "sending"  # the request may have reached the network

    class Hold(models.TextChoices):
        NONE = "", "-"
        MISSED = "missed", _("Missed its time by more than the workspace tolerance")
        CHANNEL_PAUSED = "channel_paused", _("The channel needs to be reconnected")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent for a file in this post was withdrawn")
        UNREACHABLE = "unreachable", _("Its network does not answer; it goes out when it answers again")
        RETRY_HORIZON = "retry_horizon", _("Not published within the retry horizon; a person decides")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="targets")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="targets")
    text = models.TextField(_("text"), blank=True)
    media = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.NONE, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    schedule_note = models.CharField(max_length=300, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # next attempt; differs from scheduled_at on retries
    # When a person said "try again" or "publish now anyway" (the scheduled time is kept): the
    # lateness rules (tolerance, retry horizon) count from here instead of from scheduled_at.
    horizon_from = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=20, choices=Hold.choices, default=Hold.NONE, blank=True)
    hold_detail = models.TextField(blank=True)

    attempt_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    # The worker process ("host:pid", its heartbeat's `process`) running the current attempt,
    # recorded when its task starts: a worker whose heartbeat died releases its sends at once
    # (chorus.publishing.reconcile.release_dead_workers) instead of after the leases.
    worker = models.CharField(max_length=160, blank=True, default="")

    published_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=300, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    # The engine's own messages as {"key": ..., params}: shown translated (`error_text`).
    error_params = models.JSONField(null=True, blank=True, editable=False)

    recurrence = models.ForeignKey(
        Recurrence, null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("post target")
        verbose_name_plural = _("post targets")
        indexes = [
            # The scheduler's claim reads only due, unheld, scheduled rows: keep that index tiny.
            models.Index(
                fields=["due_at"], condition=Q(status="scheduled", hold_reason=""), name="target_due"
            ),
            models.Index(
                fields=["status", "phase", "claimed_at"],
                name="target_inflight",
                condition=Q(status__in=["publishing", "unknown"]),
            ),
            models.Index(fields=["workspace", "scheduled_at"], name="target_ws_time"),
            models.Index(fields=["channel", "scheduled_at"], name="target_channel_time"),
            # A post's earliest time, which orders the Posts list: one seek per post instead of
            # reading and sorting its copies (bench/pages full size: the page's query ~47 -> ~26 ms).
            models.Index(fields=["post", "scheduled_at"], name="target_post_time"),
            # The held posts (the Posts list's banner and filter, the home): a handful of rows,
            # counted without reading the workspace's every copy (~5 ms -> 0.02 ms at 20,000).
            models.Index(
                fields=["workspace"], condition=Q(status="scheduled") & ~Q(hold_reason=""), name="target_held"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recurrence", "scheduled_at"],
                name="one_occurrence_per_time",
                condition=Q(recurrence__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.post} → {self.channel} [{self.status}]"

    @property
    def error_text(self) -> str:
        """The reason shown to people: the engine's own messages in the reader's language, a
        network's or a reviewer's reason as given."""
        from chorus.publishing.outcomes import render

        params = self.error_params or {}
        return render(params.get("key"), params, self.error_message)


class PostTemplate(models.Model):
    """Saved writing a team reuses: a *template* starts a post (text, link, each network's
    options, campaign and tags), a *snippet* is inserted into one (a hashtag block, a sign-off).
    Written by chorus.publishing.post_templates (audited)."""

    class Kind(models.TextChoices):
        TEMPLATE = "template", _("Template")
        SNIPPET = "snippet", _("Snippet")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="post_templates"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEMPLATE)
    name = models.CharField(_("name"), max_length=100)
    text = models.TextField(_("text"), blank=True)
    link = models.URLField(_("Link"), max_length=500, blank=True)
    # Per network kind: {"mastodon": {"spoiler_text": "..."}, ...}, as the composer reads them.
    options = models.JSONField(default=dict, blank=True)
    # A channel's own text: {"<channel id>": "..."} (saved from the composer's per-channel tabs);
    # starting from the template ticks those channels with their text.
    channel_texts = models.JSONField(default=dict, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="post_templates"
    )
    tags = models.CharField(_("tags"), max_length=600, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("post template")
        verbose_name_plural = _("post templates")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "name"], name="post_template_name_per_ws")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class WorkspaceRules(models.Model):
    """A workspace's writing rules, checked by chorus.publishing.rules on every path (the
    composer's live check, the API, the import): words a post may not use, a signature appended
    to each channel's copy, and a hashtag each campaign's posts must carry. Written by
    chorus.publishing.writing_rules (audited). No row: no rule."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="writing_rules"
    )
    # ["free", "guaranteed"]: matched as whole words, case and accents as typed are ignored.
    banned_words = models.JSONField(default=list, blank=True)
    # {"<channel id>": "— The Rivers team"}: appended to that channel's copy (and its preview).
    signatures = models.JSONField(default=dict, blank=True)
    # {"<campaign id>": "#RiversWeek"}: a post of that campaign must carry the hashtag.
    campaign_hashtags = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("writing rules")
        verbose_name_plural = _("writing rules")

    def __str__(self) -> str:
        return f"rules of workspace {self.workspace_id}"
