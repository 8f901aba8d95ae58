"""The publishing engine with real processes: `chorus scheduler` and `chorus worker` on the
suite's shape (SQLite + database worker; PostgreSQL + Celery on Redis under `make test-scaled`).

Duplicates and losses are counted from the sink's own table: what the "network" accepted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import random
import signal
import time
from collections import Counter, defaultdict

import pytest
from django.db.models import Count
from django.utils import timezone

from chorus.accounts.models import Organization, Workspace
from chorus.channels.models import Channel
from chorus.content.models import Post, PostTarget
from chorus.core.models import AuditEvent
from tests.engine_fixtures import wait_for
from tests.sink.models import SinkPost, SinkRequest

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
S = PostTarget.Status

FAST_ENGINE = {
    "CHORUS_SCHEDULER_TICK_SECONDS": "0.2",
    "CHORUS_RECOVER_EVERY_SECONDS": "1",
    "CHORUS_RETRY_BASE_SECONDS": "0.1",
    "CHORUS_RETRY_MAX_SECONDS": "0.5",
    "CHORUS_WORKER_PING_SECONDS": "5",
}


def seed(n_targets: int, n_channels: int, config: dict, times: list[dt.datetime] | None = None) -> list[int]:
    """`n_targets` scheduled targets on `n_channels` sink channels, due now (or at `times`)."""
    org = Organization.objects.create(name="Engine", slug=f"engine-{random.randrange(10**9)}")
    workspace = Workspace.objects.create(organization=org, name="Engine", slug=org.slug)
    channels = Channel.objects.bulk_create(
        Channel(workspace=workspace, kind="sink", name=f"sink {i}", config=config) for i in range(n_channels)
    )
    post = Post.objects.create(workspace=workspace, title="load")
    now = timezone.now() - dt.timedelta(seconds=1)
    targets = PostTarget.objects.bulk_create(
        PostTarget(
            workspace=workspace,
            post=post,
            channel=channels[i % n_channels],
            text=f"post {i}",
            status=S.SCHEDULED,
            scheduled_at=times[i] if times else now,
            due_at=times[i] if times else now,
        )
        for i in range(n_targets)
    )
    return [t.pk for t in targets]


def settled(ids: list[int]) -> bool:
    return not PostTarget.objects.filter(pk__in=ids).exclude(status__in=[S.PUBLISHED, S.FAILED]).exists()


def duplicates() -> int:
    return SinkPost.objects.values("target_id").annotate(n=Count("id")).filter(n__gt=1).count()


def statuses(ids: list[int]) -> Counter[str]:
    return Counter(PostTarget.objects.filter(pk__in=ids).values_list("status", flat=True))


def sigkill_group(role) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(role.pid, signal.SIGKILL)
    role.popen.wait(timeout=10)


def test_sigkilled_workers_lose_nothing_and_publish_nothing_twice(start_chorus):
    ids = seed(1000, 50, {"latency_ms": 10})
    # Leases short enough for the test to recover quickly, long enough not to re-claim work that
    # is merely queued behind a restarting worker.
    env = {**FAST_ENGINE, "CHORUS_CLAIM_LEASE_SECONDS": "8", "CHORUS_SEND_LEASE_SECONDS": "3"}
    start_chorus("scheduler", env=env)
    worker = start_chorus("worker", env=env)
    rng = random.Random(1234)
    kills = 0
    # Kill the worker at random moments while the 1,000 targets publish, restart it each time.
    while kills < 6 and PostTarget.objects.filter(pk__in=ids, status=S.PUBLISHED).count() < 900:
        time.sleep(rng.uniform(0.3, 1.5))
        sigkill_group(worker)
        kills += 1
        worker = start_chorus("worker", env=env)
    assert kills >= 2, "the load finished before the worker could be killed twice; raise the load"
    wait_for(lambda: settled(ids), timeout=240, interval=0.5, what=f"every target to settle: {statuses(ids)}")
    final = statuses(ids)
    assert duplicates() == 0
    assert final == Counter({S.PUBLISHED: 1000}), final
    assert SinkPost.objects.filter(target_id__in=ids).count() == 1000
    # Every interruption was resolved through the documented paths, not by luck: report them.
    resumed = Counter(
        AuditEvent.objects.filter(
            object_id__in=[str(i) for i in ids], action__in=["target.unknown", "target.retry_scheduled"]
        ).values_list("action", flat=True)
    )
    print(f"kills={kills} resumed={dict(resumed)}")


def test_faults_at_30_percent_end_in_final_states_with_reasons(start_chorus):
    ids = seed(300, 30, {"fault_rate": 0.3, "retry_after": 1, "latency_ms": 2})
    start_chorus("scheduler", env=FAST_ENGINE)
    start_chorus("worker", env=FAST_ENGINE)
    wait_for(lambda: settled(ids), timeout=240, interval=0.5, what=f"every target to settle: {statuses(ids)}")
    assert duplicates() == 0
    for target in PostTarget.objects.filter(pk__in=ids, status=S.FAILED):
        assert target.error_message and target.error_code, f"target {target.pk} failed without a reason"
    requests: dict[int, list[SinkRequest]] = defaultdict(list)
    for request in SinkRequest.objects.filter(target_id__in=ids).order_by("at", "pk"):
        requests[request.target_id].append(request)
    faults = Counter(r.fault for rs in requests.values() for r in rs)
    assert all(faults[f] > 0 for f in ("429", "500", "timeout_before", "timeout_after")), faults
    for target_id, seen in requests.items():
        for earlier, later in itertools.pairwise(seen):
            if earlier.fault == "429":
                # Retry-After: 1 honoured (the sink stamps requests before its own latency).
                assert (later.at - earlier.at).total_seconds() >= 0.95, (target_id, earlier.at, later.at)
            assert earlier.fault != "timeout_after", (
                f"target {target_id} was sent again after a timeout after sending"
            )
        if seen[-1].fault == "timeout_after":
            # Settled by reading back, not by resending: published with the sink's one post.
            assert PostTarget.objects.get(pk=target_id).status == S.PUBLISHED
            assert SinkPost.objects.filter(target_id=target_id).count() == 1
    published = PostTarget.objects.filter(pk__in=ids, status=S.PUBLISHED).count()
    assert published == SinkPost.objects.filter(target_id__in=ids).count()
    print(f"faults={dict(faults)} final={dict(statuses(ids))}")


def test_two_schedulers_and_two_workers_never_claim_a_target_twice(start_chorus):
    ids = seed(1000, 100, {"latency_ms": 5})
    for _ in range(2):
        start_chorus("scheduler", env=FAST_ENGINE)
    for _ in range(2):
        start_chorus("worker", env=FAST_ENGINE)
    wait_for(lambda: settled(ids), timeout=240, interval=0.5, what=f"every target to settle: {statuses(ids)}")
    assert statuses(ids) == Counter({S.PUBLISHED: 1000})
    claims = Counter(
        AuditEvent.objects.filter(action="target.claimed", object_id__in=[str(i) for i in ids]).values_list(
            "object_id", flat=True
        )
    )
    assert len(claims) == 1000 and set(claims.values()) == {1}, claims.most_common(3)
    assert duplicates() == 0
