"""Ads pages: the list of boosts with the month's spend, ad accounts and budgets, the boost form
from a published post, a boost's page (steps, review, results, paid vs organic, approval)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.ads import actions, results
from chorus.ads.forms import BoostForm
from chorus.ads.models import AdAccount, AdBudget, Boost, SavedAudience
from chorus.ads.refusals import AdsRefused
from chorus.approvals import boosts as approval
from chorus.channels.models import Channel
from chorus.connectors.ads import minor_amount, minor_per_major
from chorus.connectors.base import Feature, PublishError, number
from chorus.content.models import Campaign, PostTarget
from chorus.core.refusals import Refused


def boostable(target: PostTarget) -> bool:
    try:
        features = type(target.channel.connector()).features
    except KeyError:
        return False
    return (
        target.status == PostTarget.Status.PUBLISHED and bool(target.external_id) and Feature.ADS in features
    )


@workspace_view(Perm.VIEW_ADS)
def boost_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    boosts = (
        Boost.objects.filter(workspace=workspace)
        .select_related("target__post", "account__channel")
        .order_by("-created_at")[:200]
    )
    rows = [(boost, results.boost_totals(boost)) for boost in boosts]
    campaigns = [
        (campaign, results.campaign_side_by_side(campaign))
        for campaign in Campaign.objects.filter(workspace=workspace, boosts__isnull=False)
        .distinct()
        .order_by("name")
    ]
    month = results.month_summary(workspace)
    chart = spend_chart(month, timezone.localdate(timezone.now(), ZoneInfo(workspace.timezone)))
    return render(
        request,
        "ads/list.html",
        {
            "workspace": workspace,
            "rows": rows,
            "campaigns": campaigns,
            "month": month,
            "chart": chart,
            "may_manage_accounts": can(membership_of(request).role, Perm.MANAGE_AD_ACCOUNTS),
        },
    )


def spend_chart(month: results.MonthSummary, today: Any) -> dict[str, Any]:
    """The month's spend so far (cumulative, per day), the budget line, and from today the
    forecast to the month's end: expected, and the most the networks' daily overspend allows
    (straight lines from today's spend; in major units of the budget's currency)."""
    per = minor_per_major(month.currency or "EUR")
    index = next((i for i, day in enumerate(month.days) if day == today.isoformat()), None)
    spend: list[float | None] = [v / per for v in month.cumulative]
    expected: list[float | None] = [None] * len(month.days)
    upper: list[float | None] = [None] * len(month.days)
    if index is not None:
        spend = [v if i <= index else None for i, v in enumerate(spend)]
        now_minor, left = month.cumulative[index], len(month.days) - 1 - index
        for i in range(index, len(month.days)):
            share = (i - index) / left if left else 1
            expected[i] = (now_minor + (month.forecast.expected_minor - now_minor) * share) / per
            upper[i] = (now_minor + (month.forecast.upper_minor - now_minor) * share) / per
    return {
        "days": month.days,
        "spend": spend,
        "expected": expected,
        "upper": upper,
        "budget": [month.limit_minor / per] * len(month.days),
    }


def _money_field(value: str, currency: str) -> int:
    try:
        return minor_amount(value.replace(",", ".").strip() or "0", currency)
    except Exception:
        raise AdsRefused("bad_budget") from None


@workspace_view(Perm.MANAGE_AD_ACCOUNTS)
def accounts_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    actor = current_user(request)
    budget = AdBudget.objects.filter(workspace=workspace).first()
    if request.method == "POST":
        try:
            if request.POST.get("form") == "account":
                channel = get_object_or_404(Channel, workspace=workspace, pk=request.POST.get("channel"))
                actions.connect_ad_account(
                    workspace,
                    actor=actor,
                    channel=channel,
                    external_id=request.POST.get("external_id", ""),
                    access_token=request.POST.get("access_token", ""),
                )
                messages.success(request, _("Ad account connected."))
            elif request.POST.get("form") == "budget":
                currency = request.POST.get("currency", "EUR").strip().upper() or "EUR"
                threshold = request.POST.get("approval_threshold", "").strip()
                actions.set_ad_budget(
                    workspace,
                    actor=actor,
                    currency=currency,
                    monthly_limit_minor=_money_field(request.POST.get("monthly_limit", ""), currency),
                    approval_threshold_minor=_money_field(threshold, currency) if threshold else None,
                )
                messages.success(request, _("Ad budget saved."))
            elif request.POST.get("form") == "campaign":
                campaign = get_object_or_404(Campaign, workspace=workspace, pk=request.POST.get("campaign"))
                currency = budget.currency if budget else "EUR"
                actions.set_campaign_ad_budget(
                    campaign, actor=actor, limit_minor=_money_field(request.POST.get("limit", ""), currency)
                )
                messages.success(request, _("Campaign ad budget saved."))
        except AdsRefused as exc:
            messages.error(request, exc.message)
        except PublishError as exc:
            messages.error(request, exc.message)
        return redirect("ads:accounts", slug=workspace.slug)
    channels = [
        c for c in Channel.objects.filter(workspace=workspace, kind__in=("facebook", "instagram", "linkedin"))
    ]
    from chorus.ads.meta_login import META_KINDS
    from chorus.connectors.facebook.connector import FacebookConnector

    meta_setup = ""
    if not FacebookConnector.configured():
        meta_setup = _("Meta's login is not configured on this server (missing: %(settings)s).") % {
            "settings": ", ".join(FacebookConnector.missing_settings())
        }
    return render(
        request,
        "ads/accounts.html",
        {
            "workspace": workspace,
            "meta_channels": [c for c in channels if c.kind in META_KINDS],
            "meta_setup": meta_setup,
            "accounts": AdAccount.objects.filter(workspace=workspace).select_related("channel"),
            "expiring": actions.expiring_accounts(workspace),
            "channels": channels,
            "budget": budget,
            "campaigns": Campaign.objects.filter(workspace=workspace)
            .select_related("ad_budget")
            .order_by("name"),
        },
    )


@workspace_view(Perm.MANAGE_ADS)
def boost_new(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "post"), workspace=workspace, pk=target_id
    )
    if not boostable(target):
        messages.error(request, _("Only a published Facebook, Instagram or LinkedIn post can be boosted."))
        return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
    with timezone.override(ZoneInfo(workspace.timezone)):  # the schedule is in the workspace's zone
        form = BoostForm(request.POST or None, channel=target.channel, tz=workspace.timezone)
        if request.method == "POST" and form.is_valid():
            values = form.boost_values()
            try:
                if form.cleaned_data.get("save_audience_as"):
                    values["saved_audience"] = actions.save_audience(
                        workspace,
                        actor=current_user(request),
                        name=form.cleaned_data["save_audience_as"],
                        network=target.channel.kind,
                        audience=values["audience"],
                    )
                boost = actions.request_boost(target, actor=current_user(request), **values)
            except AdsRefused as exc:
                form.add_error(None, exc.message)
            else:
                if boost.status == Boost.Status.AWAITING_APPROVAL:
                    messages.info(request, _("The boost waits for an approver."))
                else:
                    messages.success(request, _("The boost is being created."))
                return redirect("ads:boost", slug=workspace.slug, boost_id=boost.pk)
    audiences = {str(a.pk): a.audience for a in SavedAudience.objects.filter(workspace=workspace)}
    return render(
        request,
        "ads/boost_form.html",
        {"workspace": workspace, "target": target, "form": form, "audiences_json": json.dumps(audiences)},
    )


@workspace_view(Perm.VIEW_ADS)
def boost_detail(request: HttpRequest, boost_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    boost = get_object_or_404(
        Boost.objects.select_related("target__post", "account__channel", "requested_by", "decided_by"),
        workspace=workspace,
        pk=boost_id,
    )
    role = membership_of(request).role
    side = results.post_side_by_side(boost.target)
    days = list(boost.insight_days.all())
    chart = {
        "labels": [_("Impressions"), _("Reach"), _("Engagements"), _("Clicks"), _("Video views")],
        "paid": [row[1] or 0 for row in side.rows()],
        "organic": [row[2] or 0 for row in side.rows()],
    }
    from chorus.ads import rules

    day_count = len(rules.local_days(boost.starts_at, boost.ends_at, workspace.timezone))
    return render(
        request,
        "ads/boost.html",
        {
            "workspace": workspace,
            "boost": boost,
            "steps": boost.steps.all(),
            "days": days,
            "totals": results.boost_totals(boost),
            "side": side,
            "chart": chart,
            "max_spend": rules.max_spend(boost.budget_kind, boost.budget_minor, day_count),
            "may_manage": can(role, Perm.MANAGE_ADS),
            **_approval_context(boost, current_user(request)),
        },
    )


def _approval_context(boost: Boost, user: Any) -> dict[str, Any]:
    """The boost's approval run (chorus.approvals): its workflow's steps, who decides now, the
    decisions and comments so far, and whether this person may approve or decline."""
    run = approval.open_run(boost) if boost.status == Boost.Status.AWAITING_APPROVAL else None
    shown = run or boost.approval_runs.select_related("workflow", "step").order_by("-pk").first()
    return {
        "run": shown,
        "approval_steps": approval.steps_of(run),
        "step_approvers": approval.approvers(run) if run is not None else [],
        "approval_history": approval.history(boost),
        "may_approve": run is not None and approval.may_approve(user, boost, run),
        "may_decline": run is not None
        and (approval.may_decide(user, run) or boost.requested_by_id == getattr(user, "pk", None)),
    }


@workspace_view(Perm.MANAGE_ADS, methods=("POST",))
def boost_change(request: HttpRequest, boost_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    boost = get_object_or_404(
        Boost.objects.select_related("account__channel"), workspace=workspace, pk=boost_id
    )
    change = request.POST.get("change", "")
    try:
        if change in actions.MANAGEABLE:
            actions.change_status(boost, actor=current_user(request), change=change)
        elif change == "retry":
            actions.retry_boost(boost, actor=current_user(request))
        elif change == "budget":
            ends = request.POST.get("ends_at", "").strip()
            ends_at = None
            if ends:
                from django.utils.dateparse import parse_datetime

                parsed = parse_datetime(ends)
                if parsed is not None:
                    ends_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(workspace.timezone))
            amount = request.POST.get("budget", "").strip()
            actions.change_budget(
                boost,
                actor=current_user(request),
                budget_minor=_money_field(amount, boost.currency) if amount else None,
                ends_at=ends_at,
            )
        messages.success(request, _("The boost was updated."))
    except AdsRefused as exc:
        messages.error(request, exc.message)
    except PublishError as exc:
        messages.error(request, exc.message)
    return redirect("ads:boost", slug=workspace.slug, boost_id=boost.pk)


@workspace_view(Perm.VIEW_ADS, methods=("POST",))
def boost_decide(request: HttpRequest, boost_id: int) -> HttpResponse:
    """Approve or decline the boost's current approval step: the approvals policy decides whose
    decision it is (the workflow's step approvers, or without one the roles that approve ad
    spend), as for posts."""
    workspace = workspace_of(request)
    boost = get_object_or_404(Boost, workspace=workspace, pk=boost_id)
    comment = request.POST.get("comment", request.POST.get("reason", "")).strip()[:4000]
    try:
        if request.POST.get("decision") == "approve":
            boost = actions.approve_boost(boost, actor=current_user(request), comment=comment)
            if boost.status == Boost.Status.AWAITING_APPROVAL:
                messages.success(request, _("Approval recorded: the boost waits for the next step."))
            else:
                messages.success(request, _("Boost approved: it is being created."))
        else:
            actions.decline_boost(boost, actor=current_user(request), reason=comment)
            messages.info(request, _("Boost declined."))
    except (AdsRefused, Refused) as exc:
        messages.error(request, exc.message)
    return redirect("ads:boost", slug=workspace.slug, boost_id=boost.pk)


@workspace_view(Perm.VIEW_ADS, methods=("POST",))
def boost_comment(request: HttpRequest, boost_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    boost = get_object_or_404(Boost.objects.select_related("target__post"), workspace=workspace, pk=boost_id)
    try:
        approval.add_comment(boost, actor=current_user(request), body=request.POST.get("body", "")[:5000])
    except Refused as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('ads:boost', args=[workspace.slug, boost.pk])}#approval")


@workspace_view(Perm.MANAGE_ADS, methods=("GET",))
def targeting_search(request: HttpRequest, account_id: int) -> HttpResponse:
    """The network's targeting search (interests, regions, cities, languages), as JSON."""
    workspace = workspace_of(request)
    account = get_object_or_404(
        AdAccount.objects.select_related("channel"), workspace=workspace, pk=account_id
    )
    kind = request.GET.get("kind", "interests")
    query = request.GET.get("q", "").strip()[:100]
    if kind not in ("interests", "regions", "cities", "languages") or not query:
        return JsonResponse({"results": []})
    try:
        found: list[dict[str, Any]] = account.client().search_targeting(kind, query)
    except PublishError as exc:
        return JsonResponse({"results": [], "error": exc.message}, status=502)
    return JsonResponse({"results": found})


@workspace_view(Perm.MANAGE_ADS, methods=("GET",))
def reach_estimate(request: HttpRequest, account_id: int) -> HttpResponse:
    """The network's estimate of the audience's size, when it gives one: {"low", "high"} or nulls."""
    from chorus.ads.creating import plan_for
    from chorus.ads.forms import _codes, _items

    workspace = workspace_of(request)
    account = get_object_or_404(
        AdAccount.objects.select_related("channel"), workspace=workspace, pk=account_id
    )
    audience = {
        "countries": _codes(request.GET.get("countries", "")),
        "regions": _items(request.GET.get("regions", "")),
        "cities": _items(request.GET.get("cities", "")),
        "languages": _items(request.GET.get("languages", "")),
        "interests": _items(request.GET.get("interests", "")),
        "age_min": _int(request.GET.get("age_min"), 18),
        "age_max": _int(request.GET.get("age_max"), 65),
        "genders": request.GET.getlist("genders"),
    }
    objective = request.GET.get("objective", "awareness")
    none = {"low": None, "high": None, "text": _("The network gives no estimate for this audience.")}
    if objective not in Boost.Objective.values or not (
        audience["countries"] or audience["regions"] or audience["cities"]
    ):
        return JsonResponse(none)
    now = timezone.now()
    draft = Boost(
        workspace=workspace,
        account=account,
        target=PostTarget(external_id="", channel=account.channel),
        objective=objective,
        budget_kind="daily",
        budget_minor=0,
        currency=account.currency,
        starts_at=now,
        ends_at=now,
        audience=audience,
        placements=request.GET.getlist("placements"),
    )
    try:
        estimate = account.client().reach_estimate(plan_for(draft))
    except PublishError as exc:
        return JsonResponse({**none, "text": exc.message}, status=502)
    if estimate is None:
        return JsonResponse(none)
    low, high = estimate
    words = _("About %(low)s to %(high)s people") % {"low": number(low), "high": number(high)}
    return JsonResponse({"low": low, "high": high, "text": words})


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default
