"""The REST API's list endpoints at 10,000 posts (issue 17): p99 server time of each list, as a
program paging through them would see it, against a bare indexed query on the same database.

The sample workspace (`chorus demo`'s loader) with 28 posts a day for a year (~10,200 posts, one
copy each on its channels) and 2,000 media files. Each endpoint is requested through Django's test
client with a personal API token (authentication, scope, rate-limit counting, tenancy, queries,
serialisation), `REQUESTS` times after one warm-up, at offsets spread over the first pages. The
floor: the workspace's 50 latest targets on the (workspace, scheduled_at) index through Django's
cursor. Goal: p99 <= 200 ms for every list; `ratio` = p99 / floor p50.

Runs in its own process (`python -m bench.api_lists --measure`) on a fresh migrated SQLite copy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, median_ms, percentile, workdir

POSTS_PER_DAY = 28
REQUESTS = {False: 60, True: 200}
GOAL_MS = 200.0
LISTS = {
    "targets": "/api/workspaces/{slug}/targets?limit=100&offset={offset}",
    "posts": "/api/workspaces/{slug}/posts?limit=50&offset={offset}",
    "posts_published": "/api/workspaces/{slug}/posts?status=published&limit=50&offset={offset}",
    "calendar_month": "/api/workspaces/{slug}/calendar/events?start=2026-06-01T00:00:00&end=2026-07-01T00:00:00",
    "media": "/api/workspaces/{slug}/media?limit=50",
    "campaigns": "/api/workspaces/{slug}/campaigns",
    "audit": "/api/workspaces/{slug}/audit?limit=100&offset={offset}",
    "review_history": "/api/workspaces/{slug}/review/history?limit=100&offset={offset}",
}
FLOOR_SQL = (
    "SELECT id, scheduled_at, status FROM content_posttarget"
    " WHERE workspace_id = %s ORDER BY scheduled_at DESC LIMIT 50"
)


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("api-lists") as work:
        env = base_env(work)
        env["DATABASE_URL"] = SqliteDatabases(work, env).fresh()
        argv = [PYTHON, "-m", "bench.api_lists", "--measure", "--requests", str(REQUESTS[full])]
        proc = subprocess.run(argv, env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"api_lists measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


def measure(requests: int) -> list[dict[str, Any]]:
    import hashlib

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from chorus.accounts.models import ApiToken, User
    from chorus.analytics.demo import load_demo
    from chorus.content.models import Post
    from chorus.media.models import MediaAsset

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    settings.CHORUS_API_RATE_PER_TOKEN = settings.CHORUS_API_RATE_PER_ADDRESS = 10**9  # measured, not limited
    started = time.monotonic()
    owner = User.objects.create_user(email="owner@bench.example", password="x" * 20, name="Owner")
    workspace = load_demo(days=365, posts_per_day=POSTS_PER_DAY, owner=owner)
    MediaAsset.objects.bulk_create(
        MediaAsset(
            workspace=workspace, file=f"w/{workspace.pk}/bench/{i}.jpg", original_name=f"photo-{i}.jpg",
            kind="image", mime_type="image/jpeg", width=1200, height=800, size=200_000 + i,
            sha256=hashlib.sha256(str(i).encode()).hexdigest(), uploaded_by=owner,
        )
        for i in range(2_000)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    posts = Post.objects.filter(workspace=workspace).count()
    log(f"seeded {posts} posts in {time.monotonic() - started:.1f}s")
    _token, raw = ApiToken.issue(owner, "bench", scope="read")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    def floor() -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [workspace.pk])
            return cursor.fetchall()

    floor_ms, _rows = median_ms(floor, 50)
    results = []
    for name, path in LISTS.items():
        times = []
        size = 0
        for n in range(requests + 1):
            url = path.format(slug=workspace.slug, offset=(n % 10) * 50)
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            if n:  # the first is the warm-up
                times.append(elapsed)
                size = max(size, len(response.content))
        times.sort()
        p99 = percentile(times, 99)
        results.append(
            {
                "bench": f"api_lists/{name}",
                "value": round(p99, 2),
                "unit": "ms p99",
                "baseline": round(floor_ms, 3),
                "ratio": round(p99 / floor_ms, 1) if floor_ms else None,
                "goal": f"p99 <= {GOAL_MS:.0f} ms at {posts} posts",
                "ok": p99 <= GOAL_MS,
                "p50_ms": round(percentile(times, 50), 2),
                "max_bytes": size,
                "requests": requests,
                "posts_in_workspace": posts,
                "url": path,
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
        log(f"{name}: p50 {percentile(times, 50):.1f} ms, p99 {p99:.1f} ms, {size / 1000:.0f} KB")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    if not args.measure:
        sys.exit("run it with `python -m bench api_lists`")
    print(json.dumps(measure(args.requests)), flush=True)
