"""Shared plumbing for benchmarks: throwaway databases, a private Redis database, real
`chorus` role subprocesses. Nothing here touches the developer's var/chorus.sqlite3 or Redis db 0.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHORUS = str(Path(sys.executable).parent / "chorus")
PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS_BASE", "redis://127.0.0.1:6379")
# The same claim key as tests/engine_fixtures.py, so a bench run and a test session never share
# a Redis database index (0 is left to `make run` and developers).
REDIS_CLAIM_KEY = "chorus:test-session-claim"
READY_MARKERS = {
    "worker:db": "Starting worker worker_id=",
    "worker:celery": " ready.",
    "scheduler": "scheduler started",
}


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def base_env(workdir: Path) -> dict[str, str]:
    """Environment of every `chorus` subprocess of a benchmark: test settings (the sink), a
    private var dir, the repository importable."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        CHORUS_VAR_DIR=str(workdir / "var"),
        SECRET_KEY="bench-" + secrets.token_urlsafe(24),
        LOG_LEVEL="INFO",
        DEBUG="false",
    )
    return env


def migrate(env: dict[str, str], log_dir: Path, database: str = "default") -> None:
    started = time.monotonic()
    with (log_dir / "migrate.log").open("wb") as out:
        proc = subprocess.run(
            [CHORUS, "manage", "migrate", "-v", "0", "--no-input", "--database", database],
            env=env,
            cwd=REPO_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"chorus migrate failed:\n{(log_dir / 'migrate.log').read_text()[-3000:]}")
    log(f"migrated {env['DATABASE_URL'].split('@')[-1]} ({database}) in {time.monotonic() - started:.1f}s")


# --- throwaway databases --------------------------------------------------------------------------


class SqliteDatabases:
    """A migrated template SQLite file in a temp dir; every run gets a fresh copy of it."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.dir = workdir / "sqlite"
        self.dir.mkdir()
        self.template = self.dir / "template.sqlite3"
        # tests.settings keeps the sink's tables in a file of their own next to the database
        # (tests/sink/router.py): "<name>-sink".
        for database in ("default", "sink"):
            migrate({**env, "DATABASE_URL": f"sqlite:///{self.template}"}, workdir, database)
        for path in (self.template, Path(f"{self.template}-sink")):
            for suffix in ("-wal", "-shm"):
                if Path(f"{path}{suffix}").exists():
                    raise RuntimeError(f"the template database {path.name} was not checkpointed")
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        path = self.dir / f"run{self.count}.sqlite3"
        shutil.copyfile(self.template, path)
        shutil.copyfile(f"{self.template}-sink", f"{path}-sink")
        return f"sqlite:///{path}"

    def close(self) -> None:
        pass  # the temp dir goes with the workdir


class PostgresDatabases:
    """`chorus_bench_<random>_tpl`, migrated once; each run is a CREATE DATABASE ... TEMPLATE of
    it. Every database created here is dropped by close()."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        import psycopg

        self._psycopg = psycopg
        self.prefix = f"chorus_bench_{secrets.token_hex(4)}"
        self.created: list[str] = []
        self.template = self._create(f"{self.prefix}_tpl")
        migrate({**env, "DATABASE_URL": self.url(self.template)}, workdir)

    def _admin(self):  # type: ignore[no-untyped-def]
        return self._psycopg.connect(PG_ADMIN_DSN, autocommit=True)

    def _create(self, name: str, template: str | None = None) -> str:
        with self._admin() as conn:
            sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            conn.execute(sql)
        self.created.append(name)
        return name

    @staticmethod
    def url(name: str) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{name}"

    def fresh(self) -> str:
        return self.url(self._create(f"{self.prefix}_{len(self.created)}", template=self.template))

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in reversed(list(self.created)):
            with contextlib.suppress(Exception):
                self.drop(self.url(name))


@contextlib.contextmanager
def private_redis_db() -> Iterator[str]:
    """A Redis URL on a database index (1-15) claimed with SET NX, emptied before and after."""
    import redis

    claim = f"bench:{socket.gethostname()}:{os.getpid()}"
    for index in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{index}")
        if client.set(REDIS_CLAIM_KEY, claim, nx=True, ex=3 * 3600):
            break
        client.close()
    else:
        raise RuntimeError("every Redis database 1-15 is claimed (by test sessions or other bench runs)")
    try:
        empty_redis_db(client, claim)
        yield f"{REDIS_BASE}/{index}"
    finally:
        if client.get(REDIS_CLAIM_KEY) == claim.encode():
            client.flushdb()
        client.close()


def empty_redis_db(client, claim: str) -> None:  # type: ignore[no-untyped-def]
    pipe = client.pipeline(transaction=True)
    pipe.flushdb()
    pipe.set(REDIS_CLAIM_KEY, claim, ex=3 * 3600)
    pipe.execute()


def reset_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    claim = client.get(REDIS_CLAIM_KEY)
    empty_redis_db(client, claim.decode() if claim else f"bench:{os.getpid()}")
    client.close()


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"chorus-bench-{prefix}-"))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP"):
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- real chorus processes ------------------------------------------------------------------------


@dataclass
class Role:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace: float = 15) -> None:
        """SIGTERM the role's process group (Celery pool children too), SIGKILL after `grace`."""
        if self.popen.poll() is None:
            _killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        _killpg(self.popen.pid, signal.SIGKILL)  # stragglers of the group


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def start_role(name: str, argv: list[str], env: dict[str, str], log_dir: Path, marker: str) -> Role:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        popen = subprocess.Popen(
            [CHORUS, *argv],
            env=env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Role(name, popen, log_path)


def wait_ready(roles: list[Role], markers: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = list(roles)
    while pending:
        for role in list(pending):
            if role.popen.poll() is not None:
                raise RuntimeError(
                    f"chorus {role.name} exited with {role.popen.returncode}:\n{role.output()[-3000:]}"
                )
            if markers[role.name] in role.output():
                pending.remove(role)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"timed out after {timeout}s waiting for {[r.name for r in pending]} to be ready"
            )
        time.sleep(0.1)


def wait_until[T](probe: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid pgrp ... utime(14) stime(15) cutime(16) cstime(17)
        if int(fields[2]) == pgid:
            total += sum(int(v) for v in fields[11:15])
    return total / ticks


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def median_ms[T](fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The median time of `repeats` calls in ms, after one warm-up call (first-use costs such as
    templates and connections are not what a user waits for), and the last call's result."""
    last = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), last


def queries_run(fn: Callable[[], object]) -> list[str]:
    """The SQL one call runs, counted with an execute wrapper (a request resets
    connection.queries when it starts)."""
    from django.db import connection

    executed: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        fn()
    return executed


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server the bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
