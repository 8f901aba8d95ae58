"""Approval workflows: ordered steps of approvers, one run per submission, one decision per vote.

Outside review links keep only the SHA-256 of their token (like calendar feeds), so a copy of the
database does not hand out working links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chorus.accounts.permissions import Role

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

# Lowest first: "authors below editor" means contributors and viewers.
ROLE_RANK = [Role.VIEWER, Role.CONTRIBUTOR, Role.APPROVER, Role.EDITOR, Role.ADMIN, Role.OWNER]
LINK_PREFIX = "chr_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    return LINK_PREFIX + secrets.token_urlsafe(32)


class ApprovalSettings(models.Model):
    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="approval_settings"
    )
    hold_minutes = models.PositiveIntegerField(
        _("hold unapproved posts this many minutes before their time"), default=5
    )

    class Meta:
        verbose_name = _("approval settings")

    def __str__(self) -> str:
        return f"{self.workspace}: {self.hold_minutes} min"


class Workflow(models.Model):
    class AppliesTo(models.TextChoices):
        EVERYONE = "everyone", _("Every post")
        CHANNEL = "channel", _("Posts on a channel")
        CAMPAIGN = "campaign", _("Posts of a campaign")
        ROLE_BELOW = "role_below", _("Posts by authors below a role")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(_("name"), max_length=120)
    applies_to = models.CharField(
        _("applies to"), max_length=12, choices=AppliesTo.choices, default=AppliesTo.EVERYONE
    )
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    campaign = models.ForeignKey(
        "content.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    position = models.PositiveIntegerField(_("priority"), default=100, help_text=_("Lower is checked first."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    class Rule(models.TextChoices):
        ANY = "any", _("Any one of them")
        ALL = "all", _("All of them")

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=120)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    role = models.CharField(_("or everyone with the role"), max_length=20, choices=Role.choices, blank=True)
    rule = models.CharField(_("rule"), max_length=3, choices=Rule.choices, default=Rule.ANY)
    allow_outside = models.BooleanField(
        _("an outside reviewer's approval (review link) completes this step"), default=False
    )

    class Meta:
        verbose_name = _("approval step")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """One pass of a target through a workflow, from submission to approval or rejection."""

    class State(models.TextChoices):
        OPEN = "open", _("Waiting")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    # The subject: a post's copy on one channel, or a boost (ad spend goes through the same
    # workflows); exactly one is set. Post queries filter on `target`, so they never see a boost's run.
    target = models.ForeignKey(
        "content.PostTarget", null=True, blank=True, on_delete=models.CASCADE, related_name="approval_runs"
    )
    boost = models.ForeignKey(
        "ads.Boost", null=True, blank=True, on_delete=models.CASCADE, related_name="approval_runs"
    )
    workflow = models.ForeignKey(Workflow, null=True, on_delete=models.SET_NULL, related_name="runs")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # What changed since the last approval ({"text": {"before": .., "after": ..}, ...}); empty
    # for a first submission.
    changes = models.JSONField(default=dict, blank=True)
    # The slot the target had when an edit sent it back: restored on approval if still ahead.
    resume_at = models.DateTimeField(null=True, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("approval run")
        indexes = [models.Index(fields=["workspace", "state"], name="approval_run_ws_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target__isnull=False, boost__isnull=True)
                | models.Q(target__isnull=True, boost__isnull=False),
                name="approval_run_one_subject",
            )
        ]

    def __str__(self) -> str:
        subject = f"boost {self.boost_id}" if self.boost_id else str(self.target_id)
        return f"run {self.pk} of {subject} [{self.state}]"

    @property
    def post_target(self) -> PostTarget:
        """The post copy of a post's run (`policy.pending_for` and the post pages see only these)."""
        if self.target is None:
            raise ValueError(f"approval run {self.pk} is a boost's")
        return self.target


class Decision(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        COMMENT = "comment", _("Commented")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    # As on Run: a post's copy or a boost, exactly one.
    target = models.ForeignKey(
        "content.PostTarget", null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    boost = models.ForeignKey(
        "ads.Boost", null=True, blank=True, on_delete=models.CASCADE, related_name="approval_decisions"
    )
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    link = models.ForeignKey(
        "ReviewLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    outside_name = models.CharField(max_length=120, blank=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("decision")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target__isnull=False, boost__isnull=True)
                | models.Q(target__isnull=True, boost__isnull=False),
                name="decision_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on {f'boost {self.boost_id}' if self.boost_id else self.target_id}"

    @property
    def who(self) -> str:
        if self.actor is not None:
            return str(self.actor.display_name)
        return f"{self.outside_name} ({_('outside reviewer')})"

    @property
    def history_verb(self) -> str:
        """What the person did, after their name in the history ("Alix approved"). Not the verdict
        label: that is an adjective ("Approved", agreeing with a post in French), not a verb."""
        return str(HISTORY_VERBS.get(self.verdict, self.get_verdict_display()))


HISTORY_VERBS: dict[str, Any] = {
    Decision.Verdict.APPROVE: pgettext_lazy("history verb", "approved"),
    Decision.Verdict.REJECT: pgettext_lazy("history verb", "rejected"),
    Decision.Verdict.COMMENT: pgettext_lazy("history verb", "commented"),
}


class ReviewLink(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="review_links")
    reviewer_name = models.CharField(_("reviewer's name"), max_length=120)
    reviewer_email = models.EmailField(_("reviewer's email"), blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=8, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("review link")

    def __str__(self) -> str:
        return f"review link …{self.hint}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > now()


class Comment(models.Model):
    """A team comment on a post target; replies point at their parent (one level shown nested)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("comment")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.body[:40]


class Assignment(models.Model):
    """Who is responsible for a post target now."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    target = models.OneToOneField("content.PostTarget", on_delete=models.CASCADE, related_name="assignment")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("assignment")

    def __str__(self) -> str:
        return f"{self.target_id} → {self.assignee_id}"


def contributor_link_days() -> tuple[int, int]:
    """(default, maximum) lifetime of a contributor link in days, from settings."""
    default = int(getattr(settings, "CHORUS_CONTRIBUTOR_LINK_DAYS", 30))
    maximum = int(getattr(settings, "CHORUS_CONTRIBUTOR_LINK_MAX_DAYS", 90))
    return min(default, maximum), maximum


class Contributor(models.Model):
    """An outside storyteller invited with a magic link (no account): the link's token is hashed."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("email"), blank=True)
    campaign = models.ForeignKey(
        "content.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=8, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)  # None: links made before expiry

    class Meta:
        verbose_name = _("contributor")

    def __str__(self) -> str:
        return self.name

    @property
    def ends_at(self) -> dt.datetime:
        """When the link stops working; older links without a date end CHORUS_CONTRIBUTOR_LINK_DAYS
        after they were made."""
        if self.expires_at is not None:
            return self.expires_at
        return self.created_at + dt.timedelta(days=contributor_link_days()[0])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.ends_at > now()


class Story(models.Model):
    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        RETURNED = "returned", _("Returned with a note")
        ACCEPTED = "accepted", _("Turned into a post")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    contributor = models.ForeignKey(Contributor, on_delete=models.CASCADE, related_name="stories")
    campaign = models.ForeignKey(
        "content.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("story"))
    language = models.CharField(_("language"), max_length=12, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    subject_consent = models.BooleanField(
        _("the person in the story agreed to its publication"), default=False
    )
    credit = models.CharField(_("credit"), max_length=300, blank=True)
    photos = models.ManyToManyField("media.MediaAsset", blank=True, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    note = models.TextField(_("note to the contributor"), blank=True)
    post = models.ForeignKey(
        "content.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("story")
        verbose_name_plural = _("stories")
        indexes = [models.Index(fields=["workspace", "state"], name="story_ws_state")]

    def __str__(self) -> str:
        return self.title


class DigestSubscription(models.Model):
    """A person who prefers one daily email of what waits for them over an email per step."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("daily approvals digest")
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_digest_per_member")]

    def __str__(self) -> str:
        return f"digest {self.user_id}@{self.workspace_id}"
