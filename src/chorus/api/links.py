"""REST endpoints of short links (with click counts) and campaigns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.content.models import Campaign
from chorus.links import actions, campaigns, clicks
from chorus.links.models import CampaignSettings
from chorus.links.shortening import short_url

router = Router(tags=["links and campaigns"])


class LinkOut(Schema):
    code: str
    short_url: str
    target_url: str
    target: int | None
    channel_kind: str
    created_at: dt.datetime
    clicks: int


class CampaignIn(Schema):
    name: str
    slug: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    goal: str = ""
    color: str = "#3b4fd8"
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    channels: list[int] = []


class CampaignOut(Schema):
    id: int
    name: str
    slug: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    goal: str
    color: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    channels: list[int]
    posts_total: int
    posts_scheduled: int
    posts_published: int


def _campaign_out(campaign: Campaign) -> dict[str, Any]:
    camp_settings = CampaignSettings.objects.filter(campaign=campaign).first()
    progress = campaigns.progress(campaign)
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "slug": campaign.slug,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "goal": campaign.goal,
        "color": campaign.color,
        "utm_source": camp_settings.utm_source if camp_settings else "",
        "utm_medium": camp_settings.utm_medium if camp_settings else "",
        "utm_campaign": camp_settings.utm_campaign if camp_settings else "",
        "channels": list(camp_settings.channels.values_list("pk", flat=True)) if camp_settings else [],
        "posts_total": progress.total,
        "posts_scheduled": progress.scheduled,
        "posts_published": progress.published,
    }


@router.get("/workspaces/{slug}/links", response=list[LinkOut], **ws_perm(Perm.VIEW_ANALYTICS))
def list_links(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [
        {
            "code": link.code,
            "short_url": short_url(link.code),
            "target_url": link.target_url,
            "target": link.target_id,
            "channel_kind": link.channel_kind,
            "created_at": link.created_at,
            "clicks": link.click_count,  # type: ignore[attr-defined]
        }
        for link in clicks.links_with_counts(workspace_of(request).pk)
    ]


@router.get("/workspaces/{slug}/links/clicks", response=dict[str, int], **ws_perm(Perm.VIEW_ANALYTICS))
def clicks_per_network(request: HttpRequest, slug: str) -> dict[str, int]:
    return clicks.clicks_by_channel(workspace_of(request).pk)


@router.get("/workspaces/{slug}/campaigns", response=list[CampaignOut], **ws_perm(Perm.VIEW_WORKSPACE))
def list_campaigns(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [
        _campaign_out(c) for c in Campaign.objects.filter(workspace=workspace_of(request)).order_by("name")
    ]


@router.post("/workspaces/{slug}/campaigns", response={201: CampaignOut}, **ws_perm(Perm.CREATE_POST))
def create_campaign(request: HttpRequest, slug: str, payload: CampaignIn) -> Status:
    try:
        campaign = actions.create_campaign(workspace_of(request), actor=request.auth, data=payload.dict())  # type: ignore[attr-defined]
    except actions.CampaignInvalid as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201, _campaign_out(campaign))


@router.get(
    "/workspaces/{slug}/campaigns/{campaign_id}", response=CampaignOut, **ws_perm(Perm.VIEW_WORKSPACE)
)
def get_campaign(request: HttpRequest, slug: str, campaign_id: int) -> dict[str, Any]:
    return _campaign_out(get_object_or_404(Campaign, pk=campaign_id, workspace=workspace_of(request)))


@router.put("/workspaces/{slug}/campaigns/{campaign_id}", response=CampaignOut, **ws_perm(Perm.CREATE_POST))
def update_campaign(request: HttpRequest, slug: str, campaign_id: int, payload: CampaignIn) -> dict[str, Any]:
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace_of(request))
    try:
        campaign = actions.update_campaign(campaign, actor=request.auth, data=payload.dict())  # type: ignore[attr-defined]
    except actions.CampaignInvalid as exc:
        raise HttpError(422, str(exc)) from None
    return _campaign_out(campaign)


@router.delete(
    "/workspaces/{slug}/campaigns/{campaign_id}", response={204: None}, **ws_perm(Perm.MANAGE_WORKSPACE)
)
def delete_campaign(request: HttpRequest, slug: str, campaign_id: int) -> Status:
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace_of(request))
    actions.delete_campaign(campaign, actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)
