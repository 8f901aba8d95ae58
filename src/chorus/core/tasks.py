"""Core background tasks."""

from __future__ import annotations

import os
import socket

from django.tasks import task

from chorus.core.models import Heartbeat


@task(queue_name="default")
def worker_heartbeat() -> str:
    """Enqueued by the scheduler; when a worker runs it, the worker is demonstrably alive."""
    Heartbeat.beat("worker", process=Heartbeat.this_process(), via="task", pid=os.getpid())
    return "ok"


@task(queue_name="default")
def probe(label: str, fail: bool = False) -> str:
    """Diagnostics: shows that a worker consumes a queue (enqueue it with
    `probe.using(queue_name=...)`) by beating `probe:<label>`, or fails on purpose so one can see
    that failures are recorded. Safe to run twice."""
    if fail:
        raise RuntimeError(f"probe {label!r} failed on purpose")
    Heartbeat.beat(f"probe:{label}"[:40], host=socket.gethostname(), pid=os.getpid())
    return label
