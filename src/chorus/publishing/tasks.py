"""Publishing tasks. They take ids, not objects, and are safe to run twice (STYLE.md habit 7)."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import close_old_connections
from django.tasks import task

log = logging.getLogger(__name__)


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
    from chorus.publishing.reconcile import reconcile_one

    outcomes: dict[str, int] = {}
    for target_id in target_ids:
        outcome = reconcile_one(target_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
