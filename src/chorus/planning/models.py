"""Secret iCal feed tokens. The raw token is shown once, when it is made; only its SHA-256 is
stored, so a copy of the database does not reveal the feed URLs (which expose unpublished plans)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "chf_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class FeedToken(models.Model):
    """One secret feed: the whole workspace (campaign empty) or one campaign."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="feed_tokens")
    campaign = models.ForeignKey(
        "content.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="feed_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=8, editable=False)  # last characters, to tell feeds apart
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            # One live feed per scope: regenerating revokes the previous one.
            models.UniqueConstraint(
                fields=["workspace", "campaign"],
                condition=Q(revoked_at__isnull=True, campaign__isnull=False),
                name="one_live_feed_per_campaign",
            ),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(revoked_at__isnull=True, campaign__isnull=True),
                name="one_live_workspace_feed",
            ),
        ]

    def __str__(self) -> str:
        return f"feed …{self.hint}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
