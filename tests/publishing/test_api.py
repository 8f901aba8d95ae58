from __future__ import annotations

import datetime as dt
import json

from chorus.accounts.models import ApiToken
from chorus.content.models import PostTarget


def _client(client, user):
    _token, raw = ApiToken.issue(user, "test")
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def spring_forward() -> dt.date:
    """Next year's last Sunday of March: Paris clocks jump 02:00 → 03:00."""
    day = dt.date(dt.date.today().year + 1, 3, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def test_it_creates_and_schedules_a_post_in_a_dst_gap_with_a_note(client, cast, sink_channel):
    gap = spring_forward().isoformat()
    api = _client(client, cast.members["admin"])
    response = api(
        "post",
        "/api/workspaces/campaign/posts",
        {
            "text": "Spring is here",
            "channel_ids": [sink_channel.pk],
            "schedule": {"mode": "at", "local_time": f"{gap}T02:30:00"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    target = body["targets"][0]
    assert target["status"] == "scheduled"
    assert target["scheduled_at"].startswith(f"{gap}T01:00:00")
    assert any("does not exist" in w for w in body["warnings"])


def test_a_contributor_cannot_schedule_but_can_submit_for_review(client, cast, sink_channel):
    api = _client(client, cast.members["contributor"])
    refused = api(
        "post",
        "/api/workspaces/campaign/posts",
        {"text": "Hi", "channel_ids": [sink_channel.pk], "schedule": {"mode": "now"}},
    )
    assert refused.status_code == 403
    ok = api(
        "post",
        "/api/workspaces/campaign/posts",
        {"text": "Hi", "channel_ids": [sink_channel.pk], "schedule": {"mode": "review"}},
    )
    assert ok.status_code == 201 and ok.json()["targets"][0]["status"] == "in_review"


def test_channels_of_another_workspace_are_refused(client, cast, sink_channel):
    api = _client(client, cast.outsider)
    response = api("post", "/api/workspaces/elsewhere/posts", {"text": "x", "channel_ids": [sink_channel.pk]})
    assert response.status_code == 422
    assert not PostTarget.objects.filter(workspace=cast.other_workspace).exists()


def test_channel_listing_never_exposes_credentials(client, cast, sink_channel):
    response = _client(client, cast.members["viewer"])("get", "/api/workspaces/campaign/channels")
    assert response.status_code == 200
    assert "secret-token" not in response.content.decode()
    assert "credentials" not in response.content.decode()


def test_a_publishing_target_cannot_be_rescheduled_through_the_api(client, cast, due_target):
    from chorus.publishing import dispatch

    dispatch.claim_due()
    api = _client(client, cast.members["admin"])
    response = api(
        "post",
        f"/api/workspaces/campaign/targets/{due_target.pk}/schedule",
        {"mode": "at", "local_time": "2030-01-01T10:00:00"},
    )
    assert response.status_code == 409
    assert "Already publishing" in response.json()["detail"]


def test_approve_and_reject_need_the_approver_role(client, cast, sink_channel):
    from chorus.publishing import actions
    from tests.publishing.conftest import make_target

    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    editor = _client(client, cast.members["editor"])
    assert editor("post", f"/api/workspaces/campaign/targets/{target.pk}/approve", {}).status_code == 403
    approver = _client(client, cast.members["approver"])
    response = approver(
        "post", f"/api/workspaces/campaign/targets/{target.pk}/approve", {"comment": "Lovely"}
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"


def test_it_refuses_a_time_in_the_past_and_creates_nothing(client, cast, sink_channel):
    api = _client(client, cast.members["admin"])
    response = api(
        "post",
        "/api/workspaces/campaign/posts",
        {
            "text": "Too late",
            "channel_ids": [sink_channel.pk],
            "schedule": {"mode": "at", "local_time": "2001-01-01T09:00"},
        },
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "time_passed"
    assert (
        body["message"] == "Mon 1 Jan, 09:00 (Paris) has already passed: choose a later time, or publish now."
    )
    assert not PostTarget.objects.exists()
    # An instant with an offset is refused the same way.
    response = api(
        "post",
        "/api/workspaces/campaign/posts",
        {
            "text": "Too late",
            "channel_ids": [sink_channel.pk],
            "schedule": {"mode": "at", "at": "2001-01-01T08:00:00Z"},
        },
    )
    assert response.status_code == 422 and response.json()["code"] == "time_passed"
    assert not PostTarget.objects.exists()
