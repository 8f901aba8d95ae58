"""Core background tasks."""

from __future__ import annotations

import os
import socket

from django.tasks import task

from chorus.core.models import Heartbeat


@task(queue_name="default")
def worker_heartbeat() -> str:
    """Enqueued by the scheduler; when a worker runs it, the worker is demonstrably alive."""
    Heartbeat.beat("worker", host=socket.gethostname(), pid=os.getpid())
    return "ok"
