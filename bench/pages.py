"""Pages: server time of every main screen with the sample workspace (`chorus demo`) loaded.

Quick: the demo as `chorus demo` makes it (a year, 3 posts a day) and 5,000 media files; full:
~10,000 posts (28 a day) and 50,000 media files (issue 16). Each page is requested through
Django's test client (middleware, session, tenancy, queries, templates) as the workspace's owner,
the median of N requests after one warm-up. The floor, measured in the same run on the same
database: a bare indexed query, the workspace's 50 latest targets on the (workspace,
scheduled_at) index, through Django's cursor. Goal: every page <= 100 ms; `ratio` = page ms /
floor ms. Per page: bytes sent and the number of SQL queries.

Runs in its own process (`python -m bench.pages --measure`) on a fresh copy of a migrated SQLite
template in a temp dir, so Django's settings come from this run's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, median_ms, queries_run, workdir

SIZES = {False: {"posts_per_day": 3, "media": 5_000}, True: {"posts_per_day": 28, "media": 50_000}}
REPEATS = {False: 7, True: 15}
GOAL_MS = 100.0
PAGES = {
    "home": "/w/{slug}/",
    "posts": "/w/{slug}/posts/",
    "composer": "/w/{slug}/posts/new/",
    "calendar": "/w/{slug}/calendar/",
    "review": "/w/{slug}/review/",
    "campaigns": "/w/{slug}/campaigns/",
    "templates": "/w/{slug}/templates/",
    "queue": "/w/{slug}/queue/",
    "inbox": "/w/{slug}/inbox/",
    "analytics": "/w/{slug}/analytics/",
    "reports": "/w/{slug}/analytics/reports/",
    "media": "/w/{slug}/media/",
    "links": "/w/{slug}/links/",
    "channels": "/w/{slug}/channels/",
}
FLOOR_SQL = (
    "SELECT id, scheduled_at, status FROM content_posttarget"
    " WHERE workspace_id = %s ORDER BY scheduled_at DESC LIMIT 50"
)


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("pages") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        argv = [PYTHON, "-m", "bench.pages", "--measure", "--repeats", str(REPEATS[full])]
        if full:
            argv.append("--full")
        proc = subprocess.run(argv, env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"pages measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


# --- the measurement, in its own process ------------------------------------------------------


def _seed(full: bool) -> tuple[Any, Any]:
    import hashlib

    from django.db import connection

    from chorus.accounts.models import User
    from chorus.analytics.demo import load_demo
    from chorus.media.models import MediaAsset

    started = time.monotonic()
    owner = User.objects.create_user(email="owner@bench.example", password="x" * 20, name="Owner")
    size = SIZES[full]
    workspace = load_demo(days=365, posts_per_day=size["posts_per_day"], owner=owner)
    MediaAsset.objects.bulk_create(
        (
            MediaAsset(
                workspace=workspace,
                file=f"w/{workspace.pk}/bench/{i}.jpg",
                original_name=f"photo-{i}.jpg",
                kind="image",
                mime_type="image/jpeg",
                width=1200,
                height=800,
                size=200_000 + i,
                sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                alt_text=f"Photo {i} from the field",
                search_text=f"photo-{i}.jpg photo {i} from the field",
                uploaded_by=owner,
            )
            for i in range(size["media"])
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(
        f"seeded the demo ({size['posts_per_day']} posts a day) and {size['media']} media in {time.monotonic() - started:.1f}s"
    )
    return workspace, owner


def measure(repeats: int, full: bool) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from chorus.content.models import Post, PostTarget

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    workspace, owner = _seed(full)
    client = Client()
    client.force_login(owner)
    posts = Post.objects.filter(workspace=workspace).count()
    targets = PostTarget.objects.filter(workspace=workspace).count()

    def floor() -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [workspace.pk])
            return cursor.fetchall()

    floor_ms, _rows = median_ms(floor, repeats * 3)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + FLOOR_SQL, [workspace.pk])
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    results = []
    for name, path in PAGES.items():
        url = path.format(slug=workspace.slug)

        def page(url: str = url) -> Any:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        executed = queries_run(page)
        value_ms, response = median_ms(page, repeats)
        results.append(
            {
                "bench": f"pages/{name}",
                "value": round(value_ms, 2),
                "unit": "ms",
                "baseline": round(floor_ms, 3),
                "ratio": round(value_ms / floor_ms, 1) if floor_ms else None,
                "goal": f"server time <= {GOAL_MS:.0f} ms",
                "ok": value_ms <= GOAL_MS,
                "bytes": len(response.content),
                "queries": len(executed),
                "url": url,
                "posts_in_workspace": posts,
                "targets_in_workspace": targets,
                "media_in_workspace": SIZES[full]["media"],
                "repeats": repeats,
                "floor": "50 latest targets, " + ("target_ws_time" if "target_ws_time" in plan else plan),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
        log(f"{name}: {value_ms:.1f} ms, {len(executed)} queries, {len(response.content) / 1000:.0f} KB")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not args.measure:
        sys.exit("run it with `python -m bench pages`")
    print(json.dumps(measure(args.repeats, args.full)), flush=True)
