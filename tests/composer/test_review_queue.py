"""The review queue: approve or reject in place with a comment, decisions history, drafts returned
to their author, and the REST API twins."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.publishing import actions
from tests.conftest import Cast

S = PostTarget.Status


@pytest.fixture
def in_review(cast: Cast, sink: Channel) -> PostTarget:
    author = cast.members["contributor"]
    post = actions.create_post(workspace=cast.workspace, author=author, channels=[sink], text="Please check")
    target = post.targets.get()
    actions.submit_for_review(target, actor=author)
    return target


def decide(client, target: PostTarget, **data):
    return client.post(
        reverse("publishing:review_decide", args=["campaign", target.pk]),
        data,
        headers={"HX-Request": "true"},
    )


def test_it_lists_targets_waiting_for_the_approver(cast: Cast, in_review: PostTarget) -> None:
    page = cast.client_for(cast.members["approver"]).get(reverse("publishing:review", args=["campaign"]))
    html = page.content.decode()
    assert f'id="review-{in_review.pk}"' in html and "Please check" in html
    # A contributor sees no queue, only their returned drafts.
    other = cast.client_for(cast.members["contributor"]).get(reverse("publishing:review", args=["campaign"]))
    assert "review-waiting" not in other.content.decode()


def test_it_approves_in_place_with_a_comment_and_records_it(cast: Cast, in_review: PostTarget) -> None:
    approver = cast.client_for(cast.members["approver"])
    response = decide(approver, in_review, decision="approve", comment="Lovely")
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith("<article")
    assert "Approved" in html and "Lovely" in html
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED
    event = AuditEvent.objects.get(action="target.approved", object_id=str(in_review.pk))
    assert event.data["comment"] == "Lovely" and event.actor == cast.members["approver"]
    history = approver.get(reverse("publishing:review", args=["campaign"])).content.decode()
    assert 'data-action="target.approved"' in history and "Lovely" in history


def test_it_rejects_only_with_a_reason_and_returns_the_draft_to_its_author(
    cast: Cast, in_review: PostTarget
) -> None:
    approver = cast.client_for(cast.members["approver"])
    refused = decide(approver, in_review, decision="reject", comment="")
    assert "Say what to change" in refused.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW

    decide(approver, in_review, decision="reject", comment="Add the date of the event")
    in_review.refresh_from_db()
    assert in_review.status == S.DRAFT and in_review.error_message == "Add the date of the event"
    author_page = cast.client_for(cast.members["contributor"]).get(
        reverse("publishing:review", args=["campaign"])
    )
    html = author_page.content.decode()
    assert "Add the date of the event" in html
    assert reverse("publishing:post_edit", args=["campaign", in_review.pk]) in html
    history = approver.get(reverse("publishing:review", args=["campaign"])).content.decode()
    assert 'data-action="target.rejected"' in history


def test_it_refuses_a_decision_on_a_target_no_longer_in_review(cast: Cast, in_review: PostTarget) -> None:
    actions.approve(in_review, actor=cast.owner)
    response = decide(cast.client_for(cast.members["approver"]), in_review, decision="reject", comment="no")
    assert "it cannot be rejected" in response.content.decode()


def test_it_keeps_decisions_to_roles_that_approve(cast: Cast, in_review: PostTarget) -> None:
    assert decide(cast.client_for(cast.members["editor"]), in_review, decision="approve").status_code == 403
    assert decide(cast.client_for(cast.outsider), in_review, decision="approve").status_code == 404


def test_it_runs_reject_edit_resubmit_approve_through_the_web(cast: Cast, in_review: PostTarget) -> None:
    approver = cast.client_for(cast.members["approver"])
    author = cast.client_for(cast.members["contributor"])
    decide(approver, in_review, decision="reject", comment="Too vague")
    url = reverse("publishing:post_edit", args=["campaign", in_review.pk])
    response = author.post(url, {"text": "Saturday 10:00, city park", "when": "review"})
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert (in_review.status, in_review.text) == (S.IN_REVIEW, "Saturday 10:00, city park")
    decide(approver, in_review, decision="approve", comment="")
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED


# --- the REST API -----------------------------------------------------------------------------


def api(cast: Cast, role: str):
    from django.test import Client

    _token, raw = ApiToken.issue(cast.members[role], "test")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_lists_the_review_queue_and_history_over_the_api(cast: Cast, in_review: PostTarget) -> None:
    client = api(cast, "approver")
    queue = client.get("/api/workspaces/campaign/review").json()
    assert [(t["id"], t["author_email"]) for t in queue] == [(in_review.pk, "contributor@example.org")]
    client.post(
        f"/api/workspaces/campaign/targets/{in_review.pk}/reject",
        data=json.dumps({"comment": "Needs a photo"}),
        content_type="application/json",
    )
    history = client.get("/api/workspaces/campaign/review/history").json()
    assert history[0]["action"] == "rejected" and history[0]["comment"] == "Needs a photo"
    returned = api(cast, "contributor").get("/api/workspaces/campaign/review/returned").json()
    assert [t["error_message"] for t in returned] == ["Needs a photo"]


def test_it_validates_a_draft_over_the_api(cast: Cast, bluesky: Channel, mastodon: Channel) -> None:
    body = {
        "text": "👍🏽" * 301,
        "channels": [{"channel_id": bluesky.pk}, {"channel_id": mastodon.pk, "text": "short"}],
        "local_time": "2026-03-29T02:30:00",
    }
    response = api(cast, "editor").post(
        "/api/workspaces/campaign/compose/validate", data=json.dumps(body), content_type="application/json"
    )
    data = response.json()
    by_kind = {c["kind"]: c for c in data["channels"]}
    assert by_kind["bluesky"]["count"] == 301 and by_kind["bluesky"]["limit"] == 300
    assert by_kind["bluesky"]["problems"][0]["field"] == "text"
    assert by_kind["mastodon"]["problems"] == [] and by_kind["mastodon"]["limit"] == 100
    assert "moved to 03:00" in data["schedule_note"]


def test_it_refuses_another_workspaces_channel_in_a_draft(cast: Cast) -> None:
    from chorus.channels.actions import connect_channel

    theirs = connect_channel(
        workspace=cast.other_workspace, kind="sink", name="Theirs", config={}, credentials={}
    )
    body = {"text": "x", "channels": [{"channel_id": theirs.pk}]}
    response = api(cast, "editor").post(
        "/api/workspaces/campaign/compose/validate", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    # The web check silently leaves it out.
    html = cast.client_for(cast.owner).post(
        reverse("publishing:compose_check", args=["campaign"]), {"text": "x", "channels": [theirs.pk]}
    )
    assert "Theirs" not in html.content.decode()


def test_it_creates_a_recurrence_over_the_api(cast: Cast, in_review: PostTarget) -> None:
    body = {"freq": "daily", "time": "08:15"}
    response = api(cast, "owner").post(
        f"/api/workspaces/campaign/targets/{in_review.pk}/recurrence",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["rrule"] == "FREQ=DAILY" and data["timezone"] == "Europe/Paris"
    assert 6 <= len(data["created"]) <= 8


def test_it_edits_options_over_the_api_and_refuses_once_publishing(cast: Cast, in_review: PostTarget) -> None:
    client = api(cast, "editor")
    url = f"/api/workspaces/campaign/targets/{in_review.pk}"
    response = client.patch(
        url, data=json.dumps({"options": {"langs": ["fr"]}}), content_type="application/json"
    )
    assert response.status_code == 200
    in_review.refresh_from_db()
    assert in_review.options == {"langs": ["fr"]} and in_review.text == "Please check"
    PostTarget.objects.filter(pk=in_review.pk).update(status=S.PUBLISHING)  # the scheduler claimed it
    response = client.patch(url, data=json.dumps({"text": "late change"}), content_type="application/json")
    assert response.status_code == 409 and "Already publishing" in response.json()["detail"]
