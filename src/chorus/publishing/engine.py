"""Publishing claimed targets: the only place that calls a connector's `publish`.

Order of a publish, each step committed before the next:
1. the claim (scheduler) recorded status 'publishing', phase 'claimed' and an attempt id;
2. quota reserved in the rolling-window ledger (or the target waits for the window to free);
3. phase 'sending' committed — from here a crash means "maybe sent";
4. the network call, outside any transaction;
5. the outcome recorded, conditional on the attempt id.

A publish task runs these steps for a whole claimed batch: one query loads it, one query reads
the platforms' quota blocks for its channels, and the outcomes are recorded together. Step 3 is
one UPDATE for every target of a network that can be read back (`Feature.LOOKUP`): if the worker
dies mid-batch, reconciliation asks the network about each 'sending' target and sends again the
ones it does not have, so marking them together costs nothing in safety. A network that cannot
be read back gets its own 'sending' commit right before its call, so a crash leaves at most the
calls in flight uncertain.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.channels import actions as channel_actions
from chorus.connectors.base import (
    AuthExpired,
    Connector,
    ContentRejected,
    Feature,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    RateLimited,
    ReauthRequired,
    Transient,
    Unreachable,
)
from chorus.content.models import PostTarget
from chorus.core import beats, shutdown
from chorus.core.models import Heartbeat
from chorus.core.notify import notify
from chorus.publishing import actions, quotas
from chorus.publishing.outcomes import MESSAGES, Outcome, said

log = logging.getLogger(__name__)
S = PostTarget.Status

# Per-network concurrency inside one worker process (the claim bounds it across processes).
_network_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(connector: Connector) -> AbstractContextManager[object]:
    if connector.max_concurrency is None:
        return contextlib.nullcontext()
    with _slots_lock:
        if connector.kind not in _network_slots:
            _network_slots[connector.kind] = threading.BoundedSemaphore(connector.max_concurrency)
        return _network_slots[connector.kind]


def load(target_ids: Iterable[int]) -> list[PostTarget]:
    return list(PostTarget.objects.select_related("channel", "post").filter(pk__in=list(target_ids)))


def publish_one(target_id: int, attempt_id: uuid.UUID) -> Outcome:
    """Runs one attempt; returns the outcome name (for logs and tests). Safe to run twice."""
    targets = load([target_id])
    if not targets:
        return Outcome.GONE
    return publish_many(targets, attempt_id)[target_id]


@dataclass
class _Job:
    target: PostTarget
    connector: Connector
    marked: bool  # phase 'sending' already committed with the batch
    down: dict[int, Unreachable]  # the batch's channels whose host refused a call (shared)
    result: PublishResult | None = None
    error: BaseException | None = None
    outcome: Outcome | None = None  # set when the job ends before or without a network call


def publish_many(targets: list[PostTarget], attempt_id: uuid.UUID, *, threads: int = 1) -> dict[int, Outcome]:
    """One attempt for each of `targets` (loaded with `load`); returns each target's outcome.
    Calls that wait on a network run on up to `threads` threads of this process's pool. The
    batch's bookkeeping (quotas, the shared 'sending' mark, errors, successes) is written from the
    calling thread; a network without read-back has its 'sending' mark and its success written
    around its own call, on whichever thread makes it."""
    outcomes: dict[int, Outcome] = {}
    live: list[PostTarget] = []
    for target in targets:
        if target.status != S.PUBLISHING or target.attempt_id != attempt_id:
            outcomes[target.pk] = Outcome.STALE  # another attempt owns it now, or it is done
        elif target.phase == PostTarget.Phase.SENDING:
            # The same attempt was already sending when its worker died and the task came back
            # (Celery acks late). The request may have reached the network: never resend blindly.
            outcomes[target.pk] = _guarded(
                target,
                attempt_id,
                lambda t: _unknown(t, "interrupted"),
            )
        else:
            live.append(target)
    if live:
        # This process owns them now: should it die, the scheduler releases them as soon as its
        # heartbeat does (reconcile.release_dead_workers), not after the leases.
        actions.take_batch([t.pk for t in live], attempt_id, Heartbeat.this_process())
    jobs = _prepare(live, attempt_id, outcomes)
    _send_all(jobs, threads)
    successes = []
    for job in jobs:
        if job.outcome:
            outcomes[job.target.pk] = job.outcome
        elif job.error is not None:
            outcomes[job.target.pk] = _guarded(job.target, attempt_id, _settle_error, job.error)
        else:
            assert job.result is not None
            successes.append((job.target, job.result))
    _answered(jobs)
    if successes:
        published = set(actions.mark_published_many(successes))
        for target, _result in successes:
            outcomes[target.pk] = Outcome.PUBLISHED if target.pk in published else Outcome.SUPERSEDED
            if target.pk not in published:
                log.warning(
                    "target %s moved during attempt %s; left to reconciliation", target.pk, attempt_id
                )
    return outcomes


def _answered(jobs: list[_Job]) -> None:
    """A channel marked unreachable whose host answered in this batch (a published post, or an
    answer that is not "unreachable": a refusal, a rate limit, a server error) is reachable
    again: its waiting posts are released together. Costs nothing for a channel not marked."""
    for job in jobs:
        channel = job.target.channel
        if channel.unreachable_since is None:
            continue
        error = job.error
        if job.result is not None or (
            isinstance(error, PublishError) and not isinstance(error, Unreachable | OutcomeUnknown)
        ):
            released = channel_actions.mark_reachable(channel=channel)
            channel.unreachable_since = None
            log.warning("%s answers again; released %d waiting posts", channel, released)


def _guarded(
    target: PostTarget, attempt_id: uuid.UUID, settle: Callable[..., Outcome], *args: Any, **kwargs: Any
) -> Outcome:
    """`settle(target, *args, **kwargs)`, which records this attempt's outcome."""
    try:
        return settle(target, *args, **kwargs)
    except actions.TransitionRefused:
        # Crash recovery or another actor moved the target while this attempt ran (e.g. its send
        # outlived the send lease and it became 'unknown'): reconciliation settles it by reading
        # back; this attempt records nothing.
        log.warning("target %s moved during attempt %s; leaving it to reconciliation", target.pk, attempt_id)
        return Outcome.SUPERSEDED


def _prepare(live: list[PostTarget], attempt_id: uuid.UUID, outcomes: dict[int, Outcome]) -> list[_Job]:
    """Quota reservations, then phase 'sending' for the targets that may go out now."""
    connectors: dict[int, Connector] = {}
    down: dict[int, Unreachable] = {}
    blocked = quotas.blocked_channels({t.channel_id for t in live}) if live else {}
    jobs: list[_Job] = []
    for target in live:
        try:
            connector = connectors.get(target.channel_id)
            if connector is None:
                connector = connectors[target.channel_id] = target.channel.connector()
            wait_until = quotas.reserve(connector, target, blocked=blocked)
        except Exception as exc:
            log.exception("target %s failed before sending", target.pk)
            outcomes[target.pk] = _guarded(target, attempt_id, _internal_error, exc)
            continue
        if wait_until is not None:
            outcomes[target.pk] = _guarded(
                target,
                attempt_id,
                _retry,
                when=wait_until,
                code="quota",
                **said("quota", network=connector.label, until=f"{wait_until:%Y-%m-%d %H:%M}"),
                count_attempt=False,
                outcome=Outcome.QUOTA_WAIT,
            )
            continue
        jobs.append(_Job(target, connector, Feature.LOOKUP in connector.features, down))
    together = [job.target.pk for job in jobs if job.marked]
    if together:
        started = actions.begin_sending_many(together, attempt_id)
        for job in jobs:
            if job.marked and job.target.pk not in started:
                quotas.refund(job.target)
                job.outcome = Outcome.STALE
    return jobs


def _send_all(jobs: list[_Job], threads: int) -> None:
    """Calls that wait on a network overlap on the pool; calls that do not (a local stand-in)
    run one after the other on this thread, where extra threads would only add switching."""
    pending = [job for job in jobs if not job.outcome]
    waiting = [job for job in pending if job.connector.waits()] if threads > 1 else []
    if len(waiting) <= 1:
        waiting = []
    # At most `threads` of this batch's calls in flight, even when the process pool is larger.
    in_flight = threading.BoundedSemaphore(threads)
    futures = [call_pool().submit(_pooled_send, job, in_flight) for job in waiting]
    for job in pending:
        if not futures or not job.connector.waits():
            _send(job)
    concurrent.futures.wait(futures)


def _pooled_send(job: _Job, in_flight: threading.BoundedSemaphore) -> None:
    with in_flight:
        try:
            close_old_connections()  # drop this thread's connection if broken or past its age
            _send(job)
        except BaseException:  # _send settles every Exception; log anything else here
            log.exception("publish thread failed on target %s", job.target.pk)


# The process's network-call threads (publishing, and the read-backs of reconciliation): created on first use (in a forked child, its own), they
# live as long as the process, so each keeps its database connection (the sink and the
# connectors' quota observations use it) instead of opening one per batch.
_executor_lock = threading.Lock()
_call_executor: tuple[int, concurrent.futures.ThreadPoolExecutor] | None = None


def call_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _call_executor
    with _executor_lock:
        if _call_executor is None or _call_executor[0] != os.getpid():
            pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, settings.CHORUS_PUBLISH_THREADS), thread_name_prefix="publish"
            )
            _call_executor = (os.getpid(), pool)
        return _call_executor[1]


def _send(job: _Job) -> None:
    target, connector = job.target, job.connector
    if shutdown.requested() or not beats.seen_alive():
        # The worker is stopping, or its own heartbeat has failed long enough that the scheduler
        # may declare it dead and release its sends: a call not yet made is not started; the
        # target goes back to the queue for the next worker (it was claimed or marked, never
        # sent).
        quotas.refund(target)
        job.outcome = _guarded(target, target.attempt_id, _return_unsent, job.marked)  # type: ignore[arg-type]
        return
    refused = job.down.get(target.channel_id)
    if refused is not None:
        # Its host refused an earlier call of this batch: not asked again; it waits with the
        # channel's group (chorus.publishing.unreachable).
        job.error = refused
        return
    if not job.marked and not actions.begin_sending(target.pk, target.attempt_id):  # type: ignore[arg-type]
        quotas.refund(target)
        job.outcome = Outcome.STALE
        return
    try:
        with _slot(connector):
            job.result = _call(connector, target)
    except Exception as exc:  # settled on the batch's thread (`_settle_error`)
        job.error = exc
        if isinstance(exc, Unreachable):
            job.down[target.channel_id] = exc
        return
    if not job.marked:
        # No read-back for this network: its outcome is recorded at once, so a crash later in
        # the batch cannot leave a sent post looking uncertain.
        result = job.result
        job.outcome = _guarded(target, target.attempt_id, _published, result)  # type: ignore[arg-type]


def _return_unsent(target: PostTarget, marked: bool) -> Outcome:
    actions.retry_later(
        target,
        when=timezone.now(),
        code="returned",
        **said("returned"),
        count_attempt=False,
        only_if_unsent=not marked,
    )
    return Outcome.RETURNED


def _published(target: PostTarget, result: PublishResult) -> Outcome:
    actions.mark_published(
        target, external_id=result.external_id, url=result.url, published_at=result.published_at
    )
    return Outcome.PUBLISHED


def _call(connector: Connector, target: PostTarget) -> PublishResult:
    try:
        return connector.publish(target)
    except AuthExpired:
        # Refresh once, then one more try; a second AuthExpired means the refresh did not help.
        connector.refresh_credentials()
        try:
            return connector.publish(target)
        except AuthExpired as exc:
            raise ReauthRequired(exc.message) from exc


def _settle_error(target: PostTarget, exc: BaseException) -> Outcome:
    """Records a failed network call; the error class decides what happens next."""
    if isinstance(exc, RateLimited):
        quotas.refund(target)
        when = timezone.now() + dt.timedelta(seconds=exc.retry_after)
        return _retry(
            target,
            when=when,
            code=exc.code,
            message=exc.message,
            count_attempt=False,
            outcome=Outcome.RATE_LIMITED,
        )
    if isinstance(exc, Transient):
        quotas.refund(target)
        return _transient(target, exc)
    if isinstance(exc, ContentRejected):
        quotas.refund(target)
        actions.mark_failed(target, code=exc.code, message=exc.message, params=exc.params)
        return Outcome.FAILED
    if isinstance(exc, ReauthRequired):
        quotas.refund(target)
        _pause_for_reauth(target, exc)
        return Outcome.HELD
    if isinstance(exc, OutcomeUnknown):
        return _unknown(target, exc.message)
    if isinstance(exc, PublishError):
        actions.mark_failed(target, code=exc.code, message=exc.message, params=exc.params)
        return Outcome.FAILED
    # A bug or an unexpected library error after phase 'sending': we cannot tell whether the
    # request went out, so reconciliation decides (never a blind retry).
    log.error("publish of target %s raised", target.pk, exc_info=exc)
    return _unknown(target, "unexpected", error=type(exc).__name__)


def _transient(target: PostTarget, exc: Transient) -> Outcome:
    """Certainly not applied. Within its retry horizon: an unreachable host makes the target wait
    with its channel's group (one probe at a time, chorus.publishing.unreachable); another
    failure retries with capped exponential backoff and jitter, the last try at the horizon.
    Past the horizon it is held for a person, with the host named — never failed."""
    now = timezone.now()
    deadline = actions.retry_deadline(target)
    channel = target.channel
    label = channel.connector().label
    host = getattr(exc, "host", "") or str(exc.detail.get("host") or "") or label
    if now >= deadline:
        minutes = int(actions.retry_horizon(target).total_seconds() // 60)
        key = "horizon_unreachable" if isinstance(exc, Unreachable) else "horizon"
        actions.hold_for_person(
            target, code=exc.code, **said(key, network=label, host=host, reason=exc.message, minutes=minutes)
        )
        return Outcome.HELD
    if isinstance(exc, Unreachable):
        # Held first, then the channel marked: the probe job never sees a marked channel with
        # nothing waiting (it would clear the mark).
        actions.hold_unreachable(target, code=exc.code, **said("unreachable", network=label, host=host))
        channel_actions.mark_unreachable(channel=channel, host=host, target_id=target.pk)
        return Outcome.UNREACHABLE
    delay = actions.backoff_delay(target.attempts)
    when = min(now + dt.timedelta(seconds=delay), deadline)
    return _retry(target, when=when, code=exc.code, message=exc.message)


def _unknown(target: PostTarget, message: str, **params: Any) -> Outcome:
    """`message`: a network's reason, or the key of one of the engine's (with its `params`)."""
    if message in MESSAGES:
        actions.mark_unknown(target, **said(message, **params))
    else:
        actions.mark_unknown(target, message=message)
    return Outcome.UNKNOWN


def _retry(
    target: PostTarget,
    *,
    when: dt.datetime,
    code: str,
    message: str,
    count_attempt: bool = True,
    outcome: Outcome = Outcome.RETRY,
    params: dict[str, Any] | None = None,
) -> Outcome:
    actions.retry_later(
        target, when=when, code=code, message=message, count_attempt=count_attempt, params=params
    )
    return outcome


def _internal_error(target: PostTarget, exc: Exception) -> Outcome:
    """Nothing was sent yet (a bug, a misconfigured connector, the database briefly away): safe
    to try again later, counted as an attempt so a persistent fault ends as failed."""
    if target.attempts + 1 >= settings.CHORUS_MAX_ATTEMPTS:
        actions.mark_failed(target, code="internal", **said("internal", error=type(exc).__name__))
        return Outcome.FAILED
    delay = actions.backoff_delay(target.attempts)
    return _retry(
        target,
        when=timezone.now() + dt.timedelta(seconds=delay),
        code="internal",
        **said("internal_retry", error=type(exc).__name__),
    )


def _pause_for_reauth(target: PostTarget, exc: PublishError) -> None:
    channel = target.channel
    channel_actions.pause_channel(channel=channel, reason=exc.message)
    actions.hold(target, reason=PostTarget.Hold.CHANNEL_PAUSED, detail=exc.message)
    notify(
        actions._admins_and_author(target),
        workspace=target.workspace,
        kind="channel_paused",
        title=_("%(channel)s needs to be reconnected") % {"channel": channel.name},
        body=exc.message,
    )


def count(outcomes: dict[int, Outcome]) -> dict[str, int]:
    return dict(Counter(outcomes.values()))
