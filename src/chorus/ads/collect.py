"""Daily insights per boost, collected like organic metrics: a scheduler job claims due boosts
by moving `next_insights_at` forward (a conditional UPDATE: another scheduler updates nothing),
then a task per boost reads the network outside any transaction and replaces the days it got.
The same pass refreshes the network's review status (in review, active, rejected)."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from chorus.ads import actions
from chorus.ads.models import AdInsightDay, Boost
from chorus.connectors.base import PublishError, RateLimited

log = logging.getLogger(__name__)

EVERY = dt.timedelta(hours=6)
AFTER_END = dt.timedelta(days=3)  # networks settle late figures: keep collecting a little after the end
DELIVERING = (
    Boost.Status.IN_REVIEW,
    Boost.Status.ACTIVE,
    Boost.Status.PAUSED,
    Boost.Status.STOPPED,
    Boost.Status.ENDED,
)


def enqueue_due(now: dt.datetime | None = None) -> int:
    from chorus.ads import tasks

    now = now or timezone.now()
    due = list(
        Boost.objects.filter(status__in=DELIVERING, next_insights_at__lte=now).values_list(
            "pk", "next_insights_at"
        )[:500]
    )
    count = 0
    for pk, seen in due:
        if Boost.objects.filter(pk=pk, next_insights_at=seen).update(next_insights_at=now + EVERY):
            tasks.collect_boost_insights.enqueue(pk)
            count += 1
    return count


def collect(boost_id: int) -> str:
    boost = Boost.objects.select_related("account__channel", "workspace").get(pk=boost_id)
    created = boost.created_objects()
    client = boost.account.client()
    zone = ZoneInfo(boost.account.timezone or "UTC")
    since = boost.starts_at.astimezone(zone).date()
    until = min(timezone.now(), boost.ends_at).astimezone(zone).date()
    try:
        days = client.insights(created, since, until, currency=boost.currency, objective=boost.objective)
        review = (
            client.review(created) if boost.status not in (Boost.Status.STOPPED, Boost.Status.ENDED) else None
        )
    except RateLimited as exc:
        Boost.objects.filter(pk=boost.pk).update(
            next_insights_at=timezone.now() + dt.timedelta(seconds=exc.retry_after)
        )
        return "rate limited"
    except PublishError as exc:
        Boost.objects.filter(pk=boost.pk).update(last_error=exc.message, last_error_code=exc.code)
        return "error"
    store(boost, days)
    if review is not None:
        actions.record_review(boost.pk, review.status, review.reason)
    if timezone.now() > boost.ends_at and boost.status in (Boost.Status.ACTIVE, Boost.Status.IN_REVIEW):
        actions.record_review(boost.pk, "ended")
    if timezone.now() > boost.ends_at + AFTER_END:
        Boost.objects.filter(pk=boost.pk).update(next_insights_at=None)
    return f"{len(days)} days"


def store(boost: Boost, days: list) -> None:
    """Replaces the given days: a re-collection never adds to what was already counted."""
    with transaction.atomic():
        for day in days:
            AdInsightDay.objects.update_or_create(
                boost=boost,
                day=day.day,
                defaults={
                    "workspace_id": boost.workspace_id,
                    "spend_minor": day.spend_minor,
                    "impressions": day.impressions,
                    "reach": day.reach,
                    "frequency": day.frequency,
                    "clicks": day.clicks,
                    "engagements": day.engagements,
                    "video_views": day.video_views,
                    "results": day.results,
                    "collected_at": timezone.now(),
                },
            )
