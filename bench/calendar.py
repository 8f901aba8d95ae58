"""Calendar: the events endpoint with 10,000 posts in one workspace, spread across a year.

Measures the month view (the 6 weeks FullCalendar asks for) and the week view: server time
through Django's test client (middleware, session, tenancy, the query, JSON) and bytes sent,
against the floor measured in the same run on the same database: a plain SQL query through
Django's cursor for the same rows and columns on the (workspace, scheduled_at) index.
Goals (issue 5): <= 100 ms and <= 500 KB per view. `ratio` = endpoint ms / floor ms.

Runs in its own process (`python -m bench.calendar --measure`) on a fresh copy of a migrated
SQLite template in a temp dir, so Django's settings come from this run's environment.
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

TARGETS = 10_000
REPEATS = {False: 15, True: 50}
GOAL_MS = 100.0
GOAL_BYTES = 500_000
TZ = "Europe/Paris"


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("calendar") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        argv = [PYTHON, "-m", "bench.calendar", "--measure", "--repeats", str(REPEATS[full])]
        proc = subprocess.run(argv, env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"calendar measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


# --- the measurement, in its own process ------------------------------------------------------


def _seed(year: int) -> tuple[Any, Any]:
    import datetime as dt
    import random
    import zoneinfo

    from django.db import transaction

    from chorus.accounts.models import Membership, Organization, User, Workspace
    from chorus.channels.models import Channel
    from chorus.content.models import Campaign, Post, PostTarget, Tag

    rng = random.Random(5)
    tz = zoneinfo.ZoneInfo(TZ)
    started = time.monotonic()
    with transaction.atomic():
        org = Organization.objects.create(name="Bench NGO", slug="bench-ngo")
        workspace = Workspace.objects.create(organization=org, name="Bench", slug="bench", timezone=TZ)
        owner = User.objects.create_user(email="owner@bench.example", password="x" * 20, name="Owner")
        Membership.objects.create(workspace=workspace, user=owner, role="owner")
        authors = [owner]
        for i in range(5):
            user = User.objects.create_user(email=f"a{i}@bench.example", password="x" * 20, name=f"A{i}")
            Membership.objects.create(workspace=workspace, user=user, role="editor")
            authors.append(user)
        kinds = ["sink"]
        channels = Channel.objects.bulk_create(
            Channel(workspace=workspace, kind=kinds[0], name=f"Channel {i}") for i in range(12)
        )
        campaigns = Campaign.objects.bulk_create(
            Campaign(workspace=workspace, name=f"Campaign {i}", slug=f"c{i}", color=f"#{i:02x}5588")
            for i in range(8)
        )
        tags = Tag.objects.bulk_create(Tag(workspace=workspace, name=f"tag{i}") for i in range(10))
        start = dt.datetime(year, 1, 1, tzinfo=tz)
        seconds = int((dt.datetime(year + 1, 1, 1, tzinfo=tz) - start).total_seconds())
        posts = Post.objects.bulk_create(
            Post(
                workspace=workspace,
                author=rng.choice(authors),
                title="" if i % 3 else f"Story {i}",
                campaign=rng.choice([*campaigns, None]),
            )
            for i in range(TARGETS)
        )
        words = ["climate", "water", "schools", "health", "rights", "volunteers", "stories", "report"]
        targets = []
        for i, post in enumerate(posts):
            at = start + dt.timedelta(seconds=rng.randrange(seconds))
            status = "published" if i % 7 == 0 else "scheduled"
            text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 45)))
            targets.append(
                PostTarget(
                    workspace=workspace,
                    post=post,
                    channel=rng.choice(channels),
                    text=text,
                    status=status,
                    scheduled_at=at.astimezone(dt.UTC),
                    due_at=at.astimezone(dt.UTC),
                )
            )
        PostTarget.objects.bulk_create(targets, batch_size=2000)
        through = Post.tags.through
        through.objects.bulk_create(
            through(post_id=post.pk, tag_id=rng.choice(tags).pk) for post in posts if rng.random() < 0.5
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"seeded {TARGETS} targets in {time.monotonic() - started:.1f}s")
    return workspace, owner


def _floor_sql() -> str:
    return (
        "SELECT t.id, t.scheduled_at, t.status, t.text, p.title, t.channel_id, c.name, c.kind,"
        " p.campaign_id, k.color"
        " FROM content_posttarget t"
        " JOIN content_post p ON p.id = t.post_id"
        " JOIN channels_channel c ON c.id = t.channel_id"
        " LEFT JOIN content_campaign k ON k.id = p.campaign_id"
        " WHERE t.workspace_id = %s AND t.scheduled_at >= %s AND t.scheduled_at < %s"
        " ORDER BY t.scheduled_at, t.id"
    )


def measure(repeats: int) -> list[dict[str, Any]]:
    import datetime as dt

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from chorus.planning.calendar import parse_wall, wall_range

    year = dt.date.today().year + 1
    workspace, owner = _seed(year)
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    client = Client()
    client.force_login(owner)
    url = reverse("planning:events", kwargs={"slug": workspace.slug})
    june = dt.date(year, 6, 1)
    month_start = june - dt.timedelta(days=june.weekday())  # what FullCalendar's month view asks
    week_start = dt.date(year, 6, 15) - dt.timedelta(days=dt.date(year, 6, 15).weekday())
    views = {
        "month": (month_start, month_start + dt.timedelta(days=42)),
        "week": (week_start, week_start + dt.timedelta(days=7)),
    }
    results = []
    for view, (first, last) in views.items():
        params = {"start": f"{first.isoformat()}T00:00:00Z", "end": f"{last.isoformat()}T00:00:00Z"}

        def endpoint(params: dict[str, str] = params) -> Any:
            response = client.get(url, params)
            assert response.status_code == 200, response.content[:300]
            return response

        executed = queries_run(endpoint)
        value_ms, response = median_ms(endpoint, repeats)
        events = json.loads(response.content)
        span = wall_range(parse_wall(params["start"]), parse_wall(params["end"]), TZ)
        sql = _floor_sql()
        args = [workspace.pk, span.start.isoformat(sep=" "), span.end.isoformat(sep=" ")]

        def floor(sql: str = sql, args: list[Any] = args) -> list[Any]:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()

        floor_ms, rows = median_ms(floor, repeats)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, args)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        size = len(response.content)
        results.append(
            {
                "bench": f"calendar/{view}",
                "value": round(value_ms, 2),
                "unit": "ms",
                "baseline": round(floor_ms, 2),
                "ratio": round(value_ms / floor_ms, 2) if floor_ms else None,
                "goal": f"server time <= {GOAL_MS:.0f} ms and <= {GOAL_BYTES // 1000} KB sent",
                "ok": value_ms <= GOAL_MS and size <= GOAL_BYTES and len(events) == len(rows),
                "bytes": size,
                "events": len(events),
                "floor_rows": len(rows),
                "queries": len(executed),
                "posts_in_workspace": TARGETS,
                "repeats": repeats,
                "range": [params["start"], params["end"]],
                "index": "target_ws_time" if "target_ws_time" in plan else plan,
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
        log(f"{view}: {value_ms:.1f} ms, {size / 1000:.0f} KB, {len(events)} events; floor {floor_ms:.1f} ms")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if not args.measure:
        sys.exit("run it with `python -m bench calendar`")
    print(json.dumps(measure(args.repeats)), flush=True)
