from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm, can
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget, Tag
from chorus.core.refusals import Invalid
from chorus.core.timeutil import to_local
from chorus.planning import actions
from chorus.planning.calendar import FILTERS, BadRange, events, parse_wall, wall_range
from chorus.planning.feeds import render_feed
from chorus.planning.models import FeedToken, token_hash
from chorus.publishing.actions import TransitionRefused


def _default_range(tz_name: str) -> tuple[dt.datetime, dt.datetime]:
    today = to_local(timezone.now(), tz_name).date()
    start = dt.datetime(today.year, today.month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def calendar_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    role = membership_of(request).role
    can_manage = can(role, Perm.MANAGE_WORKSPACE)
    feeds = (
        FeedToken.objects.filter(workspace=workspace, revoked_at__isnull=True)
        .select_related("campaign")
        .order_by("campaign__name")
        if can_manage
        else []
    )
    campaigns = list(
        Campaign.objects.filter(workspace=workspace).order_by("name").only("id", "name", "color")
    )
    config = {
        "events": _url("planning:events", workspace.slug),
        "move": _url("planning:move", workspace.slug, target_id=0),
        "target": _url("publishing:target", workspace.slug, target_id=0),
        "locale": "fr" if (get_language() or "en").startswith("fr") else "en",
        "now": to_local(timezone.now(), workspace.timezone)
        .replace(tzinfo=None)
        .isoformat(timespec="minutes"),
        "initialDate": request.GET.get("date", ""),
        # Empty unless the address names a view: the page then opens the person's last chosen
        # view, else the list on a small screen and the month elsewhere (calendar.js decides).
        "initialView": request.GET.get("view", ""),
        "statusLabels": {value: str(label) for value, label in PostTarget.Status.choices},
        "canMove": can(role, Perm.SCHEDULE_POST),
    }
    return render(
        request,
        "planning/calendar.html",
        {
            "workspace": workspace,
            "config": config,
            "channels": Channel.objects.filter(workspace=workspace).order_by("name").only("id", "name"),
            "campaigns": campaigns,
            "tags": Tag.objects.filter(workspace=workspace).order_by("name"),
            "authors": User.objects.filter(memberships__workspace=workspace)
            .order_by("name")
            .only("id", "name", "email"),
            "statuses": PostTarget.Status.choices,
            "can_manage": can_manage,
            "feeds": feeds,
        },
    )


def _url(name: str, slug: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"slug": slug, **kwargs})


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def events_json(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    try:
        if request.GET.get("start") and request.GET.get("end"):
            start, end = parse_wall(request.GET["start"]), parse_wall(request.GET["end"])
        else:
            start, end = _default_range(workspace.timezone)
        span = wall_range(start, end, workspace.timezone)
    except BadRange as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    filters = {key: request.GET.getlist(key) for key in FILTERS}
    can_move = can(membership_of(request).role, Perm.SCHEDULE_POST)
    return JsonResponse(events(workspace, span, filters, can_move=can_move), safe=False)


@workspace_view(Perm.SCHEDULE_POST, methods=("POST",))
def move(request: HttpRequest, target_id: int) -> HttpResponse:
    """Drag and drop. Answers 200 with {"ok": false, "error": reason} when the move is refused
    (the calendar reverts the event and shows the reason)."""
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("workspace", "channel", "post"), pk=target_id, workspace=workspace
    )
    raw = request.POST.get("start", "")
    if not raw and request.content_type == "application/json":
        try:
            raw = str(json.loads(request.body or b"{}").get("start", ""))
        except (ValueError, AttributeError):
            raw = ""
    try:
        if not raw:
            raise TransitionRefused(_("Choose a new date and time."))
        try:
            local = parse_wall(raw)
        except BadRange as exc:
            raise TransitionRefused(str(exc)) from None
        moved = actions.move_target(target, actor=current_user(request), local=local)
    except (TransitionRefused, Invalid) as exc:  # Invalid: a time already passed
        return JsonResponse({"ok": False, "error": str(exc)})
    return JsonResponse(
        {
            "ok": True,
            "id": target.pk,
            "start": moved.local.replace(tzinfo=None).isoformat(timespec="minutes"),
            "scheduled_at": target.scheduled_at.isoformat() if target.scheduled_at else None,
            "note": moved.note,
            "warnings": moved.warnings,
        }
    )


@workspace_view(Perm.MANAGE_WORKSPACE, methods=("POST",))
def feed_issue(request: HttpRequest) -> HttpResponse:
    """Makes (or regenerates) a feed and shows its URL once."""
    workspace = workspace_of(request)
    campaign = None
    if campaign_id := request.POST.get("campaign", "").strip():
        campaign = get_object_or_404(
            Campaign, pk=campaign_id if campaign_id.isdigit() else 0, workspace=workspace
        )
    _feed, raw = actions.issue_feed(workspace, actor=current_user(request), campaign=campaign)
    url = request.build_absolute_uri(reverse("planning:ical_feed", kwargs={"token": raw}))
    return render(
        request, "planning/feed_issued.html", {"workspace": workspace, "campaign": campaign, "feed_url": url}
    )


@workspace_view(Perm.MANAGE_WORKSPACE, methods=("POST",))
def feed_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    feed = get_object_or_404(FeedToken, pk=feed_id, workspace=workspace)
    actions.revoke_feed(feed, actor=current_user(request))
    messages.success(request, _("Feed revoked: its URL no longer works."))
    return redirect("planning:calendar", slug=workspace.slug)


@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Public by token: the token is the credential. Unknown or revoked is a 404 (no hint which)."""
    feed = (
        FeedToken.objects.select_related("workspace", "campaign")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if feed is None:
        raise Http404
    now = timezone.now()
    if feed.last_used_at is None or (now - feed.last_used_at).total_seconds() > 300:
        FeedToken.objects.filter(pk=feed.pk).update(last_used_at=now)
    response = HttpResponse(render_feed(feed), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
