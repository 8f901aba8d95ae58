"""Publishing one claimed target: the only place that calls a connector's `publish`.

Order of a publish, each step committed before the next:
1. the claim (scheduler) recorded status 'publishing', phase 'claimed' and an attempt id;
2. quota reserved in the rolling-window ledger (or the target waits for the window to free);
3. phase 'sending' committed — from here a crash means "maybe sent";
4. the network call, outside any transaction;
5. the outcome recorded, conditional on the attempt id.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import defaultdict

from django.conf import settings
from django.utils import timezone

from chorus.channels import actions as channel_actions
from chorus.connectors.base import (
    AuthExpired,
    Connector,
    ContentRejected,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.content.models import PostTarget
from chorus.core.notify import notify
from chorus.publishing import actions, quotas

log = logging.getLogger(__name__)
S = PostTarget.Status

# Per-network concurrency inside one worker process (the claim bounds it across processes).
_network_slots: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(1))
_slots_lock = threading.Lock()


def _slot(connector: Connector) -> threading.BoundedSemaphore:
    with _slots_lock:
        if connector.kind not in _network_slots:
            _network_slots[connector.kind] = threading.BoundedSemaphore(connector.max_concurrency)
        return _network_slots[connector.kind]


def _load(target_id: int) -> PostTarget | None:
    return (
        PostTarget.objects.select_related("channel", "workspace", "post", "post__author")
        .filter(pk=target_id)
        .first()
    )


def publish_one(target_id: int, attempt_id: uuid.UUID) -> str:
    """Runs one attempt; returns the outcome name (for logs and tests). Safe to run twice."""
    target = _load(target_id)
    if target is None:
        return "gone"
    return publish_loaded(target, attempt_id)


def publish_loaded(
    target: PostTarget, attempt_id: uuid.UUID, successes: list[tuple[PostTarget, PublishResult]] | None = None
) -> str:
    """One attempt on an already loaded target. With `successes`, a successful publish is
    appended there for `record_successes` to write with others in one transaction (fewer
    commits per target); until then the target stays 'sending', which a crash turns into
    'unknown' and reconciliation settles by reading back — the same as a crash right after any
    network call."""
    try:
        return _publish_one(target, attempt_id, successes)
    except actions.TransitionRefused:
        # Crash recovery or another actor moved the target while this attempt ran (e.g. its send
        # outlived the send lease and it became 'unknown'): reconciliation settles it by reading
        # back; this attempt records nothing.
        log.warning("target %s moved during attempt %s; leaving it to reconciliation", target.pk, attempt_id)
        return "superseded"


def record_successes(successes: list[tuple[PostTarget, PublishResult]]) -> dict[str, int]:
    if not successes:
        return {}
    published, superseded = actions.mark_published_many(successes)
    return {"published": published, **({"superseded": superseded} if superseded else {})}


def _publish_one(
    target: PostTarget, attempt_id: uuid.UUID, successes: list[tuple[PostTarget, PublishResult]] | None
) -> str:
    if target.status != S.PUBLISHING or target.attempt_id != attempt_id:
        return "stale"  # another attempt owns it now, or it is done: a duplicate delivery
    if target.phase == PostTarget.Phase.SENDING:
        # The same attempt was already sending when its worker died and the task came back
        # (Celery acks late). The request may have reached the network: never resend blindly.
        actions.mark_unknown(target, message="The worker stopped while sending; checking with the network.")
        return "unknown"
    try:
        connector = target.channel.connector()
        wait_until = quotas.reserve(connector, target)
    except Exception as exc:
        # Nothing was sent yet (a bug, a misconfigured connector, the database briefly away):
        # safe to try again later, counted as an attempt so a persistent fault ends as failed.
        log.exception("target %s failed before sending", target.pk)
        if target.attempts + 1 >= settings.CHORUS_MAX_ATTEMPTS:
            actions.mark_failed(
                target, code="internal", message=f"Internal error before sending: {type(exc).__name__}"
            )
            return "failed"
        delay = actions.backoff_delay(target.attempts)
        actions.retry_later(
            target,
            when=timezone.now() + dt.timedelta(seconds=delay),
            code="internal",
            message=f"Internal error before sending ({type(exc).__name__}); trying again.",
        )
        return "retry"
    if wait_until is not None:
        actions.retry_later(
            target,
            when=wait_until,
            code="quota",
            message=f"{connector.label} posting limit reached; waiting until {wait_until:%Y-%m-%d %H:%M} UTC.",
            count_attempt=False,
        )
        return "quota_wait"
    if not actions.begin_sending(target.pk, attempt_id):
        quotas.refund(target)
        return "stale"
    try:
        with _slot(connector):
            result = _call(connector, target)
    except RateLimited as exc:
        quotas.refund(target)
        when = timezone.now() + dt.timedelta(seconds=exc.retry_after)
        actions.retry_later(target, when=when, code=exc.code, message=exc.message, count_attempt=False)
        return "rate_limited"
    except Transient as exc:
        quotas.refund(target)
        if target.attempts + 1 >= settings.CHORUS_MAX_ATTEMPTS:
            actions.mark_failed(
                target, code=exc.code, message=f"{exc.message} (gave up after {target.attempts + 1} attempts)"
            )
            return "failed"
        delay = actions.backoff_delay(target.attempts)
        actions.retry_later(
            target, when=timezone.now() + dt.timedelta(seconds=delay), code=exc.code, message=exc.message
        )
        return "retry"
    except ContentRejected as exc:
        quotas.refund(target)
        actions.mark_failed(target, code=exc.code, message=exc.message)
        return "failed"
    except ReauthRequired as exc:
        quotas.refund(target)
        _pause_for_reauth(target, exc)
        return "held"
    except OutcomeUnknown as exc:
        actions.mark_unknown(target, message=exc.message)
        return "unknown"
    except PublishError as exc:
        actions.mark_failed(target, code=exc.code, message=exc.message)
        return "failed"
    except Exception as exc:
        # A bug or an unexpected library error after phase 'sending': we cannot tell whether the
        # request went out, so reconciliation decides (never a blind retry).
        log.exception("publish of target %s raised", target.pk)
        actions.mark_unknown(target, message=f"Unexpected error: {type(exc).__name__}")
        return "unknown"
    if successes is not None:
        successes.append((target, result))
        return "sent"
    actions.mark_published(
        target, external_id=result.external_id, url=result.url, published_at=result.published_at
    )
    return "published"


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


def _pause_for_reauth(target: PostTarget, exc: PublishError) -> None:
    channel = target.channel
    channel_actions.pause_channel(channel=channel, reason=exc.message)
    actions.hold(target, reason=PostTarget.Hold.CHANNEL_PAUSED, detail=exc.message)
    notify(
        actions._admins_and_author(target),
        workspace=target.workspace,
        kind="channel_paused",
        title=f"{channel.name} needs to be reconnected",
        body=exc.message,
    )
