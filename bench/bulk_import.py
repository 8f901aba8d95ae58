"""Bulk import: a 10,000-row CSV validated and scheduled (create_job + import_rows: parse, plan,
connector.validate per row and channel, batched inserts with audit rows and fingerprints),
against a baseline measured in the same run on the same database: parsing the same file and
bulk-inserting the same posts and targets without any validation. Goal (issue 8): < 5 s on SQLite.

Runs in its own process (`python -m bench.bulk_import --measure`) on a fresh migrated SQLite copy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, workdir

ROWS = 10_000
GOAL_S = 5.0


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("bulk") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        proc = subprocess.run(
            [PYTHON, "-m", "bench.bulk_import", "--measure"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"bulk import measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


def _file(year: int) -> bytes:
    lines = ["date;channels;text;tags"]
    for i in range(ROWS):
        day = 1 + i % 28
        lines.append(
            f'{year}-{1 + i % 12:02d}-{day:02d} {8 + i % 12:02d}:{i % 60:02d};Sink;"Story {i} — été ✨";bench'
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def measure() -> list[dict[str, Any]]:
    import datetime as dt

    import django

    django.setup()
    from django.utils import timezone

    from chorus.accounts.models import Membership, Organization, User, Workspace
    from chorus.bulk import actions
    from chorus.bulk.parsing import read_table
    from chorus.bulk.rows import looks_like_header
    from chorus.channels.models import Channel
    from chorus.content.models import Post, PostTarget

    org = Organization.objects.create(name="Bench", slug="bench")
    ws = Workspace.objects.create(organization=org, name="Bench", slug="bench", timezone="Europe/Paris")
    base_ws = Workspace.objects.create(organization=org, name="Base", slug="base", timezone="Europe/Paris")
    owner = User.objects.create_user(email="owner@bench.local", password="x")
    Membership.objects.create(workspace=ws, user=owner, role="owner")
    Channel.objects.create(workspace=ws, kind="sink", name="Sink", config={})
    base_channel = Channel.objects.create(workspace=base_ws, kind="sink", name="Sink", config={})
    data = _file(timezone.now().year + 1)

    started = time.perf_counter()
    table = read_table(data, "bench.csv", looks_like_header)
    posts = Post.objects.bulk_create(Post(workspace=base_ws) for _ in table.rows)
    PostTarget.objects.bulk_create(
        PostTarget(
            workspace=base_ws,
            post=p,
            channel=base_channel,
            text=cells[2],
            status="scheduled",
            scheduled_at=dt.datetime.fromisoformat(cells[0]).replace(tzinfo=dt.UTC),
        )
        for p, (_n, cells) in zip(posts, table.rows, strict=True)
    )
    baseline = time.perf_counter() - started
    log(f"baseline (parse + bulk insert, no validation): {baseline:.2f}s")

    started = time.perf_counter()
    job = actions.create_job(ws, actor=owner, data=data, filename="bench.csv")
    job = actions.import_rows(job.pk)
    value = time.perf_counter() - started
    scheduled = PostTarget.objects.filter(workspace=ws, status="scheduled").count()
    log(f"import (validate + schedule): {value:.2f}s, {scheduled} scheduled")
    assert scheduled == ROWS, job.report.get("bad")
    return [
        {
            "bench": "bulk_import_10k_rows",
            "value": round(value, 3),
            "unit": "s",
            "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 2),
            "goal": f"< {GOAL_S} s",
            "ok": value < GOAL_S,
            "rows": ROWS,
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
    else:
        print(json.dumps(run(False), indent=1))
