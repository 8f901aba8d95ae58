"""Short links, their clicks, and the link settings of workspaces and campaigns.

Campaign and Tag live in chorus.content; what short links need of a campaign (default UTM values,
its channels) is kept here, one row per campaign, so content stays free of link concerns.
"""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class LinkSettings(models.Model):
    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="link_settings"
    )
    shorten = models.BooleanField(_("shorten links"), default=False)
    # Presets; empty means the built-in rule (source = network, medium = social, campaign = slug).
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("link settings")
        verbose_name_plural = _("link settings")

    def __str__(self) -> str:
        return f"link settings of {self.workspace_id}"


class CampaignSettings(models.Model):
    campaign = models.OneToOneField(
        "content.Campaign", on_delete=models.CASCADE, related_name="link_settings"
    )
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True)
    channels = models.ManyToManyField("channels.Channel", blank=True, related_name="+")

    class Meta:
        verbose_name = _("campaign settings")
        verbose_name_plural = _("campaign settings")

    def __str__(self) -> str:
        return f"settings of campaign {self.campaign_id}"


class ShortLink(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="short_links")
    code = models.CharField(max_length=16, unique=True)  # the redirect's one indexed lookup
    target_url = models.URLField(max_length=2000)
    target = models.ForeignKey(
        "content.PostTarget", null=True, blank=True, on_delete=models.SET_NULL, related_name="short_links"
    )
    channel_kind = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=now)
    # Optional: after this instant the code answers the friendly "link expired" page (a 404).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("short link")
        verbose_name_plural = _("short links")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="shortlink_ws_recent")]

    def __str__(self) -> str:
        return self.code


class Click(models.Model):
    """One counted click: no IP address, no user agent kept (cheap, and nothing personal)."""

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField(default=now)
    referrer = models.CharField(max_length=300, blank=True)
    channel_kind = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        indexes = [models.Index(fields=["link", "at"], name="click_link_at")]

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.at}"
