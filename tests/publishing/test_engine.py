"""The publish path, in process: every outcome of the error hierarchy lands where DESIGN.md says."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.connectors.base import AuthExpired, ContentRejected, Quota, ReauthRequired
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent, Notification
from chorus.publishing import actions, dispatch, engine, reconcile
from tests.publishing.conftest import make_target
from tests.sink.connector import SinkConnector
from tests.sink.models import SinkPost, SinkRequest

S = PostTarget.Status


def claim_and_publish(target: PostTarget) -> str:
    attempt_id, ids = dispatch.claim_due()
    assert target.pk in ids
    return engine.publish_one(target.pk, attempt_id)


def fault(channel: Channel, kind: str, **extra) -> None:
    channel.config = {"fault_rate": 1.0, "faults": [kind], **extra}
    channel.save()


def test_it_publishes_a_due_target_once_and_records_the_link(due_target):
    assert claim_and_publish(due_target) == "published"
    due_target.refresh_from_db()
    assert due_target.status == S.PUBLISHED
    assert due_target.external_url.startswith("http://sink.invalid/p/")
    assert SinkPost.objects.filter(target_id=due_target.pk).count() == 1
    actions_logged = list(
        AuditEvent.objects.filter(object_id=str(due_target.pk), object_type="content.posttarget").values_list(
            "action", flat=True
        )
    )
    assert actions_logged == ["target.scheduled", "target.claimed", "target.published"]


def test_a_duplicate_task_delivery_does_nothing(due_target):
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(due_target.pk, attempt_id) == "published"
    assert engine.publish_one(due_target.pk, attempt_id) == "stale"
    assert engine.publish_one(due_target.pk, uuid.uuid4()) == "stale"
    assert SinkPost.objects.count() == 1


def test_it_claims_only_due_targets(cast, sink_channel):
    later = make_target(cast, sink_channel, when=timezone.now() + dt.timedelta(hours=1))
    draft = make_target(cast, sink_channel)
    due = make_target(cast, sink_channel, when=timezone.now())
    _attempt, ids = dispatch.claim_due()
    assert ids == [due.pk]
    assert PostTarget.objects.get(pk=later.pk).status == S.SCHEDULED
    assert PostTarget.objects.get(pk=draft.pk).status == S.DRAFT
    # A second claim gets nothing: the first one owns the row.
    assert dispatch.claim_due()[1] == []


def test_it_holds_targets_missed_by_more_than_the_tolerance(cast, sink_channel):
    cast.workspace.late_tolerance_minutes = 15
    cast.workspace.save()
    slightly_late = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(minutes=10))
    very_late = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(hours=3))
    _attempt, ids = dispatch.claim_due()
    assert ids == [slightly_late.pk]
    very_late.refresh_from_db()
    assert very_late.status == S.SCHEDULED and very_late.hold_reason == PostTarget.Hold.MISSED
    # A person decides: publish it now after all.
    actions.release_hold(very_late, actor=cast.owner)
    assert dispatch.claim_due()[1] == [very_late.pk]


def test_a_429_waits_for_retry_after_without_counting_an_attempt(due_target):
    fault(due_target.channel, "429", retry_after=120)
    before = timezone.now()
    assert claim_and_publish(due_target) == "rate_limited"
    due_target.refresh_from_db()
    assert due_target.status == S.SCHEDULED and due_target.attempts == 0
    assert (
        before + dt.timedelta(seconds=119) <= due_target.due_at <= timezone.now() + dt.timedelta(seconds=121)
    )
    assert due_target.error_code == "rate_limited"
    assert dispatch.claim_due()[1] == []  # not before Retry-After


def test_transient_errors_back_off_within_the_horizon_then_hold_for_a_person(due_target, settings):
    """Issue 14: a 5xx retries with capped exponential backoff and jitter until the retry
    horizon after the post's time is used up, then the post is held for a person with the
    reason, never failed; its scheduled time is kept throughout."""
    settings.CHORUS_RETRY_BASE_SECONDS = 10
    settings.CHORUS_RETRY_HORIZON_SECONDS = 120
    fault(due_target.channel, "500")
    scheduled_at = due_target.scheduled_at
    outcomes = []
    for _ in range(3):
        PostTarget.objects.filter(pk=due_target.pk).update(due_at=timezone.now())  # skip the wait
        outcomes.append(claim_and_publish(due_target))
        due_target.refresh_from_db()
        deadline = scheduled_at + dt.timedelta(seconds=120)
        # attempt n waits [c/2, c] with c = 10·2^n, never past the horizon
        ceiling = 10 * 2 ** (due_target.attempts - 1)
        assert timezone.now() + dt.timedelta(seconds=ceiling / 2 - 1) <= due_target.due_at <= deadline
    assert outcomes == ["retry", "retry", "retry"]
    assert due_target.status == S.SCHEDULED and due_target.scheduled_at == scheduled_at
    # The horizon is used up (the post's time is now 3 minutes ago): held, not failed.
    earlier = timezone.now() - dt.timedelta(minutes=3)
    PostTarget.objects.filter(pk=due_target.pk).update(due_at=timezone.now(), scheduled_at=earlier)
    assert claim_and_publish(due_target) == "held"
    due_target.refresh_from_db()
    assert due_target.status == S.SCHEDULED and due_target.hold_reason == PostTarget.Hold.RETRY_HORIZON
    assert "HTTP 500" in due_target.error_text and "2 minutes" in due_target.error_text
    assert dispatch.claim_due()[1] == []  # a person decides
    assert SinkPost.objects.count() == 0
    assert Notification.objects.filter(kind="publish_held").exists()
    actions.release_hold(due_target, actor=due_target.workspace.memberships.get(role="owner").user)
    due_target.refresh_from_db()
    assert due_target.scheduled_at == earlier  # "Publish now anyway" keeps its time too
    assert dispatch.claim_due()[1] == [due_target.pk]


def test_a_timeout_after_sending_is_unknown_then_reconciled_without_a_duplicate(due_target):
    fault(due_target.channel, "timeout_after")
    assert claim_and_publish(due_target) == "unknown"
    due_target.refresh_from_db()
    assert due_target.status == S.UNKNOWN
    assert dispatch.claim_due()[1] == []  # never retried blindly
    assert reconcile.reconcile_one(due_target.pk) == "published"
    due_target.refresh_from_db()
    assert due_target.status == S.PUBLISHED
    assert SinkPost.objects.filter(target_id=due_target.pk).count() == 1
    assert SinkRequest.objects.filter(target_id=due_target.pk).count() == 1


def test_an_unknown_target_absent_from_the_network_is_sent_again(due_target):
    attempt_id, _ids = dispatch.claim_due()
    assert actions.begin_sending(due_target.pk, attempt_id)
    due_target.refresh_from_db()
    actions.mark_unknown(due_target, message="worker died")  # died before the request left
    assert reconcile.reconcile_one(due_target.pk) == "retry"
    assert claim_and_publish(due_target) == "published"
    assert SinkPost.objects.filter(target_id=due_target.pk).count() == 1


def test_content_rejected_fails_and_tells_the_author_and_admins(due_target, cast):
    due_target.channel.config = {"reject_words": ["forbidden"]}
    due_target.channel.save()
    PostTarget.objects.filter(pk=due_target.pk).update(text="a forbidden word")
    assert claim_and_publish(due_target) == "failed"
    due_target.refresh_from_db()
    assert due_target.status == S.FAILED and "forbidden" in due_target.error_message
    told = set(Notification.objects.filter(kind="publish_failed").values_list("user__email", flat=True))
    assert told == {"owner@example.org", "admin@example.org", "editor@example.org"}
    # Emails go out on commit: see test_failure_emails_go_out_after_commit.


@pytest.mark.django_db(transaction=True)
def test_failure_emails_go_out_after_commit(cast, sink_channel):
    sink_channel.config = {"reject_words": ["nope"]}
    sink_channel.save()
    target = make_target(cast, sink_channel, text="nope", when=timezone.now())
    claim_and_publish(target)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["admin@example.org", "editor@example.org", "owner@example.org"]
    assert "nope" in mail.outbox[0].body


def test_auth_expired_refreshes_once_and_retries(due_target):
    calls = []

    def publish(self, target):
        calls.append("publish")
        if len(calls) == 1:
            raise AuthExpired("token expired")
        return SinkConnector.lookup(self, target) or mock.Mock(external_id="1", url="", published_at=None)

    with (
        mock.patch.object(SinkConnector, "publish", publish),
        mock.patch.object(SinkConnector, "refresh_credentials", lambda self: calls.append("refresh")),
    ):
        assert claim_and_publish(due_target) == "published"
    assert calls == ["publish", "refresh", "publish"]


def test_reauth_required_pauses_the_channel_and_holds_its_targets(due_target, cast):
    other = make_target(cast, due_target.channel, when=timezone.now())
    with mock.patch.object(SinkConnector, "publish", side_effect=ReauthRequired("app password revoked")):
        attempt_id, ids = dispatch.claim_due()
        outcomes = {engine.publish_one(t, attempt_id) for t in ids}
    assert outcomes == {"held"}
    channel = Channel.objects.get(pk=due_target.channel_id)
    assert channel.status == Channel.Status.PAUSED and "revoked" in channel.paused_reason
    for t in (due_target, other):
        t.refresh_from_db()
        assert (t.status, t.hold_reason) == (S.SCHEDULED, PostTarget.Hold.CHANNEL_PAUSED)
    # Reconnecting releases them, and they publish.
    from chorus.channels.actions import resume_channel

    assert resume_channel(channel=channel) == 2
    attempt_id, ids = dispatch.claim_due()
    assert sorted(engine.publish_one(t, attempt_id) for t in ids) == ["published", "published"]


def test_a_refresh_that_fails_is_reauth_not_a_crash(due_target):
    with mock.patch.object(SinkConnector, "publish", side_effect=AuthExpired("expired")):
        assert claim_and_publish(due_target) == "held"


def test_quota_full_waits_instead_of_failing(cast, sink_channel):
    quota = Quota("posts", 2, dt.timedelta(hours=24))
    with mock.patch.object(SinkConnector, "quotas", (quota,)):
        targets = [make_target(cast, sink_channel, when=timezone.now()) for _ in range(3)]
        attempt_id, ids = dispatch.claim_due()
        outcomes = [engine.publish_one(t, attempt_id) for t in ids]
    assert sorted(outcomes) == ["published", "published", "quota_wait"]
    waiting = PostTarget.objects.get(pk__in=[t.pk for t in targets], status=S.SCHEDULED)
    assert waiting.due_at > timezone.now() + dt.timedelta(hours=23)
    assert waiting.error_code == "quota" and waiting.attempts == 0


def test_quota_forecast_warns_at_save_time(cast, sink_channel):
    from chorus.publishing.quotas import forecast_warnings

    with mock.patch.object(SinkConnector, "quotas", (Quota("posts", 1, dt.timedelta(hours=24)),)):
        make_target(cast, sink_channel, when=timezone.now() + dt.timedelta(hours=1))
        warnings = forecast_warnings(sink_channel, timezone.now() + dt.timedelta(hours=2))
    assert warnings and "allows 1" in warnings[0]


def test_concurrency_cap_limits_claims_per_network(cast, sink_channel):
    for _ in range(5):
        make_target(cast, sink_channel, when=timezone.now())
    with mock.patch.object(SinkConnector, "max_concurrency", 2):
        assert len(dispatch.claim_due()[1]) == 2
        assert dispatch.claim_due()[1] == []  # two in flight already


def test_reschedule_edit_and_cancel_are_refused_once_publishing(due_target, cast):
    dispatch.claim_due()
    due_target.refresh_from_db()
    with pytest.raises(actions.TransitionRefused, match="Already publishing"):
        actions.reschedule(due_target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    with pytest.raises(actions.TransitionRefused, match="Already publishing"):
        actions.edit(due_target, actor=cast.owner, text="changed")
    with pytest.raises(actions.TransitionRefused, match="Already publishing"):
        actions.unschedule(due_target, actor=cast.owner)


def test_a_reschedule_before_the_claim_wins(due_target, cast):
    actions.reschedule(due_target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    assert dispatch.claim_due()[1] == []


def test_stale_claims_are_requeued_and_stale_sends_become_unknown(cast, sink_channel, settings):
    settings.CHORUS_CLAIM_LEASE_SECONDS = 60
    settings.CHORUS_SEND_LEASE_SECONDS = 60
    a = make_target(cast, sink_channel, when=timezone.now())
    b = make_target(cast, sink_channel, when=timezone.now())
    attempt_id, _ids = dispatch.claim_due()
    actions.begin_sending(b.pk, attempt_id)
    later = timezone.now() + dt.timedelta(seconds=61)
    assert reconcile.recover_stale(now=later) == {"requeued": 1, "unknown": 1}
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == S.SCHEDULED and b.status == S.UNKNOWN
    # The lost task for `a` finally runs: its attempt is no longer current, so it does nothing.
    assert engine.publish_one(a.pk, attempt_id) == "stale"


def test_a_redelivered_task_whose_attempt_was_sending_becomes_unknown(due_target):
    attempt_id, _ids = dispatch.claim_due()
    actions.begin_sending(due_target.pk, attempt_id)
    assert engine.publish_one(due_target.pk, attempt_id) == "unknown"
    assert SinkRequest.objects.count() == 0


def test_review_flow_and_audit(cast, sink_channel):
    target = make_target(cast, sink_channel)
    editor, approver = cast.members["editor"], cast.members["approver"]
    actions.submit_for_review(target, actor=editor)
    actions.reject(target, actor=approver, reason="Needs a photo credit")
    target.refresh_from_db()
    assert target.status == S.DRAFT and target.error_message == "Needs a photo credit"
    actions.submit_for_review(target, actor=editor)
    actions.approve(target, actor=approver)
    actions.schedule(target, actor=editor, when=timezone.now() + dt.timedelta(hours=1))
    target.refresh_from_db()
    assert target.status == S.SCHEDULED
    assert AuditEvent.objects.filter(
        object_id=str(target.pk), action="target.approved", actor=approver
    ).exists()


def test_an_editor_cannot_skip_review_but_an_admin_can(cast, sink_channel):
    target = make_target(cast, sink_channel)
    with pytest.raises(actions.TransitionRefused):
        actions.schedule(target, actor=cast.members["editor"], when=timezone.now())
    actions.schedule(target, actor=cast.members["admin"], when=timezone.now())
    assert PostTarget.objects.get(pk=target.pk).status == S.SCHEDULED


def test_evergreen_posts_are_requeued_after_publishing(cast, sink_channel):
    sink_channel.posting_slots = [{"weekday": d, "time": "08:00"} for d in range(7)]
    sink_channel.save()
    target = make_target(cast, sink_channel, when=timezone.now())
    target.post.evergreen = True
    target.post.save()
    with mock.patch("django.db.transaction.on_commit", lambda fn, **kw: fn()):
        claim_and_publish(target)
    copies = PostTarget.objects.filter(post=target.post).exclude(pk=target.pk)
    assert copies.count() == 1 and copies.get().status == S.SCHEDULED


def test_credentials_are_encrypted_at_rest(sink_channel):
    raw = Channel.objects.filter(pk=sink_channel.pk).values_list("credentials_encrypted", flat=True).get()
    assert "secret-token" not in raw
    assert Channel.objects.get(pk=sink_channel.pk).credentials == {"token": "secret-token"}


def test_a_content_rejection_from_the_connector_class_is_permanent(due_target):
    with mock.patch.object(SinkConnector, "publish", side_effect=ContentRejected("too long")):
        assert claim_and_publish(due_target) == "failed"
    assert PostTarget.objects.get(pk=due_target.pk).error_code == "content_rejected"


def test_an_internal_error_before_sending_retries_instead_of_sticking(due_target):
    with mock.patch("chorus.publishing.quotas.reserve", side_effect=RuntimeError("database went away")):
        assert claim_and_publish(due_target) == "retry"
    due_target.refresh_from_db()
    assert due_target.status == S.SCHEDULED and due_target.error_code == "internal"
    assert due_target.attempts == 1 and SinkRequest.objects.count() == 0


# --- batches ---------------------------------------------------------------------------------


def _batch(cast, channel, n: int) -> tuple[uuid.UUID, list[PostTarget]]:
    for _ in range(n):
        make_target(cast, channel, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert len(ids) == n
    return attempt_id, engine.load(ids)


def _phases_seen_by_publish(monkeypatch) -> list[dict[int, str]]:
    """Wraps the sink's publish: before each call, the phase of every publishing target."""
    seen: list[dict[int, str]] = []
    real = SinkConnector.publish

    def publish(self, target):
        seen.append(dict(PostTarget.objects.filter(status=S.PUBLISHING).values_list("pk", "phase")))
        return real(self, target)

    monkeypatch.setattr(SinkConnector, "publish", publish)
    return seen


def test_a_network_that_can_be_read_back_gets_the_whole_batch_marked_sending_at_once(
    cast, sink_channel, monkeypatch
):
    attempt_id, targets = _batch(cast, sink_channel, 3)
    seen = _phases_seen_by_publish(monkeypatch)
    outcomes = engine.publish_many(targets, attempt_id)
    assert sorted(outcomes.values()) == ["published"] * 3
    # Already before the first call every target of the batch was 'sending' (one UPDATE).
    assert set(seen[0].values()) == {"sending"} and len(seen[0]) == 3
    assert SinkPost.objects.count() == 3
    assert AuditEvent.objects.filter(action="target.published").count() == 3


def test_a_network_that_cannot_be_read_back_marks_each_target_just_before_its_call(
    cast, sink_channel, monkeypatch
):
    monkeypatch.setattr(SinkConnector, "features", frozenset())
    attempt_id, targets = _batch(cast, sink_channel, 3)
    seen = _phases_seen_by_publish(monkeypatch)
    assert sorted(engine.publish_many(targets, attempt_id).values()) == ["published"] * 3
    # At each call, exactly one target is 'sending' (the one being sent); the rest wait as
    # 'claimed', so a crash would leave only the call in flight uncertain.
    assert [sorted(phases.values()).count("sending") for phases in seen] == [1, 1, 1]
    assert [len(phases) for phases in seen] == [3, 2, 1]


def test_one_failure_in_a_batch_does_not_hold_back_the_others(cast, sink_channel):
    sink_channel.config = {"reject_words": ["forbidden"]}
    sink_channel.save()
    for text in ("fine", "a forbidden word", "also fine"):
        make_target(cast, sink_channel, text=text, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    targets = engine.load(ids)
    outcomes = engine.publish_many(targets, attempt_id)
    assert sorted(outcomes.values()) == ["failed", "published", "published"]
    rejected = PostTarget.objects.get(text="a forbidden word")
    assert rejected.status == S.FAILED and "forbidden" in rejected.error_message


def test_a_batch_redelivered_after_its_worker_died_mid_send_asks_the_network_instead_of_resending(
    cast, sink_channel
):
    attempt_id, targets = _batch(cast, sink_channel, 3)
    assert actions.begin_sending_many([t.pk for t in targets], attempt_id) == {t.pk for t in targets}
    # The worker sent the first one, then died; the task comes back with the same attempt.
    SinkConnector(sink_channel).publish(targets[0])
    assert set(engine.publish_many(engine.load([t.pk for t in targets]), attempt_id).values()) == {"unknown"}
    assert SinkRequest.objects.count() == 1  # nothing resent blindly
    assert sorted(reconcile.reconcile_one(t.pk) for t in targets) == ["published", "retry", "retry"]
    attempt_id, ids = dispatch.claim_due()
    assert sorted(engine.publish_many(engine.load(ids), attempt_id).values()) == ["published", "published"]
    assert sorted(SinkPost.objects.values_list("target_id", flat=True)) == sorted(t.pk for t in targets)


def test_calls_that_wait_on_the_network_overlap_on_the_pool_and_local_ones_stay_inline(
    cast, sink_channel, monkeypatch
):
    threads: list[str] = []

    def send(job):  # records where it ran, sends nothing
        threads.append(threading.current_thread().name)
        job.outcome = "not sent (test)"

    monkeypatch.setattr(engine, "_send", send)
    attempt_id, targets = _batch(cast, sink_channel, 4)  # the sink without latency: no wait
    engine.publish_many(targets, attempt_id, threads=4)
    assert threads == [threading.current_thread().name] * 4

    threads.clear()
    sink_channel.config = {"latency_ms": 30}
    sink_channel.save()
    attempt_id, targets = _batch(cast, sink_channel, 4)
    engine.publish_many(targets, attempt_id, threads=4)
    assert len(threads) == 4 and all(name.startswith("publish") for name in threads)
