"""The inbox, listening, ads and experiments events: emitted by their actions on commit, delivered
to a real receiver on 127.0.0.1, signed (checked with the standardwebhooks reference verifier),
once per event id, with at least the keys of the payload catalogue; an endpoint subscribed to
other events gets none of them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chorus.ads import actions as ads
from chorus.ads.models import AdAccount, Boost
from chorus.channels.actions import connect_channel
from chorus.experiments import actions as experiments
from chorus.inbox import actions as inbox
from chorus.inbox.models import InboxItem
from chorus.listening import actions as listening
from chorus.listening.models import Alert
from chorus.webhooks import actions
from chorus.webhooks.catalogue import EXAMPLES, missing_keys
from chorus.webhooks.events import EVENT_TYPES
from chorus.webhooks.models import Delivery, Endpoint
from tests.ads.conftest import boost_values, published
from tests.experiments.test_actions import _experiment, _measure, _publish_everything, _slots
from tests.inbox.conftest import entry

pytestmark = pytest.mark.django_db


def _endpoints(cast, receiver, event_type: str) -> tuple[Endpoint, str, Endpoint]:
    """One endpoint for `event_type`, one for every other event type (same receiver)."""
    listening_endpoint, secret = actions.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url=receiver.url, event_types=[event_type]
    )
    other, _secret = actions.create_endpoint(
        workspace=cast.workspace,
        actor=cast.owner,
        url=receiver.url + "?other",
        event_types=[name for name in EVENT_TYPES if name != event_type],
    )
    return listening_endpoint, secret, other


def _delivered(receiver, run_tasks, secret: str, event_type: str, other: Endpoint) -> list[dict[str, Any]]:
    """Runs the delivery tasks (twice: a second run sends nothing again) and returns the events
    the receiver accepted, each verified with the endpoint's secret."""
    run_tasks()
    run_tasks()
    assert not Delivery.objects.filter(endpoint=other).exists()
    verifier = Webhook(secret)
    events = [verifier.verify(r.body, r.headers) for r in receiver.accepted()]  # raises if unsigned
    ids = Counter(r.headers["webhook-id"] for r in receiver.accepted())
    assert ids and set(ids.values()) == {1}, ids  # exactly one accepted delivery per event id
    assert len(receiver.requests) == len(receiver.accepted())
    for event in events:
        assert event["type"] == event_type
        assert missing_keys(event_type, event["data"]) == []
    return [e["data"] for e in events]


def test_new_inbox_items_are_announced_once_each(
    cast, sink_channel, receiver, run_tasks, django_capture_on_commit_callbacks
):
    channel = sink_channel
    _endpoint, secret, other = _endpoints(cast, receiver, "inbox.message.received")
    entries = [entry(1), entry(2, kind="mention", author="did:plc:other"), entry(3, kind="like")]

    with django_capture_on_commit_callbacks(execute=True):
        inbox.ingest(channel=channel, entries=entries)
    with django_capture_on_commit_callbacks(execute=True):  # polled again: stored once, told once
        again = inbox.ingest(channel=channel, entries=entries, via="webhook")
    assert again.new_items == 0
    data = _delivered(receiver, run_tasks, secret, "inbox.message.received", other)

    assert [d["kind"] for d in data] == ["reply", "mention"]  # the like is activity, not a message
    reply = InboxItem.objects.get(network_id=entries[0].network_id)
    first = data[0]
    assert first["item_id"] == reply.pk and first["conversation_id"] == reply.conversation_id
    assert first["workspace"] == {"id": cast.workspace.pk, "slug": cast.workspace.slug}
    assert first["channel"] == {"id": channel.pk, "kind": "sink", "name": channel.name}
    assert first["text"] == "item 1" and first["author"]["id"] == "did:plc:fan"
    slug = cast.workspace.slug
    assert first["links"]["page"].endswith(f"/w/{slug}/inbox/{reply.conversation_id}/")
    assert first["links"]["api"].endswith(
        f"/api/workspaces/{slug}/inbox/conversations/{reply.conversation_id}"
    )


def test_a_listening_alert_is_announced_and_a_rate_limited_one_is_not(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    _endpoint, secret, other = _endpoints(cast, receiver, "listening.alert")
    query = listening.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})

    with django_capture_on_commit_callbacks(execute=True):
        assert listening.raise_alert(
            query, Alert.Kind.SPIKE, "Brand: 42 posts", {"count": 42, "baseline": 7.0}
        )
        assert not listening.raise_alert(query, Alert.Kind.SPIKE, "Brand: 43 posts", {"count": 43})
    [data] = _delivered(receiver, run_tasks, secret, "listening.alert", other)

    alert = Alert.objects.get()
    assert data["alert_id"] == alert.pk and data["kind"] == "spike"
    assert data["query"] == {"id": query.pk, "name": "Brand", "group": "brand"}
    assert data["data"] == {"count": 42, "baseline": 7.0} and data["message"] == "Brand: 42 posts"
    assert data["links"]["api"].endswith(f"/listening/matches?query={query.pk}")


def test_a_boosts_status_changes_are_announced_with_old_and_new_status(
    cast, receiver, run_tasks, django_capture_on_commit_callbacks
):
    _endpoint, secret, other = _endpoints(cast, receiver, "ad.status_changed")
    page = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )
    # The account as the network described it (reading it is tested with the Marketing API fake).
    account = AdAccount.objects.create(
        workspace=cast.workspace,
        channel=page,
        external_id="1234",
        name="Ads",
        currency="EUR",
        status="active",
    )
    ads.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=0,
    )
    target = published(cast, page, "1111_99")
    boost = ads.request_boost(target, actor=cast.owner, **boost_values(account))
    assert boost.status == Boost.Status.AWAITING_APPROVAL  # asked: not a change of status

    with django_capture_on_commit_callbacks(execute=True):
        ads.decline_boost(boost, actor=cast.members["admin"], reason="Not this month")
    with django_capture_on_commit_callbacks(execute=True):  # the network's verdicts, as collected
        assert ads.record_review(boost.pk, "in_review")
        assert ads.record_review(boost.pk, "rejected", "Too much text")
        assert not ads.record_review(boost.pk, "rejected", "Too much text")  # no change, no event
    data = _delivered(receiver, run_tasks, secret, "ad.status_changed", other)

    moves = [(d["old_status"], d["status"], d["reason"]) for d in data]
    assert moves == [
        ("awaiting_approval", "declined", "Not this month"),
        ("declined", "in_review", None),
        ("in_review", "rejected", "Too much text"),
    ]
    assert {d["boost_id"] for d in data} == {boost.pk}
    assert data[0]["target_id"] == target.pk and data[0]["post_id"] == target.post_id
    assert data[0]["account"] == {"id": account.pk, "external_id": "1234", "name": "Ads"}
    assert data[0]["channel"] == {"id": page.pk, "kind": "facebook", "name": "Seas Alive"}
    assert (data[0]["budget_minor"], data[0]["currency"]) == (1500, "EUR")
    assert data[0]["links"]["page"].endswith(f"/w/{cast.workspace.slug}/ads/boosts/{boost.pk}/")


def test_a_concluded_experiment_is_announced_with_its_winner(
    cast, sink_channel, receiver, run_tasks, django_capture_on_commit_callbacks
):
    _endpoint, secret, other = _endpoints(cast, receiver, "experiment.concluded")
    experiment = _experiment(cast, sink_channel)
    experiments.start(experiment, actor=cast.owner, slots=_slots(4))
    _publish_everything(experiment)
    _measure(experiment, {"A": (440, 22_000), "B": (600, 22_000)})
    Delivery.objects.all().delete()  # the posts' own events (post.scheduled, …) went to `other`

    with django_capture_on_commit_callbacks(execute=True):
        experiments.conclude(experiment, actor=cast.owner)
    [data] = _delivered(receiver, run_tasks, secret, "experiment.concluded", other)

    experiment.refresh_from_db()
    assert data["experiment_id"] == experiment.pk and data["winner"] == "B"
    assert data["question"] == experiment.question and data["metric"] == "engagement_rate"
    assert [v["label"] for v in data["variants"]] == ["A", "B"]
    assert data["learning"] == experiment.learning.summary
    assert data["concluded_at"] == experiment.concluded_at.isoformat()


def test_the_catalogue_has_one_example_per_event_type_and_the_readme_lists_them():
    from pathlib import Path

    assert set(EXAMPLES) == set(EVENT_TYPES)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name, example in EXAMPLES.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), "")
        assert row, f"README's events table has no row for {name}"
        assert all(f"`{key}`" in row for key in example), (name, row)
    json.dumps(EXAMPLES)  # plain JSON, as sent


def test_the_events_of_posts_approvals_imports_and_channels_keep_the_catalogues_keys(
    cast, sink_channel, receiver
):
    """The older events, emitted by their own actions (the four above are checked on delivery)."""
    import uuid

    from chorus.approvals import intake
    from chorus.bulk import actions as bulk
    from chorus.channels.actions import pause_channel
    from chorus.content.models import PostTarget
    from chorus.publishing import actions as publishing
    from tests.bulk.test_import import run as dry_run
    from tests.publishing.conftest import make_target

    endpoint, _secret = actions.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url=receiver.url, event_types=list(EVENT_TYPES)
    )
    actions.send_test(endpoint, actor=cast.owner)
    reviewed = make_target(cast, sink_channel, text="For review")
    publishing.submit_for_review(reviewed, actor=cast.members["editor"])
    publishing.approve(reviewed, actor=cast.owner, comment="Good")
    stuck = make_target(cast, sink_channel, text="Stuck")
    PostTarget.objects.filter(pk=stuck.pk).update(
        status=PostTarget.Status.PUBLISHING, attempt_id=uuid.uuid4()
    )
    stuck.refresh_from_db()
    publishing.mark_unknown(stuck, message="No answer")
    stuck.refresh_from_db()
    publishing.mark_failed(stuck, code="gone", message="Not found when read back", by_reconciliation=True)
    pause_channel(channel=sink_channel, reason="The session expired.")
    job = dry_run(cast, f"date;channels;text\n2099-05-01 09:00;{sink_channel.name};Imported\n".encode())
    bulk.begin_import(job, actor=cast.owner)
    person, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Ana")
    intake.submit(person, title="Beach clean-up", text="We were forty.", consent=True)

    bodies = [json.loads(d.body) for d in Delivery.objects.filter(endpoint=endpoint).order_by("pk")]
    seen = {body["type"] for body in bodies}
    assert {
        "webhook.test",
        "approval.requested",
        "approval.decided",
        "post.outcome_unknown",
        "post.failed",
        "channel.needs_reconnect",
        "import.finished",
        "story.received",
    } <= seen, seen
    for body in bodies:
        assert missing_keys(body["type"], body["data"]) == [], body


def test_the_api_and_the_page_show_each_event_with_its_example(cast, owner_client):
    from django.test import Client

    from chorus.accounts.models import ApiToken

    _token, raw = ApiToken.issue(cast.owner, "automation", scope="admin")
    answer = Client().get(
        f"/api/workspaces/{cast.workspace.slug}/webhooks/event-types",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.content
    by_name = {row["name"]: row for row in answer.json()}
    assert set(by_name) == set(EVENT_TYPES)
    assert by_name["experiment.concluded"]["example"] == EXAMPLES["experiment.concluded"]

    page = owner_client.get(f"/w/{cast.workspace.slug}/webhooks/").content.decode()
    for name in ("inbox.message.received", "listening.alert", "ad.status_changed", "experiment.concluded"):
        assert f'value="{name}"' in page  # a choice of the endpoint form
        assert f'id="payload-{name}"' in page  # its example payload
