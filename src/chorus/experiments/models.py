"""A/B experiments: a question, a metric, variants, a design, and what was learnt.

An experiment's posts are ordinary posts (chorus.content) published by the normal engine after
the normal approvals; a Placement ties one of them to its variant. The sample size is registered
when the experiment starts (`needed_per_variant`) and never changes afterwards.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class Experiment(models.Model):
    class Metric(models.TextChoices):
        ENGAGEMENT_RATE = "engagement_rate", _("Engagement rate (engagements per impression)")
        CLICK_THROUGH = "click_through", _("Link click-through (clicks per impression)")
        ENGAGEMENTS_PER_FOLLOWER = "per_follower", _("Engagements per follower (counts with exposure)")

    class Design(models.TextChoices):
        ALTERNATION = "alternation", _("Organic alternation on one channel")
        CROSSOVER = "crossover", _("Organic cross-over between comparable channels")
        PAID_SPLIT = "paid_split", _("Paid split test on Meta (randomized)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Running")
        CONCLUDED = "concluded", _("Concluded")
        STOPPED = "stopped", _("Stopped")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="experiments")
    question = models.CharField(_("question"), max_length=300)
    metric = models.CharField(
        _("metric"), max_length=20, choices=Metric.choices, default=Metric.ENGAGEMENT_RATE
    )
    design = models.CharField(_("design"), max_length=20, choices=Design.choices, default=Design.ALTERNATION)
    baseline_rate = models.FloatField(_("baseline rate (%)"), default=2.0)
    minimum_effect = models.FloatField(_("minimum detectable effect (percentage points)"), default=0.4)
    alpha = models.FloatField(default=0.05)
    power = models.FloatField(default=0.8)
    needed_per_variant = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    channels = models.ManyToManyField("channels.Channel", related_name="+", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    conclusion = models.JSONField(default=dict, blank=True)
    # A paid split (paid.py): the ad account, objective, equal budget per variant, days and
    # audience; then the study's state at Meta ({"study": "sending" | "created", "study_id"}).
    paid_split = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")

    def __str__(self) -> str:
        return self.question


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=20)  # "A", "B"...
    text = models.TextField(_("text"))
    media = models.JSONField(default=list, blank=True)  # the same shape as PostTarget.media

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["experiment", "label"], name="variant_label_once")]

    def __str__(self) -> str:
        return f"{self.experiment_id}:{self.label}"


class Placement(models.Model):
    """One variant's post on one channel at one slot (a normal post, through the normal engine)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="placements")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="placements")
    target = models.OneToOneField(
        "content.PostTarget", on_delete=models.CASCADE, related_name="experiment_placement"
    )
    planned_at = models.DateTimeField()
    period = models.PositiveSmallIntegerField(default=1)  # cross-over: 1 before the swap, 2 after

    class Meta:
        ordering = ["planned_at"]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.planned_at:%Y-%m-%d %H:%M}"


class Learning(models.Model):
    """The workspace's learning log: one line per concluded experiment."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="learnings")
    experiment = models.OneToOneField(Experiment, on_delete=models.CASCADE, related_name="learning")
    summary = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.summary
