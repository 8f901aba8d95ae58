"""Events come from the actions that own them, on commit, and cost one query when nobody listens."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from chorus import webhooks
from chorus.content.models import PostTarget
from chorus.publishing import actions as publishing
from chorus.publishing import dispatch, engine
from chorus.webhooks import actions
from chorus.webhooks.models import Delivery
from tests.publishing.conftest import make_target

S = PostTarget.Status


def test_scheduling_and_publishing_emit_post_events_with_the_networks_url(
    cast,
    sink_channel,
    receiver,
    run_tasks,
    django_capture_on_commit_callbacks,
):
    _endpoint, secret = actions.create_endpoint(
        workspace=cast.workspace,
        actor=cast.owner,
        url=receiver.url,
        event_types=["post.scheduled", "post.published"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _ids = dispatch.claim_due()
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.publish_one(target.pk, attempt_id) == "published"
    run_tasks()

    events = [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]
    assert [e["type"] for e in events] == ["post.scheduled", "post.published"]
    published = events[1]["data"]
    target.refresh_from_db()
    assert published["target_id"] == target.pk and published["status"] == "published"
    assert published["url"] == target.external_url and published["url"]
    assert published["channel"] == {"id": sink_channel.pk, "kind": "sink", "name": "Sink"}


def test_a_batch_marked_published_emits_one_event_per_target(
    cast,
    sink_channel,
    receiver,
    django_capture_on_commit_callbacks,
):
    actions.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url=receiver.url, event_types=["post.published"]
    )
    targets = [make_target(cast, sink_channel, text=f"T{n}") for n in range(3)]
    attempt = uuid.uuid4()
    PostTarget.objects.filter(pk__in=[t.pk for t in targets]).update(status=S.PUBLISHING, attempt_id=attempt)
    for t in targets:
        t.status, t.attempt_id = S.PUBLISHING, attempt

    class Result:
        def __init__(self, n: int) -> None:
            self.external_id, self.url, self.published_at = f"x{n}", f"https://sink.example/{n}", None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = publishing.mark_published_many([(t, Result(n)) for n, t in enumerate(targets)])
    assert done == {t.pk for t in targets}
    bodies = [json.loads(d.body) for d in Delivery.objects.order_by("pk")]
    assert [b["data"]["url"] for b in bodies] == [f"https://sink.example/{n}" for n in range(3)]
    assert len({d.event_id for d in Delivery.objects.all()}) == 3
    assert callbacks  # the delivery tasks are enqueued on commit


def test_emitting_with_no_endpoint_costs_one_query(cast, sink_channel, django_assert_num_queries):
    targets = [make_target(cast, sink_channel, text=f"T{n}") for n in range(20)]
    with django_assert_num_queries(1):
        assert webhooks.emit_targets("post.published", targets) == 0
    with django_assert_num_queries(1):
        assert webhooks.emit(cast.workspace.pk, "post.failed", {}) == 0


def test_an_endpoint_gets_only_its_chosen_events_of_its_own_workspace(cast, receiver):
    actions.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url=receiver.url, event_types=["post.failed"]
    )
    assert webhooks.emit(cast.workspace, "post.published", {}) == 0
    assert webhooks.emit(cast.other_workspace, "post.failed", {}) == 0
    assert webhooks.emit(cast.workspace, "post.failed", {}) == 1
