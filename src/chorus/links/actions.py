"""Every change to link settings, short links and campaigns goes through here (with an audit row)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from chorus.core import audit
from chorus.core.refusals import Invalid
from chorus.links.models import CampaignSettings, LinkSettings
from chorus.links.shortening import shorten_links_in
from chorus.publishing import actions as publishing


class CampaignInvalid(Invalid):
    code = "campaign_invalid"


def save_link_settings(
    workspace: Workspace,
    *,
    actor: User | None,
    shorten: bool,
    utm_source: str,
    utm_medium: str,
    utm_campaign: str,
) -> LinkSettings:
    values = {
        "shorten": shorten,
        "utm_source": utm_source.strip()[:100],
        "utm_medium": utm_medium.strip()[:100],
        "utm_campaign": utm_campaign.strip()[:100],
    }
    with transaction.atomic():
        link_settings, _created = LinkSettings.objects.update_or_create(workspace=workspace, defaults=values)
        audit.record("links.settings_changed", workspace=workspace, actor=actor, obj=link_settings, **values)
    return link_settings


def shorten_target_links(target: PostTarget, *, actor: User, shorten: bool | None = None) -> str:
    """Adds UTM parameters to the target's links and shortens them (when the workspace wants it,
    or when `shorten` is True: a person asked for it), through publishing.actions.edit so locked
    targets are refused and approvals see the change."""
    text = shorten_links_in(target, shorten=shorten)
    if text != target.text:
        publishing.edit(target, actor=actor, text=text)
        audit.record("links.shortened", workspace=target.workspace, actor=actor, obj=target)
    return text


def _campaign_values(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name", "")).strip()
    slug = str(data.get("slug", "")).strip().lower()
    if not name:
        raise CampaignInvalid(_("A campaign needs a name."))
    from django.utils.text import slugify

    slug = slugify(slug or name)[:50]
    if not slug:
        raise CampaignInvalid(_("A campaign needs a slug of letters, digits or dashes."))
    starts_on = data.get("starts_on") or None
    ends_on = data.get("ends_on") or None
    if isinstance(starts_on, str):
        starts_on = dt.date.fromisoformat(starts_on)
    if isinstance(ends_on, str):
        ends_on = dt.date.fromisoformat(ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise CampaignInvalid(_("The campaign ends before it starts."))
    color = str(data.get("color") or "#3b4fd8").strip()
    if not (
        len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])
    ):
        raise CampaignInvalid(_("The colour must look like #3b4fd8."))
    return {
        "name": name[:150],
        "slug": slug,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "goal": str(data.get("goal", "")).strip(),
        "color": color,
    }


def _save_settings(campaign: Campaign, data: dict[str, Any]) -> CampaignSettings:
    camp_settings, _created = CampaignSettings.objects.update_or_create(
        campaign=campaign,
        defaults={
            key: str(data.get(key, "")).strip()[:100] for key in ("utm_source", "utm_medium", "utm_campaign")
        },
    )
    channel_ids = [int(c) for c in data.get("channels", []) if str(c).isdigit()]
    # Only the workspace's own channels: an id from another tenant is dropped silently.
    camp_settings.channels.set(Channel.objects.filter(workspace=campaign.workspace, pk__in=channel_ids))
    return camp_settings


def _slug_free(workspace: Workspace, slug: str, exclude: int | None = None) -> None:
    others = Campaign.objects.filter(workspace=workspace, slug=slug)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    taken = others.exists()
    if taken:
        raise CampaignInvalid(_("Another campaign already uses the slug “%(slug)s”.") % {"slug": slug})


def create_campaign(workspace: Workspace, *, actor: User | None, data: dict[str, Any]) -> Campaign:
    values = _campaign_values(workspace, data)
    with transaction.atomic():
        _slug_free(workspace, values["slug"])
        campaign = Campaign.objects.create(workspace=workspace, **values)
        _save_settings(campaign, data)
        audit.record("campaign.created", workspace=workspace, actor=actor, obj=campaign, name=campaign.name)
    return campaign


def update_campaign(campaign: Campaign, *, actor: User | None, data: dict[str, Any]) -> Campaign:
    values = _campaign_values(campaign.workspace, data)
    with transaction.atomic():
        _slug_free(campaign.workspace, values["slug"], exclude=campaign.pk)
        for key, value in values.items():
            setattr(campaign, key, value)
        campaign.save()
        _save_settings(campaign, data)
        audit.record(
            "campaign.updated",
            workspace=campaign.workspace,
            actor=actor,
            obj=campaign,
            **{"name": campaign.name, "slug": campaign.slug},
        )
    return campaign


def delete_campaign(campaign: Campaign, *, actor: User | None) -> None:
    """Its posts stay, without a campaign (the foreign key is SET_NULL)."""
    with transaction.atomic():
        audit.record(
            "campaign.deleted", workspace=campaign.workspace, actor=actor, obj=campaign, name=campaign.name
        )
        campaign.delete()
