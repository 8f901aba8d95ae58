"""The approval policy for ad spend: a boost above the workspace's threshold goes through the
same workflows as posts (their steps, approvers, rules, notifications, digest-free emails and
audit rows). Like `policy`, this module answers and keeps the approvals' own records (runs,
decisions, comments), in the caller's transaction; it never moves a boost:
`chorus.ads.actions` queues or declines it once the run is decided. It imports nothing from
chorus.ads or chorus.publishing (the boost's own methods give what it shows).

A workflow applies to a boost as to a post of the same channel, campaign and author (the
person who asked for the boost). With none, the run has no workflow and one approval by anyone
whose role approves ad spend (`Perm.APPROVE_ADS`) decides, as before workflows covered boosts.
Nobody approves their own boost unless the step names them. Outside review links are for posts
only: a boost's approvers are members.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.models import Membership, User, Workspace
from chorus.accounts.permissions import Perm, can
from chorus.approvals import policy
from chorus.approvals.models import Decision, Run, Step, Workflow
from chorus.core import audit
from chorus.core.notify import notify
from chorus.core.refusals import Invalid, NotAllowed

WAITING = "awaiting_approval"  # ads.models.Boost.Status.AWAITING_APPROVAL


def boost_url(boost: Any) -> str:
    return reverse("ads:boost", kwargs={"slug": boost.workspace.slug, "boost_id": boost.pk})


def workflow_for(boost: Any) -> Workflow | None:
    """The workflow a boost goes through: as for a post of its channel and campaign, by the
    person who asked for it."""
    return policy.workflow_matching(
        boost.workspace_id,
        channel_id=boost.target.channel_id,
        campaign_and_author=lambda: (boost.campaign_id, boost.requested_by_id),
    )


def open_run(boost: Any, *, lock: bool = False) -> Run | None:
    runs = Run.objects.filter(boost_id=boost.pk, state=Run.State.OPEN).order_by("-pk")
    if lock:  # two approvers at once: the second waits, then sees the first one's step
        return runs.select_for_update().first()
    return runs.select_related("step", "workflow").first()


def approvers(run: Run) -> list[User]:
    """Who decides the run's current step: its approvers, or (no workflow) the members whose
    role approves ad spend."""
    if run.step is not None:
        return policy.approvers_of(run.step)
    return [
        m.user
        for m in Membership.objects.filter(
            workspace_id=run.workspace_id, user__is_active=True
        ).select_related("user")
        if can(m.role, Perm.APPROVE_ADS)
    ]


def may_decide(user: User, run: Run) -> bool:
    return any(u.pk == user.pk for u in approvers(run))


def _named(run: Run, user: User) -> bool:
    return run.step is not None and run.step.users.filter(pk=user.pk).exists()


def may_approve(user: User, boost: Any, run: Run) -> bool:
    """An approver of the current step, who did not ask for the boost (unless the step names them)
    and has not already approved a step that needs all of its approvers."""
    if not may_decide(user, run):
        return False
    if boost.requested_by_id == user.pk and not _named(run, user):
        return False
    return not (
        run.step is not None
        and run.step.rule == Step.Rule.ALL
        and run.decisions.filter(step=run.step, actor=user, verdict=Decision.Verdict.APPROVE).exists()
    )


def start(boost: Any, *, actor: User | None) -> Run:
    """The boost waits for approval: open a run at its workflow's first step, tell its approvers."""
    workflow = workflow_for(boost)
    Run.objects.filter(boost_id=boost.pk, state=Run.State.OPEN).update(
        state=Run.State.CANCELLED, finished_at=timezone.now()
    )
    run = Run.objects.create(
        workspace_id=boost.workspace_id,
        boost=boost,
        workflow=workflow,
        step=policy._first_step(workflow) if workflow else None,
    )
    audit.record(
        "approval.started",
        workspace=boost.workspace,
        actor=actor,
        obj=boost,
        workflow=workflow.name if workflow else "",
        step=run.step.name if run.step else "",
    )
    _tell_step(run, boost)
    return run


def _tell_step(run: Run, boost: Any) -> None:
    people = [u for u in approvers(run) if u.pk != boost.requested_by_id or _named(run, u)]
    post = boost.target.post
    title = (
        _("Your approval is needed (%(step)s): boost of %(post)s") % {"step": run.step.name, "post": post}
        if run.step is not None
        else _("A boost waits for your approval")
    )
    notify(
        people,
        workspace=boost.workspace,
        kind="ads.approval_requested",
        title=title,
        body=_("It may spend up to %(amount)s.") % {"amount": boost.most_it_may_spend()},
        url=boost_url(boost),
    )


def _refuse_unless_approver(run: Run, boost: Any, actor: User) -> None:
    if boost.requested_by_id == actor.pk and not _named(run, actor) and may_decide(actor, run):
        raise NotAllowed(
            gettext_lazy("You asked for this boost: someone else approves it."), code="own_boost"
        )
    if not may_decide(actor, run):
        if run.step is not None:
            raise NotAllowed(
                gettext_lazy("You are not an approver of the step “%(step)s”."),
                code="not_an_approver",
                step=run.step.name,
            )
        raise NotAllowed(gettext_lazy("Your role does not approve ad spend."), code="not_an_approver")


def approve_step(boost: Any, *, actor: User, comment: str = "") -> bool:
    """Records an approval of the current step, inside the caller's transaction (which holds the
    boost's row). True when every step is approved (the caller then queues the boost); False
    while steps remain."""
    run = open_run(boost, lock=True) or start(boost, actor=None)
    _refuse_unless_approver(run, boost, actor)
    step = run.step
    if (
        step is not None
        and step.rule == Step.Rule.ALL
        and run.decisions.filter(step=step, actor=actor, verdict=Decision.Verdict.APPROVE).exists()
    ):
        raise NotAllowed(
            gettext_lazy("You already approved the step “%(step)s”."), code="already_approved", step=step.name
        )
    Decision.objects.create(
        workspace_id=boost.workspace_id,
        boost=boost,
        run=run,
        step=step,
        actor=actor,
        verdict=Decision.Verdict.APPROVE,
        comment=comment[:4000],
    )
    audit.record(
        "approval.approved",
        workspace=boost.workspace,
        actor=actor,
        obj=boost,
        step=step.name if step else "",
        comment=comment[:4000],
    )
    if step is None:
        policy._finish(run, Run.State.APPROVED)
        return True
    if not policy._step_satisfied(run, step, outside=False):
        return False
    following = policy._next_step(step)
    if following is None:
        policy._finish(run, Run.State.APPROVED)
        return True
    run.step = following
    run.save(update_fields=["step"])
    _tell_step(run, boost)
    return False


def check_decliner(boost: Any, *, actor: User) -> None:
    """A decline is the current step's approvers' (the person who asked may withdraw it too)."""
    run = open_run(boost)
    if run is None or boost.requested_by_id == actor.pk:
        return
    if not may_decide(actor, run):
        _refuse_unless_approver(run, boost, actor)


def declined(boost: Any, *, actor: User | None, reason: str) -> None:
    """The boost will not run: close its run with the decision and tell who asked for it. With
    no actor (a consent withdrawal declines on everyone's behalf) only the run is closed."""
    run = open_run(boost, lock=True)
    if actor is not None:
        Decision.objects.create(
            workspace_id=boost.workspace_id,
            boost=boost,
            run=run,
            step=run.step if run else None,
            actor=actor,
            verdict=Decision.Verdict.REJECT,
            comment=reason[:4000],
        )
    if run is not None:
        policy._finish(run, Run.State.REJECTED)
    if boost.requested_by is not None and (actor is None or actor.pk != boost.requested_by_id):
        who = actor.display_name if actor is not None else "Chorus"
        notify(
            [boost.requested_by],
            workspace=boost.workspace,
            kind="ads.boost_declined",
            title=_("Boost declined by %(who)s: %(post)s") % {"who": who, "post": boost.target.post},
            body=reason,
            url=boost_url(boost),
        )


def add_comment(boost: Any, *, actor: User, body: str) -> Decision:
    """A comment in the boost's approval history; the members it @mentions are told."""
    body = body.strip()
    if not body:
        raise Invalid(gettext_lazy("Write a comment first."), code="comment_empty")
    run = open_run(boost) or Run.objects.filter(boost_id=boost.pk).order_by("-pk").first()
    decision = Decision.objects.create(
        workspace_id=boost.workspace_id,
        boost=boost,
        run=run,
        step=run.step if run else None,
        actor=actor,
        verdict=Decision.Verdict.COMMENT,
        comment=body[:5000],
    )
    mentioned = [u for u in policy.mentioned_members(boost.workspace, body) if u.pk != actor.pk]
    audit.record(
        "comment.added", workspace=boost.workspace, actor=actor, obj=boost, comment=decision.pk,
        mentions=[u.email for u in mentioned],
    )  # fmt: skip
    notify(
        mentioned,
        workspace=boost.workspace,
        kind="mention",
        title=_("%(who)s mentioned you on a boost of %(post)s")
        % {"who": actor.display_name, "post": boost.target.post},
        body=body[:500],
        url=boost_url(boost),
    )
    return decision


def steps_of(run: Run | None) -> list[dict[str, Any]]:
    """The run's workflow steps, each done, current or ahead (for the boost's page)."""
    if run is None or run.workflow is None:
        return []
    at = run.step.position if run.step else 0
    return [
        {"step": step, "current": step.pk == run.step_id, "done": step.position < at}
        for step in run.workflow.steps.prefetch_related("users")
    ]


def history(boost: Any) -> Any:
    return Decision.objects.filter(boost_id=boost.pk).select_related("actor", "step")


def pending_for(user: User, workspace: Workspace) -> list[Run]:
    """Boosts waiting for a step this person approves (the review queue, "My work", the home)."""
    runs = (
        Run.objects.filter(
            workspace=workspace, state=Run.State.OPEN, boost__isnull=False, boost__status=WAITING
        )
        .filter(boost__workspace=workspace)  # the run's workspace is the boost's: said twice on purpose
        .select_related("boost", "boost__target__post", "boost__target__channel", "step", "workflow")
        .order_by("started_at", "pk")
    )
    return [run for run in runs if may_approve(user, run.boost, run)]
