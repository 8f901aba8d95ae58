"""Publishing tasks. They take ids, not objects, and are safe to run twice (STYLE.md habit 7)."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection
from django.tasks import task

log = logging.getLogger(__name__)


def _run_one(target_id: int, attempt_id: uuid.UUID) -> str:
    from chorus.publishing.engine import publish_one

    try:
        return publish_one(target_id, attempt_id)
    finally:
        connection.close()  # each pool thread has its own connection; do not leak it


@task(queue_name="publishing")
def publish_batch(target_ids: list[int], attempt_id: str) -> dict[str, int]:
    """Publishes a claimed batch. Network calls are I/O bound, so targets of the batch run in a
    small thread pool; each target's state changes are its own committed transactions."""
    close_old_connections()
    attempt = uuid.UUID(attempt_id)
    outcomes: dict[str, int] = {}
    threads = min(settings.CHORUS_PUBLISH_THREADS, len(target_ids)) or 1
    if threads == 1:
        results = [_run_one(t, attempt) for t in target_ids]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="publish") as pool:
            results = list(pool.map(lambda t: _run_one(t, attempt), target_ids))
    for outcome in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@task(queue_name="publishing")
def reconcile_batch(target_ids: list[int]) -> dict[str, int]:
    from chorus.publishing.reconcile import reconcile_one

    outcomes: dict[str, int] = {}
    for target_id in target_ids:
        outcome = reconcile_one(target_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
