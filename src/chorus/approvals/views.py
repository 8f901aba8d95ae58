from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm, Role, can
from chorus.approvals import actions, auditlog, policy
from chorus.approvals import boosts as boost_approvals
from chorus.approvals.models import (
    Assignment,
    Comment,
    Decision,
    DigestSubscription,
    ReviewLink,
    Run,
    Step,
    Workflow,
)
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from chorus.core.models import AuditEvent
from chorus.core.refusals import Invalid
from chorus.media import storage
from chorus.publishing import actions as publishing

MAX_STEP_ROWS = 50


def _target(request: HttpRequest, target_id: int) -> PostTarget:
    return get_object_or_404(
        PostTarget.objects.select_related("channel", "post", "post__author", "workspace"),
        pk=target_id,
        workspace=workspace_of(request),
    )


def _ip(request: HttpRequest) -> str:
    """The proxy-aware client address, the one every other audit row records."""
    from chorus.core.middleware import client_ip

    return client_ip(request) or ""


# --- reviewers ---------------------------------------------------------------------------------


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def pending(request: HttpRequest) -> HttpResponse:
    """Posts waiting for a step the signed-in person approves."""
    workspace = workspace_of(request)
    return render(
        request,
        "approvals/pending.html",
        {
            "workspace": workspace,
            "runs": policy.pending_for(current_user(request), workspace),
            "boost_runs": boost_approvals.pending_for(current_user(request), workspace),
            "digest": DigestSubscription.objects.filter(
                workspace=workspace, user=current_user(request), enabled=True
            ).exists(),
            "can_manage": can(membership_of(request).role, Perm.MANAGE_WORKSPACE),
        },
    )


@workspace_view(Perm.VIEW_WORKSPACE, methods=("POST",))
def digest(request: HttpRequest) -> HttpResponse:
    """Switch between an email per approval step and one daily digest."""
    workspace = workspace_of(request)
    actions.set_digest(workspace, user=current_user(request), enabled=bool(request.POST.get("enabled")))
    messages.success(request, _("Saved."))
    return redirect("approvals:pending", slug=workspace.slug)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def target_page(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = _target(request, target_id)
    user = current_user(request)
    role = membership_of(request).role
    run = policy.open_run(target)
    steps: list[dict[str, Any]] = []
    if run is not None and run.workflow is not None:
        at = run.step.position if run.step else 0
        steps = [
            {"step": step, "current": step.pk == run.step_id, "done": step.position < at}
            for step in run.workflow.steps.prefetch_related("users")
        ]
    may_decide = target.status == PostTarget.Status.IN_REVIEW and (
        (run is not None and run.step is not None and policy.may_decide(user, run.step))
        or (run is None and policy.workflow_for(target) is None and can(role, Perm.APPROVE_POST))
    )
    return render(
        request,
        "approvals/target.html",
        {
            "workspace": workspace,
            "target": target,
            "run": run,
            "steps": steps,
            "decisions": Decision.objects.filter(target=target).select_related("actor", "step"),
            "may_decide": may_decide,
            "can_share": can(role, Perm.EDIT_ANY_POST),
            "links": ReviewLink.objects.filter(target=target).order_by("-created_at"),
            "comments": Comment.objects.filter(target=target, parent__isnull=True)
            .select_related("author")
            .prefetch_related("replies", "replies__author"),
            "assignment": Assignment.objects.filter(target=target).select_related("assignee").first(),
            "can_assign": can(role, Perm.EDIT_ANY_POST),
            "members": User.objects.filter(memberships__workspace=workspace).order_by("name", "email"),
            "new_link": request.session.pop("approvals_new_link", None),
            "media": list(enumerate(target.media or [])),
        },
    )


@workspace_view(Perm.VIEW_WORKSPACE, methods=("POST",))
def decide(request: HttpRequest, target_id: int) -> HttpResponse:
    """Approve or reject the current step; the workflow engine checks the person is its approver
    (without a workflow, the role's approval permission decides, as in the review queue)."""
    target = _target(request, target_id)
    user = current_user(request)
    verdict = request.POST.get("decision", "")
    comment = request.POST.get("comment", "").strip()
    back = redirect("approvals:target", slug=target.workspace.slug, target_id=target.pk)
    if policy.open_run(target) is None and not can(membership_of(request).role, Perm.APPROVE_POST):
        messages.error(request, _("Your role in this workspace does not allow this."))
        return back
    try:
        if verdict == "approve":
            publishing.approve(target, actor=user, comment=comment)
            messages.success(request, _("Approval recorded."))
        elif verdict == "reject":
            if not comment:
                messages.error(request, _("Say why, so the author can fix it."))
                return back
            publishing.reject(target, actor=user, reason=comment)
            messages.success(request, _("Returned to the author."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except publishing.TransitionRefused as exc:
        messages.error(request, str(exc))
    return back


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def link_issue(request: HttpRequest, target_id: int) -> HttpResponse:
    target = _target(request, target_id)
    name = request.POST.get("name", "").strip()
    try:
        days = int(request.POST.get("days", actions.DEFAULT_LINK_DAYS))
        if not name:
            raise Invalid(gettext_lazy("Give the reviewer's name."), code="reviewer_name_required")
        _link, raw = actions.issue_link(
            target,
            actor=current_user(request),
            name=name,
            email=request.POST.get("email", "")[:200],
            days=days,
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        # Shown once on the next page; only the hash is stored.
        request.session["approvals_new_link"] = request.build_absolute_uri(f"/review/{raw}/")
    return redirect("approvals:target", slug=target.workspace.slug, target_id=target.pk)


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(ReviewLink, pk=link_id, workspace=workspace_of(request))
    actions.revoke_link(link, actor=current_user(request))
    messages.success(request, _("The review link no longer works."))
    return redirect("approvals:target", slug=link.workspace.slug, target_id=link.target_id)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("POST",))
def comment_add(request: HttpRequest, target_id: int) -> HttpResponse:
    target = _target(request, target_id)
    parent_id = request.POST.get("parent", "")
    parent = get_object_or_404(Comment, pk=int(parent_id), target=target) if parent_id.isdigit() else None
    try:
        actions.add_comment(
            target, actor=current_user(request), body=request.POST.get("body", ""), parent=parent
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('approvals:target', args=[target.workspace.slug, target.pk])}#comments")


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def assign(request: HttpRequest, target_id: int) -> HttpResponse:
    target = _target(request, target_id)
    raw = request.POST.get("assignee", "")
    assignee = (
        User.objects.filter(pk=int(raw), memberships__workspace=target.workspace).first()
        if raw.isdigit()
        else None
    )
    if raw and assignee is None:
        messages.error(request, _("Assign the post to a member of this workspace."))
    else:
        actions.assign(target, actor=current_user(request), assignee=assignee)
        messages.success(request, _("Saved."))
    return redirect("approvals:target", slug=target.workspace.slug, target_id=target.pk)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def my_work(request: HttpRequest) -> HttpResponse:
    """One page of what the signed-in person should do next."""
    workspace = workspace_of(request)
    user = current_user(request)
    done = [PostTarget.Status.PUBLISHED, PostTarget.Status.FAILED]
    return render(
        request,
        "approvals/my_work.html",
        {
            "workspace": workspace,
            "assigned": Assignment.objects.filter(workspace=workspace, assignee=user)
            .exclude(target__status__in=done)
            .select_related("target", "target__post", "target__channel", "assigned_by")
            .order_by("target__scheduled_at", "-at")[:200],
            "pending": policy.pending_for(user, workspace),
            "boost_runs": boost_approvals.pending_for(user, workspace),
            "returned": PostTarget.objects.filter(
                workspace=workspace, status=PostTarget.Status.DRAFT, post__author=user
            )
            .exclude(error_message="")
            .select_related("post", "channel")
            .order_by("-updated_at")[:100],
            "mentions": Comment.objects.filter(workspace=workspace, mentions=user)
            .select_related("author", "target", "target__post")
            .order_by("-created_at")[:50],
        },
    )


# --- outside reviewers (no account: the token is the credential) -----------------------------


@require_http_methods(["GET", "POST"])
def outside_review(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = actions.resolve_link(token, ip=_ip(request))
    except actions.LinkRefused as exc:
        return render(request, "approvals/outside_refused.html", {"reason": str(exc)}, status=404)
    done = ""
    error = ""
    if request.method == "POST":
        verdict = request.POST.get("decision", "")
        comment = request.POST.get("comment", "").strip()[:4000]
        if verdict not in ("approve", "reject", "comment"):
            error = _("Choose approve, reject or comment.")
        elif verdict in ("reject", "comment") and not comment:
            error = _("Please write a few words for the team.")
        else:
            try:
                done = actions.outside_decision(link, verdict=verdict, comment=comment, ip=_ip(request))
            except publishing.TransitionRefused as exc:
                error = str(exc)
    else:
        actions.link_viewed(link, ip=_ip(request))
    target = PostTarget.objects.select_related("channel", "post").get(pk=link.target_id)
    response = render(
        request,
        "approvals/outside_review.html",
        {
            "link": link,
            "target": target,
            "media": list(enumerate(target.media or [])),
            "token": token,
            "done": done,
            "error": error,
            "waiting": target.status == PostTarget.Status.IN_REVIEW,
        },
    )
    response["Referrer-Policy"] = "same-origin"  # token in URL; no-referrer => Origin: null => CSRF 403
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET"])
def outside_media(request: HttpRequest, token: str, index: int) -> FileResponse:
    try:
        link = actions.resolve_link(token, ip=_ip(request))
    except actions.LinkRefused:
        raise Http404 from None
    media = link.target.media or []
    if index >= len(media) or not isinstance(media[index], dict):
        raise Http404
    # From the media storage (the bucket on the scaled shape), whichever host stored it.
    try:
        name = storage.storage_name(str(media[index].get("path", "")))
    except storage.NotAMediaFile:
        raise Http404 from None
    if not default_storage.exists(name):
        raise Http404
    return FileResponse(default_storage.open(name, "rb"))


# --- workflow management ------------------------------------------------------------------------


@workspace_view(Perm.MANAGE_WORKSPACE)
def workflow_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    if request.method == "POST":
        try:
            actions.set_hold_minutes(
                workspace, actor=current_user(request), minutes=int(request.POST.get("hold_minutes", ""))
            )
            messages.success(request, _("Saved."))
        except ValueError as exc:
            messages.error(
                request, str(exc) if str(exc).startswith("Between") else _("Give a number of minutes.")
            )
        return redirect("approvals:workflows", slug=workspace.slug)
    return render(
        request,
        "approvals/workflows.html",
        {
            "workspace": workspace,
            "workflows": Workflow.objects.filter(workspace=workspace).prefetch_related(
                "steps", "steps__users"
            ),
            "hold_minutes": policy.hold_minutes(workspace),
            "open_runs": Run.objects.filter(workspace=workspace, state=Run.State.OPEN).count(),
        },
    )


def _steps_from(post: Any, count: int) -> list[dict[str, Any]]:
    steps = []
    for i in range(count):
        name = post.get(f"step-{i}-name", "").strip()
        users = [int(u) for u in post.getlist(f"step-{i}-users") if u.isdigit()]
        role = post.get(f"step-{i}-role", "")
        if not name and not users and not role:
            continue
        steps.append(
            {
                "name": name[:120],
                "users": users,
                "role": role if role in Role.values else "",
                "rule": post.get(f"step-{i}-rule", Step.Rule.ANY)
                if post.get(f"step-{i}-rule") in Step.Rule.values
                else Step.Rule.ANY,
                "allow_outside": bool(post.get(f"step-{i}-outside")),
            }
        )
    return steps


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@workspace_view(Perm.MANAGE_WORKSPACE)
def workflow_edit(request: HttpRequest, workflow_id: int | None = None) -> HttpResponse:
    workspace = workspace_of(request)
    workflow = get_object_or_404(Workflow, pk=workflow_id, workspace=workspace) if workflow_id else None
    error = ""
    if request.method == "POST":
        count = min(MAX_STEP_ROWS, _int_or_none(request.POST.get("rows")) or 1)
        steps = _steps_from(request.POST, count)
        values: dict[str, Any] = {
            "name": request.POST.get("name", "").strip()[:120],
            "applies_to": request.POST.get("applies_to", Workflow.AppliesTo.EVERYONE),
            "channel_id": _int_or_none(request.POST.get("channel")),
            "campaign_id": _int_or_none(request.POST.get("campaign")),
            "role": request.POST.get("role", "") if request.POST.get("role") in Role.values else "",
            "position": _int_or_none(request.POST.get("position")) or 100,
            "active": bool(request.POST.get("active")),
        }
        if request.POST.get("add_step"):
            rows = count + 1  # "Add a step": the same form with one more empty row
        elif not values["name"]:
            error, rows = _("Give the workflow a name."), count
        elif values["applies_to"] not in Workflow.AppliesTo.values:
            error, rows = _("Choose what the workflow applies to."), count
        else:
            try:
                actions.save_workflow(
                    workspace, actor=current_user(request), steps=steps, workflow=workflow, **values
                )
            except ValueError as exc:
                error, rows = str(exc), count
            else:
                messages.success(request, _("Workflow saved."))
                return redirect("approvals:workflows", slug=workspace.slug)
        form: dict[str, Any] = {**values, "steps": steps}
    else:
        if workflow is not None:
            form = {
                "name": workflow.name,
                "applies_to": workflow.applies_to,
                "channel_id": workflow.channel_id,
                "campaign_id": workflow.campaign_id,
                "role": workflow.role,
                "position": workflow.position,
                "active": workflow.active,
                "steps": [
                    {
                        "name": s.name,
                        "users": [u.pk for u in s.users.all()],
                        "role": s.role,
                        "rule": s.rule,
                        "allow_outside": s.allow_outside,
                    }
                    for s in workflow.steps.all()
                ],
            }
        else:
            form = {"name": "", "applies_to": "everyone", "position": 100, "active": True, "steps": []}
        rows = len(form["steps"]) + 1
    step_rows = list(form["steps"]) + [{} for _i in range(max(0, rows - len(form["steps"])))]
    return render(
        request,
        "approvals/workflow_form.html",
        {
            "workspace": workspace,
            "workflow": workflow,
            "form": form,
            "step_rows": step_rows,
            "rows": len(step_rows),
            "error": error,
            "applies_choices": Workflow.AppliesTo.choices,
            "rule_choices": Step.Rule.choices,
            "roles": Role.choices,
            "channels": Channel.objects.filter(workspace=workspace).order_by("name"),
            "campaigns": Campaign.objects.filter(workspace=workspace).order_by("name"),
            "members": User.objects.filter(memberships__workspace=workspace).order_by("name", "email"),
        },
    )


@workspace_view(Perm.MANAGE_WORKSPACE, methods=("POST",))
def workflow_delete(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    workflow = get_object_or_404(Workflow, pk=workflow_id, workspace=workspace)
    actions.delete_workflow(workflow, actor=current_user(request))
    messages.success(request, _("Workflow deleted."))
    return redirect("approvals:workflows", slug=workspace.slug)


# --- audit trail -----------------------------------------------------------------------------------


@workspace_view(Perm.VIEW_AUDIT_LOG, methods=("GET",))
def audit_log(request: HttpRequest) -> Any:
    workspace = workspace_of(request)
    params, bad = auditlog.parse(request.GET.dict())
    events = auditlog.filtered(workspace, params)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            auditlog.csv_rows(events, workspace.timezone), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="audit-{workspace.slug}.csv"'
        return response
    return render(
        request,
        "approvals/audit.html",
        {
            "workspace": workspace,
            "events": events[:500],
            "params": request.GET,
            "bad": bad,
            "people": User.objects.filter(memberships__workspace=workspace).order_by("name", "email"),
            "actions": AuditEvent.objects.filter(workspace=workspace)
            .order_by("action")
            .values_list("action", flat=True)
            .distinct()[:300],
            "object_types": auditlog.object_type_choices(
                AuditEvent.objects.filter(workspace=workspace)
                .exclude(object_type="")
                .order_by("object_type")
                .values_list("object_type", flat=True)
                .distinct()
            ),
            "query": request.GET.urlencode(),
        },
    )
