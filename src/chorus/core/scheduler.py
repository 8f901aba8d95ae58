"""The scheduler loop: a heartbeat, a worker ping and the due-work jobs apps register.

Any number of schedulers may run at once; every job must therefore be safe to run
concurrently (claims are conditional updates, see publishing).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

from chorus.core.models import Heartbeat

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    func: Callable[[], object]
    every_seconds: float
    last_run: float | None = None


_jobs: dict[str, Job] = {}


def register_job(name: str, func: Callable[[], object], every_seconds: float) -> None:
    _jobs[name] = Job(name, func, every_seconds)


def _ping_worker() -> None:
    from chorus.core.tasks import worker_heartbeat

    worker_heartbeat.enqueue()


def _prune_task_results() -> None:
    """The database task engine keeps a row per finished task (a worker ping every 30 s, every
    publish batch): keep one day of successes and two weeks of failures for diagnosis."""
    if settings.CHORUS_TASK_BACKEND != "db":
        return
    from django.core.management import call_command

    for queue in settings.TASK_QUEUES:
        call_command(
            "prune_db_task_results", queue_name=queue, min_age_days=1, failed_min_age_days=14, verbosity=0
        )


def _prune_heartbeats() -> None:
    """Rows of processes that stopped beating CHORUS_HEARTBEAT_EXPIRE_SECONDS ago go: a stopped
    or replaced process shows as stale until then, and is forgotten after."""
    from django.utils import timezone

    limit = timezone.now() - dt.timedelta(seconds=settings.CHORUS_HEARTBEAT_EXPIRE_SECONDS)
    Heartbeat.objects.exclude(process="").filter(beat_at__lt=limit).delete()


def _all_jobs() -> list[Job]:
    if "worker-ping" not in _jobs:
        register_job("worker-ping", _ping_worker, settings.CHORUS_WORKER_PING_SECONDS)
        register_job("prune-task-results", _prune_task_results, 3600)
        register_job("prune-heartbeats", _prune_heartbeats, 300)
    return list(_jobs.values())


def run_once(now: float | None = None) -> None:
    """One tick: beat, then run every job whose interval has passed. A failing job is logged
    and does not stop the others or the loop."""
    now = time.monotonic() if now is None else now
    Heartbeat.beat("scheduler", process=Heartbeat.this_process())
    for job in _all_jobs():
        if job.last_run is not None and now - job.last_run < job.every_seconds:
            continue
        job.last_run = now
        try:
            job.func()
        except Exception:
            log.exception("scheduler job %s failed", job.name)


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("scheduler stopping (%s)", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    log.info("scheduler started, tick %.1fs", settings.CHORUS_SCHEDULER_TICK_SECONDS)
    while not stop.is_set():
        close_old_connections()
        try:
            run_once()
        except Exception:
            # The database may be briefly unavailable; keep the loop alive and try again.
            log.exception("scheduler tick failed")
        stop.wait(settings.CHORUS_SCHEDULER_TICK_SECONDS)
    log.info("scheduler stopped")
