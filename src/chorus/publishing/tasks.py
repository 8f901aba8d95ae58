"""Publishing tasks. They take ids, not objects, and are safe to run twice (STYLE.md habit 7)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.tasks import task

log = logging.getLogger(__name__)

# Due posts before everything else a worker does: a database worker runs one task at a time from
# every queue, ordered by priority, and the metrics reads of a minute's published posts (one task
# each) once held a batch of due posts back by 14 s. The read-backs of a dead worker's sends come
# right after: posts that had nothing to do with a crash do not wait behind its reconciliation
# (a restarted worker finds both queued). Given when enqueued (`enqueue_publish`,
# `enqueue_reconcile`), on the database engine only: on Celery over Redis, django-tasks-celery
# turns a higher priority into a higher number and kombu's Redis transport serves the lowest
# number first, across every queue a worker reads, so these tasks would come after all others
# (measured: due posts 13.7 s late behind 60 metrics reads). Celery reads its queues in turn.
PUBLISHING_PRIORITY = 50
RECONCILE_PRIORITY = 40


def _ranked(task_: Any, priority: int) -> Any:
    if settings.CHORUS_TASK_BACKEND == "celery":
        return task_
    return task_.using(priority=priority)


def enqueue_publish(target_ids: list[int], attempt_id: str) -> None:
    _ranked(publish_batch, PUBLISHING_PRIORITY).enqueue(target_ids, attempt_id)


def enqueue_reconcile(target_ids: list[int]) -> None:
    _ranked(reconcile_batch, RECONCILE_PRIORITY).enqueue(target_ids)


@task(queue_name="publishing")
def publish_batch(target_ids: list[int], attempt_id: str) -> dict[str, int]:
    """Publishes a claimed batch: loaded in one query, network calls on the process's thread pool
    (they are I/O bound), outcomes recorded together (see `chorus.publishing.engine`)."""
    from chorus.publishing import engine

    close_old_connections()
    targets = engine.load(target_ids)
    outcomes = engine.count(
        engine.publish_many(targets, uuid.UUID(attempt_id), threads=settings.CHORUS_PUBLISH_THREADS)
    )
    if len(targets) < len(target_ids):
        outcomes["gone"] = len(target_ids) - len(targets)
    return outcomes


@task(queue_name="publishing")
def reconcile_batch(target_ids: list[int]) -> dict[str, int]:
    """Reads each target back and settles it; the lookups overlap on the process's call threads,
    so a dead worker's sends are settled together, not one round trip after the other."""
    from chorus.publishing.reconcile import reconcile_many

    close_old_connections()
    outcomes: dict[str, int] = {}
    for outcome in reconcile_many(target_ids, threads=settings.CHORUS_PUBLISH_THREADS):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
