"""Every webhook state change: endpoints (create, edit, rotate the secret, enable, delete),
emitting events, delivering them and redelivering from the log.

Delivery is at least once with a stable `webhook-id`: `emit` writes one Delivery row per
subscribed endpoint inside the caller's transaction and enqueues its task on commit. The task
claims the row with a conditional update (status pending, attempts as enqueued, so a duplicate
task or a stale one is a no-op), calls the endpoint outside any transaction, then records the
attempt. A failure is retried with exponential backoff until the event is three days old; the
scheduler job `enqueue_due` picks up the retries and any row whose task was lost.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.models import User, Workspace
from chorus.accounts.permissions import Role
from chorus.core import audit, http
from chorus.core.notify import notify
from chorus.webhooks import signing
from chorus.webhooks.events import EVENT_TYPES, target_data
from chorus.webhooks.models import Attempt, Delivery, Endpoint

D = Delivery.Status
RESPONSE_EXCERPT_CHARS = 500


class WebhookRefused(Exception):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# --- endpoints ---------------------------------------------------------------------------------


def _clean(url: str, event_types: Iterable[str]) -> tuple[str, list[str]]:
    try:
        http.check_public_url(url)
    except http.UnsafeURL as exc:
        raise WebhookRefused(
            _("This URL cannot receive webhooks: %(reason)s") % {"reason": exc}, "url"
        ) from None
    chosen = sorted(set(event_types))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookRefused(
            _("Unknown event types: %(types)s") % {"types": ", ".join(unknown)}, "event_types"
        )
    if not chosen:
        raise WebhookRefused(_("Choose at least one event type."), "event_types")
    return url, chosen


@transaction.atomic
def create_endpoint(
    *, workspace: Workspace, actor: User | None, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[Endpoint, str]:
    """Returns the endpoint and its signing secret (shown once; stored encrypted)."""
    url, chosen = _clean(url, event_types)
    secret = signing.new_secret()
    endpoint = Endpoint.objects.create(
        workspace=workspace,
        url=url,
        description=description,
        event_types=chosen,
        secret_encrypted=signing.seal(secret),
    )
    audit.record(
        "webhook.endpoint_created", workspace=workspace, actor=actor, obj=endpoint, url=url, events=chosen
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(
    endpoint: Endpoint,
    *,
    actor: User | None,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
) -> Endpoint:
    new_url, chosen = _clean(
        url if url is not None else endpoint.url,
        event_types if event_types is not None else endpoint.event_types,
    )
    endpoint.url, endpoint.event_types = new_url, chosen
    if description is not None:
        endpoint.description = description
    endpoint.save(update_fields=["url", "event_types", "description"])
    audit.record(
        "webhook.endpoint_updated", workspace=endpoint.workspace, actor=actor, obj=endpoint, url=new_url
    )
    return endpoint


@transaction.atomic
def delete_endpoint(endpoint: Endpoint, *, actor: User | None) -> None:
    audit.record("webhook.endpoint_deleted", workspace=endpoint.workspace, actor=actor, obj=endpoint)
    endpoint.delete()


@transaction.atomic
def rotate_secret(endpoint: Endpoint, *, actor: User | None, overlap_hours: float = 24) -> str:
    """A new secret; the old one keeps signing (next to the new) for `overlap_hours`, so the
    receiver can switch without missing an event. Returns the new secret (shown once)."""
    if not 0 <= overlap_hours <= 24 * 7:
        raise WebhookRefused(_("The overlap must be between 0 and 168 hours."), "overlap_hours")
    previous = signing.current_secret(endpoint.secret_encrypted)
    secret = signing.new_secret()
    until = timezone.now() + dt.timedelta(hours=overlap_hours)
    endpoint.secret_encrypted = signing.seal(secret, previous, until)
    endpoint.save(update_fields=["secret_encrypted"])
    audit.record(
        "webhook.secret_rotated",
        workspace=endpoint.workspace,
        actor=actor,
        obj=endpoint,
        overlap_until=until.isoformat(),
    )
    return secret


@transaction.atomic
def set_active(endpoint: Endpoint, *, actor: User | None, active: bool) -> None:
    Endpoint.objects.filter(pk=endpoint.pk).update(
        active=active, failure_streak=0 if active else endpoint.failure_streak, disabled_reason=""
    )
    endpoint.refresh_from_db()
    audit.record(
        "webhook.endpoint_enabled" if active else "webhook.endpoint_disabled",
        workspace=endpoint.workspace,
        actor=actor,
        obj=endpoint,
    )


# --- emitting ----------------------------------------------------------------------------------


def _listening(workspace_ids: set[int], event_type: str) -> dict[int, list[int]]:
    """workspace id -> ids of its active endpoints subscribed to `event_type`: one indexed query.
    Every action that emits runs this, endpoints or not: it is written as SQL, since compiling the
    ORM query cost ~10x the query itself (bench/webhooks: emit 3.5 ms → see the commit)."""
    found: dict[int, list[int]] = {}
    if not workspace_ids:
        return found
    ids = sorted(workspace_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, workspace_id, event_types FROM {Endpoint._meta.db_table}"  # noqa: S608 (model's table; values are parameters)
            f" WHERE active AND workspace_id IN ({', '.join(['%s'] * len(ids))})",
            ids,
        )
        rows = cursor.fetchall()
    for pk, workspace_id, types in rows:
        if event_type in (json.loads(types) if isinstance(types, str) else types):
            found.setdefault(workspace_id, []).append(pk)
    return found


def _body(event_type: str, at: dt.datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def _queue(rows: list[Delivery]) -> int:
    if not rows:
        return 0
    created = Delivery.objects.bulk_create(rows)
    ids = [row.pk for row in created]

    endpoint_ids = sorted({row.endpoint_id for row in rows})
    # A lost flush is not lost work: each row is due once its lease ends (enqueue_due).
    transaction.on_commit(lambda: request_flush(endpoint_ids))
    return len(ids)


def request_flush(endpoint_ids: Iterable[int]) -> None:
    """Enqueues one flush task per endpoint unless one is already waiting: a burst of events
    (a batch of posts published) is sent by one task, not a task each."""
    from chorus.webhooks.tasks import flush as flush_task

    now = timezone.now()
    stale = now - dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_LEASE_SECONDS", 300))
    waiting_sql = (
        f"SELECT 1 FROM {Endpoint._meta.db_table}"  # noqa: S608 (model's table; values are parameters)
        " WHERE id = %s AND flush_requested_at IS NOT NULL AND flush_requested_at >= %s"
    )
    for pk in endpoint_ids:
        with connection.cursor() as cursor:  # SQL for the reason _listening gives
            cursor.execute(waiting_sql, [pk, connection.ops.adapt_datetimefield_value(stale)])
            if cursor.fetchone():
                continue  # a read, not a write, in the common case of a burst
        waiting = Q(flush_requested_at__isnull=False, flush_requested_at__gte=stale)
        if Endpoint.objects.filter(pk=pk).exclude(waiting).update(flush_requested_at=now):
            flush_task.enqueue(pk)


def flush(endpoint_id: int, batch: int = 100, rounds: int = 100) -> int:
    """First attempts of an endpoint's new events, in batches: claimed in one conditional update
    (rows another task got first are left to it), sent one by one outside any transaction, then
    recorded in one transaction. Retries go through `deliver` (see enqueue_due). Returns how
    many were sent."""
    # Cleared first: an event committed from now on requests a new flush, or is read below.
    Endpoint.objects.filter(pk=endpoint_id).update(flush_requested_at=None)
    lease_seconds = _setting("CHORUS_WEBHOOK_LEASE_SECONDS", 300)
    sent = 0
    for _round in range(rounds):
        endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
        fresh = Delivery.objects.filter(endpoint_id=endpoint_id, status=D.PENDING, attempts=0)
        ids = list(fresh.order_by("pk").values_list("pk", flat=True)[:batch])
        if endpoint is None or not ids:
            return sent
        lease = timezone.now() + dt.timedelta(seconds=lease_seconds)
        Delivery.objects.filter(pk__in=ids, status=D.PENDING, attempts=0).update(
            status=D.SENDING, next_attempt_at=lease
        )
        claimed = list(
            Delivery.objects.filter(pk__in=ids, status=D.SENDING, next_attempt_at=lease).order_by("pk")
        )
        if not endpoint.active:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                status=D.FAILED, next_attempt_at=None
            )
            return sent
        results = [(delivery, *_send(endpoint, delivery)) for delivery in claimed]
        _record_batch(endpoint, results)
        sent += len(results)
    return sent


def _record_batch(endpoint: Endpoint, results: list[Any]) -> None:
    now = timezone.now()
    max_age = dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_MAX_AGE_SECONDS", 3 * 86400))
    streak, succeeded, failed = endpoint.failure_streak, False, False
    with transaction.atomic():
        Attempt.objects.bulk_create(
            Attempt(
                delivery=d,
                number=d.attempts + 1,
                at=now,
                request_headers=headers,
                status_code=code,
                response_excerpt=excerpt,
                error=error,
                duration_ms=duration,
            )
            for d, headers, code, excerpt, error, duration in results
        )
        for d, _headers, code, _excerpt, _error, _duration in results:
            ok = code is not None and 200 <= code < 300
            give_up = not ok and now - d.created_at >= max_age
            status = D.SUCCEEDED if ok else D.FAILED if give_up else D.PENDING
            next_at = None if ok or give_up else now + dt.timedelta(seconds=backoff_seconds(d.attempts + 1))
            Delivery.objects.filter(pk=d.pk, status=D.SENDING).update(
                status=status, attempts=d.attempts + 1, next_attempt_at=next_at, last_status_code=code,
                delivered_at=now if ok else None,
            )  # fmt: skip
            streak = 0 if ok else streak + 1
            succeeded, failed = succeeded or ok, failed or not ok
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failure_streak=streak,
            **({"last_success_at": now} if succeeded else {}),
            **({"last_failure_at": now} if failed else {}),
        )
        if streak:
            _disable_if_failing(endpoint.pk)


def _rows(
    workspace_id: int, endpoint_ids: list[int], event_type: str, data: dict[str, Any]
) -> list[Delivery]:
    now = timezone.now()
    event_id = f"msg_{uuid.uuid4().hex}"
    body = _body(event_type, now, data)
    lease = now + dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_LEASE_SECONDS", 300))
    return [
        Delivery(
            endpoint_id=pk,
            workspace_id=workspace_id,
            event_id=event_id,
            event_type=event_type,
            body=body,
            next_attempt_at=lease,
            created_at=now,
        )
        for pk in endpoint_ids
    ]


Data = dict[str, Any] | Callable[[], dict[str, Any]]


def emit(workspace: Workspace | int, event_type: str, data: Data) -> int:
    """`data` may be a function: it is called only when an endpoint listens (building a payload
    may cost queries; with nobody listening, emitting costs one)."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    endpoints = _listening({workspace_id}, event_type).get(workspace_id)
    if not endpoints:
        return 0
    return _queue(_rows(workspace_id, endpoints, event_type, data() if callable(data) else data))


def emit_many(
    event_type: str,
    workspace_ids: Iterable[int],
    build: Callable[[set[int]], Iterable[tuple[int, dict[str, Any]]]],
) -> int:
    """One event per (workspace id, data) that `build` yields, for a batch (ingested inbox items):
    one query for every workspace's endpoints; `build` is called, with the workspaces that
    listen, only when some do. Each event gets its own webhook-id."""
    listening = _listening(set(workspace_ids), event_type)
    if not listening:
        return 0
    rows: list[Delivery] = []
    for workspace_id, data in build(set(listening)):
        if workspace_id in listening:
            rows += _rows(workspace_id, listening[workspace_id], event_type, data)
    return _queue(rows)


def emit_targets(event_type: str, targets: Iterable[Any], **extra: Any) -> int:
    targets = list(targets)
    if not targets:
        return 0
    listening = _listening({t.workspace_id for t in targets}, event_type)
    if not listening:
        return 0
    from chorus.channels.models import Channel

    chosen = [t for t in targets if t.workspace_id in listening]
    channels = {
        row["id"]: row
        for row in Channel.objects.filter(pk__in={t.channel_id for t in chosen}).values("id", "kind", "name")
    }
    rows: list[Delivery] = []
    for target in chosen:
        data = {**target_data(target, dict(channels[target.channel_id])), **extra}
        rows += _rows(target.workspace_id, listening[target.workspace_id], event_type, data)
    return _queue(rows)


# --- delivering --------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """Exponential with jitter: base · 2^(attempts-1), capped, ±20 %."""
    base = _setting("CHORUS_WEBHOOK_RETRY_BASE_SECONDS", 30)
    cap = _setting("CHORUS_WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


def _claim(delivery_id: int, attempts: int) -> bool:
    """Pending → sending for the attempt the task was enqueued for; another task (a duplicate,
    or the scheduler's after a lost one) that got there first leaves nothing to do."""
    lease = timezone.now() + dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_LEASE_SECONDS", 300))
    return (
        Delivery.objects.filter(pk=delivery_id, status=D.PENDING, attempts=attempts).update(
            status=D.SENDING, next_attempt_at=lease
        )
        == 1
    )


_clients = threading.local()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """One POST to a user-typed URL: the SSRF guard checks it every time; redirects are not
    followed (a receiver answers where it was registered). Returns the status code and the
    start of the response, read only up to that budget (a receiver may answer with anything).
    The client of chorus.core.http is kept per thread: building one costs more than a local
    delivery (TLS context)."""
    http.check_public_url(url)
    client = getattr(_clients, "client", None)
    if client is None:
        client = _clients.client = http.client(user_url=True, timeout=httpx.Timeout(10.0))
    with client.stream("POST", url, content=body, headers=headers) as response:
        head = b""
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= RESPONSE_EXCERPT_CHARS * 4:
                break
        return response.status_code, head.decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]


def _send(endpoint: Endpoint, delivery: Delivery) -> tuple[dict[str, str], int | None, str, str, int]:
    at = timezone.now()
    body = delivery.body.encode()
    headers = signing.headers(
        signing.secrets_in_use(endpoint.secret_encrypted, at), delivery.event_id, at, body
    )
    started = time.monotonic()
    code: int | None = None
    excerpt = error = ""
    try:
        code, excerpt = post(endpoint.url, body, headers)
    except http.UnsafeURL as exc:
        error = str(exc)[:300]
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    shown = {k: v for k, v in headers.items() if k != "webhook-signature"}
    shown["webhook-signature"] = " ".join(
        s.split(",")[0] + ",…" for s in headers["webhook-signature"].split()
    )
    return shown, code, excerpt, error, int((time.monotonic() - started) * 1000)


def deliver(delivery_id: int, attempts: int, *, manual: bool = False) -> str | None:
    """One attempt; returns the delivery's new status, or None when there was nothing to do."""
    if not _claim(delivery_id, attempts):
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        Delivery.objects.filter(pk=delivery_id, status=D.SENDING).update(
            status=D.FAILED, next_attempt_at=None
        )
        return D.FAILED
    headers, code, excerpt, error, duration = _send(endpoint, delivery)
    ok = code is not None and 200 <= code < 300
    now = timezone.now()
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts + 1,
            at=now,
            request_headers=headers,
            status_code=code,
            response_excerpt=excerpt,
            error=error,
            duration_ms=duration,
            manual=manual,
        )
        if ok:
            status, next_at = D.SUCCEEDED, None
            Endpoint.objects.filter(pk=endpoint.pk).update(failure_streak=0, last_success_at=now)
        else:
            max_age = dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_MAX_AGE_SECONDS", 3 * 86400))
            give_up = manual or now - delivery.created_at >= max_age
            status = D.FAILED if give_up else D.PENDING
            next_at = None if give_up else now + dt.timedelta(seconds=backoff_seconds(delivery.attempts + 1))
            Endpoint.objects.filter(pk=endpoint.pk).update(
                failure_streak=F("failure_streak") + 1, last_failure_at=now
            )
        Delivery.objects.filter(pk=delivery_id, status=D.SENDING).update(
            status=status,
            attempts=delivery.attempts + 1,
            next_attempt_at=next_at,
            last_status_code=code,
            delivered_at=now if ok else None,
        )
        if not ok:
            _disable_if_failing(endpoint.pk)
    return status


def _disable_if_failing(endpoint_id: int) -> None:
    limit = int(_setting("CHORUS_WEBHOOK_DISABLE_AFTER", 20))
    # Conditional: only the attempt that crosses the limit disables and tells the admins.
    if not Endpoint.objects.filter(pk=endpoint_id, active=True, failure_streak__gte=limit).update(
        active=False, disabled_reason="failures"
    ):
        return
    endpoint = Endpoint.objects.select_related("workspace").get(pk=endpoint_id)
    workspace = endpoint.workspace
    audit.record(
        "webhook.endpoint_disabled", workspace=workspace, obj=endpoint, reason="failures", streak=limit
    )
    from django.urls import reverse

    admins = User.objects.filter(
        memberships__workspace=workspace, memberships__role__in=[Role.OWNER, Role.ADMIN]
    ).distinct()
    notify(
        admins,
        workspace=workspace,
        kind="webhook.disabled",
        title=_("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url},
        body=_("It failed %(count)s times in a row. Fix the receiver, then enable it again.")
        % {"count": limit},
        url=reverse("webhooks:detail", args=[workspace.slug, endpoint.pk]),
    )


@transaction.atomic
def redeliver(delivery: Delivery, *, actor: User | None) -> None:
    """Sends the same event again (same webhook-id and body, a fresh signature) from the log."""
    changed = Delivery.objects.filter(pk=delivery.pk, status__in=[D.SUCCEEDED, D.FAILED, D.PENDING]).update(
        status=D.PENDING, next_attempt_at=timezone.now() + dt.timedelta(seconds=60)
    )
    if not changed:
        raise WebhookRefused(_("This delivery is being sent right now."))
    delivery.refresh_from_db()
    audit.record(
        "webhook.redelivered",
        workspace=delivery.workspace,
        actor=actor,
        obj=delivery,
        event=delivery.event_id,
    )
    attempts = delivery.attempts

    def _enqueue() -> None:
        from chorus.webhooks.tasks import deliver as deliver_task

        deliver_task.enqueue(delivery.pk, attempts, manual=True)

    transaction.on_commit(_enqueue)


def send_test(endpoint: Endpoint, *, actor: User | None) -> int:
    data = {"endpoint_id": endpoint.pk, "message": "Hello from Chorus"}
    with transaction.atomic():
        rows = _rows(endpoint.workspace_id, [endpoint.pk], "webhook.test", data)
        audit.record("webhook.test_sent", workspace=endpoint.workspace, actor=actor, obj=endpoint)
        return _queue(rows)


def enqueue_due(limit: int = 500) -> list[tuple[int, int]]:
    """Scheduler job: enqueue retries that are due and rows whose task was lost (their lease
    ended). Each row is leased by a conditional update first, so two schedulers never enqueue
    the same attempt twice; returns (delivery id, attempts) of what it enqueued."""
    from chorus.webhooks.tasks import deliver as deliver_task

    now = timezone.now()
    # A worker that died mid-attempt leaves the row 'sending' past its lease: due again.
    Delivery.objects.filter(status=D.SENDING, next_attempt_at__lte=now).update(status=D.PENDING)
    lease = now + dt.timedelta(seconds=_setting("CHORUS_WEBHOOK_LEASE_SECONDS", 300))
    enqueued = []
    due = Delivery.objects.filter(status=D.PENDING, next_attempt_at__lte=now).values_list("pk", "attempts")
    for pk, attempts in due[:limit]:
        if Delivery.objects.filter(
            pk=pk, status=D.PENDING, attempts=attempts, next_attempt_at__lte=now
        ).update(next_attempt_at=lease):
            deliver_task.enqueue(pk, attempts)
            enqueued.append((pk, attempts))
    return enqueued
