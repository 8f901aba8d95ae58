"""REST endpoints of analytics: the dashboard's figures for a period (filtered by channel,
campaign, tag or author), a breakdown per dimension, and the best times to post on a channel.
Figures come from chorus.analytics.figures, the same code as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm
from chorus.analytics import figures
from chorus.api.auth import ws_perm
from chorus.channels.models import Channel

router = Router(tags=["analytics"])
MAX_DAYS = 732


class Period(Schema):
    start: dt.date | None = None  # default: 29 days before `end`
    end: dt.date | None = None  # default: today in the workspace's time zone (inclusive)
    channel: list[int] = []
    campaign: int | None = None
    tag: int | None = None
    author: int | None = None


class BreakdownQuery(Period):
    by: Literal["channel", "campaign", "tag", "author"] = "channel"


class SlotOut(Schema):
    weekday: int  # Monday = 0, in the workspace's time zone
    hour: int
    avg_engagement: float
    posts: int


class BestTimeOut(Schema):
    channel_id: int
    posts: int
    suggested: list[SlotOut]
    heatmap: list[SlotOut]


def _filters(workspace: Workspace, q: Period) -> figures.Filters:
    end = q.end or timezone.now().astimezone(ZoneInfo(workspace.timezone)).date()
    start = q.start or end - dt.timedelta(days=29)
    if start > end:
        raise HttpError(422, "start: the period starts after it ends")
    if (end - start).days >= MAX_DAYS:
        raise HttpError(422, f"start: a period is at most {MAX_DAYS} days")
    return figures.Filters(
        workspace,
        start,
        end,
        channel_ids=tuple(q.channel),
        campaign_id=q.campaign,
        tag_id=q.tag,
        author_id=q.author,
    )


def _period(f: figures.Filters) -> dict[str, Any]:
    return {"start": f.start, "end": f.end, "days": f.days}


def _ranked(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "target_id": m.target_id,
            "channel_id": m.channel_id,
            "published_at": m.published_at,
            "impressions": m.impressions,
            "engagement": m.engagement,
        }
        for m in rows
    ]


@router.get("/workspaces/{slug}/analytics", response=dict[str, Any], **ws_perm(Perm.VIEW_ANALYTICS))
def dashboard(request: HttpRequest, slug: str, q: Query[Period]) -> dict[str, Any]:
    """The dashboard's figures: totals, account totals, change against the previous period of the
    same length, daily series, per-channel table, best and worst posts."""
    f = _filters(workspace_of(request), q)
    data = figures.dashboard(f)
    previous = data.pop("previous")
    data.pop("filters")
    return {
        **data,
        "period": _period(f),
        "previous": {"period": _period(previous.pop("filters")), **previous},
        "top": _ranked(data["top"]),
        "bottom": _ranked(data["bottom"]),
    }


@router.get(
    "/workspaces/{slug}/analytics/breakdown", response=list[dict[str, Any]], **ws_perm(Perm.VIEW_ANALYTICS)
)
def breakdown(request: HttpRequest, slug: str, q: Query[BreakdownQuery]) -> list[dict[str, Any]]:
    """Every metric per channel, campaign, tag or author over the period."""
    return figures.breakdown(_filters(workspace_of(request), q), q.by)


@router.get(
    "/workspaces/{slug}/analytics/best-time/{channel_id}",
    response=BestTimeOut,
    **ws_perm(Perm.VIEW_ANALYTICS),
)
def best_time(request: HttpRequest, slug: str, channel_id: int) -> dict[str, Any]:
    """Average engagement per weekday × hour over the last year, and the suggested slots (at
    least 3 posts behind each)."""
    channel = get_object_or_404(Channel, pk=channel_id, workspace=workspace_of(request))
    heat = figures.best_time_heatmap(channel)
    return {
        "channel_id": channel.pk,
        "posts": heat.posts,
        "suggested": figures.suggested_times(channel),
        "heatmap": sorted(heat.cells.values(), key=lambda s: (s.weekday, s.hour)),
    }
