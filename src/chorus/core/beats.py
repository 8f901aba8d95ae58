"""Per-process heartbeats: a daemon thread in each worker process beats as "worker@host:pid".

The scheduler beats from its own loop (chorus.core.scheduler). Worker processes (each
`chorus worker` db worker, each Celery pool child) start `start_beat_thread("worker")` when they
start, so /health lists every one of them, and one that dies shows as stale. The thread closes
its database connection after each beat, so it holds no connection between beats.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from chorus.core.models import Heartbeat

log = logging.getLogger(__name__)

# Monotonic time of this process's last successful beat from its beat thread (None: no thread).
_last_beat: float | None = None


def beat_once(role: str, **detail: object) -> None:
    global _last_beat
    try:
        Heartbeat.beat(role, process=Heartbeat.this_process(), **detail)
        _last_beat = time.monotonic()
    except Exception:
        # The database may be briefly unavailable: the next beat tries again.
        log.exception("heartbeat of %s failed", role)
    finally:
        connection.close()


def seen_alive() -> bool:
    """May this process start a network call for work it owns? Others declare a worker dead
    after CHORUS_WORKER_DEAD_SECONDS without a beat and release its sends; a worker whose own
    beats have failed for half that long (database away, process frozen) stops starting calls,
    so a send released as "dead" is not also started by a live process. True in a process
    without a beat thread (tests, the web process)."""
    last = _last_beat
    if last is None:
        return True
    return time.monotonic() - last < settings.CHORUS_WORKER_DEAD_SECONDS / 2


def start_beat_thread(role: str, every_seconds: float | None = None) -> threading.Event:
    """Beats now and then every `every_seconds` (the shorter of CHORUS_WORKER_BEAT_SECONDS and
    CHORUS_WORKER_PING_SECONDS) until the returned event is set (or the process exits: the
    thread is a daemon)."""
    every = every_seconds or min(settings.CHORUS_WORKER_BEAT_SECONDS, settings.CHORUS_WORKER_PING_SECONDS)
    stop = threading.Event()
    global _last_beat
    _last_beat = time.monotonic()  # started now: counts as alive until the first beat lands

    def loop() -> None:
        while not stop.is_set():
            beat_once(role)
            stop.wait(every)

    threading.Thread(target=loop, name=f"chorus-heartbeat-{role}", daemon=True).start()
    return stop
