"""Bulk import: upload → check (dry run) → import the good rows. Every state change of an
ImportJob and every post it creates goes through here."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus import webhooks
from chorus.accounts.models import Membership, User, Workspace
from chorus.accounts.permissions import may_schedule_directly
from chorus.bulk import parsing
from chorus.bulk.models import ImportedRow, ImportJob
from chorus.bulk.rows import Context, PlannedRow, Problem, column_key, looks_like_header, plan
from chorus.content.models import Post, PostTarget, Tag
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.core.refusals import TransitionRefused
from chorus.core.spreadsheet import safe_row
from chorus.publishing import actions as publishing

# Files up to this many rows are checked inside the request; longer ones go to a task.
INLINE_ROWS = 300
BATCH = 500


def create_job(
    workspace: Workspace,
    *,
    actor: User | None,
    data: bytes,
    filename: str,
    date_order: str = "iso",
    default_channels: Iterable[int] = (),
) -> ImportJob:
    """Parses the file (raises parsing.BadFile with a clear reason) and stores its rows."""
    table = parsing.read_table(data, filename, looks_like_header)
    job = ImportJob.objects.create(
        workspace=workspace,
        created_by=actor,
        filename=filename[:255],
        date_order=date_order,
        default_channels=[int(c) for c in default_channels],
        headers=table.headers,
        file_format=table.file_format or dict(parsing.DEFAULT_FORMAT),
        rows=[{"row": n, "cells": cells} for n, cells in table.rows],
        total=len(table.rows),
    )
    audit.record("bulk.uploaded", workspace=workspace, actor=actor, obj=job, rows=job.total)
    return job


def start_check(job: ImportJob) -> None:
    """Small files are checked now; long ones in a task (the page polls the job)."""
    if job.total <= INLINE_ROWS:
        check(job.pk)
    else:
        from chorus.bulk.tasks import check_import

        transaction.on_commit(lambda: check_import.enqueue(job.pk))


def _plan_all(job: ImportJob, ctx: Context, on_batch: Any = None) -> Iterable[list[PlannedRow]]:
    batch: list[PlannedRow] = []
    for index, item in enumerate(job.rows, start=1):
        batch.append(plan(ctx, job.headers, item["row"], item["cells"]))
        if len(batch) == BATCH or index == len(job.rows):
            yield batch
            batch = []


def _context(job: ImportJob) -> Context:
    return Context(job.workspace, job.date_order, job.default_channels)


def _outcome(row: PlannedRow, status: str) -> dict[str, Any]:
    return {
        "row": row.row,
        "status": status,
        "errors": [{"column": p.column, "reason": p.reason} for p in row.errors],
        "warnings": row.warnings,
        "when": row.when.isoformat() if row.when else "",
        "note": row.note,
        "channels": [c.name for c in row.channels],
        "text": row.text[:140],
    }


def check(job_id: int) -> ImportJob:
    """The dry run: every row planned and validated; nothing is created."""
    job = ImportJob.objects.select_related("workspace").get(pk=job_id)
    try:
        ctx = _context(job)
        done = set(ImportedRow.objects.filter(workspace=job.workspace).values_list("fingerprint", flat=True))
        outcomes: list[dict[str, Any]] = []
        progress = 0
        for batch in _plan_all(job, ctx):
            for row in batch:
                if not row.ok:
                    outcomes.append(_outcome(row, "error"))
                elif row.fingerprint in done:
                    outcomes.append(_outcome(row, "duplicate"))
                else:
                    done.add(row.fingerprint)
                    outcomes.append(_outcome(row, "ok"))
            progress += len(batch)
            ImportJob.objects.filter(pk=job.pk).update(progress=progress)
        report = _summary(job, outcomes)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.CHECKED, report=report, progress=job.total, updated_at=timezone.now()
        )
    except Exception as exc:
        _fail(job, exc)
        raise
    job.refresh_from_db()
    return job


def _summary(job: ImportJob, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    ignored = [h for h in job.headers if h.strip() and column_key(h) is None]
    return {
        "rows": outcomes,
        "ok": sum(1 for o in outcomes if o["status"] == "ok"),
        "bad": sum(1 for o in outcomes if o["status"] == "error"),
        "duplicates": sum(1 for o in outcomes if o["status"] == "duplicate"),
        "ignored_columns": ignored,
    }


def _fail(job: ImportJob, exc: Exception) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
    )
    audit.record("bulk.failed", workspace=job.workspace, obj=job, error=str(exc)[:300])
    webhooks.emit(job.workspace_id, "import.finished", {"job_id": job.pk, "status": "failed", "imported": None, "rows": job.total, "error": str(exc)[:300]})  # fmt: skip


def begin_import(job: ImportJob, *, actor: User) -> None:
    """Checked → importing; the task does the work (safe to run twice: fingerprints)."""
    changed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.IMPORTING, progress=0, updated_at=timezone.now()
    )
    if changed != 1:
        raise TransitionRefused(
            gettext_lazy("This import is not ready to run (it is %(status)s)."),
            code="import_not_ready",
            status=job.status,
        )
    audit.record("bulk.import_started", workspace=job.workspace, actor=actor, obj=job)
    from chorus.bulk.tasks import run_import

    if job.total <= INLINE_ROWS:
        run_import.call(job.pk)
    else:
        transaction.on_commit(lambda: run_import.enqueue(job.pk))


def import_rows(job_id: int) -> ImportJob:
    """Re-checks every row (the workspace may have changed since the dry run) and creates the
    good ones in batches: posts, targets and audit rows inserted together per batch."""
    job = ImportJob.objects.select_related("workspace", "created_by").get(pk=job_id)
    actor = job.created_by
    role = (
        Membership.objects.filter(workspace=job.workspace, user=actor).values_list("role", flat=True).first()
        if actor
        else None
    )
    # The same rule as publishing.actions.schedule(): only someone who may schedule directly
    # takes a draft straight to scheduled; everyone else's rows wait in review with the time asked.
    schedules = may_schedule_directly(role)
    try:
        ctx = _context(job)
        done = set(ImportedRow.objects.filter(workspace=job.workspace).values_list("fingerprint", flat=True))
        outcomes: list[dict[str, Any]] = []
        imported = progress = 0
        for batch in _plan_all(job, ctx):
            good = []
            for row in batch:
                if row.ok and row.fingerprint not in done:
                    _fetch_media(job.workspace, actor, row)
                status = "error" if not row.ok else "duplicate" if row.fingerprint in done else "ok"
                if status == "ok":
                    done.add(row.fingerprint)
                    good.append(row)
                outcomes.append(_outcome(row, "imported" if status == "ok" else status))
            imported += _create(job, ctx, good, actor=actor, schedules=schedules)
            progress += len(batch)
            ImportJob.objects.filter(pk=job.pk).update(progress=progress, imported=imported)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE, report=_summary(job, outcomes), updated_at=timezone.now()
        )
        audit.record("bulk.imported", workspace=job.workspace, actor=actor, obj=job, posts=imported)
        webhooks.emit(job.workspace_id, "import.finished", {"job_id": job.pk, "status": "done", "imported": imported, "rows": job.total, "error": None})  # fmt: skip
    except Exception as exc:
        _fail(job, exc)
        raise
    job.refresh_from_db()
    return job


def _fetch_media(workspace: Workspace, actor: User | None, row: PlannedRow) -> None:
    """http(s) media are fetched through the SSRF-guarded client into the library, outside any
    transaction; a failure is the row's error."""
    from chorus.core.http import UnsafeURL, request_public
    from chorus.media.actions import upload

    for url in list(row.media_urls):
        try:
            response = request_public("GET", url, purpose="media")
            response.raise_for_status()
            name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "download"
            asset, _created = upload(workspace, actor, SimpleUploadedFile(name, response.content))
        except UnsafeURL as exc:
            row.errors.append(Problem("media", f"{url}: {exc}"))
            continue
        except Exception as exc:  # network errors, HTTP errors, files the library refuses
            row.errors.append(
                Problem("media", _("%(url)s could not be fetched: %(reason)s") % {"url": url, "reason": exc})
            )
            continue
        row.media_urls.remove(url)
        row.media_names.append(asset.original_name)
        if url in row.alts:
            row.alts[asset.original_name] = row.alts.pop(url)


def _media_items(workspace: Workspace, names: list[str], alts: dict[str, str]) -> list[dict[str, Any]]:
    from chorus.media.actions import as_post_media
    from chorus.media.models import MediaAsset

    items = []
    for name in names:
        asset = (
            MediaAsset.objects.filter(workspace=workspace, original_name=name, withdrawn_at__isnull=True)
            .order_by("-pk")
            .first()
        )
        if asset is not None:
            items.append(as_post_media(asset, alt=alts.get(name) or None))
    return items


def _create(
    job: ImportJob, ctx: Context, rows: list[PlannedRow], *, actor: User | None, schedules: bool
) -> int:
    rows = [r for r in rows if r.ok]
    if not rows:
        return 0
    workspace = job.workspace
    now = timezone.now()
    with transaction.atomic():
        posts = Post.objects.bulk_create(
            Post(workspace=workspace, author=actor, campaign=row.campaign, created_at=now) for row in rows
        )
        names = {t for row in rows for t in row.tags}
        if names:
            Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in names], ignore_conflicts=True)
            tag_ids = dict(Tag.objects.filter(workspace=workspace, name__in=names).values_list("name", "pk"))
            Through = Post.tags.through
            Through.objects.bulk_create(
                Through(post_id=post.pk, tag_id=tag_ids[name])
                for post, row in zip(posts, rows, strict=True)
                for name in row.tags
            )
        media = [
            _media_items(workspace, row.media_names, row.alts) if row.media_names else [] for row in rows
        ]
        targets = [
            PostTarget(
                workspace=workspace,
                post=post,
                channel=channel,
                text=ctx.signed_text(row, channel),
                media=items,
                scheduled_at=row.when,
                schedule_note=row.note,
                created_at=now,
            )
            for post, row, items in zip(posts, rows, media, strict=True)
            for channel in row.channels
        ]
        # Status, links, media usage and the targets' audit rows: chorus.publishing.actions.
        publishing.create_imported(targets, actor=actor, schedule_them=schedules, data={"import": job.pk})
        AuditEvent.objects.bulk_create(
            AuditEvent(
                workspace=workspace,
                actor_id=actor.pk if actor else None,
                action="post.created",
                object_type="content.post",
                object_id=str(p.pk),
                at=now,
                data={"import": job.pk},
            )
            for p in posts
        )
        ImportedRow.objects.bulk_create(
            ImportedRow(workspace=workspace, fingerprint=row.fingerprint, job=job, post=post)
            for post, row in zip(posts, rows, strict=True)
        )
    return len(posts)


def bad_rows_file(job: ImportJob) -> bytes:
    """`bad_rows_csv` in the upload's shape: its delimiter, its encoding and its byte-order mark
    (a semicolon file with a BOM from French Excel gets one back, which Excel opens as it was)."""
    shape = {**parsing.DEFAULT_FORMAT, **(job.file_format or {})}
    return bad_rows_csv(job, delimiter=shape["delimiter"]).encode(shape["encoding"], errors="replace")


def bad_rows_csv(job: ImportJob, *, delimiter: str = ",") -> str:
    """The rows that failed, as they were in the file, with an `error` column: fix and re-upload."""
    reasons = {
        o["row"]: "; ".join(f"{e['column']}: {e['reason']}" for e in o["errors"])
        for o in job.report.get("rows", [])
        if o["status"] == "error"
    }
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    if job.headers:
        writer.writerow(safe_row([*job.headers, "error"]))
    for item in job.rows:
        if item["row"] in reasons:
            writer.writerow(safe_row([*item["cells"], reasons[item["row"]]]))
    return out.getvalue()
