from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, workspace_of, workspace_view
from chorus.accounts.permissions import Perm
from chorus.bulk import actions, exporting, parsing
from chorus.bulk.models import ImportJob
from chorus.bulk.parsing import BadFile
from chorus.channels.models import Channel
from chorus.content.models import Campaign
from chorus.core.refusals import Refused
from chorus.core.timeutil import resolve_local


@workspace_view(Perm.CREATE_POST)
def import_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    channels = Channel.objects.filter(workspace=workspace).order_by("name")
    if request.method == "POST":
        upload = request.FILES.get("file")
        order = request.POST.get("date_order", "iso")
        if order not in ImportJob.DateOrder.values:
            order = "iso"
        chosen = [int(c) for c in request.POST.getlist("channels") if c.isdigit()]
        if upload is None:
            messages.error(request, _("Choose a file to upload."))
        else:
            try:
                parsing.check_size(upload.size or 0)
                job = actions.create_job(
                    workspace,
                    actor=current_user(request),
                    data=upload.read(),
                    filename=upload.name or "upload",
                    date_order=order,
                    default_channels=[c for c in chosen if channels.filter(pk=c).exists()],
                )
            except BadFile as exc:
                messages.error(request, str(exc))
            else:
                actions.start_check(job)
                return redirect("bulk:job", slug=workspace.slug, job_id=job.pk)
    # The list never loads the stored rows or reports (a big job's are megabytes).
    jobs = (
        ImportJob.objects.filter(workspace=workspace)
        .defer("rows", "report", "headers")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "bulk/import.html",
        {"workspace": workspace, "channels": channels, "jobs": jobs, "orders": ImportJob.DateOrder.choices},
    )


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob, pk=job_id, workspace=workspace_of(request))


@workspace_view(Perm.CREATE_POST, methods=("GET",))
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    template = "bulk/_job.html" if request.headers.get("HX-Request") else "bulk/job.html"
    return render(request, template, {"workspace": workspace_of(request), "job": job, "report": job.report})


@workspace_view(Perm.CREATE_POST, methods=("POST",))
def job_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        actions.begin_import(job, actor=current_user(request))
    except Refused as exc:
        messages.error(request, str(exc))
    return redirect("bulk:job", slug=workspace_of(request).slug, job_id=job.pk)


@workspace_view(Perm.CREATE_POST, methods=("GET",))
def job_bad_rows(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    encoding = {**parsing.DEFAULT_FORMAT, **(job.file_format or {})}["encoding"]
    charset = {"utf-8-sig": "utf-8", "cp1252": "windows-1252"}.get(encoding, encoding)
    response = HttpResponse(actions.bad_rows_file(job), content_type=f"text/csv; charset={charset}")
    response["Content-Disposition"] = f'attachment; filename="errors-{job.pk}.csv"'
    return response


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def export(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    params = request.GET

    def day(name: str) -> dt.datetime | None:
        try:
            return resolve_local(dt.datetime.fromisoformat(params[name]), workspace.timezone).utc
        except (KeyError, ValueError):
            return None

    campaign = params.get("campaign", "")
    channel = params.get("channel", "")
    if campaign.isdigit():
        get_object_or_404(Campaign, pk=campaign, workspace=workspace)
    if channel.isdigit():
        get_object_or_404(Channel, pk=channel, workspace=workspace)
    targets = exporting.targets_for(
        workspace,
        start=day("start"),
        end=day("end"),
        campaign_id=int(campaign) if campaign.isdigit() else None,
        channel_id=int(channel) if channel.isdigit() else None,
    )
    items = exporting.export_items(workspace, targets)
    if params.get("format") == "json":
        response = HttpResponse(
            json.dumps(items, ensure_ascii=False, indent=1), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="posts.json"'
        return response
    response = HttpResponse(exporting.as_csv(items), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="posts.csv"'
    return response
