"""Is a process that beat recently gone for certain? Asked of the kernel, not of the clock.

A heartbeat that stops says a process died only after a few missed beats (20 s by default). When
the process lived on the same machine as the one asking, the kernel knows at once: every process
stamps its heartbeats with where it runs (the kernel's boot id, its PID namespace) and when it
started (clock ticks since boot, from /proc), so another process in the same boot and PID
namespace can look its PID up. No such PID, a different start time (the PID was reused) or a
zombie means gone. A kill -9 of a worker is then noticed at the scheduler's next check.

Only certainty counts: a process on another machine, in another container's PID namespace, on a
system without /proc, or with a stamp this code does not understand is never called gone here;
its heartbeat's age decides, as before.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _start_and_state(pid: int) -> tuple[str, str] | None:
    """(start time in clock ticks since boot, state letter) of `pid`, None when there is none."""
    stat = _read(PROC / str(pid) / "stat")
    if stat is None:
        return None
    # "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses, so the
    # fields are counted from the last ')'. starttime is field 22, state is field 3.
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20:
        return None
    return fields[19], fields[0]


@functools.cache
def _place() -> tuple[str, str] | None:
    """(boot id, PID namespace) of this machine and process, None without /proc."""
    boot = _read(PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(PROC / "self" / "ns" / "pid")
    except OSError:
        return None
    if not boot:
        return None
    return boot.strip(), namespace


@functools.cache
def _stamp_of(pid: int) -> dict[str, str]:
    place = _place()
    mine = _start_and_state(pid)
    if place is None or mine is None:
        return {}
    return {"boot": place[0], "pidns": place[1], "started": mine[0]}


def stamp() -> dict[str, str]:
    """This process's stamp, stored with each of its heartbeats ({} where it cannot be made)."""
    return dict(_stamp_of(os.getpid()))


def gone(process: str, detail: Any) -> bool:
    """True when the process "host:pid" that beat with `detail` certainly no longer runs."""
    if not isinstance(detail, dict):
        return False
    place = _place()
    _host, _sep, pid_text = process.rpartition(":")
    if place is None or not pid_text.isdigit():
        return False
    if detail.get("boot") != place[0] or detail.get("pidns") != place[1] or not detail.get("started"):
        return False  # another machine or PID namespace: only its heartbeat's age can tell
    pid = int(pid_text)
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the PID exists is checked
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, run by another user
    now = _start_and_state(pid)
    if now is None:
        return False  # it exists but /proc hides it from us (hidepid): its start cannot be compared
    # A different start time: the PID was reused by a new process. A zombie has exited.
    return now[0] != detail["started"] or now[1] in ("Z", "X")
