"""Recurring posts: RRULE + time zone + local time, expanded a little ahead of time.

Occurrences are computed on naive local wall times and resolved one by one (DST rules of
chorus.core.timeutil), so "every Monday 09:00 Europe/Paris" stays at 09:00 local all year.
Catch-up is capped: after downtime, only the most recent missed occurrence (if still within the
workspace's tolerance) is created; older ones are skipped and logged, so a restart never floods a
channel.
"""

from __future__ import annotations

import datetime as dt
import logging

from dateutil.rrule import rrulestr
from django.db import IntegrityError, transaction
from django.utils import timezone

from chorus.content.models import PostTarget, Recurrence
from chorus.core import audit
from chorus.core.timeutil import resolve_local, to_local

log = logging.getLogger(__name__)
HORIZON = dt.timedelta(days=7)


def occurrences(
    rec: Recurrence, after_local: dt.datetime | None, until_local: dt.datetime
) -> list[dt.datetime]:
    rule = rrulestr(rec.rrule, dtstart=rec.starts_local.replace(tzinfo=None))
    start = (
        after_local.replace(tzinfo=None)
        if after_local
        else rec.starts_local.replace(tzinfo=None) - dt.timedelta(seconds=1)
    )
    return list(rule.between(start, until_local.replace(tzinfo=None), inc=False))


def generate(rec: Recurrence, now: dt.datetime | None = None) -> list[PostTarget]:
    now = now or timezone.now()
    now_local = to_local(now, rec.timezone).replace(tzinfo=None)
    tolerance = dt.timedelta(minutes=rec.workspace.late_tolerance_minutes)
    upcoming = occurrences(rec, rec.last_generated_local, now_local + HORIZON)
    past = [o for o in upcoming if resolve_local(o, rec.timezone).utc <= now]
    future = [o for o in upcoming if resolve_local(o, rec.timezone).utc > now]
    chosen = list(future)
    if past:
        latest = past[-1]
        if now - resolve_local(latest, rec.timezone).utc <= tolerance:
            chosen.insert(0, latest)
        skipped = len(past) - (1 if chosen and chosen[0] == latest else 0)
        if skipped:
            log.warning("recurrence %s: skipped %d missed occurrences (catch-up is capped)", rec.pk, skipped)
            audit.record("recurrence.skipped", workspace=rec.workspace, obj=rec, count=skipped)
    created = []
    template = rec.template
    for local in chosen:
        resolved = resolve_local(local, rec.timezone)
        try:
            with transaction.atomic():
                created.append(
                    PostTarget.objects.create(
                        workspace=rec.workspace,
                        post=template.post,
                        channel=template.channel,
                        text=template.text,
                        media=template.media,
                        options=template.options,
                        recurrence=rec,
                        status=PostTarget.Status.SCHEDULED,
                        scheduled_at=resolved.utc,
                        due_at=resolved.utc,
                        schedule_note=resolved.note,
                    )
                )
        except IntegrityError:
            pass  # another scheduler created this occurrence (unique recurrence + time)
    if upcoming:
        Recurrence.objects.filter(pk=rec.pk).update(last_generated_local=Recurrence.wall(upcoming[-1]))
        rec.last_generated_local = Recurrence.wall(upcoming[-1])
    return created


def generate_due_occurrences() -> int:
    count = 0
    for rec in Recurrence.objects.filter(active=True).select_related(
        "workspace", "template", "template__post"
    ):
        count += len(generate(rec))
    return count
