"""REST endpoints of approval workflows: my pending steps, decisions, workflows, outside review
links, contributors' links and the audit export. State changes go through chorus.publishing.actions and
chorus.approvals.actions, as the pages do."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import membership_of, workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm, can
from chorus.api.auth import ws_perm
from chorus.api.publishing import campaign_of
from chorus.approvals import actions, auditlog, intake, policy
from chorus.approvals.models import Contributor, Decision, ReviewLink, Workflow
from chorus.content.models import PostTarget
from chorus.publishing import actions as publishing

router = Router(tags=["approvals"])


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _target(request: HttpRequest, target_id: int) -> PostTarget:
    return get_object_or_404(
        PostTarget.objects.select_related("workspace", "channel", "post", "post__author"),
        pk=target_id,
        workspace=workspace_of(request),
    )


class PendingOut(Schema):
    target: int
    post: str
    channel: str
    workflow: str
    step: str
    changes: dict[str, Any]
    scheduled_at: dt.datetime | None
    held: bool


class DecisionIn(Schema):
    decision: str  # "approve" | "reject"
    comment: str = ""


class DecisionOut(Schema):
    id: int
    verdict: str
    who: str
    step: str
    comment: str
    at: dt.datetime


class StatusOut(Schema):
    status: str
    step: str


class StepIn(Schema):
    name: str = ""
    users: list[int] = []
    role: str = ""
    rule: str = "any"
    allow_outside: bool = False


class WorkflowIn(Schema):
    name: str
    applies_to: str = "everyone"
    channel: int | None = None
    campaign: int | None = None
    role: str = ""
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    active: bool = True
    steps: list[StepIn]


class StepOut(Schema):
    name: str
    users: list[int]
    role: str
    rule: str
    allow_outside: bool


class WorkflowOut(Schema):
    id: int
    name: str
    applies_to: str
    channel: int | None
    campaign: int | None
    role: str
    position: int
    active: bool
    steps: list[StepOut]


class LinkIn(Schema):
    name: str
    email: str = ""
    days: int = actions.DEFAULT_LINK_DAYS


class LinkOut(Schema):
    id: int
    reviewer: str
    expires_at: dt.datetime
    url: str  # returned once, when the link is made


def _workflow_out(wf: Workflow) -> WorkflowOut:
    return WorkflowOut(
        id=wf.pk, name=wf.name, applies_to=wf.applies_to, channel=wf.channel_id, campaign=wf.campaign_id,
        role=wf.role, position=wf.position, active=wf.active,
        steps=[
            StepOut(name=s.name, users=[u.pk for u in s.users.all()], role=s.role, rule=s.rule,
                    allow_outside=s.allow_outside)
            for s in wf.steps.all()
        ],
    )  # fmt: skip


@router.get("/workspaces/{slug}/approvals/pending", response=list[PendingOut], **ws_perm(Perm.VIEW_WORKSPACE))
def approvals_pending(request: HttpRequest, slug: str) -> list[PendingOut]:
    """Posts waiting for a step the caller approves."""
    return [
        PendingOut(
            target=run.post_target.pk,
            post=str(run.post_target.post),
            channel=run.post_target.channel.name,
            workflow=run.workflow.name if run.workflow else "",
            step=run.step.name if run.step else "",
            changes=run.changes,
            scheduled_at=run.post_target.scheduled_at,
            held=run.held_at is not None,
        )
        for run in policy.pending_for(_user(request), workspace_of(request))
    ]


@router.get(
    "/workspaces/{slug}/targets/{target_id}/decisions",
    response=list[DecisionOut],
    **ws_perm(Perm.VIEW_WORKSPACE),
)
def approvals_decisions(request: HttpRequest, slug: str, target_id: int) -> list[DecisionOut]:
    target = _target(request, target_id)
    return [
        DecisionOut(
            id=d.pk,
            verdict=d.verdict,
            who=d.who,
            step=d.step.name if d.step else "",
            comment=d.comment,
            at=d.at,
        )
        for d in Decision.objects.filter(target=target).select_related("actor", "step")
    ]


@router.post(
    "/workspaces/{slug}/targets/{target_id}/decisions", response=StatusOut, **ws_perm(Perm.VIEW_WORKSPACE)
)
def approvals_decide(request: HttpRequest, slug: str, target_id: int, payload: DecisionIn) -> StatusOut:
    """Approve or reject the target's current step (the caller must be one of its approvers;
    without a workflow, a role that may approve posts). 409 with the reason when refused."""
    target = _target(request, target_id)
    user = _user(request)
    if policy.open_run(target) is None and not can(membership_of(request).role, Perm.APPROVE_POST):
        raise HttpError(403, "Only the post's approvers may decide.")
    try:
        if payload.decision == "approve":
            publishing.approve(target, actor=user, comment=payload.comment)
        elif payload.decision == "reject":
            if not payload.comment.strip():
                raise HttpError(400, "A rejection needs a reason for the author.")
            publishing.reject(target, actor=user, reason=payload.comment.strip())
        else:
            raise HttpError(400, "decision must be 'approve' or 'reject'.")
    except publishing.TransitionRefused as exc:
        raise HttpError(409, str(exc)) from None
    run = policy.open_run(target)
    status = PostTarget.objects.values_list("status", flat=True).get(pk=target.pk)
    return StatusOut(status=status, step=run.step.name if run and run.step else "")


@router.get(
    "/workspaces/{slug}/approvals/workflows", response=list[WorkflowOut], **ws_perm(Perm.MANAGE_WORKSPACE)
)
def approvals_workflows(request: HttpRequest, slug: str) -> list[WorkflowOut]:
    rows = Workflow.objects.filter(workspace=workspace_of(request)).prefetch_related("steps", "steps__users")
    return [_workflow_out(wf) for wf in rows]


@router.post(
    "/workspaces/{slug}/approvals/workflows", response={201: WorkflowOut}, **ws_perm(Perm.MANAGE_WORKSPACE)
)
def approvals_workflow_create(request: HttpRequest, slug: str, payload: WorkflowIn) -> Status:
    if payload.applies_to not in Workflow.AppliesTo.values:
        raise HttpError(400, f"applies_to must be one of {', '.join(Workflow.AppliesTo.values)}.")
    try:
        wf = actions.save_workflow(
            workspace_of(request), actor=_user(request), name=payload.name, applies_to=payload.applies_to,
            channel_id=payload.channel, campaign_id=payload.campaign, role=payload.role,
            position=payload.position, active=payload.active, steps=[s.dict() for s in payload.steps],
        )  # fmt: skip
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, _workflow_out(wf))


@router.post(
    "/workspaces/{slug}/targets/{target_id}/review-links",
    response={201: LinkOut},
    **ws_perm(Perm.EDIT_ANY_POST),
)
def approvals_link_issue(request: HttpRequest, slug: str, target_id: int, payload: LinkIn) -> Status:
    target = _target(request, target_id)
    if not payload.name.strip():
        raise HttpError(400, "Give the reviewer's name.")
    try:
        link, raw = actions.issue_link(
            target, actor=_user(request), name=payload.name, email=payload.email[:200], days=payload.days
        )
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None
    url = request.build_absolute_uri(f"/review/{raw}/")
    return Status(201, LinkOut(id=link.pk, reviewer=link.reviewer_name, expires_at=link.expires_at, url=url))


@router.post(
    "/workspaces/{slug}/review-links/{link_id}/revoke", response={204: None}, **ws_perm(Perm.EDIT_ANY_POST)
)
def approvals_link_revoke(request: HttpRequest, slug: str, link_id: int) -> Status:
    link = get_object_or_404(ReviewLink, pk=link_id, workspace=workspace_of(request))
    actions.revoke_link(link, actor=_user(request))
    return Status(204, None)


@router.get("/workspaces/{slug}/audit.csv", **ws_perm(Perm.VIEW_AUDIT_LOG))
def approvals_audit_csv(
    request: HttpRequest,
    slug: str,
    actor: int | None = None,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> StreamingHttpResponse:
    """The workspace's audit log as CSV, with the audit page's filters."""
    workspace = workspace_of(request)
    params = {
        k: v
        for k, v in {"actor": actor, "action": action, "object_type": object_type, "object_id": object_id,
                     "since": since, "until": until}.items()
        if v
    }  # fmt: skip
    response = StreamingHttpResponse(
        auditlog.csv_rows(auditlog.filtered(workspace, params), workspace.timezone), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{workspace.slug}.csv"'
    return response


# --- contributor links (story intake) --------------------------------------------------------


class ContributorLinkOut(Schema):
    id: int
    name: str
    hint: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class InviteIn(Schema):
    name: str = Field(max_length=120)
    email: str = Field(default="", max_length=200)
    campaign_id: int | None = None
    days: int | None = None  # how long the link works (default and maximum: the server's settings)


class InviteOut(Schema):
    id: int
    name: str
    link: str  # shown once: only its hash is kept
    expires_at: dt.datetime


@router.post("/workspaces/{slug}/contributors", response={201: InviteOut}, **ws_perm(Perm.EDIT_ANY_POST))
def invite(request: HttpRequest, slug: str, payload: InviteIn) -> Status:
    """A contributor's magic link: they send stories and photos through it, without an account."""
    workspace = workspace_of(request)
    campaign = campaign_of(workspace, payload.campaign_id)
    contributor, raw = intake.invite(
        workspace,
        actor=request.auth,  # type: ignore[attr-defined]
        name=payload.name,
        email=payload.email,
        campaign=campaign,
        days=payload.days,
    )
    link = f"{settings.CHORUS_BASE_URL}/contribute/{raw}/"
    return Status(
        201, InviteOut(id=contributor.pk, name=contributor.name, link=link, expires_at=contributor.ends_at)
    )


@router.get(
    "/workspaces/{slug}/contributors", response=list[ContributorLinkOut], **ws_perm(Perm.EDIT_ANY_POST)
)
def contributor_links(request: HttpRequest, slug: str) -> list[ContributorLinkOut]:
    """Every contributor magic link of the workspace, live or not, newest first."""
    rows = Contributor.objects.filter(workspace=workspace_of(request)).order_by("-created_at")
    return [
        ContributorLinkOut(
            id=c.pk,
            name=c.name,
            hint=c.hint,
            created_at=c.created_at,
            expires_at=c.ends_at,
            revoked_at=c.revoked_at,
            active=c.is_active,
        )
        for c in rows
    ]


@router.post(
    "/workspaces/{slug}/contributors/{contributor_id}/revoke",
    response={204: None},
    **ws_perm(Perm.EDIT_ANY_POST),
)
def contributor_link_revoke(request: HttpRequest, slug: str, contributor_id: int) -> Status:
    contributor = get_object_or_404(Contributor, pk=contributor_id, workspace=workspace_of(request))
    intake.revoke(contributor, actor=_user(request))
    return Status(204, None)
