"""Publishing tasks. They take ids, not objects, and are safe to run twice (STYLE.md habit 7)."""

from __future__ import annotations

import logging
import queue
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection
from django.tasks import task

from chorus.content.models import PostTarget

log = logging.getLogger(__name__)


def _run_share(pending: queue.SimpleQueue[PostTarget], attempt_id: uuid.UUID) -> dict[str, int]:
    """One pool thread: publishes targets from the batch's shared queue until it is empty, then
    records its successes in one transaction.

    Each pool thread has its own connection, closed once when the thread is done (reopening one
    per target cost ~10x the publish itself on SQLite, and a server process on PostgreSQL)."""
    try:
        return _publish_all(pending, attempt_id)
    finally:
        connection.close()  # do not leak the pool thread's connection


def _publish_all(pending: queue.SimpleQueue[PostTarget], attempt_id: uuid.UUID) -> dict[str, int]:
    from chorus.publishing.engine import publish_loaded, record_successes

    outcomes: dict[str, int] = {}
    successes: list = []  # type: ignore[type-arg]
    while True:
        try:
            target = pending.get_nowait()
        except queue.Empty:
            break
        outcome = publish_loaded(target, attempt_id, successes)
        if outcome != "sent":
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    for outcome, n in record_successes(successes).items():
        outcomes[outcome] = outcomes.get(outcome, 0) + n
    return outcomes


@task(queue_name="publishing")
def publish_batch(target_ids: list[int], attempt_id: str) -> dict[str, int]:
    """Publishes a claimed batch. The batch is loaded in one query; network calls are I/O bound,
    so targets run in a small thread pool; each target's 'sending' mark is its own commit before
    its network call, and each thread records its successes in one transaction."""
    close_old_connections()
    attempt = uuid.UUID(attempt_id)
    targets = list(
        PostTarget.objects.select_related("channel", "workspace", "post", "post__author").filter(
            pk__in=target_ids
        )
    )
    pending: queue.SimpleQueue[PostTarget] = queue.SimpleQueue()
    for target in targets:
        pending.put(target)
    outcomes: dict[str, int] = (
        {"gone": len(target_ids) - len(targets)} if len(targets) < len(target_ids) else {}
    )
    threads = min(settings.CHORUS_PUBLISH_THREADS, len(targets)) or 1
    if threads == 1:
        shares = [_publish_all(pending, attempt)]  # on the worker's own connection
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="publish") as pool:
            futures = [pool.submit(_run_share, pending, attempt) for _ in range(threads)]
            shares = [future.result() for future in futures]
    for share in shares:
        for outcome, n in share.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    return outcomes


@task(queue_name="publishing")
def reconcile_batch(target_ids: list[int]) -> dict[str, int]:
    from chorus.publishing.reconcile import reconcile_one

    outcomes: dict[str, int] = {}
    for target_id in target_ids:
        outcome = reconcile_one(target_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
