"""Recurring posts: RRULE + time zone + local time, expanded a little ahead of time.

Occurrences are computed on naive local wall times and resolved one by one (DST rules of
chorus.core.timeutil), so "every Monday 09:00 Europe/Paris" stays at 09:00 local all year.
An occurrence is a copy of the template scheduled through chorus.publishing.actions (approval
checked, links shortened, audited); a template still waiting for review makes none yet.
Catch-up is capped: after downtime, only the most recent missed occurrence (if still within the
workspace's tolerance) is created; older ones are skipped and logged, so a restart never floods a
channel.
"""

from __future__ import annotations

import datetime as dt
import logging

from dateutil.rrule import rrulestr
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
    # Each occurrence is scheduled like any post (chorus.publishing.actions): only a template
    # that passed review repeats, and its links are shortened.
    from chorus.publishing import actions

    created = []
    for local in chosen:
        occurrence = actions.schedule_occurrence(rec, resolve_local(local, rec.timezone))
        if occurrence is not None:
            created.append(occurrence)
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
