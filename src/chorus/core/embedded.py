"""The embedded shape in one process: the web server, the task worker and the scheduler loop as
threads of the `chorus run` process.

Why one process: each Python process that loads Django holds ~65-90 MiB, and the embedded shape
used to run five of them (a supervisor that migrated, a gunicorn master and two workers, a
worker, a scheduler: ~435 MiB) and booted Django four times on every start. Threads share one
copy: ~110-130 MiB and one boot. The work is I/O-bound (the database, the networks), so the GIL
costs little; the scaled shape keeps separate `chorus web`/`worker`/`scheduler` processes.

The web server is cheroot (CherryPy's threaded WSGI server: production-grade, pure Python, BSD),
because gunicorn only serves from worker processes it forks.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
LISTEN_BACKLOG = 2048  # the kernel caps it at net.core.somaxconn


@dataclass
class Role:
    """One thread of the group; `failure` holds the traceback when its loop ended by an error."""

    name: str
    target: Callable[[], object]
    stop: Callable[[], object]
    thread: threading.Thread = field(init=False)
    failure: str | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"chorus-{self.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.target()
        except BaseException:  # a role that dies is reported, whatever killed it
            self.failure = traceback.format_exc()


def web_role(bind: str, threads: int) -> Role:
    from cheroot import wsgi

    from chorus.wsgi import application

    host, _, port = bind.rpartition(":")
    # The listen backlog: cheroot's default is 5, so a burst of new connections (a team opening
    # the app at 9:00, 50 API clients starting at once) overflowed the kernel's accept queue and
    # some were reset before Chorus saw them (bench/load: 1-8 resets per 500 requests, every one
    # a client's first request). 2048 is gunicorn's default, the scaled shape's web server.
    server = wsgi.Server(
        (host or "127.0.0.1", int(port)), application, numthreads=threads, request_queue_size=LISTEN_BACKLOG
    )
    server.prepare()  # binds now: a port in use fails the start, not a thread later
    return Role("web", server.serve, server.stop)


def worker_role(queues: list[str], interval: float) -> Role:
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=queues,
        interval=interval,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=f"chorus-run-{os.getpid()}",
        excluded_queue_names=[],
    )

    beating: list[threading.Event] = []

    def run() -> None:
        # Like every worker process, it beats from a thread of its own: the publish tasks it
        # runs record this process as their owner, and the scheduler takes them back as soon as
        # those beats stop (a killed `chorus run`), so its beats must not depend on a task.
        from chorus.core.beats import start_beat_thread

        beating.append(start_beat_thread("worker"))
        worker.run()

    def stop() -> None:
        # The loop checks this between tasks: a task under way finishes (tasks are safe to
        # run twice, but a publish interrupted mid-call would leave an unknown outcome).
        worker.running = False
        for event in beating:
            event.set()

    return Role("worker", run, stop)


def scheduler_role() -> Role:
    from chorus.core.scheduler import run_forever

    stop = threading.Event()
    return Role("scheduler", lambda: run_forever(stop), stop.set)


def run(roles: list[Role], announce: Callable[[], None]) -> int:
    """Starts every role, reports one that dies, stops them all on SIGINT/SIGTERM.
    Returns 0 after a requested stop, 1 when every role died by itself."""
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()

    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _supervise(roles, announce, stopping)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _supervise(roles: list[Role], announce: Callable[[], None], stopping: threading.Event) -> int:
    for role in roles:
        role.start()
    announce()
    reported: set[str] = set()
    while not stopping.wait(0.5):
        for role in roles:
            # A role that dies is reported, not restarted silently: /health and the admin
            # banner show it (its heartbeat goes stale), which is the point of having them.
            if not role.thread.is_alive() and role.name not in reported:
                reported.add(role.name)
                print(
                    f"chorus run: the {role.name} stopped:\n{role.failure or 'its loop returned'}",
                    file=sys.stderr,
                    flush=True,
                )
        if len(reported) == len(roles):
            return 1
    for role in roles:
        role.stop()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for role in roles:
        role.thread.join(timeout=max(0.1, deadline - time.monotonic()))
    stuck = [role.name for role in roles if role.thread.is_alive()]
    if stuck:
        print(f"chorus run: left behind after {STOP_GRACE_SECONDS:.0f}s: {', '.join(stuck)}", file=sys.stderr)
    return 0
