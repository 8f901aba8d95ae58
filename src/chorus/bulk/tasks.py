"""Long imports run here; tasks take the job id and are safe to run twice (fingerprints)."""

from __future__ import annotations

from django.tasks import task


@task(queue_name="default")
def check_import(job_id: int) -> int:
    from chorus.bulk.actions import check

    return check(job_id).report.get("ok", 0)


@task(queue_name="default")
def run_import(job_id: int) -> int:
    from chorus.bulk.actions import import_rows

    return import_rows(job_id).imported
