"""The queue slots screens: every channel's weekly slots at a glance, and one channel's slots
(a time list per weekday) to change."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.channels import actions
from chorus.channels.models import Channel
from chorus.core.timeutil import short_label, zone_label
from chorus.planning import slots


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def queue_overview(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    rows = []
    for channel in Channel.objects.filter(workspace=workspace).select_related("workspace").order_by("name"):
        upcoming = slots.next_free(channel)
        rows.append(
            {
                "channel": channel,
                "days": [d for d in slots.day_rows(channel) if d.times],
                "count": len(channel.posting_slots),
                "next": short_label(upcoming.local) if upcoming else "",
                "queued": slots.queued_count(channel),
            }
        )
    return render(
        request,
        "planning/queue.html",
        {
            "workspace": workspace,
            "rows": rows,
            "zone": zone_label(workspace.timezone),
            "may_edit": can(membership_of(request).role, Perm.SCHEDULE_POST),
        },
    )


@workspace_view(Perm.SCHEDULE_POST)
def channel_slots(request: HttpRequest, channel_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    channel = get_object_or_404(
        Channel.objects.select_related("workspace"), pk=channel_id, workspace=workspace
    )
    if request.method == "POST":
        days = [slots.read_day(day, request.POST.get(f"day-{day}", "")) for day in range(7)]
        if not any(d.error for d in days):
            changed = actions.set_posting_slots(
                channel=channel,
                slots=[(d.weekday, at) for d in days for at in d.times],
                actor=current_user(request),
            )
            if changed:
                messages.success(
                    request, _("The queue slots of %(name)s are saved.") % {"name": channel.name}
                )
            return redirect("planning:queue", slug=workspace.slug)
    else:
        days = slots.day_rows(channel)
    upcoming = slots.next_free(channel)
    return render(
        request,
        "planning/channel_slots.html",
        {
            "workspace": workspace,
            "channel": channel,
            "days": days,
            "has_errors": any(d.error for d in days),
            "zone": zone_label(workspace.timezone),
            "next": short_label(upcoming.local) if upcoming else "",
        },
    )
