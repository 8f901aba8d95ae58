"""Publishing tasks. They take ids, not objects, and are safe to run twice (STYLE.md habit 7)."""

from __future__ import annotations

import logging
import queue
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection
from django.tasks import task

log = logging.getLogger(__name__)


def _run_share(pending: queue.SimpleQueue[int], attempt_id: uuid.UUID) -> list[str]:
    """One pool thread: publishes targets from the batch's shared queue until it is empty.

    Each pool thread has its own connection; it is closed once, when the thread is done (not
    after every target: reopening one per target cost ~10x the publish itself on SQLite, and a
    new server process per target on PostgreSQL)."""
    from chorus.publishing.engine import publish_one

    outcomes: list[str] = []
    try:
        while True:
            try:
                target_id = pending.get_nowait()
            except queue.Empty:
                return outcomes
            outcomes.append(publish_one(target_id, attempt_id))
    finally:
        connection.close()  # do not leak the pool thread's connection


@task(queue_name="publishing")
def publish_batch(target_ids: list[int], attempt_id: str) -> dict[str, int]:
    """Publishes a claimed batch. Network calls are I/O bound, so targets of the batch run in a
    small thread pool; each target's state changes are its own committed transactions."""
    close_old_connections()
    attempt = uuid.UUID(attempt_id)
    outcomes: dict[str, int] = {}
    threads = min(settings.CHORUS_PUBLISH_THREADS, len(target_ids)) or 1
    if threads == 1:
        from chorus.publishing.engine import publish_one

        results = [publish_one(t, attempt) for t in target_ids]  # on the worker's own connection
    else:
        pending: queue.SimpleQueue[int] = queue.SimpleQueue()
        for target_id in target_ids:
            pending.put(target_id)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="publish") as pool:
            shares = [pool.submit(_run_share, pending, attempt) for _ in range(threads)]
            results = [outcome for share in shares for outcome in share.result()]
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
