"""REST endpoints of analytics: the dashboard's figures for a period (filtered by channel,
campaign, tag or author), a breakdown per dimension, and the best times to post on a channel.
Figures come from chorus.analytics.figures, the same code as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import workspace_of
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm
from chorus.analytics import figures, reports
from chorus.analytics.forms import ReportForm
from chorus.api.auth import ws_perm
from chorus.channels.models import Channel
from chorus.core.refusals import Invalid

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


# --- reports ----------------------------------------------------------------------------------

REPORT_SALT = "chorus.api.report"
REPORT_DAYS = 7  # how long a requested report's id can be fetched
ReportFormat = Literal["pdf", "xlsx", "csv"]
REPORT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


ReportDay = Annotated[dt.date, Field(ge=dt.date(1970, 1, 1), le=dt.date(9999, 1, 1))]


class ReportIn(Schema):
    format: ReportFormat = "pdf"
    start: ReportDay
    end: ReportDay  # inclusive; a report covers at most two years
    sections: list[str] = list(reports.SECTIONS)
    channels: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = []  # none: every channel


class ReportOut(Schema):
    id: str
    format: ReportFormat
    start: dt.date
    end: dt.date
    sections: list[str]
    channels: list[int]
    expires_at: dt.datetime
    url: str  # GET it (with the same token) for the file


def report_id(workspace: Workspace, spec: reports.ReportSpec, fmt: str) -> str:
    """A report's id: its workspace, spec and format, signed (nothing is stored; the file is
    rendered when it is fetched, from the figures of that moment)."""
    return signing.dumps({"w": workspace.pk, "f": fmt, **spec.to_json()}, salt=REPORT_SALT, compress=True)


def _report_from(workspace: Workspace, raw: str) -> tuple[reports.ReportSpec, str]:
    """Another workspace's id, a forged or an expired one: 404, as for any unknown object."""
    try:
        data = signing.loads(raw, salt=REPORT_SALT, max_age=dt.timedelta(days=REPORT_DAYS))
    except signing.BadSignature:
        raise Http404 from None
    if data.get("w") != workspace.pk or data.get("f") not in REPORT_TYPES:
        raise Http404
    return reports.ReportSpec.from_json(data), data["f"]


@router.post(
    "/workspaces/{slug}/analytics/reports", response={201: ReportOut}, **ws_perm(Perm.VIEW_ANALYTICS)
)
def request_report(request: HttpRequest, slug: str, payload: ReportIn) -> Status:
    """Asks for a report of a period as a PDF, XLSX or CSV file (the report builder's sections
    and channels); answers its id and `url`, which serves the file for seven days. 422 names the
    invalid field (dates, sections, channels)."""
    workspace = workspace_of(request)
    form = ReportForm(
        {
            "start": payload.start.isoformat(),
            "end": payload.end.isoformat(),
            "sections": payload.sections,
            "channels": payload.channels,
        },
        workspace=workspace,
    )
    if not form.is_valid():
        fields = {
            ("period" if k == "__all__" else k): " ".join(str(m) for m in v) for k, v in form.errors.items()
        }
        raise Invalid(
            _("The report request is not valid: %(names)s."), fields=fields, names=", ".join(fields)
        )
    data = form.cleaned_data
    spec = reports.ReportSpec(
        data["start"], data["end"], tuple(data["sections"]), tuple(sorted(c.pk for c in data["channels"]))
    )
    raw = report_id(workspace, spec, payload.format)
    return Status(
        201,
        {
            "id": raw,
            "format": payload.format,
            "start": spec.start,
            "end": spec.end,
            "sections": list(spec.sections),
            "channels": list(spec.channel_ids),
            "expires_at": timezone.now() + dt.timedelta(days=REPORT_DAYS),
            "url": f"/api/workspaces/{workspace.slug}/analytics/reports/{raw}",
        },
    )


_FILE = {
    200: {
        "description": "The report file, in the format it was requested in.",
        "content": {REPORT_TYPES[f].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                    for f in get_args(ReportFormat)},
    }
}  # fmt: skip


@router.get(
    "/workspaces/{slug}/analytics/reports/{report_id}", **ws_perm(Perm.VIEW_ANALYTICS, responses=_FILE)
)
def fetch_report(request: HttpRequest, slug: str, report_id: str) -> HttpResponse:
    """The requested report, rendered now in your language (PDF, XLSX or CSV). 404 for an id of
    another workspace, or one older than seven days."""
    workspace = workspace_of(request)
    spec, fmt = _report_from(workspace, report_id)
    renderer = {"pdf": reports.render_pdf, "xlsx": reports.render_xlsx, "csv": reports.render_csv}[fmt]
    response = HttpResponse(renderer(reports.build(workspace, spec)), content_type=REPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-{spec.start}-{spec.end}.{fmt}"'
    return response
