"""The "when" choice of a post — draft, review, now, at a time, into the queue, repeating — read
once for the composer and the API, and applied through chorus.publishing.actions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy

from chorus.accounts.models import User
from chorus.accounts.permissions import may_schedule_directly
from chorus.content.models import PostTarget
from chorus.core.refusals import Invalid, NotAllowed
from chorus.core.timeutil import Resolved, refuse_past
from chorus.publishing import actions
from chorus.publishing.quotas import forecast_warnings

MODES = ("draft", "keep", "review", "now", "at", "queue", "recurring")
SCHEDULING = frozenset({"now", "at", "queue", "recurring"})  # take the post straight to the schedule


@dataclass(frozen=True)
class When:
    mode: str
    local: dt.datetime | None = None  # a wall time in the workspace's zone (naive)
    at: dt.datetime | None = None  # or an instant (aware)

    @property
    def schedules(self) -> bool:
        return self.mode in SCHEDULING


def parse(mode: str, *, local: dt.datetime | None = None, at: dt.datetime | None = None) -> When:
    """The choice as the composer's form or the API's body gives it; Invalid says what is missing."""
    if mode not in MODES:
        raise Invalid(
            gettext_lazy("Unknown choice “%(mode)s”."), code="bad_when", fields={"when": mode}, mode=mode
        )
    if at is not None and at.tzinfo is None:  # an instant without an offset is a wall time
        local, at = at, None
    if mode == "at" and local is None and at is None:
        raise Invalid(
            gettext_lazy("Choose a date and time."),
            code="when_missing",
            fields={"local_time": "required (wall time in the workspace's zone), or at (with an offset)"},
        )
    return When(mode, local.replace(tzinfo=None) if local is not None else None, at)


def check_allowed(when: When, role: str | None) -> None:
    """Only someone who may schedule directly takes a post straight to the schedule."""
    if when.schedules and not may_schedule_directly(role):
        raise NotAllowed(
            gettext_lazy("Your role cannot schedule posts; submit it for review instead."),
            code="cannot_schedule",
            fields={"when": when.mode},
        )


@dataclass
class Applied:
    resolved: Resolved | None = None  # the time chosen (its DST note), for at / queue
    warnings: list[str] = field(default_factory=list)  # DST decision, quota forecasts


def apply(target: PostTarget, when: When, *, actor: User | None) -> Applied:
    """Moves `target` as `when` says (draft and keep: nothing; recurring: the composer's own)."""
    out = Applied()
    if when.mode == "review":
        if target.status == PostTarget.Status.DRAFT:
            actions.submit_for_review(target, actor=actor)  # type: ignore[arg-type]
    elif when.mode == "now":
        actions.schedule_now(target, actor=actor)
    elif when.mode == "at":
        if when.at is not None:
            out.resolved = Resolved(utc=when.at, local=when.at, note="")
        else:
            assert when.local is not None
            out.resolved = actions.resolve_when(target, when.local)
        refuse_past(out.resolved.utc, target.workspace.timezone)  # as the composer, calendar, import
        utc, note = out.resolved.utc, out.resolved.note
        if target.status == PostTarget.Status.SCHEDULED:
            actions.reschedule(target, actor=actor, when=utc, note=note)
        else:
            actions.schedule(target, actor=actor, when=utc, note=note)
        out.warnings += [note] if note else []
        out.warnings += forecast_warnings(target.channel, utc)
    elif when.mode == "queue":
        out.resolved = actions.add_to_queue(target, actor=actor)
        out.warnings += [out.resolved.note] if out.resolved.note else []
    return out
