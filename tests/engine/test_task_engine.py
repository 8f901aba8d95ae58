"""The task engine with real worker processes, on both shapes: the django-tasks-db worker on
SQLite (`make test`) and a Celery worker on PostgreSQL + Redis (`make test-scaled`)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
from pathlib import Path

import pytest
from django.conf import settings
from django.tasks import TaskResultStatus
from django.utils import timezone

from chorus.core import health, scheduler
from chorus.core.models import Heartbeat
from chorus.core.tasks import probe, worker_heartbeat
from tests.engine_fixtures import Role, StartRole, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def _beat(name: str, timeout: float = 20) -> Heartbeat:
    return wait_for(
        lambda: Heartbeat.objects.filter(name=name).first(), timeout=timeout, what=f"heartbeat {name!r}"
    )


def _task_beat(timeout: float = 20) -> Heartbeat:
    """The worker beat written by the worker_heartbeat task (not by a worker's beat thread)."""
    return wait_for(
        lambda: Heartbeat.objects.filter(role="worker", detail__via="task").first(),
        timeout=timeout,
        what="a worker beat from the worker_heartbeat task",
    )


def _processes(role: str) -> dict[str, Heartbeat]:
    return {hb.process: hb for hb in Heartbeat.objects.filter(role=role)}


def _finished(result, timeout: float = 20):  # type: ignore[no-untyped-def]
    def done():  # type: ignore[no-untyped-def]
        result.refresh()
        return result.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)

    wait_for(done, timeout=timeout, what=f"task {result.id} to finish")
    return result


def test_it_runs_an_enqueued_worker_heartbeat_in_the_worker_process(task_worker: Role):
    assert not Heartbeat.objects.filter(role="worker", detail__via="task").exists()

    result = worker_heartbeat.enqueue()

    beat = _task_beat()
    assert beat.detail["pid"] != os.getpid()
    assert (
        beat.process == f"{socket.gethostname()}:{beat.detail['pid']}"
    )  # run by the worker, not in the test process
    assert _finished(result).status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "ok"
    # The stored result names its task (Celery needs result_extended for this).
    fetched = worker_heartbeat.get_result(result.id)
    assert fetched.task.module_path == "chorus.core.tasks.worker_heartbeat"
    assert fetched.status == TaskResultStatus.SUCCESSFUL


def test_it_consumes_all_four_chorus_queues(task_worker: Role):
    assert settings.TASK_QUEUES == ["default", "publishing", "metrics", "listening"]

    results = {queue: probe.using(queue_name=queue).enqueue(queue) for queue in settings.TASK_QUEUES}

    for queue, result in results.items():
        assert _beat(f"probe:{queue}").detail["pid"] != os.getpid()
        assert _finished(result).return_value == queue


def test_it_leaves_tasks_of_other_queues_to_other_workers(start_chorus: StartRole):
    start_chorus("worker", "--queues", "metrics")

    elsewhere = probe.enqueue("default-queue")  # "default": not consumed by this worker
    mine = probe.using(queue_name="metrics").enqueue("metrics-queue")

    _beat("probe:metrics-queue")
    assert _finished(mine).status == TaskResultStatus.SUCCESSFUL
    elsewhere.refresh()
    assert elsewhere.status == TaskResultStatus.READY
    assert not Heartbeat.objects.filter(name="probe:default-queue").exists()


def test_it_records_a_failed_task_with_its_exception(task_worker: Role):
    result = probe.enqueue("doomed", fail=True)

    assert _finished(result).status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in result.errors] == ["builtins.RuntimeError"]
    assert "failed on purpose" in result.errors[0].traceback
    assert not Heartbeat.objects.filter(name="probe:doomed").exists()
    # The worker survives a failing task and runs the next one.
    assert _finished(probe.enqueue("after")).status == TaskResultStatus.SUCCESSFUL


def test_it_holds_a_delayed_task_until_its_start_time(task_worker: Role):
    run_after = timezone.now() + dt.timedelta(seconds=5)
    delayed = probe.using(run_after=run_after).enqueue("delayed")
    probe.enqueue("now")

    _beat("probe:now")
    if timezone.now() < run_after - dt.timedelta(seconds=1):
        assert not Heartbeat.objects.filter(name="probe:delayed").exists()
    assert _beat("probe:delayed", timeout=30).beat_at >= run_after
    assert _finished(delayed).status == TaskResultStatus.SUCCESSFUL


def test_it_runs_the_worker_ping_that_a_scheduler_tick_enqueues(task_worker: Role):
    # A monotonic time far ahead: every job is due, whatever earlier tests ran in this process.
    scheduler.run_once(now=10.0**9)

    assert Heartbeat.objects.filter(role="scheduler", process=Heartbeat.this_process()).exists()
    assert _task_beat().detail["pid"] != os.getpid()
    assert health.check().ok


def test_it_keeps_the_worker_beating_from_a_scheduler_process(start_chorus: StartRole):
    fast = {"CHORUS_WORKER_PING_SECONDS": "1", "CHORUS_SCHEDULER_TICK_SECONDS": "0.2"}
    start_chorus("worker", env=fast)
    sched = start_chorus("scheduler", env=fast)

    first_worker_beat = _task_beat().beat_at
    first_scheduler_beat = _beat(f"scheduler@{socket.gethostname()}:{sched.pid}").beat_at

    # Both keep beating: the scheduler every tick, the worker each time it runs the ping.
    wait_for(
        lambda: Heartbeat.objects.filter(
            role="worker", detail__via="task", beat_at__gt=first_worker_beat
        ).exists(),
        what="a second worker beat",
    )
    assert (
        Heartbeat.objects.get(name=f"scheduler@{socket.gethostname()}:{sched.pid}").beat_at
        > first_scheduler_beat
    )
    status = health.check()
    assert status.ok, status.as_json()


def _worker_processes_of(worker: Role) -> set[str]:
    """The "host:pid" identities a `chorus worker` beats as: itself (db worker) or each of its
    Celery pool processes (children of the exec'd `celery worker`, same pid as the Popen)."""
    host = socket.gethostname()
    if settings.CHORUS_TASK_BACKEND != "celery":
        return {f"{host}:{worker.pid}"}
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return {f"{host}:{pid}" for pid in children}


def test_it_lists_every_worker_process_with_its_own_beat(start_chorus: StartRole):
    fast = {"CHORUS_WORKER_PING_SECONDS": "1"}
    first = start_chorus("worker", env=fast)
    second = start_chorus("worker", env=fast)
    expected = wait_for(
        lambda: (
            (ids := _worker_processes_of(first) | _worker_processes_of(second))
            and len(ids) == (2 if settings.CHORUS_TASK_BACKEND != "celery" else 4)
            and ids
        ),
        what="every worker process to be up",
    )

    # Each process beats from its own thread, without any task being enqueued.
    wait_for(lambda: expected <= set(_processes("worker")), what=f"beats from {expected}")
    listed = {p["process"] for p in health.check().as_json()["heartbeats"]["worker"]["processes"]}
    assert expected <= listed


def test_it_shows_a_dead_one_of_two_schedulers_as_stale_while_the_role_stays_healthy(
    start_chorus: StartRole, settings
):
    settings.CHORUS_HEARTBEAT_STALE_SECONDS = 2
    fast = {"CHORUS_SCHEDULER_TICK_SECONDS": "0.2", "CHORUS_WORKER_PING_SECONDS": "1"}
    start_chorus("worker", env=fast)
    alive = start_chorus("scheduler", env=fast)
    doomed = start_chorus("scheduler", env=fast)
    host = socket.gethostname()
    wait_for(
        lambda: {f"{host}:{alive.pid}", f"{host}:{doomed.pid}"} <= set(_processes("scheduler")),
        what="both schedulers to beat",
    )

    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.popen.wait(timeout=5)

    def dead_stale_while_alive_fresh():  # type: ignore[no-untyped-def]
        # One snapshot must show both: the killed one stale and the live one fresh. On a loaded
        # machine the live scheduler can miss one 2 s window, so the test waits for a snapshot
        # where it has beaten again rather than judging the first one where the dead one is stale.
        body = health.check().as_json()
        procs = {p["process"]: p for p in body["heartbeats"]["scheduler"]["processes"]}
        dead, live = procs[f"{host}:{doomed.pid}"], procs.get(f"{host}:{alive.pid}")
        return body if not dead["ok"] and live and live["ok"] and body["ok"] else None

    body = wait_for(
        dead_stale_while_alive_fresh,
        timeout=30,
        what="the killed scheduler to show as stale while the live one and the role stay healthy",
    )
    scheduler_role = body["heartbeats"]["scheduler"]
    procs = {p["process"]: p for p in scheduler_role["processes"]}
    assert procs[f"{host}:{doomed.pid}"]["age_seconds"] >= 2
    assert procs[f"{host}:{doomed.pid}"]["ok"] is False
    assert procs[f"{host}:{alive.pid}"]["ok"] is True
    assert scheduler_role["ok"] is True


def test_it_stops_the_worker_gracefully_on_sigterm(task_worker: Role):
    assert _finished(probe.enqueue("before-stop")).status == TaskResultStatus.SUCCESSFUL

    returncode = task_worker.stop()

    assert returncode == 0, task_worker.output()
    assert task_worker.stopped_in is not None and task_worker.stopped_in < 10
