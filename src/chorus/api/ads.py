"""REST endpoints of paid reach: ad accounts, boosts (create, read, list, pause, resume, stop,
change budget or end date, approve, decline) and their daily insights. A refusal answers 422 with its code, parameters and message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.ads import actions, results
from chorus.ads.models import AdAccount, Boost, SavedAudience
from chorus.ads.refusals import AdsRefused
from chorus.api.auth import ws_perm
from chorus.approvals import boosts as approval
from chorus.channels.models import Channel
from chorus.connectors.base import PublishError
from chorus.content.models import PostTarget

router = Router(tags=["ads"])


class RefusalOut(Schema):
    code: str
    message: str
    params: dict[str, Any] = {}


class AdAccountIn(Schema):
    channel: int
    external_id: str
    access_token: str = ""


class AdAccountOut(Schema):
    id: int
    channel: int
    network: str
    external_id: str
    name: str
    currency: str
    timezone: str
    status: str
    spend_cap_minor: int | None


class BoostIn(Schema):
    target: int
    account: int
    objective: str = "engagement"
    budget_kind: str = "daily"
    budget_minor: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    audience: dict[str, Any] = {}
    saved_audience: int | None = None
    placements: list[str] = []
    social_issue: bool = False
    authorized: bool = False
    disclaimer: str = ""


class BoostOut(Schema):
    id: int
    target: int
    account: int
    status: str
    review_reason: str
    objective: str
    budget_kind: str
    budget_minor: int
    currency: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    audience: dict[str, Any]
    social_issue: bool
    disclaimer: str
    network_objects: dict[str, str]
    spend_minor: int
    approval_step: str  # while it waits for approval: the workflow step it waits for ("" without one)


class BudgetIn(Schema):
    budget_minor: int | None = None  # in minor units of the boost's currency
    ends_at: dt.datetime | None = None


class DecisionIn(Schema):
    reason: str = ""


class InsightOut(Schema):
    day: dt.date
    spend_minor: int
    impressions: int
    reach: int
    frequency: float
    clicks: int
    engagements: int
    video_views: int
    results: int
    cpm_minor: int | None
    cpc_minor: int | None


def _refusal(exc: AdsRefused | PublishError) -> Status:
    if isinstance(exc, AdsRefused):
        return Status(422, {"code": exc.code, "message": exc.message, "params": exc.params})
    return Status(422, {"code": exc.code, "message": exc.message, "params": {}})


def _account_out(account: AdAccount) -> dict[str, Any]:
    return {
        "id": account.pk,
        "channel": account.channel_id,
        "network": account.channel.kind,
        "external_id": account.external_id,
        "name": account.name,
        "currency": account.currency,
        "timezone": account.timezone,
        "status": account.status,
        "spend_cap_minor": account.spend_cap_minor,
    }


def _boost_out(boost: Boost) -> dict[str, Any]:
    return {
        "id": boost.pk,
        "target": boost.target_id,
        "account": boost.account_id,
        "status": boost.status,
        "review_reason": boost.review_reason,
        "objective": boost.objective,
        "budget_kind": boost.budget_kind,
        "budget_minor": boost.budget_minor,
        "currency": boost.currency,
        "starts_at": boost.starts_at,
        "ends_at": boost.ends_at,
        "audience": boost.audience,
        "social_issue": boost.social_issue,
        "disclaimer": boost.disclaimer,
        "network_objects": boost.created_objects(),
        "spend_minor": results.boost_totals(boost)["spend_minor"] or 0,
        "approval_step": _waiting_step(boost),
    }


def _waiting_step(boost: Boost) -> str:
    if boost.status != Boost.Status.AWAITING_APPROVAL:
        return ""
    run = approval.open_run(boost)
    return run.step.name if run is not None and run.step is not None else ""


def _boost(request: HttpRequest, boost_id: int) -> Boost:
    return get_object_or_404(
        Boost.objects.select_related("account__channel", "workspace"),
        workspace=workspace_of(request),
        pk=boost_id,
    )


@router.get("/workspaces/{slug}/ad-accounts", response=list[AdAccountOut], **ws_perm(Perm.VIEW_ADS))
def list_ad_accounts(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    accounts = AdAccount.objects.filter(workspace=workspace_of(request)).select_related("channel")
    return [_account_out(a) for a in accounts]


@router.post(
    "/workspaces/{slug}/ad-accounts",
    response={201: AdAccountOut, 422: RefusalOut},
    **ws_perm(Perm.MANAGE_AD_ACCOUNTS),
)
def connect_ad_account(request: HttpRequest, slug: str, payload: AdAccountIn) -> Status:
    workspace = workspace_of(request)
    channel = get_object_or_404(Channel, workspace=workspace, pk=payload.channel)
    try:
        account = actions.connect_ad_account(
            workspace,
            actor=request.auth,  # type: ignore[attr-defined]
            channel=channel,
            external_id=payload.external_id,
            access_token=payload.access_token,
        )
    except (AdsRefused, PublishError) as exc:
        return _refusal(exc)
    return Status(201, _account_out(account))


@router.get("/workspaces/{slug}/boosts", response=list[BoostOut], **ws_perm(Perm.VIEW_ADS))
def list_boosts(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    boosts = Boost.objects.filter(workspace=workspace_of(request)).order_by("-created_at")[:500]
    return [_boost_out(b) for b in boosts]


@router.post(
    "/workspaces/{slug}/boosts", response={201: BoostOut, 422: RefusalOut}, **ws_perm(Perm.MANAGE_ADS)
)
def create_boost(request: HttpRequest, slug: str, payload: BoostIn) -> Status:
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("post", "workspace"), workspace=workspace, pk=payload.target
    )
    account = get_object_or_404(
        AdAccount.objects.select_related("channel"), workspace=workspace, pk=payload.account
    )
    saved = (
        get_object_or_404(SavedAudience, workspace=workspace, pk=payload.saved_audience)
        if payload.saved_audience
        else None
    )
    try:
        boost = actions.request_boost(
            target,
            actor=request.auth,  # type: ignore[attr-defined]
            account=account,
            objective=payload.objective,
            budget_kind=payload.budget_kind,
            budget_minor=payload.budget_minor,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            audience=payload.audience,
            saved_audience=saved,
            placements=payload.placements,
            social_issue=payload.social_issue,
            authorized=payload.authorized,
            disclaimer=payload.disclaimer,
        )
    except AdsRefused as exc:
        return _refusal(exc)
    return Status(201, _boost_out(boost))


@router.get("/workspaces/{slug}/boosts/{boost_id}", response=BoostOut, **ws_perm(Perm.VIEW_ADS))
def read_boost(request: HttpRequest, slug: str, boost_id: int) -> dict[str, Any]:
    return _boost_out(_boost(request, boost_id))


def _change(request: HttpRequest, boost_id: int, change: str) -> Status:
    boost = _boost(request, boost_id)
    try:
        boost = actions.change_status(boost, actor=request.auth, change=change)  # type: ignore[attr-defined]
    except (AdsRefused, PublishError) as exc:
        return _refusal(exc)
    return Status(200, _boost_out(boost))


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/pause",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.MANAGE_ADS),
)
def pause_boost(request: HttpRequest, slug: str, boost_id: int) -> Status:
    return _change(request, boost_id, "pause")


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/resume",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.MANAGE_ADS),
)
def resume_boost(request: HttpRequest, slug: str, boost_id: int) -> Status:
    return _change(request, boost_id, "resume")


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/stop",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.MANAGE_ADS),
)
def stop_boost(request: HttpRequest, slug: str, boost_id: int) -> Status:
    return _change(request, boost_id, "stop")


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/budget",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.MANAGE_ADS),
)
def change_boost_budget(request: HttpRequest, slug: str, boost_id: int, payload: BudgetIn) -> Status:
    """A new budget and/or end date, checked against the network's minimums and the budgets
    before the network is told (as on the boost's page)."""
    boost = _boost(request, boost_id)
    try:
        boost = actions.change_budget(
            boost,
            actor=request.auth,  # type: ignore[attr-defined]
            budget_minor=payload.budget_minor,
            ends_at=payload.ends_at,
        )
    except (AdsRefused, PublishError) as exc:
        return _refusal(exc)
    return Status(200, _boost_out(boost))


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/approve",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.VIEW_ADS),
)
def approve_boost(request: HttpRequest, slug: str, boost_id: int) -> Status:
    """One approval of the boost's current approval step (the workflow's step approvers, or
    without one the roles that approve ad spend; not the person who asked for it: 403). The boost
    is created once the last step approves; until then `approval_step` names the next step."""
    try:
        boost = actions.approve_boost(_boost(request, boost_id), actor=request.auth)  # type: ignore[attr-defined]
    except AdsRefused as exc:
        return _refusal(exc)
    return Status(200, _boost_out(boost))


@router.post(
    "/workspaces/{slug}/boosts/{boost_id}/decline",
    response={200: BoostOut, 422: RefusalOut},
    **ws_perm(Perm.VIEW_ADS),
)
def decline_boost(request: HttpRequest, slug: str, boost_id: int, payload: DecisionIn) -> Status:
    """Declines the boost at its current approval step, with the reason (an approver of the step,
    or the person who asked for it withdrawing it)."""
    try:
        boost = actions.decline_boost(
            _boost(request, boost_id),
            actor=request.auth,  # type: ignore[attr-defined]
            reason=payload.reason,
        )
    except AdsRefused as exc:
        return _refusal(exc)
    return Status(200, _boost_out(boost))


@router.get(
    "/workspaces/{slug}/boosts/{boost_id}/insights", response=list[InsightOut], **ws_perm(Perm.VIEW_ADS)
)
def boost_insights(request: HttpRequest, slug: str, boost_id: int) -> list[dict[str, Any]]:
    boost = _boost(request, boost_id)
    return [
        {
            "day": d.day,
            "spend_minor": d.spend_minor,
            "impressions": d.impressions,
            "reach": d.reach,
            "frequency": d.frequency,
            "clicks": d.clicks,
            "engagements": d.engagements,
            "video_views": d.video_views,
            "results": d.results,
            "cpm_minor": d.cpm_minor,
            "cpc_minor": d.cpc_minor,
        }
        for d in boost.insight_days.all()
    ]
