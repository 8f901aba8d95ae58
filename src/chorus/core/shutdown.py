"""A process-wide "stopping" flag for graceful shutdown.

`chorus worker` sets it on SIGTERM/SIGINT (beside the task engine's own handling: the db worker
finishes its current task and exits; Celery's warm shutdown does the same). Long work checks
`requested()` between units: the publishing engine returns claimed targets it has not started
to the queue instead of starting them (chorus.publishing.engine)."""

from __future__ import annotations

import threading

_stopping = threading.Event()


def request() -> None:
    _stopping.set()


def requested() -> bool:
    return _stopping.is_set()


def reset() -> None:
    """For tests that run the engine in-process."""
    _stopping.clear()
