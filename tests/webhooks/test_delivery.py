"""Signed, retried, logged deliveries to a real receiver on 127.0.0.1, run by the task engine."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chorus import webhooks
from chorus.core.models import Notification
from chorus.webhooks import actions
from chorus.webhooks.models import Delivery, Endpoint
from chorus.webhooks.tasks import deliver
from tests.conftest import Cast
from tests.webhooks.conftest import Receiver

D = Delivery.Status


def make_endpoint(cast: Cast, receiver: Receiver, events=("post.published",)) -> tuple[Endpoint, str]:
    return actions.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url=receiver.url, event_types=events
    )


def emit(cast: Cast, django_capture_on_commit_callbacks, data: dict | None = None) -> Delivery:
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            webhooks.emit(cast.workspace, "post.published", data or {"url": "https://example.org/p/1"}) == 1
        )
    return Delivery.objects.latest("pk")


def drain(run_tasks, rounds: int = 10) -> None:
    """The task engine runs what is queued; the scheduler job enqueues what is due; again."""
    for _ in range(rounds):
        run_tasks()
        if not actions.enqueue_due():
            return


def test_it_signs_the_standard_webhooks_way(cast, receiver, run_tasks, django_capture_on_commit_callbacks):
    _endpoint, secret = make_endpoint(cast, receiver)
    delivery = emit(cast, django_capture_on_commit_callbacks)
    run_tasks()

    [request] = receiver.requests
    # The reference verifier accepts it...
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "post.published"
    assert payload["data"] == {"url": "https://example.org/p/1"}
    assert request.headers["webhook-id"] == delivery.event_id
    # ...and so does the scheme computed by hand, byte for byte.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    )
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == expected
    # A tampered body is refused by the verifier.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"p/1", b"p/2"), request.headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (D.SUCCEEDED, 1, 204)


def test_a_receiver_failing_three_times_gets_exactly_one_accepted_delivery_per_event(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks, settings
):
    settings.CHORUS_WEBHOOK_RETRY_BASE_SECONDS = 0  # retries due at once; the schedule is tested below
    receiver.fail_first = 3
    make_endpoint(cast, receiver)
    first = emit(cast, django_capture_on_commit_callbacks, {"n": 1})
    second = emit(cast, django_capture_on_commit_callbacks, {"n": 2})

    drain(run_tasks)

    assert len(receiver.requests) == 5  # 3 refused, then one accepted per event
    accepted = [r.headers["webhook-id"] for r in receiver.accepted()]
    assert sorted(accepted) == sorted([first.event_id, second.event_id])
    # Every retry carried the same webhook-id as the first attempt of its event.
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert set(ids) == {first.event_id, second.event_id}
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.status == D.SUCCEEDED
        log = list(delivery.attempt_log.order_by("number").values_list("number", "status_code"))
        assert log[-1][1] == 204 and all(code == 500 for _n, code in log[:-1])
    # A duplicate or stale task after success sends nothing more.
    assert deliver.call(first.pk, 0) is None
    assert actions.enqueue_due() == []
    assert len(receiver.requests) == 5


def test_retries_back_off_exponentially_and_stop_after_three_days(
    cast, receiver, django_capture_on_commit_callbacks
):
    receiver.fail_first = 100
    make_endpoint(cast, receiver)
    delivery = emit(cast, django_capture_on_commit_callbacks)
    delays = []
    for attempts in range(4):
        before = timezone.now()
        assert deliver.call(delivery.pk, attempts) == D.PENDING
        delivery.refresh_from_db()
        delays.append((delivery.next_attempt_at - before).total_seconds())
    # base 30 s doubling, ±20 % jitter
    for n, delay in enumerate(delays):
        assert 30 * 2**n * 0.8 - 1 <= delay <= 30 * 2**n * 1.2 + 1
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - dt.timedelta(days=3, seconds=1)
    )
    assert deliver.call(delivery.pk, 4) == D.FAILED
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None and delivery.attempts == 5


def test_an_endpoint_failing_repeatedly_is_disabled_and_admins_are_told(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks, settings
):
    settings.CHORUS_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.CHORUS_WEBHOOK_DISABLE_AFTER = 4
    receiver.fail_first = 100
    endpoint, _secret = make_endpoint(cast, receiver)
    delivery = emit(cast, django_capture_on_commit_callbacks)

    drain(run_tasks)

    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason == "failures"
    assert len(receiver.requests) == 4
    delivery.refresh_from_db()
    assert delivery.status == D.FAILED  # not sent again to a disabled endpoint
    told = Notification.objects.filter(kind="webhook.disabled", workspace=cast.workspace)
    assert {n.user.email for n in told} == {"owner@example.org", "admin@example.org"}
    # A disabled endpoint gets no new deliveries.
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.emit(cast.workspace, "post.published", {}) == 0


def test_redelivery_from_the_log_sends_the_same_event_again(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(cast, receiver)
    delivery = emit(cast, django_capture_on_commit_callbacks)
    run_tasks()
    client = cast.client_for(cast.owner)
    url = f"/w/{cast.workspace.slug}/webhooks/{endpoint.pk}/"
    page = client.get(url)
    assert delivery.event_id in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "redeliver", "delivery_id": delivery.pk})
    assert response.status_code == 302
    run_tasks()

    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.event_id] * 2
    assert receiver.requests[0].body == receiver.requests[1].body
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    log = list(delivery.attempt_log.order_by("number").values_list("number", "manual", "status_code"))
    assert log == [(1, False, 204), (2, True, 204)]
    # Another workspace cannot redeliver it (nor see the endpoint).
    outsider = cast.client_for(cast.outsider)
    assert outsider.post(url, {"action": "redeliver", "delivery_id": delivery.pk}).status_code == 404


def test_a_rotated_secret_overlaps_with_the_previous_one(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    endpoint, old = make_endpoint(cast, receiver)
    new = actions.rotate_secret(endpoint, actor=cast.owner, overlap_hours=24)
    emit(cast, django_capture_on_commit_callbacks)
    run_tasks()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)  # a receiver not yet switched
    Webhook(new).verify(request.body, request.headers)  # a receiver already switched

    # After the overlap only the new secret signs.
    newest = actions.rotate_secret(endpoint, actor=cast.owner, overlap_hours=0)
    emit(cast, django_capture_on_commit_callbacks)
    run_tasks()
    request = receiver.requests[-1]
    Webhook(newest).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(request.body, request.headers)
    # The secrets are encrypted at rest.
    stored = Endpoint.objects.values_list("secret_encrypted", flat=True).get(pk=endpoint.pk)
    assert newest not in stored and "whsec_" not in stored


def test_the_ssrf_guard_refuses_private_endpoint_urls(
    cast, receiver, settings, django_capture_on_commit_callbacks
):
    make_endpoint(cast, receiver)
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(actions.WebhookRefused, match="is not a public address"):
        actions.create_endpoint(
            workspace=cast.workspace,
            actor=cast.owner,
            url="http://127.0.0.1:9/x",
            event_types=["post.failed"],
        )
    with pytest.raises(actions.WebhookRefused, match="only http and https"):
        actions.create_endpoint(
            workspace=cast.workspace, actor=cast.owner, url="file:///etc/passwd", event_types=["post.failed"]
        )
    # An endpoint registered while private addresses were allowed is refused at delivery time.
    delivery = emit(cast, django_capture_on_commit_callbacks)
    assert deliver.call(delivery.pk, 0) == D.PENDING
    assert "is not a public address" in delivery.attempt_log.get().error
    assert receiver.requests == []


def test_the_payload_is_json_with_type_timestamp_and_data(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    make_endpoint(cast, receiver)
    emit(cast, django_capture_on_commit_callbacks, {"when": "x"})
    run_tasks()
    body = json.loads(receiver.requests[0].body)
    assert set(body) == {"type", "timestamp", "data"}
    assert dt.datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_only_the_start_of_a_huge_answer_is_read_and_kept(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    receiver.answer = b"ok " * 2_000_000  # 6 MB
    make_endpoint(cast, receiver)
    delivery = emit(cast, django_capture_on_commit_callbacks)
    run_tasks()
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == ("ok " * 200)[:500]


def test_a_burst_of_events_is_sent_by_one_flush_task(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    make_endpoint(cast, receiver)
    for n in range(5):
        emit(cast, django_capture_on_commit_callbacks, {"n": n})
    queued = list(DBTaskResult.objects.values_list("task_path", flat=True))
    assert queued == ["chorus.webhooks.tasks.flush"]
    run_tasks()
    assert sorted(json.loads(r.body)["data"]["n"] for r in receiver.accepted()) == [0, 1, 2, 3, 4]
    assert set(Delivery.objects.values_list("status", "attempts")) == {(D.SUCCEEDED, 1)}


def test_an_event_whose_task_was_lost_is_sent_once_its_lease_ends(cast, receiver, run_tasks):
    make_endpoint(cast, receiver)
    assert webhooks.emit(cast.workspace, "post.published", {}) == 1  # on-commit never runs: task lost
    assert actions.enqueue_due() == []  # leased while its task may still be queued
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert len(actions.enqueue_due()) == 1
    run_tasks()
    assert len(receiver.accepted()) == 1
