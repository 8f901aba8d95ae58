"""Paid reach: ad accounts, the workspace's ad budget, saved audiences, boosts of published posts,
the network objects each boost created (one row per step), and daily results.

Money is an integer of minor units (cents) of the account's currency, everywhere."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.core import vault

#: The words for an ad account's status (connectors/ads.py AdAccountInfo.status).
ACCOUNT_STATUS_WORDS = {
    "active": _("active"),
    "disabled": _("disabled"),
    "unsettled": _("unpaid balance"),
    "pending_review": _("in review"),
    "closed": _("closed"),
}


class AdAccount(models.Model):
    """A Meta or LinkedIn ad account, advertising for one channel (a Page, an Instagram account,
    a LinkedIn organization). Currency, zone, status and spend cap are read from the network."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="ad_accounts")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="ad_accounts")
    external_id = models.CharField(_("ad account id"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    status = models.CharField(_("status"), max_length=20)
    spend_cap_minor = models.BigIntegerField(null=True, blank=True)
    min_daily_budget_minor = models.BigIntegerField(null=True, blank=True)
    # The ad account's own token when the channel's cannot manage ads (Meta: a Page token
    # cannot); empty = use the channel's credentials. Encrypted by the vault, never shown.
    credentials_encrypted = models.TextField(blank=True, editable=False)
    # When the account's own token stops working (a Meta login's user token, about 60 days);
    # None: it does not expire (a system-user token) or the channel's is used. Not a secret.
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # The expiry the team was last warned about (actions.warn_expiring_tokens): one warning per token.
    expiry_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    refreshed_at = models.DateTimeField(default=now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel", "external_id"], name="adaccount_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel.kind})"

    @property
    def network(self) -> str:
        return self.channel.kind

    @property
    def status_label(self) -> str:
        return str(ACCOUNT_STATUS_WORDS.get(self.status, self.status))

    @property
    def credentials(self) -> dict[str, Any]:
        return vault.decrypt(self.credentials_encrypted) if self.credentials_encrypted else {}

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = vault.encrypt(value) if value else ""

    def client(self) -> Any:
        """The network's AdsClient (connectors/ads.py) for this account."""
        token = self.credentials.get("access_token") or None
        return self.channel.connector().ads(self.external_id, token)


class AdBudget(models.Model):
    """A workspace's monthly ad budget and when a boost needs an approver."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="ad_budget")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    monthly_limit_minor = models.BigIntegerField(_("monthly ad budget"), default=0)
    # A boost whose most it can spend is above this waits for an approver; 0: every boost does;
    # NULL: none does.
    approval_threshold_minor = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.monthly_limit_minor} {self.currency} a month"


class MonthSpend(models.Model):
    """What boosts have reserved in one calendar month (the workspace's zone) of a workspace's
    ad budget. Reservations are conditional UPDATEs against the limit: no race (rules.py)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day
    reserved_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "month"], name="monthspend_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.reserved_minor}"


class CampaignAdBudget(models.Model):
    """A campaign's own ad budget (all months), reserved the same way."""

    campaign = models.OneToOneField("content.Campaign", on_delete=models.CASCADE, related_name="ad_budget")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    limit_minor = models.BigIntegerField(default=0)
    reserved_minor = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.reserved_minor}/{self.limit_minor}"


class SavedAudience(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="saved_audiences"
    )
    name = models.CharField(_("name"), max_length=120)
    network = models.CharField(max_length=20)  # "meta" or "linkedin": interest ids are the network's
    audience = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name


class Boost(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        QUEUED = "queued", _("Queued")
        CREATING = "creating", _("Creating")
        IN_REVIEW = "in_review", _("In review")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        REJECTED = "rejected", _("Rejected by the network")
        DECLINED = "declined", _("Declined by an approver")
        FAILED = "failed", _("Failed")
        STOPPED = "stopped", _("Stopped")
        ENDED = "ended", _("Ended")

    class Objective(models.TextChoices):
        AWARENESS = "awareness", _("Awareness")
        ENGAGEMENT = "engagement", _("Engagement")
        TRAFFIC = "traffic", _("Traffic")

    class BudgetKind(models.TextChoices):
        DAILY = "daily", _("Daily")
        LIFETIME = "lifetime", _("Lifetime")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="boosts")
    account = models.ForeignKey(AdAccount, on_delete=models.PROTECT, related_name="boosts")
    target = models.ForeignKey("content.PostTarget", on_delete=models.PROTECT, related_name="boosts")
    campaign = models.ForeignKey(
        "content.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="boosts"
    )
    objective = models.CharField(max_length=20, choices=Objective.choices)
    budget_kind = models.CharField(max_length=10, choices=BudgetKind.choices)
    budget_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    audience = models.JSONField(default=dict)
    saved_audience = models.ForeignKey(SavedAudience, on_delete=models.SET_NULL, null=True, blank=True)
    placements = models.JSONField(default=list, blank=True)
    social_issue = models.BooleanField(default=False)
    disclaimer = models.CharField(_("paid for by"), max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    review_reason = models.TextField(blank=True)
    # {"2026-12": minor units}: what this boost holds of each month's budget (rules.commitments).
    reserved = models.JSONField(default=dict)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="+")
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # creation in progress since
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    next_insights_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status"], name="boost_ws_status"),
            models.Index(fields=["next_insights_at"], name="boost_insights_due"),
        ]

    def __str__(self) -> str:
        return f"Boost {self.uid} ({self.status})"

    @property
    def marker(self) -> str:
        return f"boost-{self.uid.hex[:12]}"

    def max_spend_minor(self) -> int:
        """The most the boost may be billed (a daily budget over its days, with the networks'
        overspend allowance; rules.max_spend)."""
        from chorus.ads import rules

        days = rules.local_days(self.starts_at, self.ends_at, self.workspace.timezone)
        return rules.max_spend(self.budget_kind, self.budget_minor, len(days))

    def most_it_may_spend(self) -> str:
        """`max_spend_minor` as people read it ("200.00 EUR"): what an approver is shown."""
        from chorus.ads import rules

        return rules.money(self.max_spend_minor(), self.currency)

    def created_objects(self) -> dict[str, str]:
        return {s.step: s.external_id for s in self.steps.all() if s.external_id}


class BoostStep(models.Model):
    """One network object a boost created (or is creating): recorded before the next step, so a
    retry resumes after the last created object (creating.py)."""

    class State(models.TextChoices):
        SENDING = "sending", _("Sending")
        CREATED = "created", _("Created")

    boost = models.ForeignKey(Boost, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=30)
    position = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    external_id = models.CharField(max_length=120, blank=True)
    sent_at = models.DateTimeField(default=now)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["boost", "step"], name="booststep_unique")]

    def __str__(self) -> str:
        return f"{self.step} {self.external_id or self.state}"


class AdInsightDay(models.Model):
    """One day of a boost's results (the network's own day), replaced on each collection."""

    boost = models.ForeignKey(Boost, on_delete=models.CASCADE, related_name="insight_days")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    spend_minor = models.BigIntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    reach = models.BigIntegerField(default=0)
    frequency = models.FloatField(default=0)
    clicks = models.BigIntegerField(default=0)
    engagements = models.BigIntegerField(default=0)
    video_views = models.BigIntegerField(default=0)
    results = models.BigIntegerField(default=0)
    collected_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["boost", "day"], name="adinsightday_unique")]

    def __str__(self) -> str:
        return f"{self.day}: {self.spend_minor}"

    @property
    def cpm_minor(self) -> int | None:
        return round(self.spend_minor * 1000 / self.impressions) if self.impressions else None

    @property
    def cpc_minor(self) -> int | None:
        return round(self.spend_minor / self.clicks) if self.clicks else None
