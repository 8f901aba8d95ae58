"""Metrics tasks: ids, not objects; queue "metrics"; safe to run twice (a second run only adds
one more snapshot, later in time)."""

from __future__ import annotations

from django.tasks import task


@task(queue_name="metrics")
def collect_account_metrics(channel_id: int) -> str:
    from chorus.analytics.collect import collect_account

    return collect_account(channel_id)


@task(queue_name="metrics")
def collect_post_metrics(target_id: int) -> str:
    from chorus.analytics.collect import collect_post

    return collect_post(target_id)


@task(queue_name="default")
def send_scheduled_report(report_id: int) -> str:
    from chorus.analytics.reports import send_report

    return send_report(report_id)
