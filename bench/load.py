"""Load: N concurrent clients against a real `chorus run` while its scheduler and worker publish.

The server is the embedded shape (`chorus run`: web, worker and scheduler in one process) with the
test settings (the local sink connector), on SQLite and then on PostgreSQL (a database of the
bench's own, created and dropped by it). A seed step, in its own process, makes an owner, a
workspace, 20 sink channels (50 ms simulated latency), an API token and 300 targets that fall due
one after another over the load's first minute.

Each client runs a mix of requests: signed-in page loads (session cookie), the calendar's JSON,
API reads and API writes (a post published "now" on a sink channel, with the token). First one
client alone (`SINGLE_REQUESTS` requests): its p50 is the baseline. Then `clients` at once,
`requests` each, while the seeded targets and the API's posts are published.

Reported per database, one line: `value` = p99 latency of the concurrent phase, `baseline` = the
single-client p50, `ratio` = p99 / p50 (reported, no goal); goals: 0 responses >= 500, 0 transport
errors, 0 "database is locked" in the responses and in the server's log, every due target
published, no duplicate sink post.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench._support import (
    CHORUS,
    PYTHON,
    REPO_DIR,
    PostgresDatabases,
    SqliteDatabases,
    base_env,
    free_port,
    log,
    percentile,
    workdir,
)

SIZES = {False: {"clients": 50, "requests": 10}, True: {"clients": 200, "requests": 20}}
SINGLE_REQUESTS = 60
CHANNELS = 20
SEEDED_TARGETS = 300
SEED_SPREAD_S = 60  # the seeded targets fall due over this many seconds after the seed
LOCKED = "database is locked"
# What a client asks for, and how often (weights).
MIX = (("page", 3), ("calendar", 2), ("api_read", 3), ("api_write", 2))


def run(full: bool) -> list[dict[str, Any]]:
    size = SIZES[full]
    results = []
    with workdir("load") as work:
        env = base_env(work)
        for database in os.environ.get("BENCH_LOAD_DATABASES", "sqlite,postgresql").split(","):
            dbs: SqliteDatabases | PostgresDatabases = (
                SqliteDatabases(work, env) if database == "sqlite" else PostgresDatabases(work, env)
            )
            try:
                case_dir = work / f"case-{database}"
                case_dir.mkdir()
                case_env = {
                    **env,
                    "DATABASE_URL": dbs.fresh(),
                    "CHORUS_VAR_DIR": str(case_dir / "var"),
                    # One token and one address for every client: the API's rate limits are not
                    # what this measures.
                    "CHORUS_API_RATE_PER_TOKEN": "1000000",
                    "CHORUS_API_RATE_PER_ADDRESS": "1000000",
                }
                results.append(_case(database, case_env, case_dir, size["clients"], size["requests"]))
            finally:
                dbs.close()
    return results


def _case(database: str, env: dict[str, str], case_dir: Path, clients: int, requests: int) -> dict[str, Any]:
    seed = _subprocess_json([PYTHON, "-m", "bench.load", "--seed"], env)
    log(f"{database}: seeded workspace {seed['slug']}, {SEEDED_TARGETS} targets due over {SEED_SPREAD_S}s")
    log_path = case_dir / "run.log"
    popen, base_url = _start(env, log_path)
    try:
        cookies = _sign_in(base_url, seed["email"], seed["password"])
        single = _phase(base_url, seed, cookies, clients=1, requests=SINGLE_REQUESTS)
        log(f"{database}: single client p50 {single['p50_ms']:.1f} ms")
        load = _phase(base_url, seed, cookies, clients=clients, requests=requests)
        log(
            f"{database}: {clients} clients p50 {load['p50_ms']:.1f} ms p99 {load['p99_ms']:.1f} ms, "
            f"{load['server_errors']} >= 500, {load['locked']} locked"
        )
        published = _wait_published(env, timeout=SEED_SPREAD_S + 60)
    finally:
        _stop(popen)
    server_log = log_path.read_text(errors="replace")
    locked_in_log = server_log.count(LOCKED)
    tracebacks = server_log.count("Traceback (most recent call last)")
    locked = load["locked"] + single["locked"] + locked_in_log
    errors = load["server_errors"] + single["server_errors"]
    transport = load["transport_errors"] + single["transport_errors"]
    ratio = load["p99_ms"] / single["p50_ms"]
    ok = (
        errors == 0
        and transport == 0
        and locked == 0
        and published["not_published"] == 0
        and published["duplicates"] == 0
    )
    return {
        "bench": f"load_{database}",
        "value": round(load["p99_ms"], 1),
        "unit": "ms p99 latency (concurrent)",
        "baseline": round(single["p50_ms"], 1),
        "ratio": round(ratio, 2),
        "goal": "responses >= 500: 0, 'database is locked': 0, every due target published once "
        "(p99/single-client p50 reported)",
        "ok": ok,
        "database": database,
        "clients": clients,
        "requests": load["count"],
        "responses_ge_500": errors,
        "transport_errors": transport,
        "transport_error_kinds": load["transport_error_kinds"] + single["transport_error_kinds"],
        "database_is_locked": locked,
        "database_is_locked_in_log": locked_in_log,
        "tracebacks_in_log": tracebacks,
        "p50_ms": round(load["p50_ms"], 1),
        "p99_ms": round(load["p99_ms"], 1),
        "max_ms": round(load["max_ms"], 1),
        "per_kind_p99_ms": load["per_kind_p99_ms"],
        "statuses": load["statuses"],
        "single_p99_ms": round(single["p99_ms"], 1),
        "api_posts_written": load["writes"],
        **published,
        "load_average_1m": os.getloadavg()[0],
    }


# --- the server ---------------------------------------------------------------------------------


def _start(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    bind = f"127.0.0.1:{free_port()}"
    with log_path.open("ab") as out:
        popen = subprocess.Popen(
            [CHORUS, "run", "--bind", bind],
            env=env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://{bind}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"chorus run exited with {popen.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base_url + "/accounts/login/", timeout=2).status_code == 200:
                return popen, base_url
        time.sleep(0.1)
    _stop(popen)
    raise RuntimeError("chorus run did not answer within 120 s")


def _stop(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGINT)
    try:
        popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(timeout=5)


def _sign_in(base_url: str, email: str, password: str) -> dict[str, str]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not token:
            raise RuntimeError("no CSRF token on the login page")
        signed_in = client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": password},
        )
        if signed_in.status_code != 302:
            raise RuntimeError(f"sign-in answered {signed_in.status_code}")
        return dict(client.cookies)


# --- the clients ----------------------------------------------------------------------------------


def _request(client: httpx.Client, kind: str, seed: dict[str, Any], rng: random.Random) -> httpx.Response:
    slug = seed["slug"]
    api = {"Authorization": f"Bearer {seed['token']}"}
    if kind == "page":
        path = rng.choice(("/w/{slug}/", "/w/{slug}/posts/", "/w/{slug}/calendar/", "/w/{slug}/queue/"))
        return client.get(path.format(slug=slug))
    if kind == "calendar":
        return client.get(f"/w/{slug}/calendar/events/")
    if kind == "api_read":
        path = rng.choice(("/api/me", f"/api/workspaces/{slug}/targets", f"/api/workspaces/{slug}/channels"))
        return client.get(path, headers=api)
    body = {
        "text": f"load post {rng.getrandbits(48):x}",
        "channel_ids": [rng.choice(seed["channel_ids"])],
        "schedule": {"mode": "now"},
    }
    return client.post(f"/api/workspaces/{slug}/posts", json=body, headers=api)


def _phase(
    base_url: str, seed: dict[str, Any], cookies: dict[str, str], *, clients: int, requests: int
) -> dict[str, Any]:
    samples: list[tuple[str, float, int, bool]] = []  # kind, ms, status (0 = transport error), locked
    lock = threading.Lock()
    start = threading.Barrier(clients)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    kinds_of_error: list[str] = []

    def client_loop(index: int) -> None:
        rng = random.Random(index)
        mine = []
        with httpx.Client(base_url=base_url, cookies=cookies, timeout=120) as client:
            start.wait()
            for _ in range(requests):
                kind = rng.choice(kinds)
                t0 = time.perf_counter()
                try:
                    response = _request(client, kind, seed, rng)
                    status, locked = response.status_code, LOCKED in response.text
                except httpx.TransportError as exc:
                    status, locked = 0, False
                    with lock:
                        kinds_of_error.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
                mine.append((kind, (time.perf_counter() - t0) * 1000, status, locked))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(ms for _, ms, _, _ in samples)
    statuses: dict[str, int] = {}
    for _, _, status, _ in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    per_kind = {
        kind: round(percentile(sorted(ms for k, ms, _, _ in samples if k == kind), 99), 1) for kind, _ in MIX
    }
    return {
        "count": len(samples),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "max_ms": times[-1],
        "per_kind_p99_ms": per_kind,
        "statuses": statuses,
        "server_errors": sum(1 for _, _, s, _ in samples if s >= 500),
        "transport_errors": sum(1 for _, _, s, _ in samples if s == 0),
        "transport_error_kinds": sorted(set(kinds_of_error))[:5],
        "locked": sum(1 for *_, locked in samples if locked),
        "writes": sum(1 for k, _, s, _ in samples if k == "api_write" and s == 201),
    }


def _wait_published(env: dict[str, str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        counts = _subprocess_json([PYTHON, "-m", "bench.load", "--count"], env)
        settled = counts["published"] + counts["failed"]
        if settled >= counts["targets"] or time.monotonic() > deadline:
            break
        time.sleep(2)
    return {
        "targets": counts["targets"],
        "published": counts["published"],
        "failed": counts["failed"],
        "not_published": counts["targets"] - counts["published"],
        "sink_posts": counts["sink_posts"],
        "duplicates": counts["duplicates"],
    }


def _subprocess_json(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(argv, env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(argv[2:])} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --- seed and count, in their own process (Django settings from the case's environment) ----------


def seed() -> dict[str, Any]:
    import secrets

    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from chorus.accounts import actions
    from chorus.accounts.models import User
    from chorus.channels.models import Channel
    from chorus.content.models import Post, PostTarget

    password = secrets.token_urlsafe(16)
    with transaction.atomic():
        owner = User.objects.create_user(email="owner@load.example", password=password, name="Owner")
        org = actions.create_organization(name="Load", actor=owner)
        ws = actions.create_workspace(organization=org, name="Load", timezone_name="UTC", owner=owner)
        channels = Channel.objects.bulk_create(
            Channel(workspace=ws, kind="sink", name=f"sink {i}", config={"latency_ms": 50})
            for i in range(CHANNELS)
        )
        now = timezone.now()
        posts = Post.objects.bulk_create(
            Post(workspace=ws, title=f"seeded {i}") for i in range(SEEDED_TARGETS)
        )
        PostTarget.objects.bulk_create(
            PostTarget(
                workspace=ws,
                post=post,
                channel=channels[i % CHANNELS],
                text=f"seeded target {i}",
                status=PostTarget.Status.SCHEDULED,
                scheduled_at=now + dt.timedelta(seconds=5 + i * SEED_SPREAD_S / SEEDED_TARGETS),
                due_at=now + dt.timedelta(seconds=5 + i * SEED_SPREAD_S / SEEDED_TARGETS),
            )
            for i, post in enumerate(posts)
        )
    _token, raw = actions.issue_api_token(user=owner, name="load")
    return {
        "email": owner.email,
        "password": password,
        "slug": ws.slug,
        "token": raw,
        "channel_ids": [c.pk for c in channels],
    }


def count() -> dict[str, Any]:
    import django

    django.setup()
    from django.db.models import Count
    from tests.sink.models import SinkPost

    from chorus.content.models import PostTarget

    statuses = dict(
        PostTarget.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    per_target = SinkPost.objects.values("target_id").annotate(n=Count("id")).filter(n__gt=1)
    return {
        "targets": sum(statuses.values()),
        "published": statuses.get("published", 0),
        "failed": statuses.get("failed", 0),
        "sink_posts": SinkPost.objects.count(),
        "duplicates": sum(row["n"] - 1 for row in per_target),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--count", action="store_true")
    args = parser.parse_args()
    if args.seed:
        print(json.dumps(seed()))
    elif args.count:
        print(json.dumps(count()))
    else:
        for result in run(full=False):
            print(json.dumps(result))
