"""Per-process heartbeats: a daemon thread in each worker process beats as "worker@host:pid".

The scheduler beats from its own loop (chorus.core.scheduler). Worker processes (each
`chorus worker` db worker, each Celery pool child) start `start_beat_thread("worker")` when they
start, so /health lists every one of them, and one that dies shows as stale. The thread closes
its database connection after each beat, so it holds no connection between beats.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from chorus.core.models import Heartbeat

log = logging.getLogger(__name__)


def beat_once(role: str, **detail: object) -> None:
    try:
        Heartbeat.beat(role, process=Heartbeat.this_process(), **detail)
    except Exception:
        # The database may be briefly unavailable: the next beat tries again.
        log.exception("heartbeat of %s failed", role)
    finally:
        connection.close()


def start_beat_thread(role: str, every_seconds: float | None = None) -> threading.Event:
    """Beats now and then every `every_seconds` (CHORUS_WORKER_PING_SECONDS) until the returned
    event is set (or the process exits: the thread is a daemon)."""
    every = every_seconds or settings.CHORUS_WORKER_PING_SECONDS
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            beat_once(role)
            stop.wait(every)

    threading.Thread(target=loop, name=f"chorus-heartbeat-{role}", daemon=True).start()
    return stop
