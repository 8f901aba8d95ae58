"""REST endpoints of bulk import and export: upload a CSV, XLSX or JSON file (multipart), which
is checked at once (the dry run: nothing is created), read the job's status and its per-row
outcomes, commit the good rows, download the bad ones; export the posts as the importer reads
them back. The same actions as the import page (chorus.bulk.actions), the same size budgets
(chorus.bulk.parsing) and the same permissions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from chorus.accounts.access import workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm
from chorus.api.auth import ErrorOut, ws_perm
from chorus.bulk import actions, exporting, parsing
from chorus.bulk.models import ImportJob
from chorus.channels.models import Channel
from chorus.content.models import Campaign
from chorus.core.refusals import Invalid
from chorus.core.timeutil import resolve_local

router = Router(tags=["bulk import and export"])
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a database id (SQLite and PostgreSQL bigint)
MAX_LIMIT = 500


class JobSummaryOut(Schema):
    id: int
    filename: str
    status: ImportJob.Status
    progress: int  # rows handled by the current step (checking or importing)
    total: int
    imported: int
    created_at: dt.datetime


class JobOut(JobSummaryOut):
    date_order: ImportJob.DateOrder
    default_channels: list[int]
    ok: int  # rows that import (dry run) or were imported
    bad: int
    duplicates: int
    ignored_columns: list[str]
    error: str
    updated_at: dt.datetime


class JobPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[JobSummaryOut]


class ProblemOut(Schema):
    column: str
    reason: str


class RowOut(Schema):
    row: int  # the line in the file, as a spreadsheet numbers it
    status: Literal["ok", "error", "duplicate", "imported"]
    errors: list[ProblemOut]
    warnings: list[str]
    when: str  # ISO 8601 in UTC, empty when the row has no time
    note: str
    channels: list[str]
    text: str  # the first 140 characters


class RowPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RowOut]


class ExportItem(Schema):
    date: str
    channels: list[str]
    text: str
    media: list[str]
    campaign: str
    tags: list[str]
    overrides: dict[str, str]
    status: str


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.defer("rows"), pk=job_id, workspace=workspace_of(request))


def _summary(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "filename": job.filename,
        "status": job.status,
        "progress": job.progress,
        "total": job.total,
        "imported": job.imported,
        "created_at": job.created_at,
    }


def _out(job: ImportJob) -> dict[str, Any]:
    report = job.report or {}
    return {
        **_summary(job),
        "date_order": job.date_order,
        "default_channels": job.default_channels,
        "ok": report.get("ok", 0),
        "bad": report.get("bad", 0),
        "duplicates": report.get("duplicates", 0),
        "ignored_columns": report.get("ignored_columns", []),
        "error": job.error,
        "updated_at": job.updated_at,
    }


TOO_LARGE = {413: ErrorOut}


def _csv(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/csv": {"schema": {"type": "string"}}}}


@router.get("/workspaces/{slug}/imports", response=JobPage, **ws_perm(Perm.CREATE_POST))
def list_imports(
    request: HttpRequest,
    slug: str,
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The workspace's imports, newest first (without their rows)."""
    jobs = ImportJob.objects.filter(workspace=workspace_of(request)).defer("rows", "report", "headers")
    page = jobs.order_by("-created_at", "-pk")[offset : offset + limit]
    return {"count": jobs.count(), "limit": limit, "offset": offset, "items": [_summary(j) for j in page]}


@router.post(
    "/workspaces/{slug}/imports",
    response={201: JobOut, **TOO_LARGE},
    **ws_perm(Perm.CREATE_POST),
)
def upload_import(
    request: HttpRequest,
    slug: str,
    file: File[UploadedFile],
    date_order: Form[ImportJob.DateOrder] = ImportJob.DateOrder.ISO,
    channels: Form[list[Id]] = [],  # noqa: B006 (a default django-ninja copies)
) -> Status:
    """Multipart: the file (field `file`: CSV, XLSX or JSON, at most 20 MB), how its dates are
    written (`date_order`), and the channels of rows that name none (`channels`, repeated).
    The dry run starts at once: a file of up to 300 rows answers checked, with its counts;
    a longer one answers `checking`; poll the job. Nothing is created before `commit`.
    413 `file_too_large` over the size budget; 422 when the file cannot be read (the message
    says why)."""
    workspace = workspace_of(request)
    parsing.check_size(file.size or 0)
    known = set(Channel.objects.filter(workspace=workspace, pk__in=channels).values_list("pk", flat=True))
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise Invalid(
            _("No such channel in this workspace: %(ids)s."),
            fields={"channels": ", ".join(str(c) for c in unknown)},
            ids=", ".join(str(c) for c in unknown),
        )
    job = actions.create_job(
        workspace,
        actor=_user(request),
        data=file.read(),
        filename=file.name or "upload",
        date_order=date_order,
        default_channels=channels,
    )
    actions.start_check(job)
    job.refresh_from_db()
    return Status(201, _out(job))


@router.get("/workspaces/{slug}/imports/{job_id}", response=JobOut, **ws_perm(Perm.CREATE_POST))
def get_import(request: HttpRequest, slug: str, job_id: int) -> dict[str, Any]:
    """The job's status, progress and counts (of the dry run, then of the import)."""
    return _out(_job(request, job_id))


@router.get("/workspaces/{slug}/imports/{job_id}/rows", response=RowPage, **ws_perm(Perm.CREATE_POST))
def import_rows(
    request: HttpRequest,
    slug: str,
    job_id: int,
    status: Literal["ok", "error", "duplicate", "imported"] | None = None,
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Each row's outcome in file order: `error` rows name the column and the reason; filter
    with `status`. Empty while the first check runs."""
    rows = (_job(request, job_id).report or {}).get("rows", [])
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    return {"count": len(rows), "limit": limit, "offset": offset, "items": rows[offset : offset + limit]}


@router.post(
    "/workspaces/{slug}/imports/{job_id}/commit", response={202: JobOut}, **ws_perm(Perm.CREATE_POST)
)
def commit_import(request: HttpRequest, slug: str, job_id: int) -> Status:
    """Imports the rows that passed (each is checked again). 409 `import_not_ready` unless the
    job is `checked`. Up to 300 rows answer `done`; a longer file answers `importing`."""
    job = _job(request, job_id)
    actions.begin_import(job, actor=_user(request))
    return Status(202, _out(_job(request, job_id)))


@router.get(
    "/workspaces/{slug}/imports/{job_id}/errors.csv",
    **ws_perm(Perm.CREATE_POST, responses={200: _csv("The rows that failed, as in the file, with an `error` column.")}),
)  # fmt: skip
def import_errors_csv(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """The bad rows in the upload's own CSV shape (delimiter, encoding) plus an `error` column:
    fix them and upload this file again."""
    job = get_object_or_404(ImportJob, pk=job_id, workspace=workspace_of(request))
    encoding = {**parsing.DEFAULT_FORMAT, **(job.file_format or {})}["encoding"]
    charset = {"utf-8-sig": "utf-8", "cp1252": "windows-1252"}.get(encoding, encoding)
    response = HttpResponse(actions.bad_rows_file(job), content_type=f"text/csv; charset={charset}")
    response["Content-Disposition"] = f'attachment; filename="errors-{job.pk}.csv"'
    return response


Day = Annotated[dt.date, Field(ge=dt.date(1970, 1, 1), le=dt.date(9999, 1, 1))]


class ExportQuery(Schema):
    format: Literal["json", "csv"] = "json"
    start: Day | None = None  # from this day (workspace time zone)
    end: Day | None = None  # before this day
    campaign: Id | None = None
    channel: Id | None = None


@router.get(
    "/workspaces/{slug}/export",
    response=list[ExportItem],
    **ws_perm(Perm.VIEW_WORKSPACE, responses={200: _csv("With `format=csv`: the posts as CSV.")}),
)
def export_posts(request: HttpRequest, slug: str, q: Query[ExportQuery]) -> Any:
    """The scheduled and published posts, one item per post and time, in the shape the import
    reads back (`format=csv` answers the CSV the export page writes)."""
    workspace = workspace_of(request)
    if q.campaign is not None:
        get_object_or_404(Campaign, pk=q.campaign, workspace=workspace)
    if q.channel is not None:
        get_object_or_404(Channel, pk=q.channel, workspace=workspace)

    def moment(day: dt.date | None) -> dt.datetime | None:
        if day is None:
            return None
        return resolve_local(dt.datetime.combine(day, dt.time()), workspace.timezone).utc

    targets = exporting.targets_for(
        workspace, start=moment(q.start), end=moment(q.end), campaign_id=q.campaign, channel_id=q.channel
    )
    items = exporting.export_items(workspace, targets)
    if q.format == "csv":
        response = HttpResponse(exporting.as_csv(items), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="posts.csv"'
        return response
    return items
