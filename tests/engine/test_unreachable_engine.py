"""Issue 14 with real processes (`chorus scheduler` + `chorus worker`): a channel whose host
refuses connections holds its due posts as one group, probes one request at a time, and releases
them together when the host answers; nothing fails, nothing is published twice."""

from __future__ import annotations

import time

import pytest

from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from tests.engine.test_publishing_engine import FAST_ENGINE, duplicates, seed, statuses
from tests.engine_fixtures import wait_for
from tests.sink.models import SinkPost, SinkRequest

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]
S = PostTarget.Status
ENV = {**FAST_ENGINE, "CHORUS_RETRY_HORIZON_SECONDS": "600", "CHORUS_PROBE_MAX_SECONDS": "1"}


def test_an_unreachable_host_is_probed_one_request_at_a_time_then_released_together(start_chorus):
    ids = seed(40, 1, {"unreachable": True})
    channel = Channel.objects.get(targets__pk=ids[0])
    start_chorus("scheduler", env=ENV)
    start_chorus("worker", env=ENV)
    wait_for(
        lambda: PostTarget.objects.filter(pk__in=ids, hold_reason=PostTarget.Hold.UNREACHABLE).count() >= 39,
        timeout=30,
        what=f"the group held: {statuses(ids)}",
    )
    first_wave = SinkRequest.objects.filter(fault="unreachable").count()
    probes_then = AuditEvent.objects.filter(action="channel.probe", object_id=str(channel.pk)).count()
    window_start = time.monotonic()
    time.sleep(4)  # the host stays down: only probes reach it, one at a time
    # On a loaded machine (CI's 2 cores) the first probe can take longer than those 4 s.
    wait_for(
        lambda: AuditEvent.objects.filter(action="channel.probe", object_id=str(channel.pk)).exists(),
        timeout=30,
        what="a first probe",
    )
    window = time.monotonic() - window_start
    during = SinkRequest.objects.filter(fault="unreachable").count()
    probes = AuditEvent.objects.filter(action="channel.probe", object_id=str(channel.pk)).count()
    # One request per publish batch (40 targets: at most 2 batches), besides the probes already
    # sent by then (on PostgreSQL + Celery a probe can go out before the last of the group is
    # held; one may be in flight, its audit row not yet written).
    assert first_wave - probes_then <= 3, (first_wave, probes_then)
    assert during - first_wave <= probes + 1  # every later request was a probe (one may be in flight)
    assert 1 <= probes <= window / 0.05 + 1
    assert Channel.objects.get(pk=channel.pk).unreachable_since is not None
    assert PostTarget.objects.filter(pk__in=ids, status=S.FAILED).count() == 0

    Channel.objects.filter(pk=channel.pk).update(config={})  # the host answers again
    wait_for(
        lambda: statuses(ids)[S.PUBLISHED] == 40,
        timeout=30,
        interval=0.2,
        what=f"all published: {statuses(ids)}",
    )
    assert duplicates() == 0 and SinkPost.objects.filter(target_id__in=ids).count() == 40
    spread = (
        SinkPost.objects.filter(target_id__in=ids).order_by("created_at").values_list("created_at", flat=True)
    )
    assert (spread[39] - spread[0]).total_seconds() < 5  # released together, not one by one
    assert AuditEvent.objects.filter(action="channel.unreachable", object_id=str(channel.pk)).count() == 1
    assert AuditEvent.objects.filter(action="channel.reachable", object_id=str(channel.pk)).count() == 1
    print(f"first_wave={first_wave} requests_while_down={during} probes={probes}")
