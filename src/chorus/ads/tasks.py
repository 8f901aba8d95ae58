"""Ads tasks: ids, explicit queues, safe to run twice (creation claims; insights replace days)."""

from __future__ import annotations

from django.tasks import task


@task(queue_name="default")
def create_boost(boost_id: int) -> str:
    from chorus.ads.creating import run

    return run(boost_id)


@task(queue_name="metrics")
def collect_boost_insights(boost_id: int) -> str:
    from chorus.ads.collect import collect

    return collect(boost_id)
