"""Resuming after crashes and settling unknown outcomes.

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

from django.conf import settings
from django.utils import timezone

from chorus.connectors.base import Feature, PublishError
from chorus.content.models import PostTarget
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


def reconcile_unknown() -> int:
    """Scheduler job: hand unknown targets to a task (lookups are network calls)."""
    from chorus.publishing.tasks import reconcile_batch

    ids = list(
        PostTarget.objects.filter(status=S.UNKNOWN).order_by("updated_at").values_list("id", flat=True)[:200]
    )
    for start in range(0, len(ids), 50):
        reconcile_batch.enqueue(ids[start : start + 50])
    return len(ids)


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
