"""Real background processes for tests: `chorus worker` and `chorus scheduler` as subprocesses
pointed at the pytest-django test database, on whichever shape the suite runs (SQLite + the
django-tasks-db worker by default; PostgreSQL + a Celery worker on Redis under `make test-scaled`).

Load it from a conftest with `from tests.engine_fixtures import *  # noqa: F403`. Tests using
these fixtures need `@pytest.mark.django_db(transaction=True)`: the subprocesses only see
committed rows.

Celery isolation: each test session (each xdist worker) claims a Redis database index of its own
(1-14: never 0, which `make run` and developers use, nor 15, where `make test-scaled` points
the rest of the suite) with an atomic SET NX, and empties it before
each test. A concurrent run, or the other xdist worker, therefore never consumes our tasks against
the wrong test database, and a task left over by a failed test never runs in the next one.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
CHORUS = Path(sys.executable).parent / "chorus"
REDIS_CLAIM_KEY = "chorus:test-session-claim"
READY_MARKERS = {
    "worker:db": "Starting worker worker_id=",
    "worker:celery": " ready.",
    "scheduler": "scheduler started",
}


def wait_for[T](probe: Callable[[], T], timeout: float = 20, interval: float = 0.1, what: str = "") -> T:
    """Polls `probe` until it returns something truthy; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


@dataclass
class Role:
    """A running `chorus <role>` subprocess, in its own process group."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stopped_in: float | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace: float = 10) -> int:
        """SIGTERM the whole group (Celery's pool children too), then SIGKILL after `grace` s."""
        if self.popen.poll() is None:
            started = time.monotonic()
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            self.stopped_in = time.monotonic() - started
        # Stragglers of the group (a pool child whose parent died) must not outlive the test.
        _signal_group(self.pid, signal.SIGKILL)
        return self.popen.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def start_role(
    name: str, argv: list[str], env: dict[str, str], log_dir: Path, ready_marker: str, timeout: float = 30
) -> Role:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [str(CHORUS), *argv],
            env=env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches every child
        )
    role = Role(name, popen, log_path)

    def ready() -> bool:
        if popen.poll() is not None:
            pytest.fail(f"chorus {name} exited with {popen.returncode}:\n{role.output()}")
        return ready_marker in role.output()

    try:
        wait_for(ready, timeout=timeout, what=f"chorus {name} to be ready")
    except BaseException:
        role.stop()
        print(role.output())
        raise
    return role


def group_rss_mib(pgid: int) -> float:
    """The resident memory of a started role's whole process group (gunicorn or Celery children
    too), from /proc/PID/status VmRSS."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) if found else 0
    return total / 1024


def sink_database_env() -> dict[str, str]:
    """Where this test session keeps the sink's tables, when they have a file of their own."""
    from django.conf import settings
    from django.db import connections

    if "sink" not in settings.DATABASES:
        return {}
    return {"CHORUS_SINK_DATABASE": str(connections["sink"].settings_dict["NAME"])}


def database_url_of_test_db() -> str:
    """A DATABASE_URL naming the database pytest-django created (xdist suffix included)."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    raise AssertionError(f"no test DATABASE_URL for {connection.vendor}")


def _is_celery() -> bool:
    from django.conf import settings

    return bool(settings.CHORUS_TASK_BACKEND == "celery")


def _redis_base(url: str) -> str:
    return url.rsplit("/", 1)[0] if url.count("/") > 2 else url


def _empty_claimed_db(client, claim: str) -> None:  # type: ignore[no-untyped-def]
    pipe = client.pipeline(transaction=True)
    pipe.flushdb()
    pipe.set(REDIS_CLAIM_KEY, claim, ex=3 * 3600)
    pipe.execute()


def _point_celery_app_at(url: str) -> None:
    """Repoints the in-process Celery app (the enqueuing side) at our Redis database.

    The app read REDIS_URL when it was imported; drop what it may have cached from that, the way
    Celery itself does after a fork."""
    from chorus.celery import app

    app.conf.broker_url = url
    app.conf.result_backend = url
    app._pool = None
    if "amqp" in app.__dict__:
        app.__dict__["amqp"]._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture(scope="session")
def engine_redis_url() -> Iterator[str | None]:
    """Celery shape: a Redis URL on a database index this session owns; None on the db shape."""
    if not _is_celery():
        yield None
        return
    import redis
    from django.conf import settings

    base = _redis_base(settings.REDIS_URL)
    claim = f"{socket.gethostname()}:{os.getpid()}"
    for index in range(1, 15):
        client = redis.Redis.from_url(f"{base}/{index}")
        if client.set(REDIS_CLAIM_KEY, claim, nx=True, ex=3 * 3600):
            break
        client.close()
    else:
        pytest.fail("every Redis database 1-14 is claimed by another test session")
    url = f"{base}/{index}"
    _empty_claimed_db(client, claim)
    original = settings.REDIS_URL
    _point_celery_app_at(url)
    try:
        yield url
    finally:
        _point_celery_app_at(original)
        if client.get(REDIS_CLAIM_KEY) == claim.encode():
            client.flushdb()
        client.close()


@pytest.fixture(scope="session")
def engine_env(django_db_setup, engine_redis_url: str | None) -> dict[str, str]:
    """The environment of a `chorus` subprocess that works on this session's test database."""
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_of_test_db(),
        **sink_database_env(),
        CHORUS_TASK_BACKEND=settings.CHORUS_TASK_BACKEND,
        # The same settings module as this test process (test-only apps included), importable
        # from the repository root.
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "chorus.settings"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    if engine_redis_url is not None:
        env["REDIS_URL"] = engine_redis_url
    return env


@pytest.fixture
def empty_broker(engine_redis_url: str | None) -> None:
    if engine_redis_url is not None:
        import redis

        client = redis.Redis.from_url(engine_redis_url)
        _empty_claimed_db(client, client.get(REDIS_CLAIM_KEY).decode())  # type: ignore[union-attr]
        client.close()


StartRole = Callable[..., Role]


@pytest.fixture
def start_chorus(
    transactional_db, engine_env: dict[str, str], empty_broker, tmp_path: Path
) -> Iterator[StartRole]:
    """Starts `chorus worker` / `chorus scheduler` subprocesses; all are stopped at teardown.

    `start_chorus("worker", "--queues", "metrics", env={"CHORUS_WORKER_PING_SECONDS": "1"})`"""
    roles: list[Role] = []

    def start(role: str, *args: str, env: dict[str, str] | None = None) -> Role:
        argv = [role, *args]
        if role == "worker" and _is_celery() and "--concurrency" not in args:
            argv += ["--concurrency", "2"]
        marker = READY_MARKERS[f"worker:{engine_env['CHORUS_TASK_BACKEND']}" if role == "worker" else role]
        started = start_role(f"{role}-{len(roles)}", argv, {**engine_env, **(env or {})}, tmp_path, marker)
        roles.append(started)
        return started

    yield start
    for role in reversed(roles):
        role.stop()


@pytest.fixture
def task_worker(start_chorus: StartRole) -> Role:
    """A real `chorus worker` on all four queues (db_worker, or Celery on the scaled shape)."""
    return start_chorus("worker")
