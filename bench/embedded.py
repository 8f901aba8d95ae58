"""The embedded shape as `make run` starts it: memory of the whole process group and start time.

`chorus run` (product settings, a fresh var dir) is started in its own process group; the bench
waits until the login page answers, lets it idle 2 s and sums the RSS of every process of the
group; then signs in as the first admin and loads a few pages 20 times each and sums it again;
then stops the group and starts it a second time on the same var dir (migrations applied, admin
present), timing until the login page answers. Absolute goals, no baseline: group RSS after the
page loads <= 300 MiB, second start <= 3 s.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._support import CHORUS, REPO_DIR, free_port, log

RSS_GOAL_MIB = 300
SECOND_START_GOAL_S = 3.0
PAGES = ("/", "/accounts/login/", "/health")
SHAPE_VARIABLES = ("DATABASE_URL", "CHORUS_TASK_BACKEND", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def rss_mib(pid: int) -> float:
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def role(pid: int) -> str:
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_text().rstrip("\0").split("\0")
    except OSError:
        return "?"
    return " ".join(arg.rsplit("/", 1)[-1] for arg in argv[:5])


def group_rss(pgid: int) -> tuple[float, dict[str, float]]:
    members = {f"{pid} {role(pid)}": rss_mib(pid) for pid in group_members(pgid)}
    return sum(members.values()), {k: round(v, 1) for k, v in members.items()}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: on a busy machine, what its start would take on
    a quiet one (the start is one thread of work)."""
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str, float, float]:
    base_url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with log_path.open("ab") as out:
        popen = subprocess.Popen(
            [CHORUS, "run", "--bind", base_url.removeprefix("http://")],
            env=env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = started + 120
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"chorus run exited with {popen.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base_url + "/accounts/login/", timeout=2).status_code == 200:
                return popen, base_url, time.monotonic() - started, cpu_seconds(popen.pid)
        time.sleep(0.05)
    raise RuntimeError("chorus run did not answer within 120 s")


def stop(popen: subprocess.Popen[bytes]) -> None:
    os.kill(popen.pid, signal.SIGINT)
    deadline = time.monotonic() + 20
    while group_members(popen.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in group_members(popen.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    popen.wait(timeout=5)


def load_pages(base_url: str, email: str, password: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        signed_in = client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": password},
        )
        assert signed_in.status_code == 302, signed_in.status_code
        for _ in range(20):
            for path in PAGES:
                client.get(path)


def run(full: bool) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in SHAPE_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="chorus_bench_embedded_") as tmp:
        env.update(CHORUS_VAR_DIR=str(Path(tmp) / "var"), PYTHONUNBUFFERED="1")
        log_path = Path(tmp) / "run.log"
        popen, base_url, first_start, _ = start(env, log_path)
        try:
            output = log_path.read_text()
            email = re.search(r"Email:\s+(\S+)", output)
            password = re.search(r"Password:\s+(\S+)", output)
            assert email and password, output
            time.sleep(2)
            idle_mib, idle_roles = group_rss(popen.pid)
            load_pages(base_url, email.group(1), password.group(1))
            time.sleep(1)
            loaded_mib, loaded_roles = group_rss(popen.pid)
        finally:
            stop(popen)
        popen, base_url, second_start, second_start_cpu = start(env, log_path)
        stop(popen)
    log(f"group after page loads: {loaded_roles}")
    return [
        {
            "bench": "embedded",
            "value": round(loaded_mib, 1),
            "unit": "MiB RSS (group, after page loads)",
            "baseline": None,
            "ratio": None,
            "goal": f"group RSS <= {RSS_GOAL_MIB} MiB, second start <= {SECOND_START_GOAL_S} s",
            "ok": loaded_mib <= RSS_GOAL_MIB and second_start <= SECOND_START_GOAL_S,
            "idle_rss_mib": round(idle_mib, 1),
            "first_start_s": round(first_start, 2),
            "second_start_s": round(second_start, 2),
            "second_start_cpu_s": round(second_start_cpu, 2),
            "load_average_1m": os.getloadavg()[0],
            "processes": len(loaded_roles),
            "roles_mib": loaded_roles,
            "idle_roles_mib": idle_roles,
        }
    ]
