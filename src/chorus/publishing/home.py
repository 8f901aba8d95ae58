"""The workspace home: what to do next. Posts that need a person (held, failed, outcome unknown)
with their fixes one click away, what waits for my approval, what came back to me, the next
seven days, new stories from contributors and channels to reconnect."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import User, Workspace
from chorus.accounts.permissions import Perm, can
from chorus.approvals import policy
from chorus.approvals.models import Story
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.core.timeutil import resolve_local
from chorus.inbox import actions as inbox_actions
from chorus.inbox import report as inbox_report
from chorus.publishing import actions, review

S = PostTarget.Status
LIMIT = 20
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Fix:
    """One fix offered on a post that needs a person: `action` is what `fix` does; `field` is
    the one input it needs ("" for one click, "time" or "url")."""

    action: str
    label: str
    field: str = ""
    primary: bool = False


def fixes_for(target: PostTarget) -> list[Fix]:
    if target.status == S.FAILED:
        return [
            Fix("retry", _("Retry now"), primary=True),
            Fix("edit", _("Edit and retry")),
            Fix("reschedule", _("Reschedule"), field="time"),
            Fix("published", _("Mark as published"), field="url"),
            Fix("cancel", _("Cancel")),
        ]
    if target.status == S.UNKNOWN:
        return [
            Fix("published", _("It is published"), field="url", primary=True),
            Fix("resend", _("It is not there: send again")),
        ]
    if target.status == S.SCHEDULED and target.hold_reason:
        first = (
            Fix("release", _("Publish now"), primary=True)
            if target.hold_reason == PostTarget.Hold.MISSED
            else Fix("edit", _("Edit"), primary=True)
        )
        held = [Fix("reschedule", _("Reschedule"), field="time"), Fix("cancel", _("Cancel"))]
        return held if target.hold_reason == PostTarget.Hold.CHANNEL_PAUSED else [first, *held]
    return []


def needs_attention(workspace: Workspace) -> list[PostTarget]:
    rows = PostTarget.objects.filter(
        workspace=workspace, status__in=[S.FAILED, S.UNKNOWN]
    ) | PostTarget.objects.filter(workspace=workspace, status=S.SCHEDULED).exclude(hold_reason="")
    found = list(rows.select_related("channel", "post").order_by("-updated_at")[:LIMIT])
    for target in found:
        target.fixes = fixes_for(target)  # type: ignore[attr-defined]
    return found


def waiting_for(user: User, workspace: Workspace, role: str) -> list[PostTarget]:
    """In-review copies whose decision is this person's: their workflow steps, or with no
    workflow every copy in review for someone who approves, except their own posts."""
    workflows = policy.has_workflows(workspace.pk)
    if not can(role, Perm.APPROVE_POST) and not workflows:
        return []
    mine = [run.post_target for run in policy.pending_for(user, workspace)] if workflows else []
    if can(role, Perm.APPROVE_POST):
        with_runs = {t.pk for t in mine}
        for target in review.waiting(workspace).exclude(post__author=user)[: LIMIT * 2]:
            if target.pk not in with_runs and (not workflows or policy.next_step(target) is None):
                mine.append(target)
    return [t for t in mine if t.post.author_id != user.pk or policy.may_approve_own(t, user)][:LIMIT]


def next_days(workspace: Workspace) -> list[PostTarget]:
    now = timezone.now()
    return list(
        PostTarget.objects.filter(
            workspace=workspace, status=S.SCHEDULED, scheduled_at__gte=now, scheduled_at__lt=now + WEEK
        )
        .select_related("channel", "post")
        .order_by("scheduled_at", "channel__name")[: LIMIT * 2]
    )


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def workspace_home(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    membership = membership_of(request)
    user = current_user(request)
    role = membership.role
    can_fix = can(role, Perm.SCHEDULE_POST)
    recent = AuditEvent.objects.filter(workspace=workspace).select_related("actor").order_by("-at")[:10]
    return render(
        request,
        "publishing/home.html",
        {
            "workspace": workspace,
            "membership": membership,
            "member_count": workspace.memberships.count(),
            "attention": needs_attention(workspace),
            "can_fix": can_fix,
            "waiting": waiting_for(user, workspace, role),
            "returned": list(review.returned(workspace, user)[:LIMIT]),
            "upcoming": next_days(workspace),
            "stories": list(
                Story.objects.filter(workspace=workspace, state=Story.State.RECEIVED)
                .select_related("contributor")
                .order_by("-created_at")[:LIMIT]
            )
            if can(role, Perm.CREATE_POST)
            else [],
            "paused_channels": list(
                Channel.objects.filter(workspace=workspace, status=Channel.Status.PAUSED).order_by("name")
            ),
            "can_manage_channels": can(role, Perm.MANAGE_CHANNELS),
            "recent_events": recent if can(role, Perm.VIEW_AUDIT_LOG) else [],
            "inbox": inbox_report.home_figures(workspace, inbox_actions.sla_minutes(workspace))
            if can(role, Perm.VIEW_INBOX)
            else None,
        },
    )


def _when(request: HttpRequest, workspace: Workspace) -> dt.datetime | None:
    raw = request.POST.get("local_time", "").strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            local = dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
        return resolve_local(local, workspace.timezone).utc
    return None


@workspace_view(Perm.SCHEDULE_POST, methods=("POST",))
def fix(request: HttpRequest, target_id: int) -> HttpResponse:
    """One fix of a post that needs a person, from the home (or the post's page with
    next=post). Each goes through publishing.actions; a refusal is shown, not raised."""
    workspace = workspace_of(request)
    user = current_user(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "workspace", "post"), pk=target_id, workspace=workspace
    )
    action = request.POST.get("action", "")
    offered = {f.action for f in fixes_for(target)}
    back = redirect("workspace_home", slug=workspace.slug)
    if action not in offered:
        messages.error(request, _("This fix does not apply to the post any more."))
        return back
    try:
        result = _apply(request, workspace, target, action, user)
    except actions.TransitionRefused as exc:
        messages.error(request, f"{target.channel.name}: {exc}")
        return back
    if isinstance(result, HttpResponse):
        return result
    if result:
        messages.success(request, result)
    return back


def _apply(
    request: HttpRequest, workspace: Workspace, target: PostTarget, action: str, user: User
) -> str | HttpResponse:
    name = target.channel.name
    if action == "retry":
        actions.retry_failed(target, actor=user)
        return _("%(channel)s: sent again now.") % {"channel": name}
    if action == "resend":
        actions.resend_unknown(target, actor=user)
        return _("%(channel)s: sent again now.") % {"channel": name}
    if action == "release":
        actions.release_hold(target, actor=user)
        return _("%(channel)s: goes out now.") % {"channel": name}
    if action == "edit":
        if target.status == S.FAILED:
            actions.reopen_failed(target, actor=user)
        return redirect("publishing:post_edit", slug=workspace.slug, target_id=target.pk)
    if action == "cancel":
        actions.cancel(target, actor=user)
        return _("%(channel)s: taken off the schedule.") % {"channel": name}
    if action == "reschedule":
        when = _when(request, workspace)
        if when is None or when <= timezone.now():
            messages.error(request, _("Choose a time in the future."))
            return ""
        if target.status == S.FAILED:
            actions.retry_failed(target, actor=user, when=when)
        else:
            actions.reschedule(target, actor=user, when=when)
        return _("%(channel)s: rescheduled.") % {"channel": name}
    if action == "published":
        url = request.POST.get("url", "").strip()
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            messages.error(request, _("Paste the link of the published post."))
            return ""
        actions.mark_published_by_hand(target, actor=user, url=url)
        return _("%(channel)s: marked as published.") % {"channel": name}
    return ""
