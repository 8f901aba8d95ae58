"""Analytics screens: dashboard, channel, post, campaign; the report builder and exports; the
public read-only view of a share link."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm, can
from chorus.analytics import actions, figures, reports
from chorus.analytics.forms import LogoForm, NotableForm, ReportForm, ScheduleForm, ShareForm
from chorus.analytics.models import AnalyticsSettings, PostMetrics, PostSnapshot, ScheduledReport, ShareLink
from chorus.channels.models import Channel
from chorus.connectors.registry import connector_class
from chorus.content.models import Campaign, PostTarget, Tag
from chorus.media import actions as media_actions
from chorus.media.sniff import MediaRejected

SAMPLE_PREFIX = "Sample:"
BOOSTED_IN_CHART = 12  # posts in the paid vs organic reach chart (the most spent on)
WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


def _today(workspace: Workspace) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(workspace.timezone)).date()


def _date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def filters_from(request: HttpRequest, workspace: Workspace, **fixed: Any) -> figures.Filters:
    today = _today(workspace)
    end = _date(request.GET.get("end"), today)
    start = _date(request.GET.get("start"), end - dt.timedelta(days=29))
    if start > end:
        start, end = end, start
    start = max(start, end - dt.timedelta(days=731))
    channel_ids = tuple(int(c) for c in request.GET.getlist("channel") if c.isdigit())
    return figures.Filters(
        workspace,
        start,
        end,
        channel_ids=fixed.get("channel_ids", channel_ids),
        campaign_id=fixed.get("campaign_id", _int(request.GET.get("campaign"))),
        tag_id=_int(request.GET.get("tag")),
        author_id=_int(request.GET.get("author")),
    )


def _base(request: HttpRequest) -> dict[str, Any]:
    workspace = workspace_of(request)
    return {
        "workspace": workspace,
        "is_sample": workspace.name.startswith(SAMPLE_PREFIX),
        "can_manage_reports": can(membership_of(request).role, Perm.MANAGE_REPORTS),
    }


def _chart_payload(data: dict[str, Any], followers: dict[str, list[Any]]) -> dict[str, Any]:
    daily = data["daily"]
    payload: dict[str, Any] = {
        "days": [r["day"].isoformat() for r in daily],
        "engagement": [r["engagement"] for r in daily],
        "impressions": [r["impressions"] for r in daily],
        "followers": {k: v for k, v in followers.items() if k != "days"},
        "channels": [{"name": r["name"], "engagement": r["engagement"]} for r in data["per_channel"]],
    }
    if "previous" in data:
        prev = figures.daily_series(data["previous"]["filters"])
        payload["previous_engagement"] = [r["engagement"] for r in prev]
    return payload


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    f = filters_from(request, workspace)
    compare = request.GET.get("compare", "1") != "0"
    data = figures.dashboard(f, compare=compare)
    context = {
        **_base(request),
        "f": f,
        "d": data,
        "compare": compare,
        "channels": figures.workspace_channels(f),
        "campaigns": Campaign.objects.filter(workspace=workspace).order_by("name"),
        "tags": Tag.objects.filter(workspace=workspace).order_by("name"),
        "chart": _chart_payload(data, figures.followers_series(f)),
        "by_campaign": figures.breakdown(f, "campaign", slim=True),
        "by_tag": figures.breakdown(f, "tag", slim=True)[:10],
        "by_author": figures.breakdown(f, "author", slim=True)[:10],
        "amplifiers": figures.notable_amplifiers(f),
    }
    if can(membership_of(request).role, Perm.VIEW_ADS):
        from chorus.ads import results as ads_results

        boosted = ads_results.boosted_posts(f)
        context["boosted"] = boosted
        context["boosted_totals"] = ads_results.boosted_totals(boosted)
        context["chart"]["boosted"] = {
            "posts": [b.label[:40] for b in boosted[:BOOSTED_IN_CHART]],
            "paid": [b.paid["reach"] for b in boosted[:BOOSTED_IN_CHART]],
            "organic": [b.organic["reach"] or 0 for b in boosted[:BOOSTED_IN_CHART]],
        }
    return render(request, "analytics/dashboard.html", context)


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def channel_page(request: HttpRequest, channel_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    channel = get_object_or_404(Channel, pk=channel_id, workspace=workspace)
    f = filters_from(request, workspace, channel_ids=(channel.pk,))
    data = figures.dashboard(f)
    heat = figures.best_time_heatmap(channel)
    context = {
        **_base(request),
        "channel": channel,
        "f": f,
        "d": data,
        "growth": data["per_channel_accounts"][0] if data["per_channel_accounts"] else None,
        "heat_rows": [(WEEKDAYS[i], row) for i, row in enumerate(heat.grid())],
        "heat": heat,
        "suggestions": figures.suggested_times(channel),
        "weekdays": WEEKDAYS,
        "chart": _chart_payload(data, figures.followers_series(f)),
    }
    return render(request, "analytics/channel.html", context)


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def post_page(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("post", "channel"), pk=target_id, workspace=workspace
    )
    snapshots = list(PostSnapshot.objects.filter(target=target).order_by("taken_at"))
    keys = sorted({k for s in snapshots for k in s.metrics})
    latest = PostMetrics.objects.filter(target=target).first()
    try:
        connector = connector_class(target.channel.kind)
        network, listed = connector.label, connector.amplifier_kinds
    except KeyError:
        network, listed = target.channel.kind, frozenset()
    context = {
        **_base(request),
        "target": target,
        "latest": latest,
        "amplifiers": figures.post_amplifiers(target),
        "network": network,
        "quotes_listed": "quote" in listed,
        "latest_rows": _latest_rows(latest),
        "snapshots": snapshots[-50:],
        "keys": keys,
        "chart": {
            "times": [s.taken_at.isoformat() for s in snapshots],
            "series": {k: [s.metrics.get(k) for s in snapshots] for k in keys},
        },
    }
    return render(request, "analytics/post.html", context)


def _latest_rows(latest: PostMetrics | None) -> list[tuple[str, int | None]]:
    from chorus.analytics.models import POST_METRICS

    if latest is None:
        return []
    return [(name, getattr(latest, name)) for name in (*POST_METRICS, "engagement")]


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def campaign_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id, workspace=workspace)
    today = _today(workspace)
    start = campaign.starts_on or today - dt.timedelta(days=364)
    end = min(campaign.ends_on or today, today) if (campaign.ends_on or today) >= start else start
    f = figures.Filters(
        workspace,
        _date(request.GET.get("start"), start),
        _date(request.GET.get("end"), end),
        campaign_id=campaign.pk,
    )
    data = figures.dashboard(f, compare=False)
    context = {
        **_base(request),
        "campaign": campaign,
        "f": f,
        "d": data,
        "by_tag": figures.breakdown(f, "tag", slim=True),
        "by_author": figures.breakdown(f, "author", slim=True),
        "amplifiers": figures.notable_amplifiers(f),
        "chart": _chart_payload(data, {"days": []}),
    }
    return render(request, "analytics/campaign.html", context)


@workspace_view(Perm.MANAGE_REPORTS)
def analytics_settings(request: HttpRequest) -> HttpResponse:
    """The notable amplifier threshold, and the logo on the cover of reports."""
    workspace = workspace_of(request)
    user = current_user(request)
    current = AnalyticsSettings.notable_threshold(workspace.pk)
    action = request.POST.get("action", "notable") if request.method == "POST" else ""
    form = NotableForm(request.POST if action == "notable" else None, initial={"notable_followers": current})
    logo_form = LogoForm(
        request.POST if action == "logo" else None, request.FILES if action == "logo" else None
    )
    if action == "notable" and form.is_valid():
        actions.set_notable_threshold(
            workspace=workspace, followers=form.cleaned_data["notable_followers"], actor=user
        )
        messages.success(request, _("The notable amplifier threshold is saved."))
        return redirect("analytics:dashboard", workspace.slug)
    if action == "logo" and logo_form.is_valid():
        try:
            # The one way a file enters Chorus: sniffed, bounded, scrubbed, in the media library.
            asset, _created = media_actions.upload(
                workspace, user, logo_form.cleaned_data["logo"], source="report_logo"
            )
        except MediaRejected as exc:
            logo_form.add_error("logo", exc.reason)
        else:
            if asset.kind != asset.Kind.IMAGE:
                logo_form.add_error("logo", _("The logo must be an image."))
            else:
                actions.set_report_logo(workspace=workspace, asset=asset, actor=user)
                messages.success(request, _("The logo of reports is saved."))
                return redirect("analytics:settings", workspace.slug)
    if action == "remove_logo":
        actions.set_report_logo(workspace=workspace, asset=None, actor=user)
        messages.success(request, _("The logo of reports is removed."))
        return redirect("analytics:settings", workspace.slug)
    row = AnalyticsSettings.objects.filter(workspace=workspace).select_related("report_logo").first()
    context = {
        **_base(request),
        "form": form,
        "logo_form": logo_form,
        "logo": row.report_logo if row else None,
    }
    return render(request, "analytics/settings.html", context)


# --- reports --------------------------------------------------------------------------------


def _spec(form: ReportForm) -> reports.ReportSpec:
    data = form.cleaned_data
    return reports.ReportSpec(
        data["start"], data["end"], tuple(data["sections"]), tuple(sorted(c.pk for c in data["channels"]))
    )


def _reports_page(
    request: HttpRequest,
    *,
    schedule_form: ScheduleForm | None = None,
    share_form: ShareForm | None = None,
    new_link: str | None = None,
) -> HttpResponse:
    workspace = workspace_of(request)
    today = _today(workspace)
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    initial = {"start": last_month_end.replace(day=1), "end": last_month_end}
    context = {
        **_base(request),
        "form": ReportForm(workspace=workspace, initial=initial),
        "schedule_form": schedule_form or ScheduleForm(workspace=workspace),
        "share_form": share_form or ShareForm(workspace=workspace, initial=initial),
        "new_link": new_link,
        "scheduled": ScheduledReport.objects.filter(workspace=workspace).order_by("name"),
        "links": ShareLink.objects.filter(workspace=workspace, revoked=False, expires_at__gt=timezone.now()),
    }
    return render(request, "analytics/reports.html", context)


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def report_builder(request: HttpRequest) -> HttpResponse:
    return _reports_page(request)


@workspace_view(Perm.MANAGE_REPORTS, methods=("POST",))
def reports_manage(request: HttpRequest) -> HttpResponse:
    """Schedule or unschedule a report email; create or revoke a share link."""
    workspace = workspace_of(request)
    user = current_user(request)
    action = request.POST.get("action")
    if action == "schedule":
        schedule_form = ScheduleForm(request.POST, workspace=workspace)
        if not schedule_form.is_valid():
            return _reports_page(request, schedule_form=schedule_form)
        d = schedule_form.cleaned_data
        actions.schedule_report(
            workspace=workspace,
            name=d["name"],
            frequency=d["frequency"],
            sections=list(d["sections"]),
            channel_ids=sorted(c.pk for c in d["channels"]),
            recipients=d["recipients"],
            actor=user,
        )
        messages.success(request, _("The report is scheduled."))
    elif action == "share":
        share_form = ShareForm(request.POST, workspace=workspace)
        if not share_form.is_valid():
            return _reports_page(request, share_form=share_form)
        _link, token = actions.create_share_link(
            workspace=workspace, spec=_spec(share_form), days=share_form.cleaned_data["days"], actor=user
        )
        url = request.build_absolute_uri(reverse("analytics:shared", args=[token]))
        return _reports_page(request, new_link=url)
    elif action == "unschedule":
        report = get_object_or_404(ScheduledReport, pk=_int(request.POST.get("id")), workspace=workspace)
        actions.delete_scheduled_report(report=report, actor=user)
    elif action == "revoke":
        link = get_object_or_404(ShareLink, pk=_int(request.POST.get("id")), workspace=workspace)
        actions.revoke_share_link(link=link, actor=user)
    return redirect("analytics:reports", workspace.slug)


EXPORTS = {
    "pdf": ("application/pdf", reports.render_pdf),
    "csv": ("text/csv; charset=utf-8", reports.render_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", reports.render_xlsx),
}


@workspace_view(Perm.VIEW_ANALYTICS, methods=("GET",))
def report_export(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    form = ReportForm(request.GET or None, workspace=workspace)
    if not form.is_valid():
        return redirect("analytics:reports", workspace.slug)
    data = reports.build(workspace, _spec(form))
    fmt = request.GET.get("format", "html")
    if fmt not in EXPORTS:
        return render(
            request, "analytics/report_page.html", {**_base(request), "html": reports.render_html(data)}
        )
    content_type, renderer = EXPORTS[fmt]
    response = HttpResponse(renderer(data), content_type=content_type)
    name = f"{workspace.slug}-{data.spec.start}-{data.spec.end}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def shared_report(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the token is the credential. Unknown, revoked and expired tokens are a 404."""
    link = actions.share_link_for(token)
    if link is None:
        raise Http404
    data = reports.build(link.workspace, reports.ReportSpec.from_json(link.spec))
    response = render(
        request,
        "analytics/shared.html",
        {
            "html": reports.render_html(data),
            "link": link,
            "is_sample": link.workspace.name.startswith(SAMPLE_PREFIX),
        },
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def chart_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, default=str)
