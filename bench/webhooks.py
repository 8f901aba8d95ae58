"""Webhook deliveries per second to a local receiver, end to end: events emitted (delivery rows
written, tasks enqueued on commit), then the real database task engine claims each delivery,
signs it, POSTs it through chorus.core.http and records the attempt — against a bare loop of
the same signed POSTs (sign + chorus.core.http, no database) in the same run and process.

Runs in its own process (`python -m bench.webhooks --measure`) on a fresh migrated SQLite copy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, workdir

GOAL_RATIO = 0.5  # the delivery machinery at least half as fast as bare signed POSTs


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("webhooks") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        env["CHORUS_ALLOW_PRIVATE_URLS"] = "true"
        env["BENCH_WEBHOOK_EVENTS"] = str(5_000 if full else 1_000)
        proc = subprocess.run(
            [PYTHON, "-m", "bench.webhooks", "--measure"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"webhooks measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


class _Receiver(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).count += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def measure() -> list[dict[str, Any]]:
    import datetime as dt
    import os

    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would be measured too

    from chorus import webhooks
    from chorus.accounts.models import Organization, Workspace
    from chorus.core import http
    from chorus.webhooks import actions, signing
    from chorus.webhooks.models import Delivery

    events = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "1000"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    body = json.dumps({"type": "post.published", "timestamp": "2026-12-07T00:00:00+00:00", "data": {"n": 1}})

    # Baseline: the same signed POSTs in a bare loop (one client of chorus.core.http, kept).
    secret = signing.new_secret()
    with http.client(user_url=True) as client:
        for _warm in range(20):
            client.post(url, content=body.encode())
        started = time.perf_counter()
        for n in range(events):
            at = dt.datetime.now(dt.UTC)
            headers = signing.headers([secret], f"msg_{n}", at, body.encode())
            response = client.post(url, content=body.encode(), headers=headers)
            assert response.status_code == 204
    baseline = events / (time.perf_counter() - started)
    log(f"bare signed POSTs: {baseline:.0f}/s")
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)

    org = Organization.objects.create(name="Bench", slug="bench")
    ws = Workspace.objects.create(organization=org, name="Bench", slug="bench", timezone="Europe/Paris")
    actions.create_endpoint(workspace=ws, actor=None, url=url, event_types=["post.published"])
    received_before = _Receiver.count
    started = time.perf_counter()
    for n in range(events):
        webhooks.emit(ws, "post.published", {"n": n})
    emitted = time.perf_counter() - started
    call_command("db_worker", queue_name="default", batch=True, startup_delay=False, verbosity=0)
    elapsed = time.perf_counter() - started
    delivered = Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count()
    assert delivered == events and _Receiver.count - received_before == events, (delivered, events)
    value = events / elapsed
    log(f"webhook deliveries (emit {emitted:.1f}s + task engine): {value:.0f}/s")
    server.shutdown()
    ratio = value / baseline
    return [
        {
            "bench": "webhook_deliveries",
            "value": round(value, 1),
            "unit": "deliveries/s",
            "baseline": round(baseline, 1),
            "ratio": round(ratio, 3),
            "goal": f"ratio >= {GOAL_RATIO} (vs a bare loop of the same signed POSTs, same run)",
            "ok": ratio >= GOAL_RATIO,
            "events": events,
            "emit_per_s": round(events / emitted, 1),
            "database": "sqlite",
            "task_engine": "django-tasks-db",
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
