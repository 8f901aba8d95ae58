"""Resuming after crashes and settling unknown outcomes.

- A worker whose heartbeat died (CHORUS_WORKER_DEAD_SECONDS without a beat) releases the
  targets it owned (`PostTarget.worker`, recorded when its task started) at once: the unsent ones
  go back to the queue, the ones it was sending become 'unknown' and are read back right away.
  Either way they leave 'publishing', so they stop counting against the network's concurrency
  cap (the claim's room) seconds after the crash instead of after the leases below.
- A claim whose task never ran (worker killed, queue lost) is still in phase 'claimed' after
  the lease: nothing was sent, so it goes back to the queue.
- A target stuck in phase 'sending' past the send lease (longer than any HTTP timeout) had its
  worker die mid-call: it becomes 'unknown'.
- 'unknown' targets are read back (`Connector.lookup`: the record by its key, or the target's
  marker among the account's recent posts). Found → published. Certainly absent → sent again
  with the same idempotency key. A network that cannot be read back leaves the decision to a
  person after CHORUS_UNKNOWN_GIVE_UP_SECONDS: failed, with a reason saying to check.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from chorus.connectors.base import Feature, PublishError
from chorus.content.models import PostTarget
from chorus.core import liveness
from chorus.core.models import Heartbeat
from chorus.publishing import actions
from chorus.publishing.outcomes import Outcome, said

log = logging.getLogger(__name__)
S = PostTarget.Status


def recover_stale(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.CHORUS_CLAIM_LEASE_SECONDS)
    send_lease = dt.timedelta(seconds=settings.CHORUS_SEND_LEASE_SECONDS)
    requeued = unknown = 0
    for target in PostTarget.objects.select_related("workspace").filter(
        status=S.PUBLISHING, phase=PostTarget.Phase.CLAIMED, claimed_at__lt=now - lease
    )[:500]:
        try:
            actions.retry_later(
                target,
                when=now,
                code="recovered",
                **said("recovered"),
                count_attempt=False,
                only_if_unsent=True,
            )
            requeued += 1
        except actions.TransitionRefused:
            pass  # the task ran meanwhile
    for target in PostTarget.objects.select_related("workspace").filter(
        status=S.PUBLISHING, phase=PostTarget.Phase.SENDING, sending_at__lt=now - send_lease
    )[:500]:
        try:
            actions.mark_unknown(
                target,
                **said("interrupted"),
                only_if_sending=True,
            )
            unknown += 1
        except actions.TransitionRefused:
            pass
    if requeued or unknown:
        log.warning("recovered %d unsent claims, %d interrupted sends", requeued, unknown)
    return {"requeued": requeued, "unknown": unknown}


def dead_workers(now: dt.datetime | None = None) -> list[str]:
    """Worker processes ("host:pid") whose last beat is older than CHORUS_WORKER_DEAD_SECONDS,
    and those on this machine that the kernel says are gone (`chorus.core.liveness`: a kill -9 is
    then seen at the next check, seconds before the beats would say it). A process that never
    beat is not listed: only a heartbeat says which worker holds what."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.CHORUS_WORKER_DEAD_SECONDS)
    return [
        process
        for process, beat_at, detail in Heartbeat.objects.filter(role="worker")
        .exclude(process="")
        .values_list("process", "beat_at", "detail")
        if beat_at < cutoff or liveness.gone(process, detail)
    ]


def release_dead_workers(now: dt.datetime | None = None) -> dict[str, int]:
    """Scheduler job: the targets held by dead workers leave 'publishing' now. Unsent (phase
    'claimed') → queued again; sending → 'unknown', and their read-back is enqueued at once
    (found: published; certainly absent: sent again with the same key — never blindly resent).
    Each move is conditional on the attempt and its phase, so a worker that is in fact alive
    and moves first wins, and one that comes back finds its attempt superseded."""
    now = now or timezone.now()
    dead = dead_workers(now)
    if not dead:
        return {"requeued": 0, "unknown": 0}
    requeued = 0
    interrupted: list[int] = []
    for target in PostTarget.objects.select_related("workspace").filter(status=S.PUBLISHING, worker__in=dead)[
        :500
    ]:
        try:
            if target.phase == PostTarget.Phase.CLAIMED:
                actions.retry_later(
                    target,
                    when=now,
                    code="recovered",
                    **said("recovered"),
                    count_attempt=False,
                    only_if_unsent=True,
                )
                requeued += 1
            else:
                actions.mark_unknown(target, **said("interrupted"), only_if_sending=True)
                interrupted.append(target.pk)
        except actions.TransitionRefused:
            pass  # it moved meanwhile (its phase changed, or another scheduler released it)
    if interrupted:
        from chorus.publishing.tasks import enqueue_reconcile

        for start in range(0, len(interrupted), 50):
            enqueue_reconcile(interrupted[start : start + 50])
    if requeued or interrupted:
        log.warning(
            "released %d unsent and %d interrupted targets of dead workers %s",
            requeued,
            len(interrupted),
            ", ".join(dead[:5]),
        )
    return {"requeued": requeued, "unknown": len(interrupted)}


def reconcile_unknown() -> int:
    """Scheduler job: hand unknown targets to a task (lookups are network calls)."""
    from chorus.publishing.tasks import enqueue_reconcile

    ids = list(
        PostTarget.objects.filter(status=S.UNKNOWN).order_by("updated_at").values_list("id", flat=True)[:200]
    )
    for start in range(0, len(ids), 50):
        enqueue_reconcile(ids[start : start + 50])
    return len(ids)


def reconcile_many(target_ids: list[int], *, threads: int = 1) -> list[Outcome]:
    """`reconcile_one` for each target, up to `threads` at once on the engine's call pool (each
    is a network read-back, then a conditional move: independent of the others)."""
    if threads <= 1 or len(target_ids) <= 1:
        return [reconcile_one(target_id) for target_id in target_ids]
    from chorus.publishing.engine import call_pool

    in_flight = threading.BoundedSemaphore(threads)

    def one(target_id: int) -> Outcome:
        with in_flight:
            close_old_connections()  # this pool thread's connection may be broken or too old
            return reconcile_one(target_id)

    return list(call_pool().map(one, target_ids))


def reconcile_one(target_id: int) -> Outcome:
    target = (
        PostTarget.objects.select_related("channel", "workspace", "post")
        .filter(pk=target_id, status=S.UNKNOWN)
        .first()
    )
    if target is None:
        return Outcome.SETTLED  # another reconciler got there first
    connector = target.channel.connector()
    try:
        if Feature.LOOKUP not in connector.features:
            age = (timezone.now() - (target.sending_at or target.updated_at)).total_seconds()
            if age < settings.CHORUS_UNKNOWN_GIVE_UP_SECONDS:
                return Outcome.WAITING
            actions.mark_failed(
                target,
                code="unconfirmed",
                by_reconciliation=True,
                **said("unconfirmed", network=connector.label),
            )
            return Outcome.FAILED
        try:
            found = connector.lookup(target)
        except PublishError as exc:
            log.info("lookup of target %s failed (%s); will try again", target.pk, exc.code)
            return Outcome.WAITING
        if found is not None:
            actions.mark_published(
                target,
                external_id=found.external_id,
                url=found.url,
                published_at=found.published_at,
                by_reconciliation=True,
            )
            return Outcome.PUBLISHED
        if target.attempts + 1 >= settings.CHORUS_MAX_ATTEMPTS:
            actions.mark_failed(
                target,
                code="not_published",
                by_reconciliation=True,
                **said("not_published"),
            )
            return Outcome.FAILED
        actions.retry_later(
            target,
            when=timezone.now(),
            code="not_found",
            from_unknown=True,
            **said("not_found"),
        )
        return Outcome.RETRY
    except actions.TransitionRefused:
        return Outcome.SETTLED
