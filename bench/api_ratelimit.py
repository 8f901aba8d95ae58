"""The cost of the API rate limits: authenticated API requests per second (`GET /api/me` with a
bearer token, through the full Django stack with the test client) with the per-token and
per-address counting on — one upsert per request in the shared `accounts.Throttle` table — against
the same requests with the counting switched off, in the same run and process (the floor).

Runs in its own process (`python -m bench.api_ratelimit --measure`) on a fresh migrated SQLite copy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, workdir

GOAL_RATIO = 0.8  # counting costs at most a fifth of an authenticated request


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("api_ratelimit") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        env["BENCH_API_REQUESTS"] = str(10_000 if full else 2_000)
        proc = subprocess.run(
            [PYTHON, "-m", "bench.api_ratelimit", "--measure"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"api_ratelimit measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


def _rate(client: Any, headers: dict[str, str], requests: int) -> float:
    for _ in range(50):  # warm-up: imports, URL resolver and connection
        client.get("/api/me", headers=headers)
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get("/api/me", headers=headers)
        assert response.status_code == 200, response.status_code
    return requests / (time.perf_counter() - started)


def measure() -> list[dict[str, Any]]:
    import os

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from chorus.accounts import actions
    from chorus.accounts.models import Throttle, User
    from chorus.api import ratelimit

    requests = int(os.environ.get("BENCH_API_REQUESTS", "2000"))
    settings.CHORUS_API_RATE_PER_TOKEN = settings.CHORUS_API_RATE_PER_ADDRESS = 10**9
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    user = User.objects.create_user("bench@example.org", "x" * 16)
    _token, raw = actions.issue_api_token(user=user, name="bench", scope="read")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()

    counting = ratelimit._count
    ratelimit._count = lambda keys, window_start: {}  # type: ignore[assignment]
    baseline = _rate(client, headers, requests)
    ratelimit._count = counting  # type: ignore[assignment]
    log(f"GET /api/me without rate counting: {baseline:.0f} req/s")
    value = _rate(client, headers, requests)
    counted = Throttle.objects.filter(key__startswith="api:token:").values_list("hits", flat=True).first()
    log(f"GET /api/me with rate counting: {value:.0f} req/s (token window count {counted})")
    ratio = value / baseline
    return [
        {
            "bench": "api_rate_limit_overhead",
            "value": round(value, 1),
            "unit": "requests/s",
            "baseline": round(baseline, 1),
            "ratio": round(ratio, 3),
            "goal": f"ratio >= {GOAL_RATIO} (vs the same requests without counting, same run)",
            "ok": ratio >= GOAL_RATIO,
            "requests": requests,
            "database": "sqlite",
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
    else:
        for result in run(full=False):
            print(json.dumps(result))
