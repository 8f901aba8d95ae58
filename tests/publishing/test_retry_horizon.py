"""Issue 14, item 1: a retry horizon instead of a retry count, and an unreachable host handled as
one group — one banner, one probe at a time, released together. In process, real database; the
sink's `unreachable` config refuses every request like a host that is down."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.formats import time_format

from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.publishing import actions, dispatch, engine, unreachable
from tests.conftest import Cast
from tests.publishing.conftest import make_target
from tests.sink.models import SinkPost, SinkRequest

S = PostTarget.Status
H = PostTarget.Hold
HOST = "sink.invalid:4430"


def claim_and_publish() -> dict[int, str]:
    attempt_id, ids = dispatch.claim_due()
    return {pk: str(o) for pk, o in engine.publish_many(engine.load(ids), attempt_id).items()}


def set_down(channel: Channel, down: bool) -> None:
    Channel.objects.filter(pk=channel.pk).update(config={"unreachable": down})


def requests() -> int:
    return SinkRequest.objects.filter(fault="unreachable").count()


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_is_capped_exponential_with_jitter_within_bounds(settings, attempt):
    settings.CHORUS_RETRY_BASE_SECONDS = 5
    settings.CHORUS_RETRY_MAX_SECONDS = 900
    ceiling = min(900, 5 * 2**attempt)
    draws = [actions.backoff_delay(attempt) for _ in range(300)]
    assert all(ceiling / 2 <= d <= ceiling for d in draws)
    assert max(draws) - min(draws) > ceiling / 10  # jitter: retries that failed together spread out
    assert all(d <= 7 for d in (actions.backoff_delay(attempt, cap=7) for _ in range(50)))


def test_the_default_horizon_is_the_workspace_tolerance(cast: Cast, sink_channel, settings):
    settings.CHORUS_RETRY_HORIZON_SECONDS = None
    cast.workspace.late_tolerance_minutes = 40
    cast.workspace.save()
    target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
    assert actions.retry_deadline(target) == target.scheduled_at + dt.timedelta(minutes=40)
    settings.CHORUS_RETRY_HORIZON_SECONDS = 600
    assert actions.retry_deadline(target) == target.scheduled_at + dt.timedelta(minutes=10)


def test_try_again_keeps_the_original_scheduled_time(cast: Cast, sink_channel):
    Channel.objects.filter(pk=sink_channel.pk).update(config={"reject_words": ["nope"]})
    target = make_target(cast, sink_channel, text="nope", when=timezone.now() - dt.timedelta(seconds=1))
    original = target.scheduled_at
    assert claim_and_publish() == {target.pk: "failed"}
    # Hours later, a person fixes the channel and tries again.
    earlier = original - dt.timedelta(hours=3)
    PostTarget.objects.filter(pk=target.pk).update(scheduled_at=earlier)
    Channel.objects.filter(pk=sink_channel.pk).update(config={})
    target.refresh_from_db()
    actions.retry_failed(target, actor=cast.owner)
    target.refresh_from_db()
    assert target.status == S.SCHEDULED and target.scheduled_at == earlier
    assert target.due_at is not None and target.due_at >= timezone.now() - dt.timedelta(seconds=5)
    # Not held as "missed" for being three hours after its time: a person asked for it now.
    assert claim_and_publish() == {target.pk: "published"}
    target.refresh_from_db()
    assert target.scheduled_at == earlier


def test_an_unreachable_host_pauses_the_channel_posts_as_one_group_with_one_banner(
    cast: Cast, sink_channel, owner_client: Client, settings
):
    settings.CHORUS_RETRY_HORIZON_SECONDS = 3600
    set_down(sink_channel, True)
    first = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=2))
    assert claim_and_publish() == {first.pk: "unreachable"}
    first.refresh_from_db()
    assert first.status == S.SCHEDULED and first.hold_reason == H.UNREACHABLE
    assert HOST in first.error_text
    # Nine more fall due: the claim holds them with the group, none is sent to the host.
    later = [make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1)) for _ in range(9)]
    assert claim_and_publish() == {}
    assert requests() == 1
    assert set(
        PostTarget.objects.filter(pk__in=[t.pk for t in later]).values_list("status", "hold_reason")
    ) == {(S.SCHEDULED, H.UNREACHABLE)}
    channel = Channel.objects.get(pk=sink_channel.pk)
    assert channel.unreachable_host == HOST and channel.unreachable_since is not None
    page = owner_client.get(f"/w/{cast.workspace.slug}/posts/").content.decode()
    banners = re.findall(r'data-testid="unreachable-banner">([^<]*)<', page)
    zone = zoneinfo.ZoneInfo(cast.workspace.timezone)  # the workspace's time, not the server's
    since = time_format(timezone.localtime(channel.unreachable_since, zone), "TIME_FORMAT")
    assert banners == [
        f"Local sink (tests) at {HOST} unreachable since {since}, 10 posts waiting. "
        "They go out together as soon as it answers."
    ]
    assert AuditEvent.objects.filter(action="channel.unreachable").count() == 1


def test_one_probe_at_a_time_then_the_group_is_released_together(cast: Cast, sink_channel, settings):
    settings.CHORUS_RETRY_HORIZON_SECONDS = 3600
    settings.CHORUS_RETRY_BASE_SECONDS = 30
    settings.CHORUS_PROBE_MAX_SECONDS = 60
    set_down(sink_channel, True)
    targets = [
        make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1)) for _ in range(10)
    ]
    times = {t.pk: t.scheduled_at for t in targets}
    attempt_id, ids = dispatch.claim_due(limit=1)  # the first post meets the outage
    engine.publish_many(engine.load(ids), attempt_id)
    assert claim_and_publish() == {}  # the others wait with it
    assert unreachable.probe_due() == 0  # the first probe waits its backoff (15–30 s)
    soon = timezone.now() + dt.timedelta(seconds=31)
    assert unreachable.probe_due(soon) == 1
    assert unreachable.probe_due(soon + dt.timedelta(minutes=5)) == 0  # the probe is in flight
    outcomes = claim_and_publish()
    assert list(outcomes.values()) == ["unreachable"]  # one request, not ten
    assert requests() == 2
    channel = Channel.objects.get(pk=sink_channel.pk)
    assert channel.unreachable_probe_at is not None
    wait = (channel.unreachable_probe_at - soon).total_seconds()
    assert 30 <= wait <= 60  # the next probe backs off (capped at CHORUS_PROBE_MAX_SECONDS)
    assert unreachable.probe_due(soon + dt.timedelta(seconds=10)) == 0
    # The host answers again: the next probe is published and the group goes out together.
    set_down(sink_channel, False)
    assert unreachable.probe_due(soon + dt.timedelta(seconds=61)) == 1
    assert list(claim_and_publish().values()) == ["published"]
    channel.refresh_from_db()
    assert channel.unreachable_since is None
    released = claim_and_publish()
    assert len(released) == 9 and set(released.values()) == {"published"}
    assert SinkPost.objects.count() == 10 and requests() == 2
    for target in PostTarget.objects.filter(pk__in=times):
        assert target.status == S.PUBLISHED and target.scheduled_at == times[target.pk]
    assert AuditEvent.objects.filter(action="channel.probe").count() == 2
    assert AuditEvent.objects.filter(action="channel.reachable").count() == 1
    assert AuditEvent.objects.filter(action="target.released").count() == 2 + 9


def test_posts_still_waiting_past_the_horizon_are_held_for_a_person_naming_the_host(
    cast: Cast, sink_channel, settings
):
    settings.CHORUS_RETRY_HORIZON_SECONDS = 600
    set_down(sink_channel, True)
    target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
    assert claim_and_publish() == {target.pk: "unreachable"}
    PostTarget.objects.filter(pk=target.pk).update(scheduled_at=timezone.now() - dt.timedelta(minutes=11))
    unreachable.probe_due()
    target.refresh_from_db()
    assert target.status == S.SCHEDULED and target.hold_reason == H.RETRY_HORIZON
    assert target.error_text.startswith(f"Local sink (tests) at {HOST} did not answer within 10 minutes")
    # Nothing waits any more: the channel's mark (and its banner) goes; a new post tries afresh.
    unreachable.probe_due()
    assert Channel.objects.get(pk=sink_channel.pk).unreachable_since is None


def test_a_failure_after_the_horizon_holds_an_unreachable_post_for_a_person(
    cast: Cast, sink_channel, settings
):
    settings.CHORUS_RETRY_HORIZON_SECONDS = 60
    set_down(sink_channel, True)
    target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=61))
    PostTarget.objects.filter(pk=target.pk).update(attempts=1)  # a retry (not a first try, missed)
    assert claim_and_publish() == {target.pk: "held"}
    target.refresh_from_db()
    assert target.hold_reason == H.RETRY_HORIZON and target.status == S.SCHEDULED
    assert HOST in target.error_text


def test_a_batch_asks_a_host_that_refused_once_only(cast: Cast, sink_channel, settings):
    settings.CHORUS_RETRY_HORIZON_SECONDS = 3600
    set_down(sink_channel, True)
    targets = [
        make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1)) for _ in range(5)
    ]
    outcomes = claim_and_publish()
    assert outcomes == {t.pk: "unreachable" for t in targets}
    assert requests() == 1  # the other four were not sent to a host that had just refused
    assert set(PostTarget.objects.values_list("hold_reason", flat=True)) == {H.UNREACHABLE}


def test_the_banner_and_the_reason_read_in_french(cast: Cast, sink_channel, owner_client: Client, settings):
    from django.utils import translation

    settings.CHORUS_RETRY_HORIZON_SECONDS = 3600
    set_down(sink_channel, True)
    targets = [
        make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1)) for _ in range(3)
    ]
    claim_and_publish()
    type(cast.owner).objects.filter(pk=cast.owner.pk).update(language="fr")
    page = owner_client.get(f"/w/{cast.workspace.slug}/posts/").content.decode()
    banners = re.findall(r'data-testid="unreachable-banner">([^<]*)<', page)
    assert len(banners) == 1
    assert f"Local sink (tests) sur {HOST} injoignable depuis" in banners[0]
    assert banners[0].endswith("3 publications en attente. Elles partiront ensemble dès qu’il répondra.")
    with translation.override("fr"):
        reason = PostTarget.objects.get(pk=targets[0].pk).error_text
    assert reason.startswith(f"Local sink (tests) sur {HOST} ne répond pas")
