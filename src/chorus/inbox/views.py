"""The inbox pages: the conversation list with filters, one conversation with its thread and the
reply box, settings (service-level target, saved replies). Thin: every change is an action."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm, can
from chorus.channels.models import Channel
from chorus.inbox import actions, filtering
from chorus.inbox.models import Conversation, InboxItem, Reply, SavedReply, SavedView

PAGE_SIZE = 50
MODERATION_LABELS = {
    "like": _lazy("Like"),
    "hide": _lazy("Hide"),
    "unhide": _lazy("Show again"),
    "delete": _lazy("Delete"),
    "approve": _lazy("Approve"),
    "hold": _lazy("Hold for moderation"),
    "spam": _lazy("Mark as spam"),
    "trash": _lazy("Move to trash"),
    "reject": _lazy("Reject (cannot be undone)"),
}
# What an item is after the last moderation action done on it from Chorus.
MODERATION_STATES = {
    "like": pgettext_lazy("inbox item state", "Liked"),
    "hide": pgettext_lazy("inbox item state", "Hidden"),
    "unhide": pgettext_lazy("inbox item state", "Shown again"),
    "delete": pgettext_lazy("inbox item state", "Deleted"),
    "approve": pgettext_lazy("inbox item state", "Approved"),
    "hold": pgettext_lazy("inbox item state", "Held for moderation"),
    "spam": pgettext_lazy("inbox item state", "Marked as spam"),
    "trash": pgettext_lazy("inbox item state", "In the trash"),
    "reject": pgettext_lazy("inbox item state", "Rejected"),
}


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("channel", "assignee", "target", "composing_user"),
        pk=conversation_id,
        workspace=workspace_of(request),
    )


def _members(request: HttpRequest) -> QuerySet[User]:
    return User.objects.filter(memberships__workspace=workspace_of(request)).order_by("name", "email")


def _filtered(request: HttpRequest) -> tuple[QuerySet[Conversation], dict[str, str], SavedView | None]:
    """The list's filters: a saved view's (`?view=`, only one the person may see) or the query's."""
    workspace = workspace_of(request)
    user = current_user(request)
    view = None
    raw = request.GET.get("view", "")
    if raw:
        view = get_object_or_404(
            SavedView.objects.filter(Q(owner=None) | Q(owner=user)),
            pk=int(raw) if raw.isdigit() and len(raw) <= 12 else 0,
            workspace=workspace,
        )
        filters = filtering.clean(view.filters or {})
    else:
        filters = filtering.clean(request.GET)
    found = filtering.apply(Conversation.objects.filter(workspace=workspace), filters, user)
    return found, filters, view


@workspace_view(Perm.VIEW_INBOX, methods=("GET",))
def inbox_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    found, filters, view = _filtered(request)
    user = current_user(request)
    before = request.GET.get("before", "")
    if before:
        with contextlib.suppress(ValueError):  # a mangled link shows the first page
            found = found.filter(last_item_at__lt=dt.datetime.fromisoformat(before))
    conversations = list(
        found.select_related("channel", "assignee").order_by("-last_item_at")[: PAGE_SIZE + 1]
    )
    more = len(conversations) > PAGE_SIZE
    conversations = conversations[:PAGE_SIZE]
    sla = actions.sla_minutes(workspace)
    at = timezone.now()
    for conversation in conversations:
        conversation.overdue = conversation.is_overdue(sla, at)  # type: ignore[attr-defined]
    unread = actions.unread_by_channel(workspace)
    channels = list(Channel.objects.filter(workspace=workspace).only("pk", "name").order_by("name"))
    for channel in channels:
        channel.unread = unread.get(channel.pk, 0)  # type: ignore[attr-defined]
        channel.selected = filters.get("channel") == str(channel.pk)  # type: ignore[attr-defined]
    members = list(_members(request))
    for member in members:
        member.selected = filters.get("assignee") == str(member.pk)  # type: ignore[attr-defined]
    query = f"view={view.pk}" if view else urlencode(filters)
    views = actions.visible_views(workspace, user)
    view_unread = actions.view_unread_counts(workspace, user, views)
    for saved in views:
        saved.unread = view_unread.get(saved.pk, 0)  # type: ignore[attr-defined]
        saved.selected = view is not None and saved.pk == view.pk  # type: ignore[attr-defined]
    membership = membership_of(request)
    return render(
        request,
        "inbox/list.html",
        {
            "workspace": workspace,
            "conversations": conversations,
            "filters": filters,
            "channels": channels,
            "unread_channels": [c for c in channels if c.unread],  # type: ignore[attr-defined]
            "members": members,
            "statuses": Conversation.Status.choices,
            "sla": sla,
            "next_before": conversations[-1].last_item_at.isoformat() if more and conversations else "",
            "query": query,
            "inbox_unread_counts": unread,
            "views": views,
            "view": view,
            "sentiments": list(filtering.SENTIMENTS.items()),
            "permission_notes": actions.permission_notes(workspace),
            "can_share_views": can(membership.role, Perm.MANAGE_INBOX),
            "can_delete_view": view is not None
            and (
                view.owner_id == user.pk
                or (view.owner_id is None and can(membership.role, Perm.MANAGE_INBOX))
            ),
        },
    )


def _timeline(conversation: Conversation) -> list[dict[str, Any]]:
    """Items and our replies, oldest first; each item with the moderation actions its network
    allows on it now, each reply with whether it can be deleted there."""
    connector = conversation.channel.connector()
    events: list[dict[str, Any]] = []
    for item in conversation.items.order_by("created_at"):
        allowed = actions.item_moderations(connector, item.entry())
        done = (item.extra or {}).get("moderation", "")
        events.append(
            {
                "at": item.created_at,
                "item": item,
                "moderations": [(action, MODERATION_LABELS[action]) for action in allowed],
                "state": MODERATION_STATES.get(done, ""),
            }
        )
    events += [
        {"at": reply.created_at, "reply": reply, "deletable": actions.can_delete_reply(connector, reply)}
        for reply in conversation.replies.select_related("author", "approved_by").order_by("created_at")
    ]
    return sorted(events, key=lambda e: e["at"])


@workspace_view(Perm.VIEW_INBOX, methods=("GET",))
def conversation_page(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    membership = membership_of(request)
    user = current_user(request)
    actions.mark_read(conversation=conversation, actor=user)
    workspace = workspace_of(request)
    last_reply = conversation.replies.order_by("-pk").values_list("pk", flat=True).first()
    saved = list(SavedReply.objects.filter(workspace=workspace))
    text = ""
    chosen = request.GET.get("saved", "")
    if chosen.isdigit():
        template = next((s for s in saved if s.pk == int(chosen)), None)
        if template is not None:
            text = template.render(
                {
                    "name": conversation.author_name or conversation.author_handle,
                    "handle": conversation.author_handle,
                    "channel": conversation.channel.name,
                    "agent": user.display_name,
                }
            )
    sla = actions.sla_minutes(workspace)
    return render(
        request,
        "inbox/conversation.html",
        {
            "workspace": workspace,
            "conversation": conversation,
            "timeline": _timeline(conversation),
            "members": _members(request),
            "statuses": Conversation.Status.choices,
            "saved_replies": saved,
            "reply_text": text,
            "seen_reply_id": last_reply or 0,
            "can_answer": can(membership.role, Perm.ANSWER_INBOX),
            "needs_approval": actions.reply_needs_approval(membership.role),
            "can_manage": can(membership.role, Perm.MANAGE_INBOX),
            "can_approve": can(membership.role, Perm.APPROVE_INBOX_REPLY),
            "overdue": conversation.is_overdue(sla),
            "reply_window": actions.reply_window(conversation),
            "sla": sla,
        },
    )


@workspace_view(Perm.ANSWER_INBOX, methods=("POST",))
def composing(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """htmx poll while the reply box is open: renews the marker, says who else is writing."""
    conversation = _conversation(request, conversation_id)
    other = actions.start_composing(conversation=conversation, actor=current_user(request))
    newer = (
        conversation.replies.filter(pk__gt=int(request.POST.get("seen_reply_id") or 0))
        .exclude(author=current_user(request))
        .select_related("author")
        .first()
    )
    return render(request, "inbox/_composing.html", {"other": other, "newer": newer})


@workspace_view(Perm.ANSWER_INBOX, methods=("POST",))
def reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    item = None
    if request.POST.get("item", "").isdigit():
        item = get_object_or_404(InboxItem, pk=int(request.POST["item"]), conversation=conversation)
    seen = request.POST.get("seen_reply_id", "")
    try:
        sent = actions.request_reply(
            conversation=conversation,
            actor=current_user(request),
            text=request.POST.get("text", ""),
            in_reply_to=item,
            seen_reply_id=int(seen) if seen.isdigit() else None,
        )
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
        return redirect("inbox:conversation", workspace_of(request).slug, conversation.pk)
    if sent.status == Reply.Status.AWAITING_APPROVAL:
        messages.info(request, _("Your reply waits for approval."))
    else:
        messages.success(request, _("Your reply is on its way."))
    return redirect("inbox:conversation", workspace_of(request).slug, conversation.pk)


@workspace_view(Perm.MANAGE_INBOX, methods=("POST",))
def triage(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Assign, set the status or the tags (whichever the form sends)."""
    conversation = _conversation(request, conversation_id)
    actor = current_user(request)
    try:
        if "assignee" in request.POST:
            value = request.POST["assignee"]
            assignee = _members(request).filter(pk=int(value)).first() if value.isdigit() else None
            if value and assignee is None:
                raise actions.InboxRefused("not_member", _("Only members of this workspace can be assigned."))
            actions.assign(conversation=conversation, assignee=assignee, actor=actor)
        if "status" in request.POST:
            actions.set_status(conversation=conversation, status=request.POST["status"], actor=actor)
        if "tags" in request.POST:
            actions.set_tags(conversation=conversation, tags=request.POST["tags"].split(","), actor=actor)
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
    return redirect("inbox:conversation", workspace_of(request).slug, conversation.pk)


@workspace_view(Perm.APPROVE_INBOX_REPLY, methods=("POST",))
def decide_reply(request: HttpRequest, reply_id: int) -> HttpResponse:
    found = get_object_or_404(
        Reply.objects.select_related("conversation__workspace"), pk=reply_id, workspace=workspace_of(request)
    )
    try:
        if request.POST.get("decision") == "approve":
            actions.approve_reply(reply=found, actor=current_user(request))
        else:
            actions.reject_reply(
                reply=found, actor=current_user(request), reason=request.POST.get("reason", "")
            )
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
    return redirect("inbox:conversation", workspace_of(request).slug, found.conversation_id)


@workspace_view(Perm.MANAGE_INBOX, methods=("POST",))
def moderate(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(
        InboxItem.objects.select_related("channel__workspace"), pk=item_id, workspace=workspace_of(request)
    )
    try:
        actions.moderate(item=item, action=request.POST.get("action", ""), actor=current_user(request))
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
    except Exception as exc:  # the network refused: say so, keep the page
        messages.error(request, str(getattr(exc, "message", exc)))
    if item.conversation_id is None:
        return redirect("inbox:list", workspace_of(request).slug)
    return redirect("inbox:conversation", workspace_of(request).slug, item.conversation_id)


@workspace_view(Perm.MANAGE_INBOX, methods=("POST",))
def delete_reply(request: HttpRequest, reply_id: int) -> HttpResponse:
    """Deletes one of our sent replies on the network (where the network allows it)."""
    found = get_object_or_404(
        Reply.objects.select_related("conversation__channel", "conversation__workspace", "in_reply_to"),
        pk=reply_id,
        workspace=workspace_of(request),
    )
    try:
        actions.delete_reply(reply=found, actor=current_user(request))
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Your reply was deleted on the network."))
    return redirect("inbox:conversation", workspace_of(request).slug, found.conversation_id)


@workspace_view(Perm.VIEW_INBOX)
def settings_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    membership = membership_of(request)
    if request.method == "POST":
        if not can(membership.role, Perm.MANAGE_INBOX):
            messages.error(request, _("Your role cannot change the inbox settings."))
            return redirect("inbox:settings", workspace.slug)
        actor = current_user(request)
        try:
            if "sla_minutes" in request.POST:
                value = request.POST["sla_minutes"]
                if not value.isdigit():
                    raise actions.InboxRefused(
                        "sla_range", _("The target must be between 1 minute and 30 days.")
                    )
                actions.set_sla(workspace=workspace, minutes=int(value), actor=actor)
            elif "read_budget_usd" in request.POST:
                try:
                    usd = Decimal(request.POST["read_budget_usd"]).quantize(Decimal("0.01"))
                except (InvalidOperation, ValueError):
                    raise actions.InboxRefused(
                        "budget_range", _("The budget must be between 0 and 100,000 USD.")
                    ) from None
                actions.set_read_budget(workspace=workspace, usd=usd, actor=actor)
            elif "delete" in request.POST:
                actions.delete_saved_reply(
                    saved=get_object_or_404(SavedReply, pk=request.POST["delete"], workspace=workspace),
                    actor=actor,
                )
            else:
                actions.save_reply_template(
                    workspace=workspace,
                    name=request.POST.get("name", ""),
                    text=request.POST.get("text", ""),
                    actor=actor,
                )
        except actions.InboxRefused as refused:
            messages.error(request, refused.message)
        return redirect("inbox:settings", workspace.slug)
    return render(
        request,
        "inbox/settings.html",
        {
            "workspace": workspace,
            "sla": actions.sla_minutes(workspace),
            "read_budget": actions.read_budget(workspace),
            "paid_reads": actions.paid_reads(workspace),
            "quota_units": actions.quota_units(workspace),
            "saved_replies": SavedReply.objects.filter(workspace=workspace),
            "can_manage": can(membership.role, Perm.MANAGE_INBOX),
        },
    )


@workspace_view(Perm.VIEW_INBOX, methods=("POST",))
def save_view(request: HttpRequest) -> HttpResponse:
    """Save the filters the list shows now (sent as hidden fields) under a name."""
    workspace = workspace_of(request)
    try:
        view = actions.save_view(
            workspace=workspace,
            actor=current_user(request),
            name=request.POST.get("name", ""),
            filters={key: request.POST.get(key, "") for key in filtering.KEYS},
            shared=request.POST.get("shared") == "1",
        )
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
        query = urlencode(filtering.clean(request.POST))
        return redirect(reverse("inbox:list", args=[workspace.slug]) + (f"?{query}" if query else ""))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(reverse("inbox:list", args=[workspace.slug]) + f"?view={view.pk}")


@workspace_view(Perm.VIEW_INBOX, methods=("POST",))
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    view = get_object_or_404(
        SavedView.objects.filter(Q(owner=None) | Q(owner=user)), pk=view_id, workspace=workspace
    )
    try:
        actions.delete_view(view=view, actor=user)
    except actions.InboxRefused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("inbox:list", args=[workspace.slug]) + f"?view={view.pk}")
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("inbox:list", workspace.slug)
