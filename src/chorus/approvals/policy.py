"""The approval policy: it answers questions about a post's review and never moves a post.

chorus.publishing.actions does every move of a PostTarget and asks this module first: which
workflow applies (`required_for`), whose decision the current step waits for (`next_step`,
`may_decide`), whether a target may be scheduled (`may_schedule`), what changed since it was
approved (`changes_since`), which slot to restore once it is approved again (`take_resume_slot`).
It keeps the approvals' own records (runs, decisions, their audit rows and notifications), in the
caller's transaction. It does not import chorus.publishing (no cycle: publishing depends on
approvals, never the other way).

Without an applicable workflow every answer is "single-step review", so it keeps working.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chorus.accounts.models import Membership, User, Workspace
from chorus.approvals.models import (
    ROLE_RANK,
    ApprovalSettings,
    Decision,
    DigestSubscription,
    ReviewLink,
    Run,
    Step,
    Workflow,
)
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.core.notify import notify
from chorus.core.refusals import TransitionRefused

S = PostTarget.Status
log = logging.getLogger(__name__)


# --- which workflow ----------------------------------------------------------------------------


def _member_role(workspace_id: int, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return (
        Membership.objects.filter(workspace_id=workspace_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )


def workflow_matching(
    workspace_id: int,
    *,
    channel_id: int | None,
    campaign_and_author: Callable[[], tuple[int | None, int | None]],
) -> Workflow | None:
    """The first active workflow (by priority) that matches a subject: a post's copy, or a boost
    (its post's channel, its campaign, who asked for it). `campaign_and_author` is asked only when
    a campaign or role workflow needs it (it may cost a query). None: single-step review."""
    workflows = list(Workflow.objects.filter(workspace_id=workspace_id, active=True))
    if not workflows:
        return None
    facts: tuple[int | None, int | None] | None = None
    author_role: str | None = None
    for wf in workflows:
        if wf.applies_to == Workflow.AppliesTo.EVERYONE:
            return wf
        if wf.applies_to == Workflow.AppliesTo.CHANNEL and wf.channel_id == channel_id:
            return wf
        if wf.applies_to in (Workflow.AppliesTo.CAMPAIGN, Workflow.AppliesTo.ROLE_BELOW) and facts is None:
            facts = campaign_and_author()
        if (
            wf.applies_to == Workflow.AppliesTo.CAMPAIGN
            and wf.campaign_id
            and facts
            and wf.campaign_id == facts[0]
        ):
            return wf
        if wf.applies_to == Workflow.AppliesTo.ROLE_BELOW and wf.role and facts:
            author_role = author_role or _member_role(workspace_id, facts[1])
            if author_role is None or _rank(author_role) < _rank(wf.role):
                return wf
    return None


def workflow_for(target: PostTarget) -> Workflow | None:
    """The first active workflow (by priority) that matches the target; None: single-step review."""
    return workflow_matching(
        target.workspace_id,
        channel_id=target.channel_id,
        campaign_and_author=lambda: (target.post.campaign_id, target.post.author_id),
    )


required_for = workflow_for  # the question as DESIGN.md asks it


def has_workflows(workspace_id: int) -> bool:
    """Does any approval workflow apply in this workspace (a batch asks once, not per target)?"""
    return Workflow.objects.filter(workspace_id=workspace_id, active=True).exists()


def _rank(role: str) -> int:
    return next((i for i, r in enumerate(ROLE_RANK) if r == role), 0)


def hold_minutes(workspace: Workspace) -> int:
    found = (
        ApprovalSettings.objects.filter(workspace=workspace).values_list("hold_minutes", flat=True).first()
    )
    return 5 if found is None else found


MENTION = re.compile(r"(?<![\w.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def mentioned_members(workspace: Workspace, body: str) -> list[User]:
    """@ada@example.org or @ada (the part of a member's address before the @)."""
    handles = {h.lower().rstrip(".") for h in MENTION.findall(body)}
    if not handles:
        return []
    members = User.objects.filter(memberships__workspace=workspace, is_active=True)
    return [u for u in members if u.email.lower() in handles or u.email.lower().split("@")[0] in handles]


# --- who approves a step -----------------------------------------------------------------------


def approvers_of(step: Step) -> list[User]:
    workspace_id = step.workflow.workspace_id
    users = {
        u.pk: u
        for u in step.users.filter(memberships__workspace_id=workspace_id)  # members only
    }
    if step.role:
        for u in User.objects.filter(memberships__workspace_id=workspace_id, memberships__role=step.role):
            users[u.pk] = u
    return [u for u in users.values() if u.is_active]


def may_decide(user: User, step: Step) -> bool:
    return any(u.pk == user.pk for u in approvers_of(step))


def may_approve_own(target: PostTarget, actor: User) -> bool:
    """Nobody approves their own post unless the workflow says so: the step it waits for names
    the author among its approvers by name (a step open to a role does not count)."""
    run = open_run(target)
    if run is None or run.step is None:
        return False
    return run.step.users.filter(pk=actor.pk).exists()


def check_approver(target: PostTarget, *, actor: User | None) -> None:
    """Refuses an approval by the post's own author (see `may_approve_own`); asked by the
    approve action, so the web pages, the bulk actions and the API give the same answer."""
    if actor is None or target.post.author_id is None or actor.pk != target.post.author_id:
        return
    if not may_approve_own(target, actor):
        raise TransitionRefused(
            gettext_lazy("You wrote this post: someone else approves it."), code="own_post"
        )


def open_run(target: PostTarget) -> Run | None:
    return (
        Run.objects.select_related("step", "workflow")
        .filter(target_id=target.pk, state=Run.State.OPEN)
        .order_by("-pk")
        .first()
    )


def is_fully_approved(target: PostTarget) -> bool:
    """True when no workflow applies, or the latest run completed every step."""
    if workflow_for(target) is None:
        return True
    last = Run.objects.filter(target_id=target.pk).order_by("-pk").values_list("state", flat=True).first()
    if last is not None:
        return last == Run.State.APPROVED
    # A copy the engine made (an evergreen requeue, a recurrence occurrence) carries the approval
    # of an identical sibling: same post, channel, text and media, whose latest run was approved.
    siblings = (
        PostTarget.objects.filter(post_id=target.post_id, channel_id=target.channel_id, text=target.text)
        .exclude(pk=target.pk)
        .filter(approval_runs__state=Run.State.APPROVED)
        .distinct()
    )
    for sibling in siblings:
        latest = (
            Run.objects.filter(target_id=sibling.pk).order_by("-pk").values_list("state", flat=True).first()
        )
        if latest == Run.State.APPROVED and sibling.media == target.media:
            return True
    return False


def _target_url(target: PostTarget) -> str:
    return reverse("approvals:target", kwargs={"slug": target.workspace.slug, "target_id": target.pk})


def _tell_step(run: Run, target: PostTarget) -> None:
    if run.step is None:
        return
    changed = ", ".join(sorted(run.changes))
    body = _("Changed since the last approval: %(fields)s") % {"fields": changed} if changed else ""
    people = approvers_of(run.step)
    digest = digest_users(target.workspace, people)
    title = _("Your approval is needed (%(step)s): %(post)s") % {"step": run.step.name, "post": target.post}
    for group, email in (
        ([u for u in people if u.pk not in digest], True),
        ([u for u in people if u.pk in digest], False),  # one daily email instead (send_digests)
    ):
        notify(
            group,
            workspace=target.workspace,
            kind="approval_requested",
            title=title,
            body=body,
            url=_target_url(target),
            email=email,
        )


def digest_users(workspace: Workspace, people: Iterable[User]) -> set[int]:
    return set(
        DigestSubscription.objects.filter(
            workspace=workspace, enabled=True, user_id__in=[u.pk for u in people]
        ).values_list("user_id", flat=True)
    )


DIGEST_HOUR = 8  # local time of the workspace


def send_digests(now: dt.datetime | None = None) -> int:
    """Scheduler job (hourly): from 08:00 in the workspace's zone, once a day, one email per
    subscriber listing the posts waiting for their step. Safe to run twice: the conditional
    update on last_sent_at decides which scheduler sends."""
    from django.conf import settings
    from django.core.mail import send_mail

    from chorus.core.timeutil import to_local

    now = now or timezone.now()
    sent = 0
    for sub in DigestSubscription.objects.filter(enabled=True).select_related("workspace", "user"):
        tz_name = sub.workspace.timezone
        local = to_local(now, tz_name)
        if local.hour < DIGEST_HOUR:
            continue
        if sub.last_sent_at is not None and to_local(sub.last_sent_at, tz_name).date() >= local.date():
            continue
        claimed = DigestSubscription.objects.filter(pk=sub.pk, last_sent_at=sub.last_sent_at).update(
            last_sent_at=now
        )
        if claimed != 1:
            continue  # another scheduler sent it
        runs = pending_for(sub.user, sub.workspace)
        if not runs or not sub.user.is_active:
            continue
        lines = [
            f"- {run.post_target.post} · {run.post_target.channel.name} · {run.step.name if run.step else ''}: "
            f"{settings.CHORUS_BASE_URL}{_target_url(run.post_target)}"
            for run in runs
        ]
        try:
            send_mail(
                subject=ngettext(
                    "%(n)s post waits for your approval in %(ws)s",
                    "%(n)s posts wait for your approval in %(ws)s",
                    len(runs),
                )
                % {"n": len(runs), "ws": sub.workspace.name},
                message="\n".join(lines),
                from_email=None,
                recipient_list=[sub.user.email],
            )
        except Exception:
            log.exception("approvals digest for user %s could not be sent", sub.user_id)
            continue
        sent += 1
    return sent


def _first_step(workflow: Workflow) -> Step | None:
    return workflow.steps.order_by("position", "pk").first()


def _next_step(step: Step) -> Step | None:
    return (
        step.workflow.steps.filter(Q(position__gt=step.position) | Q(position=step.position, pk__gt=step.pk))
        .order_by("position", "pk")
        .first()
    )


# --- hooks called by chorus.publishing.actions ------------------------------------------------


def start(
    target: PostTarget,
    *,
    actor: User | None,
    changes: dict[str, Any] | None = None,
    resume_at: dt.datetime | None = None,
) -> Run | None:
    """A target entered in_review: open a run at the workflow's first step."""
    workflow = workflow_for(target)
    if workflow is None:
        return None
    Run.objects.filter(target_id=target.pk, state=Run.State.OPEN).update(
        state=Run.State.CANCELLED, finished_at=timezone.now()
    )
    run = Run.objects.create(
        workspace_id=target.workspace_id,
        target=target,
        workflow=workflow,
        step=_first_step(workflow),
        changes=changes or {},
        resume_at=resume_at,
    )
    audit.record(
        "approval.started",
        workspace=target.workspace,
        actor=actor,
        obj=target,
        workflow=workflow.name,
        step=run.step.name if run.step else "",
        changes=sorted(changes or {}),
    )
    _tell_step(run, target)
    return run


def approve_step(
    target: PostTarget, *, actor: User | None, comment: str = "", link: ReviewLink | None = None
) -> bool:
    """Records an approval of the current step. True when the target is now fully approved
    (the caller then moves it to 'approved'); False while steps remain. Without a workflow run,
    True (single-step review)."""
    current = PostTarget.objects.filter(pk=target.pk).values_list("status", flat=True).first()
    if current != S.IN_REVIEW:
        return True  # not waiting for review: the caller's move refuses with the reason
    run = open_run(target)
    if run is None:
        if workflow_for(target) is not None and target.status == S.IN_REVIEW:
            # Submitted before the workflow existed: start it now rather than skip it.
            run = start(target, actor=actor)
        if run is None:
            return True
    step = run.step
    if step is None:  # a workflow without steps approves on the first approval
        _finish(run, Run.State.APPROVED)
        return True
    if link is not None:
        if not step.allow_outside:
            raise TransitionRefused(
                gettext_lazy("This step needs an approval from the team."), code="step_needs_team"
            )
    elif actor is None or not may_decide(actor, step):
        raise TransitionRefused(
            gettext_lazy("You are not an approver of the step “%(step)s”."),
            code="not_an_approver",
            step=step.name,
        )
    Decision.objects.create(
        workspace_id=target.workspace_id,
        target=target,
        run=run,
        step=step,
        actor=actor if link is None else None,
        link=link,
        outside_name=link.reviewer_name if link else "",
        verdict=Decision.Verdict.APPROVE,
        comment=comment,
    )
    audit.record(
        "approval.approved",
        workspace=target.workspace,
        actor=actor,
        obj=target,
        step=step.name,
        comment=comment,
    )
    if not _step_satisfied(run, step, outside=link is not None):
        return False
    following = _next_step(step)
    if following is None:
        _finish(run, Run.State.APPROVED)
        return True
    run.step = following
    run.save(update_fields=["step"])
    _tell_step(run, target)
    return False


def _step_satisfied(run: Run, step: Step, *, outside: bool) -> bool:
    if step.rule == Step.Rule.ANY or outside:
        return True
    approved = set(
        run.decisions.filter(step=step, verdict=Decision.Verdict.APPROVE, actor__isnull=False).values_list(
            "actor_id", flat=True
        )
    )
    return all(u.pk in approved for u in approvers_of(step))


def _finish(run: Run, state: str) -> None:
    run.state = state
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "finished_at"])


def take_resume_slot(target: PostTarget) -> dt.datetime | None:
    """Asked once the target is 'approved': the slot an edit-after-approval took it out of, if it
    is still ahead (the caller schedules it back there); the run forgets it, so it is given once."""
    run = Run.objects.filter(target_id=target.pk).order_by("-pk").first()
    if run is None or run.resume_at is None or run.resume_at <= timezone.now():
        return None
    when = run.resume_at
    run.resume_at = None
    run.save(update_fields=["resume_at"])
    return when


def next_step(target: PostTarget) -> Step | None:
    """The step whose decision the target waits for (None: no workflow run is open)."""
    run = open_run(target)
    return run.step if run is not None else None


def check_rejecter(target: PostTarget, *, actor: User | None) -> None:
    run = open_run(target)
    if run is None or run.step is None or actor is None:
        return
    if not may_decide(actor, run.step):
        raise TransitionRefused(
            gettext_lazy("You are not an approver of the step “%(step)s”."),
            code="not_an_approver",
            step=run.step.name,
        )


def rejected(target: PostTarget, *, actor: User | None, reason: str, link: ReviewLink | None = None) -> None:
    """The target went back to draft: close the run, keep the decision, tell the author."""
    run = open_run(target)
    Decision.objects.create(
        workspace_id=target.workspace_id,
        target=target,
        run=run,
        step=run.step if run else None,
        actor=actor if link is None else None,
        link=link,
        outside_name=link.reviewer_name if link else "",
        verdict=Decision.Verdict.REJECT,
        comment=reason,
    )
    if run is not None:
        _finish(run, Run.State.REJECTED)
    who = actor.display_name if actor is not None else (link.reviewer_name if link else _("a reviewer"))
    notify(
        [target.post.author] if target.post.author else [],
        workspace=target.workspace,
        kind="approval_rejected",
        title=_("Sent back by %(who)s: %(post)s") % {"who": who, "post": target.post},
        body=reason,
        url=_target_url(target),
    )


def may_schedule(target: PostTarget) -> bool:
    """May this target be scheduled? A draft or in-review target scheduled directly would skip
    review: no when a workflow applies and has not approved it."""
    current = PostTarget.objects.filter(pk=target.pk).values_list("status", flat=True).first()
    return not (current in (S.DRAFT, S.IN_REVIEW) and not is_fully_approved(target))


def check_can_schedule(target: PostTarget) -> None:
    """`may_schedule`, as a refusal with its reason."""
    if not may_schedule(target):
        raise TransitionRefused(
            gettext_lazy("This post must go through its approval workflow before it is scheduled."),
            code="approval_required",
        )


def snapshot(target: PostTarget) -> dict[str, Any]:
    row = PostTarget.objects.filter(pk=target.pk).values("status", "text", "media", "scheduled_at").first()
    return {**row} if row else {}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field, label in (("text", "text"), ("media", "media"), ("scheduled_at", "time")):
        old, new = before.get(field), after.get(field)
        if old != new:
            if isinstance(old, dt.datetime) or isinstance(new, dt.datetime):
                old = old.isoformat() if old else None
                new = new.isoformat() if new else None
            changes[label] = {"before": old, "after": new}
    return changes


def changes_since(target: PostTarget, before: dict[str, Any]) -> dict[str, Any]:
    """An approved or scheduled target was edited or moved (`before`: its `snapshot`): what
    changed, when a workflow applies and it must therefore be approved again; {} otherwise."""
    if before.get("status") not in (S.APPROVED, S.SCHEDULED) or workflow_for(target) is None:
        return {}
    return diff(before, snapshot(target))


# --- holding unapproved posts before their slot -------------------------------------------------


def unapproved_due(now: dt.datetime) -> Iterable[PostTarget]:
    """Targets whose slot is within their workspace's hold window and that are not fully
    approved (chorus.publishing.actions.hold_unapproved holds them)."""
    horizon = now + dt.timedelta(minutes=60 * 24)  # the widest window anyone would set
    # Only workspaces with an active workflow can hold anything (without one every target is
    # approved): a backlog of scheduled posts elsewhere costs one query, not one per target.
    candidates = PostTarget.objects.select_related("workspace", "post", "channel").filter(
        status__in=[S.IN_REVIEW, S.SCHEDULED],
        scheduled_at__lte=horizon,
        scheduled_at__isnull=False,
        workspace_id__in=Workflow.objects.filter(active=True).values("workspace_id"),
    )
    windows: dict[int, dt.timedelta] = {}
    for target in candidates:
        ws = target.workspace
        if ws.pk not in windows:
            windows[ws.pk] = dt.timedelta(minutes=hold_minutes(ws))
        assert target.scheduled_at is not None
        if target.scheduled_at > now + windows[ws.pk] or is_fully_approved(target):
            continue
        yield target


def record_hold(target: PostTarget, now: dt.datetime) -> bool:
    """The approvals' side of holding an unapproved target (already out of 'scheduled'): its run
    is marked held and its author and current approvers are told, once. True if told now."""
    run = open_run(target) or start(target, actor=None, resume_at=target.scheduled_at)
    if run is None or run.held_at is not None:
        return False
    run.held_at = now
    run.save(update_fields=["held_at"])
    ws = target.workspace
    audit.record("approval.held", workspace=ws, obj=target, step=run.step.name if run.step else "")
    people: list[User] = [*([target.post.author] if target.post.author else [])]
    if run.step is not None:
        people += approvers_of(run.step)
    notify(
        people,
        workspace=ws,
        kind="approval_held",
        title=_("Held, not approved in time: %(post)s on %(channel)s")
        % {"post": target.post, "channel": target.channel.name},
        body=_("It will not be published until every approval step is complete."),
        url=_target_url(target),
    )
    return True


def pending_for(user: User, workspace: Workspace) -> list[Run]:
    runs = (
        Run.objects.filter(workspace=workspace, state=Run.State.OPEN, target__status=S.IN_REVIEW)
        .select_related("target", "target__post", "target__channel", "step", "workflow")
        .order_by("target__scheduled_at", "started_at")
    )
    mine = []
    for run in runs:
        if run.step is None or not may_decide(user, run.step):
            continue
        if run.step.rule == Step.Rule.ALL and run.decisions.filter(step=run.step, actor=user).exists():
            continue
        mine.append(run)
    return mine


def users_in(workspace: Workspace, ids: Iterable[int]) -> list[User]:
    return list(User.objects.filter(memberships__workspace=workspace, pk__in=list(ids)))
