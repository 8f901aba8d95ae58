"""The scheduler's due-work step: claim due targets in a short transaction, enqueue on commit.

Claim = one conditional UPDATE (status 'scheduled' → 'publishing' with a fresh attempt id) over
rows picked with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent schedulers pick disjoint
rows; on SQLite the IMMEDIATE transaction holds the write lock for the pick and the update, and
the `status='scheduled'` guard makes a lost race claim nothing. We then read back exactly the
rows carrying our attempt id: those are ours, no matter what another scheduler did.
No network call happens here.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.connectors.registry import connector_class
from chorus.content.models import PostTarget
from chorus.publishing import actions

log = logging.getLogger(__name__)
S = PostTarget.Status


def oldest_due() -> dt.datetime | None:
    value: dt.datetime | None = PostTarget.objects.filter(
        status=S.SCHEDULED, hold_reason="", due_at__lte=timezone.now()
    ).aggregate(oldest=Min("due_at"))["oldest"]
    return value


def claimed_unstarted() -> tuple[int, dt.datetime | None]:
    """Targets claimed (a publish task enqueued) whose task has not started sending: how many,
    and when the oldest was claimed. With every worker dead this grows while `oldest_due` stays
    empty, since claimed targets are no longer due."""
    row = PostTarget.objects.filter(status=S.PUBLISHING, phase=PostTarget.Phase.CLAIMED).aggregate(
        count=Count("id"), oldest=Min("claimed_at")
    )
    return row["count"], row["oldest"]


def _room(kinds: set[str]) -> dict[str, int | None]:
    """Publishes each network may still start under its concurrency cap (None: no cap). The
    count stops at the cap, so it stays cheap however many targets of an uncapped or busy
    network are in flight."""
    room: dict[str, int | None] = {}
    for kind in kinds:
        cap = _cap(kind)
        if cap is None:
            room[kind] = None
            continue
        inflight = (
            PostTarget.objects.filter(status=S.PUBLISHING, channel__kind=kind).values("id")[:cap].count()
        )
        room[kind] = cap - inflight
    return room


def _take(room: dict[str, int | None], kind: str) -> bool:
    left = room[kind]
    if left is None:
        return True
    if left <= 0:
        return False
    room[kind] = left - 1
    return True


def _cap(kind: str) -> int | None:
    try:
        return connector_class(kind).max_concurrency
    except KeyError:
        return 0


def claim_due(now: dt.datetime | None = None, limit: int | None = None) -> tuple[uuid.UUID, list[int]]:
    """Claims up to `limit` due targets; returns (attempt id, claimed target ids).

    Targets later than their workspace's tolerance (first attempts only) are held for a person;
    targets on paused channels are held until the channel is reconnected; targets of a channel
    whose host does not answer wait with its group (all but the probe, see `unreachable`).

    PostgreSQL reads the candidates `FOR UPDATE SKIP LOCKED` in the claiming transaction. SQLite
    has one write lock for the whole file, shared with every worker's writes: the candidates are
    read before it (a read takes no lock in WAL mode) and the transaction holds it only for the
    conditional UPDATE, whose `status='scheduled'` guard makes a lost race claim nothing. (Two
    schedulers may then both see the same room under a network's concurrency cap and overshoot it
    by a batch; each worker process still holds its calls to the cap.)
    """
    now = now or timezone.now()
    limit = limit or settings.CHORUS_CLAIM_BATCH
    attempt_id = uuid.uuid4()
    if connection.vendor == "postgresql":
        with transaction.atomic():
            rows = _candidates(now, limit, lock=True)
            return attempt_id, _claim(rows, now, limit, attempt_id)
    rows = _candidates(now, limit, lock=False)
    if not rows:
        return attempt_id, []
    with transaction.atomic():
        return attempt_id, _claim(rows, now, limit, attempt_id)


Row = tuple[
    int,
    str,
    str,
    "dt.datetime | None",
    int,
    int,
    int,
    "dt.datetime | None",
    "dt.datetime | None",
    "int | None",
]


def _candidates(now: dt.datetime, limit: int, *, lock: bool) -> list[Row]:
    candidates = PostTarget.objects.filter(status=S.SCHEDULED, hold_reason="", due_at__lte=now).order_by(
        "due_at"
    )
    if lock:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return list(
        candidates.values_list(
            "id",
            "channel__kind",
            "channel__status",
            "scheduled_at",
            "attempts",
            "workspace__late_tolerance_minutes",
            "workspace_id",
            "horizon_from",
            "channel__unreachable_since",
            "channel__unreachable_probe",
        )[: limit * 2]
    )


def _claim(rows: list[Row], now: dt.datetime, limit: int, attempt_id: uuid.UUID) -> list[int]:
    """Inside the claiming transaction: holds what must wait for a person, claims the rest."""
    if not rows:
        return []
    room = _room({row[1] for row in rows})
    missed: list[tuple[int, int]] = []
    paused: list[tuple[int, int]] = []
    waiting: list[tuple[int, int]] = []
    chosen: list[tuple[int, int]] = []
    for row in rows:
        target_id, kind, channel_status, scheduled_at, attempts, tolerance, workspace_id = row[:7]
        horizon_from, unreachable_since, probe = row[7:]
        start = horizon_from or scheduled_at  # a person's "try again" restarts the lateness clock
        if channel_status != Channel.Status.ACTIVE:
            paused.append((target_id, workspace_id))
        elif unreachable_since is not None and target_id != probe:
            # Its host does not answer: it waits with the channel's group; only the probe goes.
            waiting.append((target_id, workspace_id))
        elif attempts == 0 and start is not None and now - start > dt.timedelta(minutes=tolerance):
            missed.append((target_id, workspace_id))
        elif len(chosen) < limit and _take(room, kind):
            chosen.append((target_id, workspace_id))
    _hold(missed, PostTarget.Hold.MISSED, now)
    _hold(paused, PostTarget.Hold.CHANNEL_PAUSED, now)
    _hold(waiting, PostTarget.Hold.UNREACHABLE, now)
    if not chosen:
        return []
    claimed_ids = actions.claim_many(chosen, attempt_id, now)
    # Enqueue only once the claim is committed: a worker must never see a task for a claim that
    # could still roll back.
    transaction.on_commit(lambda: _enqueue(claimed_ids, attempt_id))
    return claimed_ids


def _enqueue(ids: list[int], attempt_id: uuid.UUID) -> None:
    from chorus.publishing.tasks import enqueue_publish

    size = settings.CHORUS_PUBLISH_BATCH
    for start in range(0, len(ids), size):
        enqueue_publish(ids[start : start + size], str(attempt_id))


def _hold(items: list[tuple[int, int]], reason: str, now: dt.datetime) -> None:
    if not items:
        return
    actions.hold_many(items, reason, now)
    log.warning("held %d targets: %s", len(items), reason)


def dispatch_due(now: dt.datetime | None = None) -> int:
    """Claims everything due now, in chunks; each chunk's publish tasks are enqueued on commit."""
    total = 0
    while True:
        _attempt_id, ids = claim_due(now)
        total += len(ids)
        if len(ids) < settings.CHORUS_CLAIM_BATCH:
            return total
