"""Drag and drop on the calendar: the move endpoint and its REST twin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.connectors.base import Quota
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.quotas.models import QuotaUsage  # noqa: F401  (the ledger forecast_warnings reads)
from tests.conftest import Cast
from tests.planning.conftest import paris, scheduled
from tests.sink.connector import SinkConnector

pytestmark = pytest.mark.django_db


def move(cast: Cast, target: PostTarget, start: str, role: str = "editor") -> dict:
    url = reverse("planning:move", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    response = cast.client_for(cast.members[role]).post(url, {"start": start})
    assert response.status_code == 200, response.content
    return response.json()


def test_it_moves_a_scheduled_post_to_a_new_wall_time(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    # FullCalendar in floating mode sends the wall time with a Z; it means Paris time here.
    answer = move(cast, target, f"{future_year}-03-12T14:30:00Z")
    assert answer["ok"] is True
    assert answer["start"] == f"{future_year}-03-12T14:30"
    target.refresh_from_db()
    assert target.scheduled_at == paris(future_year, 3, 12, 14, 30)
    assert target.due_at == target.scheduled_at
    event = AuditEvent.objects.filter(action="target.rescheduled", object_id=str(target.pk)).get()
    assert event.actor == cast.members["editor"]


def test_it_refuses_a_post_that_is_already_publishing(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    PostTarget.objects.filter(pk=target.pk).update(
        status="publishing", phase="claimed"
    )  # the scheduler's claim
    answer = move(cast, target, f"{future_year}-03-12T14:30")
    assert answer == {"ok": False, "error": "Already publishing: this post can no longer be changed."}
    target.refresh_from_db()
    assert target.scheduled_at == paris(future_year, 3, 10, 9, 0)


def test_it_refuses_when_the_scheduler_claims_it_between_read_and_write(
    cast: Cast, sink_channel: Channel, future_year: int
):
    from chorus.planning.actions import move_target
    from chorus.publishing.actions import TransitionRefused

    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    PostTarget.objects.filter(pk=target.pk).update(status="publishing")  # our copy still says scheduled
    with pytest.raises(TransitionRefused, match="Already publishing"):
        move_target(target, actor=cast.owner, local=dt.datetime(future_year, 3, 12, 9, 0))


def test_it_moves_a_time_in_the_dst_gap_forward_and_says_so(cast: Cast, sink_channel: Channel):
    # Paris springs forward on the last Sunday of March: 02:00 -> 03:00.
    year = dt.date.today().year + 1
    sunday = max(dt.date(year, 3, d) for d in range(25, 32) if dt.date(year, 3, d).weekday() == 6)
    target = scheduled(cast, sink_channel, paris(year, 3, 20, 9, 0))
    answer = move(cast, target, f"{sunday.isoformat()}T02:30:00Z")
    assert answer["ok"] is True
    assert answer["start"] == f"{sunday.isoformat()}T03:00"
    assert "does not exist in Europe/Paris" in answer["note"]
    target.refresh_from_db()
    assert target.scheduled_at == dt.datetime.combine(sunday, dt.time(1, 0), tzinfo=dt.UTC)
    assert "clocks go forward" in target.schedule_note


def test_it_refuses_a_move_that_breaks_a_channel_rule(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0), text="x" * 501)
    answer = move(cast, target, f"{future_year}-03-12T09:00")
    assert answer["ok"] is False
    assert "501 characters" in answer["error"] and "allows 500" in answer["error"]
    target.refresh_from_db()
    assert target.scheduled_at == paris(future_year, 3, 10, 9, 0)


def test_it_refuses_a_time_in_the_past(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    answer = move(cast, target, "2001-01-01T09:00")
    # The one refusal of a past time (core.timeutil.refuse_past), as in the composer and import.
    assert answer == {
        "ok": False,
        "error": "Mon 1 Jan, 09:00 (Paris) has already passed: choose a later time, or publish now.",
    }
    target.refresh_from_db()
    assert target.scheduled_at == paris(future_year, 3, 10, 9, 0)


def test_the_api_refuses_a_past_time_with_the_same_message(
    cast: Cast, sink_channel: Channel, future_year: int
):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    response = _api(cast, target, {"start": "2001-01-01T09:00"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "time_passed"
    assert (
        body["message"] == "Mon 1 Jan, 09:00 (Paris) has already passed: choose a later time, or publish now."
    )


def test_it_warns_when_the_move_passes_a_quota(
    cast: Cast, sink_channel: Channel, future_year: int, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(SinkConnector, "quotas", (Quota("posts", 1, dt.timedelta(hours=24)),))
    scheduled(cast, sink_channel, paris(future_year, 3, 12, 8, 0))
    target = scheduled(cast, sink_channel, paris(future_year, 3, 1, 9, 0))
    answer = move(cast, target, f"{future_year}-03-12T09:00")
    assert answer["ok"] is True  # a warning, not a refusal: the post waits for the window
    assert len(answer["warnings"]) == 1 and "allows 1 (posts)" in answer["warnings"][0]
    # Moving it an hour within the same window is not counted twice: still the same one warning.
    answer = move(cast, target, f"{future_year}-03-12T10:00")
    assert answer["warnings"] == [answer["warnings"][0]] and "2 posts within" in answer["warnings"][0]
    alone = scheduled(cast, sink_channel, paris(future_year, 5, 1, 9, 0))
    assert move(cast, alone, f"{future_year}-05-02T09:00")["warnings"] == []


def test_roles_that_cannot_schedule_cannot_move(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    url = reverse("planning:move", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    for role in ("viewer", "contributor", "approver"):
        assert (
            cast.client_for(cast.members[role]).post(url, {"start": f"{future_year}-03-12T09:00"}).status_code
            == 403
        )
    other = reverse("planning:move", kwargs={"slug": cast.other_workspace.slug, "target_id": target.pk})
    assert (
        cast.client_for(cast.outsider).post(other, {"start": f"{future_year}-03-12T09:00"}).status_code == 404
    )


def _api(cast: Cast, target: PostTarget, body: dict, role: str = "editor"):  # type: ignore[no-untyped-def]
    _token, raw = ApiToken.issue(cast.members[role], "t")
    return cast.client_for(None).post(
        f"/api/workspaces/{cast.workspace.slug}/calendar/targets/{target.pk}/reschedule",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_it_reschedules_through_the_api(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    response = _api(cast, target, {"start": f"{future_year}-03-12T10:15"})
    assert response.status_code == 200, response.content
    assert response.json()["start"] == f"{future_year}-03-12T10:15"
    # An instant with an offset is taken as that instant.
    response = _api(cast, target, {"start": f"{future_year}-03-13T10:15:00+00:00"})
    assert response.json()["start"] == f"{future_year}-03-13T11:15"
    target.refresh_from_db()
    assert target.scheduled_at == dt.datetime(future_year, 3, 13, 10, 15, tzinfo=dt.UTC)


def test_the_api_refuses_with_409_and_the_reason(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0))
    PostTarget.objects.filter(pk=target.pk).update(status="publishing")
    response = _api(cast, target, {"start": f"{future_year}-03-12T10:15"})
    assert response.status_code == 409
    assert "Already publishing" in response.json()["detail"]
