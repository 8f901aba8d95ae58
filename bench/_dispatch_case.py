"""One dispatch benchmark run, in its own process so Django's settings come from this run's
environment (DATABASE_URL, CHORUS_TASK_BACKEND, REDIS_URL, CHORUS_* engine settings).

    python -m bench._dispatch_case --engine db --load backlog --targets 10000 --latency-ms 0 ...

Seeds a fresh, migrated database; measures the raw floor on the seeded targets; resets them;
starts the real roles (`chorus scheduler`, `chorus worker`) as subprocesses; makes the targets
due; waits until every target is published (or stalls); stops the roles; prints one JSON object
as the last line of stdout.

Lateness is SinkPost.created_at (the instant the sink accepted the post) minus the target's
scheduled_at. Throughput is targets / (last PostTarget.published_at - the instant they became due).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench._support import (
    READY_MARKERS,
    Role,
    group_cpu_seconds,
    log,
    percentile,
    start_role,
    wait_ready,
)

FAR = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)  # parked: seeded but not due until released


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--engine", choices=["db", "celery"], required=True)
    p.add_argument("--load", choices=["burst", "backlog", "crash"], required=True)
    p.add_argument("--targets", type=int, required=True)
    p.add_argument("--channels", type=int, default=2000)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--workers", type=int, default=3, help="db worker processes")
    p.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    p.add_argument("--interval", type=float, default=0.2, help="db worker poll interval")
    p.add_argument("--lead", type=float, default=2.0, help="burst: seconds between release and due")
    p.add_argument("--stall", type=float, default=90.0, help="give up after this long without progress")
    p.add_argument("--log-dir", type=Path, required=True)
    return p.parse_args(argv)


def seed(args: argparse.Namespace) -> list[int]:
    from django.db import transaction

    from chorus.accounts.models import Organization, Workspace
    from chorus.channels.models import Channel
    from chorus.content.models import Post, PostTarget

    started = time.monotonic()
    with transaction.atomic():
        org = Organization.objects.create(name="Bench", slug="bench")
        # A backlog of 100,000 may take longer than the default 15-minute tolerance to drain; the
        # benchmark measures throughput, not the "held for a person" rule, so tolerance is a day.
        ws = Workspace.objects.create(
            organization=org, name="Bench", slug="bench", late_tolerance_minutes=1440
        )
        channels = Channel.objects.bulk_create(
            Channel(workspace=ws, kind="sink", name=f"sink {i}", config={"latency_ms": args.latency_ms})
            for i in range(args.channels)
        )
        n, c = args.targets, len(channels)
        posts = Post.objects.bulk_create(
            Post(workspace=ws, title=f"bench post {k}") for k in range(math.ceil(n / c))
        )
        PostTarget.objects.bulk_create(
            (
                PostTarget(
                    workspace=ws,
                    post=posts[i // c],
                    # Fewer targets than channels: spread them over all channels.
                    channel=channels[i % c if n >= c else i * c // n],
                    text=f"bench target {i}",
                    status=PostTarget.Status.SCHEDULED,
                    scheduled_at=FAR,
                    due_at=FAR,
                )
                for i in range(n)
            ),
            batch_size=2000,
        )
    ids = list(PostTarget.objects.order_by("id").values_list("id", flat=True))
    log(
        f"seeded {len(channels)} channels, {len(posts)} posts, {len(ids)} targets in {time.monotonic() - started:.1f}s"
    )
    return ids


def raw_floor(ids: list[int]) -> dict[str, Any]:
    """The floor: per target, two committed single-row UPDATEs one after the other (claim, then
    mark published), from one connection in autocommit, conditional like the engine's. The
    minimum durable bookkeeping of at-most-once publishing without batching."""
    from django.db import connection
    from django.utils import timezone

    from chorus.content.models import PostTarget

    uuid_field = PostTarget._meta.get_field("attempt_id")
    time_field = PostTarget._meta.get_field("claimed_at")
    table = connection.ops.quote_name(PostTarget._meta.db_table)
    claim_sql = (
        f"UPDATE {table} SET status = %s, phase = %s, attempt_id = %s, claimed_at = %s, updated_at = %s "
        "WHERE id = %s AND status = %s"
    )
    done_sql = (
        f"UPDATE {table} SET status = %s, phase = %s, published_at = %s, updated_at = %s "
        "WHERE id = %s AND status = %s AND attempt_id = %s"
    )
    connection.ensure_connection()
    assert connection.get_autocommit()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for target_id in ids:
            attempt = uuid_field.get_db_prep_value(uuid.uuid4(), connection)
            now = time_field.get_db_prep_value(timezone.now(), connection)
            cursor.execute(claim_sql, ["publishing", "claimed", attempt, now, now, target_id, "scheduled"])
            assert cursor.rowcount == 1
            now = time_field.get_db_prep_value(timezone.now(), connection)
            cursor.execute(done_sql, ["published", "", now, now, target_id, "publishing", attempt])
            assert cursor.rowcount == 1
    elapsed = time.perf_counter() - started
    # Back to parked, so the engine publishes the very same rows.
    PostTarget.objects.all().update(
        status="scheduled", phase="", attempt_id=None, claimed_at=None, published_at=None
    )
    per_s = len(ids) / elapsed
    log(f"raw floor: {len(ids)} targets in {elapsed:.2f}s = {per_s:.0f}/s")
    return {"raw_db_per_s": round(per_s, 1), "raw_s": round(elapsed, 2)}


def start_roles(args: argparse.Namespace) -> list[Role]:
    env = dict(os.environ)
    roles = [start_role("scheduler", ["scheduler"], env, args.log_dir, READY_MARKERS["scheduler"])]
    markers = {"scheduler": READY_MARKERS["scheduler"]}
    if args.engine == "db":
        for k in range(args.workers):
            name = f"worker-{k}"
            roles.append(
                start_role(name, ["worker", "--interval", str(args.interval)], env, args.log_dir, "")
            )
            markers[name] = READY_MARKERS["worker:db"]
    else:
        roles.append(
            start_role("worker-0", ["worker", "--concurrency", str(args.concurrency)], env, args.log_dir, "")
        )
        markers["worker-0"] = READY_MARKERS["worker:celery"]
    wait_ready(roles, markers)
    return roles


def status_counts() -> dict[str, int]:
    from django.db.models import Count

    from chorus.content.models import PostTarget

    return dict(PostTarget.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def wait_done(args: argparse.Namespace, roles: list[Role]) -> str:
    """Polls until every target is published; returns "" or the reason it stopped waiting."""
    n = args.targets
    last, last_change = -1, time.monotonic()
    interval = 0.5 if args.load == "burst" else 1.0
    while True:
        counts = status_counts()
        done = counts.get("published", 0)
        if done >= n:
            return ""
        if counts.get("failed", 0) + done >= n:
            return f"{counts.get('failed', 0)} targets failed"
        for role in roles:
            if role.popen.poll() is not None:
                return f"chorus {role.name} exited with {role.popen.returncode}: {role.output()[-1500:]}"
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > args.stall:
            return f"timed out: no progress for {args.stall:.0f}s; statuses {counts}"
        time.sleep(interval)


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(values[-1], 3),
    }


def measure(args: argparse.Namespace, due: dt.datetime) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count, Max, Min
    from tests.sink.models import SinkPost, SinkRequest

    from chorus.content.models import PostTarget
    from chorus.core.models import AuditEvent

    n = args.targets
    first_accept: dict[int, dt.datetime] = {}
    per_target: Counter[int] = Counter()
    for target_id, created_at in SinkPost.objects.order_by("created_at").values_list(
        "target_id", "created_at"
    ):
        per_target[target_id] += 1
        first_accept.setdefault(target_id, created_at)
    duplicates = sum(k - 1 for k in per_target.values() if k > 1)
    counts = status_counts()
    published = counts.get("published", 0)
    lost = n - published
    lateness = [(at - due).total_seconds() for at in first_accept.values()]
    agg = PostTarget.objects.filter(status="published").aggregate(
        last=Max("published_at"), first=Min("published_at")
    )
    span = (agg["last"] - due).total_seconds() if agg["last"] else float("nan")
    # Where the time goes, per target: due -> claimed (scheduler), claimed -> sending (task queue
    # and worker pick-up), sending -> published (the sink call and recording the outcome).
    rows = list(
        PostTarget.objects.filter(status="published").values_list("claimed_at", "sending_at", "published_at")
    )
    result: dict[str, Any] = {
        "targets": n,
        "published": published,
        "duplicates": duplicates,
        "lost": lost,
        "sink_requests": SinkRequest.objects.count(),
        "statuses": counts,
        "throughput_per_s": round(published / span, 1) if span > 0 else None,
        "span_s": round(span, 2),
        "lateness_s": stats(lateness),
        "due_to_claim_s": stats([(c - due).total_seconds() for c, _s, _p in rows if c]),
        "claim_to_send_s": stats([(s - c).total_seconds() for c, s, _p in rows if c and s]),
        "send_to_published_s": stats([(p - s).total_seconds() for _c, s, p in rows if s and p]),
        "claim_transactions": PostTarget.objects.filter(status="published")
        .values("attempt_id")
        .distinct()
        .count(),
        "audit_rows": AuditEvent.objects.count(),
    }
    if args.engine == "db":
        from django_tasks_db.models import DBTaskResult

        tasks = list(
            DBTaskResult.objects.filter(task_path__endswith="publish_batch").values_list(
                "enqueued_at", "started_at", "finished_at"
            )
        )
        result["tasks"] = len(tasks)
        result["task_queue_wait_s"] = stats([(s - e).total_seconds() for e, s, _f in tasks if s])
        result["task_run_s"] = stats([(f - s).total_seconds() for _e, s, f in tasks if s and f])
        result["task_status"] = dict(
            DBTaskResult.objects.values_list("status").annotate(k=Count("id")).values_list("status", "k")
        )
    result["db"] = connection.vendor
    return result


def crash_one_worker(args: argparse.Namespace, roles: list[Role]) -> dict[str, Any]:
    """The crash load: once a worker process is sending, SIGKILL it. On the database shape that
    is one `chorus worker` (its whole process group), and a new one is started at once. On Celery
    it is the pool process that holds the sends (as the out-of-memory killer would), and Celery's
    main process forks its replacement at once; killing the main process instead would leave no
    worker at all until a restart (~15 s of Celery start on this machine), and every post would
    wait for it. Returns what the killed process held (the targets in flight) and when its
    replacement was ready; `measure_crash` reports the rest."""
    import signal

    from chorus.content.models import PostTarget
    from chorus.core.models import Heartbeat

    def sending_owner() -> str:
        return (
            PostTarget.objects.filter(status="publishing", phase="sending")
            .exclude(worker="")
            .values_list("worker", flat=True)
            .first()
            or ""
        )

    deadline = time.monotonic() + args.stall
    owner = ""
    while not owner and time.monotonic() < deadline:
        owner = sending_owner()
        time.sleep(0.02)
    if not owner:
        return {"crash_error": "no worker was ever seen sending"}
    pid = int(owner.rsplit(":", 1)[1])
    workers_before = set(Heartbeat.objects.filter(role="worker").values_list("process", flat=True))
    if args.engine == "celery":
        os.kill(pid, signal.SIGKILL)
        victim_name = f"celery pool process {pid}"
    else:
        victim = next((r for r in roles[1:] if r.popen.pid == pid), None) or next(
            r for r in roles[1:] if r.name.startswith("worker")
        )
        os.killpg(os.getpgid(victim.popen.pid), signal.SIGKILL)
        victim.popen.wait(timeout=10)
        victim_name = victim.name
    killed_at = time.monotonic()
    held = list(PostTarget.objects.filter(status="publishing", worker=owner).values_list("id", flat=True))
    log(f"killed {victim_name} (owner {owner}) holding {len(held)} targets")
    if args.engine == "db":
        roles.remove(victim)
        name = f"{victim.name}-restarted"
        argv, marker = ["worker", "--interval", str(args.interval)], READY_MARKERS["worker:db"]
        replacement = start_role(name, argv, dict(os.environ), args.log_dir, "")
        roles.append(replacement)
        wait_ready([replacement], {name: marker})
    else:
        # The replacement pool process beats as soon as it starts.
        while not Heartbeat.objects.filter(role="worker").exclude(process__in=workers_before).exists():
            if time.monotonic() - killed_at > args.stall:
                return {"crash_error": "Celery started no pool process after the kill"}
            time.sleep(0.05)
    from django.utils import timezone

    return {
        "in_flight": held,
        "restarted_at": timezone.now(),
        "restart_s": round(time.monotonic() - killed_at, 2),
    }


def measure_crash(crash: dict[str, Any], due: dt.datetime) -> dict[str, Any]:
    """Lateness of the posts that were not in flight on the killed worker, and how long after the
    restart the ones that were took to settle."""
    from django.db.models import Max
    from tests.sink.models import SinkPost

    from chorus.content.models import PostTarget

    if "crash_error" in crash:
        return {"error": crash["crash_error"]}
    held = set(crash["in_flight"])
    first: dict[int, dt.datetime] = {}
    for target_id, at in SinkPost.objects.order_by("created_at").values_list("target_id", "created_at"):
        first.setdefault(target_id, at)
    others = [(at - due).total_seconds() for t, at in first.items() if t not in held]
    settled = PostTarget.objects.filter(pk__in=held).aggregate(last=Max("updated_at"))["last"]
    return {
        "in_flight_at_kill": len(held),
        "restart_s": crash["restart_s"],
        "lateness_not_in_flight_s": stats(others),
        "in_flight_settled_after_restart_s": (
            round((settled - crash["restarted_at"]).total_seconds(), 2) if settled else None
        ),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from chorus.content.models import PostTarget

    load_before = round(os.getloadavg()[0], 2)  # other work on this machine skews numbers
    ids = seed(args)
    result: dict[str, Any] = {"engine": args.engine, "load": args.load, "latency_ms": args.latency_ms}
    if args.load == "backlog":
        result.update(raw_floor(ids))
    roles = start_roles(args)
    connection.close()  # the roles start with a quiet database; we reconnect below
    error = ""
    crash: dict[str, Any] | None = None
    try:
        now = timezone.now()
        if args.load in ("burst", "crash"):
            # Every target due in the same whole second, a couple of seconds from now: the
            # scheduler, already running, picks them up when they become due.
            due = now.replace(microsecond=0) + dt.timedelta(seconds=math.ceil(args.lead) + 1)
        else:
            due = now  # already due: a backlog
        with transaction.atomic():
            released = PostTarget.objects.filter(status="scheduled", due_at=FAR).update(
                scheduled_at=due, due_at=due
            )
        assert released == args.targets, released
        log(f"released {released} targets due at {due:%H:%M:%S.%f} (+{(due - now).total_seconds():.1f}s)")
        crash = crash_one_worker(args, roles) if args.load == "crash" else None
        error = wait_done(args, roles)
    finally:
        cpu = {role.name: round(group_cpu_seconds(role.popen.pid), 1) for role in roles}
        for role in roles:
            role.stop()
    result.update(measure(args, due))
    if crash is not None:
        result.update(measure_crash(crash, due))
    # CPU seconds each role used from its start (startup ~1-2 s each) to the end of the run.
    result["cpu_s"] = cpu
    result["cpu_ms_per_target"] = round(sum(cpu.values()) * 1000 / args.targets, 2)
    result["loadavg_1m"] = [load_before, round(os.getloadavg()[0], 2)]
    if error:
        result["error"] = error[:2000]
        log(f"ERROR: {error[:2000]}")
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
