from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from chorus.links import actions, campaigns, clicks
from chorus.links.models import CampaignSettings, LinkSettings
from chorus.links.shortening import short_url
from chorus.publishing.actions import TransitionRefused

# --- the public redirect ---------------------------------------------------------------------


def not_found(request: HttpRequest, *, expired: bool) -> HttpResponse:
    """The friendly page of an unknown or expired code: a 404, in the visitor's language."""
    response = render(request, "links/not_found.html", {"expired": expired}, status=404)
    response["Cache-Control"] = "no-store"
    return response


def _lookup(code: str) -> tuple[int, str, str, bool] | None:
    """(id, destination, channel kind, expired) of a code: one SELECT on the unique index, in SQL
    because building the ORM query cost more than running it, on the busiest public path."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, target_url, channel_kind, (expires_at IS NOT NULL AND expires_at <= %s)"
            " FROM links_shortlink WHERE code = %s",
            [now, code],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2], bool(row[3]))


@csrf_exempt
def redirect_view(request: HttpRequest, code: str) -> HttpResponse:
    """Public and fast: one indexed SELECT and a 302; a person's click is buffered and written
    within a second, off the request path (chorus.links.clicks.record). No session, no user;
    only a miss (unknown or expired code) renders a template, the friendly 404. Bots, preview
    fetchers and HEAD requests are redirected but not counted."""
    link = _lookup(code)
    if link is None:
        return not_found(request, expired=False)
    pk, url, kind, expired = link
    if expired:
        return not_found(request, expired=True)
    if request.method == "GET" and not clicks.is_bot(request.headers.get("user-agent", "")):
        clicks.record(pk, request.headers.get("referer", ""), kind)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"  # every click reaches us, so every click is counted
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    return response


# --- links of a workspace ----------------------------------------------------------------------


@workspace_view(Perm.VIEW_ANALYTICS)
def links_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    links = clicks.links_with_counts(workspace.pk)
    for link in links:
        link.short = short_url(link.code)  # type: ignore[attr-defined]
    return render(
        request,
        "links/list.html",
        {
            "workspace": workspace,
            "links": links,
            "by_channel": clicks.clicks_by_channel(workspace.pk),
            "may_manage": can(membership_of(request).role, Perm.MANAGE_WORKSPACE),
        },
    )


@workspace_view(Perm.MANAGE_WORKSPACE)
def settings_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    current = LinkSettings.objects.filter(workspace=workspace).first() or LinkSettings(workspace=workspace)
    if request.method == "POST":
        actions.save_link_settings(
            workspace,
            actor=current_user(request),
            shorten=request.POST.get("shorten") == "on",
            utm_source=request.POST.get("utm_source", ""),
            utm_medium=request.POST.get("utm_medium", ""),
            utm_campaign=request.POST.get("utm_campaign", ""),
        )
        messages.success(request, _("Link settings saved."))
        return redirect("links:list", workspace.slug)
    return render(request, "links/settings.html", {"workspace": workspace, "settings": current})


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def shorten_target(request: HttpRequest, target_id: int) -> HttpResponse:
    """The composer's "Add UTM and shorten links" button posts here (editors: they shape posts)."""
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("post__campaign", "channel", "workspace"),
        pk=target_id,
        workspace=workspace,
    )
    user = current_user(request)
    try:
        actions.shorten_target_links(target, actor=user)
        messages.success(request, _("Links tagged and shortened."))
    except TransitionRefused:
        messages.error(request, _("This post can no longer be edited."))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):  # same-site paths only
        return redirect(next_url)
    return redirect("links:list", workspace.slug)


# --- campaigns ---------------------------------------------------------------------------------


def _form_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {
        k: request.POST.get(k, "")
        for k in (
            "name",
            "slug",
            "starts_on",
            "ends_on",
            "goal",
            "color",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        )
    }
    data["channels"] = request.POST.getlist("channels")
    return data


@workspace_view(Perm.VIEW_WORKSPACE)
def campaign_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    rows = [
        (c, campaigns.progress(c))
        for c in Campaign.objects.filter(workspace=workspace).order_by("-starts_on", "name")
    ]
    return render(
        request,
        "campaigns/list.html",
        {
            "workspace": workspace,
            "rows": rows,
            "may_edit": can(membership_of(request).role, Perm.CREATE_POST),
        },
    )


def _edit_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    workspace = workspace_of(request)
    camp_settings = CampaignSettings.objects.filter(campaign=campaign).first() if campaign else None
    data: dict[str, Any] = {}
    if campaign is not None:
        data = {
            "name": campaign.name,
            "slug": campaign.slug,
            "goal": campaign.goal,
            "color": campaign.color,
            "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
            "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
        }
        if camp_settings is not None:
            data.update(
                utm_source=camp_settings.utm_source,
                utm_medium=camp_settings.utm_medium,
                utm_campaign=camp_settings.utm_campaign,
                channels=[str(pk) for pk in camp_settings.channels.values_list("pk", flat=True)],
            )
    if request.method == "POST":
        data = _form_data(request)
        try:
            if campaign is None:
                campaign = actions.create_campaign(workspace, actor=current_user(request), data=data)
            else:
                campaign = actions.update_campaign(campaign, actor=current_user(request), data=data)
            messages.success(request, _("Campaign saved."))
            return redirect("links:campaign", workspace.slug, campaign.pk)
        except (actions.CampaignInvalid, ValueError) as exc:
            messages.error(request, str(exc))  # and the form again, as typed
    return render(
        request,
        "campaigns/edit.html",
        {
            "workspace": workspace,
            "campaign": campaign,
            "data": data,
            "channels": Channel.objects.filter(workspace=workspace).order_by("name"),
        },
    )


@workspace_view(Perm.CREATE_POST)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _edit_form(request, None)


@workspace_view(Perm.CREATE_POST)
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace_of(request))
    return _edit_form(request, campaign)


@workspace_view(Perm.MANAGE_WORKSPACE, methods=("POST",))
def campaign_delete(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace)
    actions.delete_campaign(campaign, actor=current_user(request))
    messages.success(request, _("Campaign deleted; its posts are kept."))
    return redirect("links:campaigns", workspace.slug)


@workspace_view(Perm.VIEW_WORKSPACE)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace)
    camp_settings = CampaignSettings.objects.filter(campaign=campaign).prefetch_related("channels").first()
    role = membership_of(request).role
    return render(
        request,
        "campaigns/detail.html",
        {
            "workspace": workspace,
            "campaign": campaign,
            "settings": camp_settings,
            "progress": campaigns.progress(campaign),
            "targets": campaigns.targets(campaign),
            "may_edit": can(role, Perm.CREATE_POST),
            "may_delete": can(role, Perm.MANAGE_WORKSPACE),
            "may_see_results": can(role, Perm.VIEW_ANALYTICS),
        },
    )
