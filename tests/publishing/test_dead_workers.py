"""A worker whose heartbeat died releases the targets it owned at once (issue 14, item 2): the
unsent ones are queued again, the ones it was sending are read back, and neither keeps a slot of
the network's concurrency cap. The real-process version is tests/engine/test_crash_recovery.py."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from chorus.content.models import PostTarget
from chorus.core import beats, liveness
from chorus.core.models import Heartbeat
from chorus.publishing import actions, dispatch, engine, reconcile
from tests.publishing.conftest import make_target
from tests.sink.connector import SinkConnector
from tests.sink.models import SinkPost, SinkRequest

S = PostTarget.Status


def beat(process: str, seconds_ago: float) -> None:
    Heartbeat.objects.create(
        name=f"worker@{process}",
        role="worker",
        process=process,
        beat_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
    )


def test_a_dead_workers_targets_leave_publishing_and_free_the_cap(cast, sink_channel, settings, monkeypatch):
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    monkeypatch.setattr(SinkConnector, "max_concurrency", 3)
    beat("host:1", seconds_ago=60)  # dead
    beat("host:2", seconds_ago=1)  # alive
    now = timezone.now()
    unsent, sending, alive = (make_target(cast, sink_channel, when=now) for _ in range(3))
    attempt_id, ids = dispatch.claim_due()
    assert sorted(ids) == sorted([unsent.pk, sending.pk, alive.pk])
    actions.take_batch([unsent.pk, sending.pk], attempt_id, "host:1")
    actions.take_batch([alive.pk], attempt_id, "host:2")
    assert actions.begin_sending_many([sending.pk, alive.pk], attempt_id) == {sending.pk, alive.pk}
    # The cap of 3 is full: a fourth due post waits.
    waiting = make_target(cast, sink_channel, when=now)
    assert dispatch.claim_due()[1] == []

    assert reconcile.release_dead_workers() == {"requeued": 1, "unknown": 1}
    statuses = dict(PostTarget.objects.values_list("pk", "status"))
    assert statuses[unsent.pk] == S.SCHEDULED
    assert statuses[sending.pk] == S.UNKNOWN
    assert statuses[alive.pk] == S.PUBLISHING  # its worker beats: untouched
    # Two slots are free again: the waiting post and the requeued one are claimed now.
    assert sorted(dispatch.claim_due()[1]) == sorted([unsent.pk, waiting.pk])
    # The interrupted send is read back: not on the network, so it is sent again (never blindly).
    assert reconcile.reconcile_one(sending.pk) == "retry"
    assert PostTarget.objects.get(pk=sending.pk).status == S.SCHEDULED
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 0}


def test_an_interrupted_send_the_network_has_is_settled_as_published(cast, sink_channel, settings):
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    beat("host:1", seconds_ago=60)
    target = make_target(cast, sink_channel, when=timezone.now())
    attempt_id, _ids = dispatch.claim_due()
    actions.take_batch([target.pk], attempt_id, "host:1")
    actions.begin_sending(target.pk, attempt_id)
    SinkPost.objects.create(
        channel_id=sink_channel.pk,
        marker=SinkConnector.idempotency_key(target),
        target_id=target.pk,
        text=target.text,
        created_at=timezone.now(),
    )  # the dead worker's request reached the network
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 1}
    assert reconcile.reconcile_one(target.pk) == "published"
    assert SinkPost.objects.filter(target_id=target.pk).count() == 1


def test_a_worker_that_never_beat_or_beats_now_is_not_dead(cast, sink_channel, settings):
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    beat("host:2", seconds_ago=5)
    first, second = (make_target(cast, sink_channel, when=timezone.now()) for _ in range(2))
    attempt_id, _ids = dispatch.claim_due()
    actions.take_batch([first.pk], attempt_id, "host:2")
    actions.take_batch([second.pk], attempt_id, "host:never-beat")
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 0}
    assert set(PostTarget.objects.values_list("status", flat=True)) == {S.PUBLISHING}


def test_the_publish_task_records_its_worker(due_target):
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(due_target.pk, attempt_id) == "published"
    assert PostTarget.objects.get(pk=due_target.pk).worker == Heartbeat.this_process()


def test_a_worker_whose_own_beats_failed_starts_no_call(due_target, settings, monkeypatch):
    """It may already be declared dead and its sends released: a call it started now could
    duplicate the resend. The target goes back to the queue unsent."""
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    monkeypatch.setattr(beats, "_last_beat", time.monotonic() - 11)
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(due_target.pk, attempt_id) == "returned"
    assert SinkRequest.objects.count() == 0
    assert PostTarget.objects.get(pk=due_target.pk).status == S.SCHEDULED
    monkeypatch.setattr(beats, "_last_beat", time.monotonic() - 9)  # within half the dead time
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(due_target.pk, attempt_id) == "published"


def test_a_dead_time_shorter_than_three_beats_is_refused(settings):
    from chorus.core.checks import check_worker_beats

    settings.CHORUS_WORKER_BEAT_SECONDS, settings.CHORUS_WORKER_DEAD_SECONDS = 5, 20
    assert check_worker_beats() == []
    settings.CHORUS_WORKER_DEAD_SECONDS = 12
    assert [e.id for e in check_worker_beats()] == ["chorus.E040"]


def test_a_worker_killed_on_this_machine_is_dead_at_once_from_a_fresh_beat(cast, sink_channel, settings):
    """Its last beat is a second old, but the kernel says the process is gone: its targets are
    released at the next check, not after CHORUS_WORKER_DEAD_SECONDS."""
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stamp = {**liveness.stamp(), "started": liveness._start_and_state(child.pid)[0]}  # type: ignore[index]
    process = f"{socket.gethostname()}:{child.pid}"
    Heartbeat.objects.create(
        name=f"worker@{process}", role="worker", process=process, beat_at=timezone.now(), detail=stamp
    )
    target = make_target(cast, sink_channel, when=timezone.now())
    attempt_id, _ids = dispatch.claim_due()
    actions.take_batch([target.pk], attempt_id, process)
    actions.begin_sending(target.pk, attempt_id)
    assert reconcile.dead_workers() == []  # running: alive
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 0}
    child.kill()
    child.wait()
    assert reconcile.dead_workers() == [process]
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 1}


def test_only_a_certain_death_counts(db):
    """Another machine, another PID namespace, a reused PID, a beat without a stamp."""
    me = f"{socket.gethostname()}:{os.getpid()}"
    stamp = liveness.stamp()
    assert stamp and set(stamp) == {"boot", "pidns", "started"}
    assert not liveness.gone(me, stamp)
    assert liveness.gone(me, {**stamp, "started": "1"})  # the PID now belongs to another process
    assert not liveness.gone(me, {**stamp, "boot": "another-machine"})
    assert not liveness.gone(me, {**stamp, "pidns": "pid:[1]"})
    assert not liveness.gone(me, {})
    assert not liveness.gone("host:not-a-pid", stamp)
    # A process's own beats carry its stamp (the ping task's too, which adds its own detail).
    Heartbeat.beat("worker", process=Heartbeat.this_process(), via="task")
    assert Heartbeat.objects.get(name=f"worker@{me}").detail == {**stamp, "via": "task"}


def test_publishing_outranks_the_rest_of_a_workers_queue(db):
    """A database worker runs one task at a time, the first of its query's order: due posts
    first, a dead worker's read-backs next, then metrics reads and the rest, whatever the order
    they were queued in."""
    from django_tasks_db.models import DBTaskResult

    from chorus.analytics.tasks import collect_post_metrics
    from chorus.publishing.tasks import enqueue_publish, enqueue_reconcile

    collect_post_metrics.enqueue(1)
    enqueue_reconcile([2])
    enqueue_publish([3], "00000000-0000-0000-0000-000000000000")
    collect_post_metrics.enqueue(4)
    assert [
        path.rsplit(".", 1)[1] for path in DBTaskResult.objects.ready().values_list("task_path", flat=True)
    ] == [
        "publish_batch",
        "reconcile_batch",
        "collect_post_metrics",
        "collect_post_metrics",
    ]


@pytest.mark.django_db(transaction=True)  # the pool's threads see committed rows only
def test_read_backs_on_the_call_pool_settle_each_target(cast, sink_channel, settings):
    """Read-backs run on the call pool; each settles its own target."""
    settings.CHORUS_WORKER_DEAD_SECONDS = 20
    beat("host:1", seconds_ago=60)
    targets = [make_target(cast, sink_channel, when=timezone.now()) for _ in range(3)]
    attempt_id, _ids = dispatch.claim_due()
    actions.take_batch([t.pk for t in targets], attempt_id, "host:1")
    actions.begin_sending_many([t.pk for t in targets], attempt_id)
    SinkPost.objects.create(
        channel_id=sink_channel.pk,
        marker=SinkConnector.idempotency_key(targets[0]),
        target_id=targets[0].pk,
        text=targets[0].text,
        created_at=timezone.now(),
    )
    assert reconcile.release_dead_workers() == {"requeued": 0, "unknown": 3}
    outcomes = reconcile.reconcile_many([t.pk for t in targets], threads=3)
    assert outcomes == ["published", "retry", "retry"]
