"""The media library: files a workspace uploads once and attaches to many posts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class MediaFolder(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="media_folders"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("in")
    )
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "parent", "name"], name="media_folder_name_per_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def path(self) -> str:
        names: list[str] = []
        folder: MediaFolder | None = self
        seen: set[int] = set()
        while folder is not None and folder.pk not in seen:  # guard against a cycle
            seen.add(folder.pk)
            names.append(folder.name)
            folder = folder.parent
        return " / ".join(reversed(names))


class MediaTag(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="media_tags")
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("media tag")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="media_tag_name_per_ws")]

    def __str__(self) -> str:
        return self.name


class MediaAsset(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Video")

    class Consent(models.TextChoices):
        NONE = "none", _("No consent recorded")
        VERBAL = "verbal", _("Verbal consent")
        WRITTEN = "written", _("Written consent")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="media")
    file = models.FileField(max_length=300)  # MEDIA_ROOT-relative, workspace-scoped (see actions)
    thumbnail = models.CharField(max_length=300, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    mime_type = models.CharField(max_length=100)  # sniffed from the content, never from the name
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    alt_text = models.TextField(_("alt text"), blank=True)
    credit = models.CharField(_("credit"), max_length=300, blank=True)
    consent = models.CharField(_("consent"), max_length=8, choices=Consent.choices, default=Consent.NONE)
    consent_note = models.TextField(_("consent note"), blank=True)
    folder = models.ForeignKey(
        MediaFolder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assets",
        verbose_name=_("folder"),
    )
    tags = models.ManyToManyField(MediaTag, blank=True, related_name="assets", verbose_name=_("tags"))
    # Lower-cased "name alt credit tags", rewritten by every action that changes one of them:
    # search is one LIKE over one column (see bench/media.py for its cost at 50,000 rows).
    search_text = models.TextField(blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    # What chorus.media.scrub removed on the way in (codes of scrub.LABELS, shown on the asset page).
    metadata_removed = models.JSONField(default=list, blank=True, editable=False)
    # The file as uploaded, kept only when the workspace asks (SafetyRules.keep_private_originals):
    # a name in the private storage (outside MEDIA_ROOT), never served to a network or a page.
    private_original = models.CharField(max_length=300, blank=True, editable=False)
    # Set when a consent for this file is withdrawn: hidden from the composer and the picker.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)  # +1 per face blur

    class Meta:
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="media_unique_content_per_ws")
        ]
        indexes = [
            # The grid pages newest first by id (keyset), optionally by kind.
            models.Index(fields=["workspace", "-id"], name="media_ws_recent"),
            models.Index(fields=["workspace", "kind", "-id"], name="media_ws_kind_recent"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def path(self) -> str:
        """The file's MEDIA_ROOT-relative path in default_storage."""
        return self.file.name or ""


class MediaUsage(models.Model):
    """Which post targets reference which asset, derived from PostTarget.media ("media_id" items).

    Kept by actions.sync_usage (the composer calls it when it saves a target) and by the
    scheduler job actions.sync_recent_usage for the other paths; makes "used in N posts" one
    indexed GROUP BY over the assets of a page instead of parsing every target's JSON.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="usages")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "target"], name="media_usage_once")]
        indexes = [models.Index(fields=["asset", "post"], name="media_usage_asset_post")]

    def __str__(self) -> str:
        return f"{self.asset_id} in {self.target_id}"


class SafetyRules(models.Model):
    """A workspace's choices about the people in its files (absent row = the defaults)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    keep_private_originals = models.BooleanField(
        _("keep a private original of each upload (with its metadata, never published)"), default=False
    )
    face_review_for_contributors = models.BooleanField(
        _("every face in a contributor's photo must be reviewed before the photo can be used"), default=False
    )
    unused_story_days = models.PositiveIntegerField(
        _("erase stories never used after this many days (0: keep)"), default=0
    )
    consent_reminder_days = models.PositiveIntegerField(
        _("remind the team this many days before a consent expires"), default=30
    )

    class Meta:
        verbose_name = _("safety rules")

    def __str__(self) -> str:
        return f"rules of {self.workspace_id}"


class MediaConsent(models.Model):
    """One person's consent for one file: scope, term, evidence and credit. A file may have
    several (the same bytes sent by two contributors); withdrawing any of them stops the file."""

    class Use(models.TextChoices):
        NETWORKS = "networks", _("Social networks")
        WEBSITE = "website", _("Website")
        REPORTS = "reports", _("Reports")
        ADS = "ads", _("Ads")

    class Evidence(models.TextChoices):
        WRITTEN = "written", _("Signed form")
        VERBAL = "verbal", _("Verbal, noted by the team")
        ONLINE = "online", _("Given through the contributor link")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="consents")
    contributor = models.ForeignKey(
        "approvals.Contributor", null=True, blank=True, on_delete=models.SET_NULL, related_name="consents"
    )
    story = models.ForeignKey(
        "approvals.Story", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    person = models.CharField(_("who consented"), max_length=200)
    uses = models.JSONField(_("for which uses"), default=list)
    valid_until = models.DateField(_("until"), null=True, blank=True)
    evidence = models.CharField(_("evidence"), max_length=8, choices=Evidence.choices)
    evidence_note = models.TextField(_("evidence note"), blank=True)
    credit = models.CharField(_("credit"), max_length=300, blank=True)
    credit_is_pseudonym = models.BooleanField(_("the credit is a pseudonym"), default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("consent")
        indexes = [models.Index(fields=["workspace", "state", "valid_until"], name="consent_ws_state_until")]

    def __str__(self) -> str:
        return f"{self.person} → {self.asset_id} [{self.state}]"


class WithdrawalStep(models.Model):
    """What a withdrawal did to one post target: held (scheduled), to delete / deleted / failed
    (published), kept (a network that cannot delete). The asset page lists these."""

    class Step(models.TextChoices):
        HELD = "held", _("Held")
        TO_DELETE = "to_delete", _("Published: can be deleted")
        DELETED = "deleted", _("Deleted from the network")
        DELETE_FAILED = "failed", _("Deletion failed")
        MANUAL = "manual", _("Published: delete it on the network by hand")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    consent = models.ForeignKey(MediaConsent, on_delete=models.CASCADE, related_name="steps")
    target = models.ForeignKey("content.PostTarget", on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=10, choices=Step.choices)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consent", "target"], name="withdrawal_step_once")]

    def __str__(self) -> str:
        return f"{self.target_id}: {self.step}"


class MediaFace(models.Model):
    """A face found in an image (pixel box of the current version) and what the team decided."""

    class State(models.TextChoices):
        PENDING = "pending", _("To review")
        BLURRED = "blurred", _("Blurred")
        KEPT = "kept", _("Kept visible")

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="faces")
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    w = models.PositiveIntegerField()
    h = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["x", "y"]

    def __str__(self) -> str:
        return f"face {self.x},{self.y} {self.w}x{self.h} of {self.asset_id}"
