from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.core.timeutil import resolve_local
from chorus.publishing import actions
from chorus.publishing.forms import PostForm, RescheduleForm
from chorus.publishing.quotas import forecast_warnings

S = PostTarget.Status


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def target_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    targets = PostTarget.objects.filter(workspace=workspace).select_related("channel", "post")
    status = request.GET.get("status", "")
    if status in S.values:
        targets = targets.filter(status=status)
    held = PostTarget.objects.filter(workspace=workspace, status=S.SCHEDULED).exclude(hold_reason="").count()
    page = Paginator(targets.order_by("-scheduled_at", "-created_at"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "publishing/target_list.html",
        {"workspace": workspace, "page": page, "status": status, "statuses": S.choices, "held_count": held},
    )


@workspace_view(Perm.CREATE_POST)
def post_new(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    role = membership_of(request).role
    form = PostForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["when"] in {"now", "at", "queue"} and not can(role, Perm.SCHEDULE_POST):
            form.add_error("when", _("Your role cannot schedule posts; submit it for review instead."))
        else:
            post = actions.create_post(
                workspace=workspace,
                author=user,
                channels=data["channels"],
                text=data["text"],
                title=data["title"],
                evergreen=data["evergreen"],
            )
            try:
                for target in post.targets.select_related("workspace", "channel"):
                    _apply_when(request, target, data)
            except actions.TransitionRefused as exc:
                messages.error(request, str(exc))
            return redirect("publishing:targets", slug=workspace.slug)
    return render(request, "publishing/post_new.html", {"workspace": workspace, "form": form})


def _apply_when(request: HttpRequest, target: PostTarget, data: dict) -> None:  # type: ignore[type-arg]
    user = current_user(request)
    when = data["when"]
    if when == "review":
        actions.submit_for_review(target, actor=user)
    elif when == "now":
        actions.schedule_now(target, actor=user)
    elif when == "at":
        resolved = actions.schedule_local(target, actor=user, local=data["local_time"].replace(tzinfo=None))
        if resolved.note:
            messages.warning(request, resolved.note)
        for warning in forecast_warnings(target.channel, resolved.utc):
            messages.warning(request, warning)
    elif when == "queue":
        resolved = actions.add_to_queue(target, actor=user)
        messages.info(
            request,
            _("Queued on %(channel)s for %(time)s.")
            % {"channel": target.channel.name, "time": resolved.local.strftime("%Y-%m-%d %H:%M")},
        )


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def target_detail(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "post", "post__author"),
        pk=target_id,
        workspace=workspace,
    )
    history = (
        AuditEvent.objects.filter(
            workspace=workspace, object_type="content.posttarget", object_id=str(target.pk)
        )
        .select_related("actor")
        .order_by("at")
    )
    role = membership_of(request).role
    return render(
        request,
        "publishing/target_detail.html",
        {
            "workspace": workspace,
            "target": target,
            "history": history,
            "reschedule_form": RescheduleForm(),
            "can_schedule": can(role, Perm.SCHEDULE_POST),
            "can_approve": can(role, Perm.APPROVE_POST),
        },
    )


ACTIONS = {"reschedule", "unschedule", "release", "retry", "now", "approve", "reject", "submit"}


@workspace_view(Perm.SCHEDULE_POST, methods=("POST",))
def target_action(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "workspace", "post"), pk=target_id, workspace=workspace
    )
    action = request.POST.get("action", "")
    try:
        if action == "reschedule":
            form = RescheduleForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose a valid date and time."))
                return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
            resolved = resolve_local(form.cleaned_data["local_time"].replace(tzinfo=None), workspace.timezone)
            actions.reschedule(target, actor=user, when=resolved.utc, note=resolved.note)
            if resolved.note:
                messages.warning(request, resolved.note)
        elif action == "unschedule":
            actions.unschedule(target, actor=user)
        elif action == "release":
            actions.release_hold(target, actor=user)
        elif action == "retry":
            actions.retry_failed(target, actor=user)
        elif action == "now":
            actions.schedule(target, actor=user, when=timezone.now())
        elif action == "submit":
            actions.submit_for_review(target, actor=user)
        elif action in {"approve", "reject"}:
            if not can(membership_of(request).role, Perm.APPROVE_POST):
                messages.error(request, _("Your role cannot approve posts."))
            elif action == "approve":
                actions.approve(target, actor=user, comment=request.POST.get("comment", ""))
            else:
                actions.reject(
                    target, actor=user, reason=request.POST.get("comment", "") or _("No reason given")
                )
        else:
            messages.error(request, _("Unknown action."))
            return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
    except actions.TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Done."))
    return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
