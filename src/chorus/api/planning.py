"""REST endpoints of the calendar: the events of a range, and moving a post to a new time."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from chorus.accounts.access import membership_of, workspace_of
from chorus.accounts.permissions import Perm, can
from chorus.api.auth import ws_perm
from chorus.content.models import PostTarget
from chorus.core.timeutil import to_local
from chorus.planning import actions
from chorus.planning.calendar import BadRange, events, wall_range
from chorus.publishing.actions import TransitionRefused

router = Router(tags=["calendar"])


class EventsQuery(Schema):
    # Wall times of the workspace's zone (no offset), or instants with an offset.
    start: dt.datetime
    end: dt.datetime
    channel: list[int] = []
    campaign: list[int] = []
    tag: list[int] = []
    status: list[str] = []
    author: list[int] = []


class EventOut(Schema):
    id: int
    title: str
    start: str  # wall time in the workspace's zone, e.g. 2026-03-29T09:00
    color: str
    editable: bool
    status: str
    channel: int
    kind: str
    campaign: int | None


class RescheduleIn(Schema):
    start: dt.datetime  # a wall time of the workspace's zone (no offset), or an instant with one


class RescheduleOut(Schema):
    id: int
    start: str
    scheduled_at: dt.datetime
    note: str
    warnings: list[str]


def _wall(value: dt.datetime, tz_name: str) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return to_local(value, tz_name).replace(tzinfo=None)


@router.get("/workspaces/{slug}/calendar/events", response=list[EventOut], **ws_perm(Perm.VIEW_WORKSPACE))
def calendar_events(request: HttpRequest, slug: str, query: Query[EventsQuery]) -> list[dict[str, object]]:
    workspace = workspace_of(request)
    try:
        span = wall_range(
            _wall(query.start, workspace.timezone), _wall(query.end, workspace.timezone), workspace.timezone
        )
    except BadRange as exc:
        raise HttpError(422, str(exc)) from None
    filters = {
        "channel": [str(v) for v in query.channel],
        "campaign": [str(v) for v in query.campaign],
        "tag": [str(v) for v in query.tag],
        "status": query.status,
        "author": [str(v) for v in query.author],
    }
    can_move = can(membership_of(request).role, Perm.SCHEDULE_POST)
    return events(workspace, span, filters, can_move=can_move)


@router.post(
    "/workspaces/{slug}/calendar/targets/{target_id}/reschedule",
    response=RescheduleOut,
    **ws_perm(Perm.SCHEDULE_POST),
)
def calendar_reschedule(
    request: HttpRequest, slug: str, target_id: int, payload: RescheduleIn
) -> RescheduleOut:
    """Moves a scheduled post; 409 with the reason when refused (already publishing, a channel
    rule broken, a time in the past)."""
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("workspace", "channel", "post"), pk=target_id, workspace=workspace
    )
    try:
        moved = actions.move_target(
            target,
            actor=request.auth,  # type: ignore[attr-defined]
            local=_wall(payload.start, workspace.timezone),
        )
    except TransitionRefused as exc:
        raise HttpError(409, str(exc)) from None
    assert target.scheduled_at is not None
    return RescheduleOut(
        id=target.pk,
        start=moved.local.replace(tzinfo=None).isoformat(timespec="minutes"),
        scheduled_at=target.scheduled_at,
        note=moved.note,
        warnings=moved.warnings,
    )
