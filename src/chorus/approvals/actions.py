"""Approval state changes outside the publishing state machine: managing workflows, the hold
setting, outside review links and their uses. Each writes the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.models import User, Workspace
from chorus.approvals import policy
from chorus.approvals.models import (
    ApprovalSettings,
    Assignment,
    Comment,
    Decision,
    DigestSubscription,
    ReviewLink,
    Step,
    Workflow,
    new_raw_token,
    token_hash,
)
from chorus.approvals.policy import MENTION, mentioned_members  # noqa: F401 (their old home)
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.core.notify import notify
from chorus.core.refusals import Invalid, Refused
from chorus.publishing import actions as publishing

DEFAULT_LINK_DAYS = 7


class LinkRefused(Refused):
    """A review link that is unknown (or tampered with), expired or revoked."""


# --- workflows ---------------------------------------------------------------------------------


@transaction.atomic
def save_workflow(
    workspace: Workspace,
    *,
    actor: User | None,
    name: str,
    applies_to: str,
    steps: list[dict[str, Any]],
    channel_id: int | None = None,
    campaign_id: int | None = None,
    role: str = "",
    position: int = 100,
    active: bool = True,
    workflow: Workflow | None = None,
) -> Workflow:
    """Creates or replaces a workflow with its ordered steps. Each step: {"name", "rule",
    "users": [ids], "role", "allow_outside"}; approvers must be members of the workspace."""
    if not steps:
        raise Invalid(gettext_lazy("A workflow needs at least one step."), code="workflow_without_steps")
    if applies_to == Workflow.AppliesTo.CHANNEL and (
        channel_id is None or not workspace.channels.filter(pk=channel_id).exists()
    ):
        raise Invalid(gettext_lazy("Choose a channel of this workspace."), code="channel_required")
    if applies_to == Workflow.AppliesTo.CAMPAIGN and (
        campaign_id is None or not workspace.campaigns.filter(pk=campaign_id).exists()
    ):
        raise Invalid(gettext_lazy("Choose a campaign of this workspace."), code="campaign_required")
    if applies_to == Workflow.AppliesTo.ROLE_BELOW and not role:
        raise Invalid(gettext_lazy("Choose a role."), code="role_required")
    fields = {
        "name": name,
        "applies_to": applies_to,
        "channel_id": channel_id if applies_to == Workflow.AppliesTo.CHANNEL else None,
        "campaign_id": campaign_id if applies_to == Workflow.AppliesTo.CAMPAIGN else None,
        "role": role if applies_to == Workflow.AppliesTo.ROLE_BELOW else "",
        "position": position,
        "active": active,
    }
    if workflow is None:
        workflow = Workflow.objects.create(workspace=workspace, **fields)
        action = "workflow.created"
    else:
        assert workflow.workspace_id == workspace.pk
        for key, value in fields.items():
            setattr(workflow, key, value)
        workflow.save()
        workflow.steps.all().delete()
        action = "workflow.changed"
    for index, spec in enumerate(steps):
        users = policy.users_in(workspace, spec.get("users", []))
        if not users and not spec.get("role"):
            raise Invalid(
                gettext_lazy("Step %(n)s needs approvers: people or a role."),
                code="step_without_approvers",
                n=index + 1,
            )
        step = Step.objects.create(
            workflow=workflow,
            position=index,
            name=spec.get("name") or _("Step %(n)s") % {"n": index + 1},
            role=spec.get("role", ""),
            rule=spec.get("rule", Step.Rule.ANY),
            allow_outside=bool(spec.get("allow_outside")),
        )
        step.users.set(users)
    audit.record(action, workspace=workspace, actor=actor, obj=workflow, name=name, steps=len(steps))
    return workflow


@transaction.atomic
def delete_workflow(workflow: Workflow, *, actor: User | None) -> None:
    audit.record(
        "workflow.deleted", workspace=workflow.workspace, actor=actor, obj=workflow, name=workflow.name
    )
    workflow.delete()


@transaction.atomic
def set_hold_minutes(workspace: Workspace, *, actor: User | None, minutes: int) -> None:
    if minutes < 0 or minutes > 24 * 60:
        raise Invalid(gettext_lazy("Between 0 and 1440 minutes."), code="hold_minutes_range")
    before = policy.hold_minutes(workspace)
    ApprovalSettings.objects.update_or_create(workspace=workspace, defaults={"hold_minutes": minutes})
    audit.record(
        "approvals.settings_changed", workspace=workspace, actor=actor, hold_minutes=[before, minutes]
    )


# --- outside review links ---------------------------------------------------------------------


@transaction.atomic
def issue_link(
    target: PostTarget, *, actor: User | None, name: str, email: str = "", days: int = DEFAULT_LINK_DAYS
) -> tuple[ReviewLink, str]:
    """A new review link; the raw token is returned once and only its hash is kept."""
    if not 1 <= days <= 90:
        raise Invalid(gettext_lazy("A review link lasts between 1 and 90 days."), code="link_days_range")
    raw = new_raw_token()
    link = ReviewLink.objects.create(
        workspace_id=target.workspace_id,
        target=target,
        reviewer_name=name.strip() or _("Outside reviewer"),
        reviewer_email=email,
        token_hash=token_hash(raw),
        hint=raw[-6:],
        created_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit.record(
        "review_link.issued",
        workspace=target.workspace,
        actor=actor,
        obj=target,
        link=link.pk,
        reviewer=link.reviewer_name,
        expires_at=link.expires_at.isoformat(),
    )
    return link, raw


@transaction.atomic
def revoke_link(link: ReviewLink, *, actor: User | None) -> None:
    if link.revoked_at is None:
        ReviewLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
        link.revoked_at = timezone.now()
    audit.record("review_link.revoked", workspace=link.workspace, actor=actor, obj=link.target, link=link.pk)


def resolve_link(raw: str, *, ip: str = "") -> ReviewLink:
    """The live link for a raw token, or LinkRefused. Every refusal of a known link is audited
    (an unknown token names no workspace to write to)."""
    link = (
        ReviewLink.objects.select_related("workspace", "target", "target__post", "target__channel")
        .filter(token_hash=token_hash(raw))
        .first()
    )
    if link is None:
        raise LinkRefused(_("This review link is not valid."))
    if link.revoked_at is not None:
        audit.record(
            "review_link.refused",
            workspace=link.workspace,
            obj=link.target,
            link=link.pk,
            why="revoked",
            ip=ip,
        )
        raise LinkRefused(_("This review link was withdrawn."))
    if link.expires_at <= timezone.now():
        audit.record(
            "review_link.refused",
            workspace=link.workspace,
            obj=link.target,
            link=link.pk,
            why="expired",
            ip=ip,
        )
        raise LinkRefused(_("This review link has expired."))
    return link


def link_viewed(link: ReviewLink, *, ip: str = "") -> None:
    ReviewLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    audit.record(
        "review_link.viewed",
        workspace=link.workspace,
        obj=link.target,
        link=link.pk,
        reviewer=link.reviewer_name,
        ip=ip,
    )


@transaction.atomic
def outside_decision(link: ReviewLink, *, verdict: str, comment: str, ip: str = "") -> str:
    """An outside reviewer approves, rejects or comments. Approval completes the current step only
    when that step accepts outside approvals; a rejection always sends the post back to its author.
    Returns a message for the reviewer."""
    target = PostTarget.objects.select_related("workspace", "post", "channel").get(pk=link.target_id)
    ReviewLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    audit.record(
        f"review_link.{verdict}",
        workspace=link.workspace,
        obj=target,
        link=link.pk,
        reviewer=link.reviewer_name,
        comment=comment,
        ip=ip,
    )
    team = [u for u in [target.post.author, link.created_by] if u is not None]
    title_args = {"who": link.reviewer_name, "post": target.post}
    if verdict == Decision.Verdict.REJECT:
        if target.status != PostTarget.Status.IN_REVIEW:
            raise publishing.TransitionRefused(_("This post is not waiting for review any more."))
        publishing.reject(target, actor=None, reason=f"{link.reviewer_name}: {comment}", link=link)
        return _("Thank you: the post was sent back to its author with your note.")
    if verdict == Decision.Verdict.APPROVE:
        if target.status != PostTarget.Status.IN_REVIEW:
            raise publishing.TransitionRefused(_("This post is not waiting for review any more."))
        run = policy.open_run(target)
        if run is not None and run.step is not None and run.step.allow_outside:
            publishing.approve(target, actor=None, comment=comment, link=link)
        else:
            Decision.objects.create(
                workspace_id=target.workspace_id,
                target=target,
                run=run,
                step=run.step if run else None,
                link=link,
                outside_name=link.reviewer_name,
                verdict=Decision.Verdict.APPROVE,
                comment=comment,
            )
        notify(
            team,
            workspace=target.workspace,
            kind="outside_approved",
            title=_("%(who)s approved: %(post)s") % title_args,
            body=comment,
            url=policy._target_url(target),
        )
        return _("Thank you: your approval was recorded.")
    Decision.objects.create(
        workspace_id=target.workspace_id,
        target=target,
        run=policy.open_run(target),
        link=link,
        outside_name=link.reviewer_name,
        verdict=Decision.Verdict.COMMENT,
        comment=comment,
    )
    notify(
        team,
        workspace=target.workspace,
        kind="outside_comment",
        title=_("%(who)s commented: %(post)s") % title_args,
        body=comment,
        url=policy._target_url(target),
    )
    return _("Thank you: your comment was sent to the team.")


# --- comments, mentions and assignment -----------------------------------------------------------


@transaction.atomic
def add_comment(target: PostTarget, *, actor: User, body: str, parent: Comment | None = None) -> Comment:
    body = body.strip()
    if not body:
        raise Invalid(gettext_lazy("Write a comment first."), code="comment_empty")
    if parent is not None and parent.target_id != target.pk:
        raise Invalid(gettext_lazy("A reply belongs to the same post."), code="reply_elsewhere")
    comment = Comment.objects.create(
        workspace_id=target.workspace_id, target=target, parent=parent, author=actor, body=body[:5000]
    )
    mentioned = [u for u in mentioned_members(target.workspace, body) if u.pk != actor.pk]
    comment.mentions.set(mentioned)
    audit.record(
        "comment.added", workspace=target.workspace, actor=actor, obj=target, comment=comment.pk,
        mentions=[u.email for u in mentioned],
    )  # fmt: skip
    notify(
        mentioned,
        workspace=target.workspace,
        kind="mention",
        title=_("%(who)s mentioned you on %(post)s") % {"who": actor.display_name, "post": target.post},
        body=body[:500],
        url=policy._target_url(target),
    )
    return comment


@transaction.atomic
def assign(target: PostTarget, *, actor: User | None, assignee: User | None) -> None:
    """Assigns the target to a member (None: unassigns)."""
    before = Assignment.objects.filter(target=target).values_list("assignee__email", flat=True).first()
    if assignee is None:
        Assignment.objects.filter(target=target).delete()
    else:
        if not assignee.memberships.filter(workspace_id=target.workspace_id).exists():
            raise Invalid(
                gettext_lazy("Assign the post to a member of this workspace."), code="assignee_not_member"
            )
        Assignment.objects.update_or_create(
            target=target,
            defaults={
                "workspace_id": target.workspace_id,
                "assignee": assignee,
                "assigned_by": actor,
                "at": timezone.now(),
            },
        )
    audit.record(
        "target.assigned", workspace=target.workspace, actor=actor, obj=target,
        before=before or "", after=assignee.email if assignee else "",
    )  # fmt: skip
    if assignee is not None and (actor is None or assignee.pk != actor.pk):
        notify(
            [assignee],
            workspace=target.workspace,
            kind="assigned",
            title=_("Assigned to you: %(post)s") % {"post": target.post},
            url=policy._target_url(target),
        )


@transaction.atomic
def set_digest(workspace: Workspace, *, user: User, enabled: bool) -> None:
    DigestSubscription.objects.update_or_create(workspace=workspace, user=user, defaults={"enabled": enabled})
    audit.record("approvals.digest_changed", workspace=workspace, actor=user, enabled=enabled)
