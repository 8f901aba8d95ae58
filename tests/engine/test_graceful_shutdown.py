"""Graceful shutdown with real processes: SIGTERM to `chorus scheduler` ends its tick and exits 0;
SIGTERM to the main process of `chorus worker` in the middle of a slow batch finishes the calls already made and
returns the targets it had not started to the queue (db worker; Celery's warm shutdown finishes
the whole batch), and nothing is sent twice when the next worker takes over."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from django.conf import settings

from chorus.content.models import PostTarget
from tests.engine.test_publishing_engine import FAST_ENGINE, duplicates, seed, settled, statuses
from tests.engine_fixtures import wait_for
from tests.sink.models import SinkPost, SinkRequest

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
S = PostTarget.Status


def test_sigterm_mid_batch_finishes_calls_in_flight_and_returns_the_unstarted_targets(start_chorus):
    # One batch of 20 slow targets (3 s per call) on 8 threads: 8 calls start, 12 wait.
    ids = seed(20, 20, {"latency_ms": 3000})
    env = {**FAST_ENGINE, "CHORUS_PUBLISH_BATCH": "20", "CHORUS_PUBLISH_THREADS": "8"}
    worker = start_chorus("worker", env=env)
    scheduler = start_chorus("scheduler", env=env)
    wait_for(
        lambda: SinkRequest.objects.filter(target_id__in=ids).exists(), timeout=30, what="the first calls"
    )

    # Its tick ends, then it exits (a tick waiting on the database on a loaded machine can take
    # more than the default 10 s: what counts here is the clean exit, not its speed).
    assert scheduler.stop(grace=30) == 0, scheduler.output()
    assert "scheduler stopped" in scheduler.output()
    # SIGTERM to the main process only, as systemd's KillMode=mixed does (deploy/systemd): Celery's
    # pool processes must not get it, or they die mid-batch instead of finishing it.
    started = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    returncode = worker.popen.wait(timeout=60)
    stopped_in = time.monotonic() - started

    assert returncode == 0, worker.output()
    final = statuses(ids)
    assert not PostTarget.objects.filter(pk__in=ids, status__in=[S.PUBLISHING, S.UNKNOWN]).exists(), final
    published = final[S.PUBLISHED]
    assert published == SinkPost.objects.filter(target_id__in=ids).count()
    returned = PostTarget.objects.filter(pk__in=ids, status=S.SCHEDULED, error_code="returned")
    if settings.CHORUS_TASK_BACKEND == "celery":
        assert final == Counter({S.PUBLISHED: 20}), final  # warm shutdown: the batch finished
    else:
        assert 0 < published < 20, final
        assert returned.count() == 20 - published, final
        assert SinkRequest.objects.filter(target_id__in=ids).count() == published  # never started
        assert stopped_in < 10

    # The next worker publishes the returned targets, each exactly once.
    start_chorus("worker", env=env)
    start_chorus("scheduler", env=env)
    wait_for(lambda: settled(ids), timeout=60, interval=0.5, what=f"every target to settle: {statuses(ids)}")
    assert statuses(ids) == Counter({S.PUBLISHED: 20})
    assert duplicates() == 0
