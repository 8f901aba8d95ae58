"""REST endpoints of A/B experiments: list, read with results, create and schedule, conclude, stop."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.ads.models import AdAccount
from chorus.api.auth import ws_perm
from chorus.experiments import actions, paid, results
from chorus.experiments.models import Experiment

router = Router(tags=["experiments"])


class VariantIn(Schema):
    text: str
    media: list[dict[str, Any]] = []


class PaidSplitIn(Schema):
    """A paid split's ads, identical for every variant: the budget is per variant, in minor units
    of the ad account's currency; `audience` as for a boost (countries, age_min, interests…)."""

    ad_account_id: int
    budget_minor: int
    days: int
    audience: dict[str, Any]
    objective: str = "engagement"
    budget_kind: str = "daily"


class ExperimentIn(Schema):
    question: str
    metric: Experiment.Metric = Experiment.Metric.ENGAGEMENT_RATE
    design: Experiment.Design = Experiment.Design.ALTERNATION
    baseline_rate: float = 2.0
    minimum_effect: float = 0.4
    channel_ids: list[int]
    variants: list[VariantIn]
    slots: list[dt.datetime]
    paid_split: PaidSplitIn | None = None


class VariantOut(Schema):
    label: str
    posts_planned: int
    posts_published: int
    successes: int
    trials: int
    probability_best: float | None
    low: float | None
    high: float | None


class ExperimentOut(Schema):
    id: int
    question: str
    metric: str
    design: str
    design_kind: str  # "observational" (organic) or "randomized" (paid split)
    status: str
    needed_per_variant: int | None
    progress: float
    status_line: str
    winner: str | None
    variants: list[VariantOut]


class ErrorOut(Schema):
    detail: str


def _out(experiment: Experiment) -> dict[str, Any]:
    outcome = results.compute(experiment)
    posteriors = {p.label: p for p in outcome.posteriors}
    return {
        "id": experiment.pk,
        "question": experiment.question,
        "metric": experiment.metric,
        "design": experiment.design,
        "design_kind": outcome.design_kind,
        "status": experiment.status,
        "needed_per_variant": experiment.needed_per_variant,
        "progress": outcome.progress,
        "status_line": outcome.status_line,
        "winner": (experiment.conclusion or {}).get("winner"),
        "variants": [
            {
                "label": v.label,
                "posts_planned": v.posts_planned,
                "posts_published": v.posts_published,
                "successes": v.successes,
                "trials": v.trials,
                "probability_best": posteriors[v.label].probability_best if v.label in posteriors else None,
                "low": posteriors[v.label].low if v.label in posteriors else None,
                "high": posteriors[v.label].high if v.label in posteriors else None,
            }
            for v in outcome.variants
        ],
    }


@router.get("/workspaces/{slug}/experiments", response=list[ExperimentOut], **ws_perm(Perm.VIEW_ANALYTICS))
def list_experiments(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [_out(e) for e in Experiment.objects.filter(workspace=workspace_of(request))[:100]]


@router.get(
    "/workspaces/{slug}/experiments/{experiment_id}", response=ExperimentOut, **ws_perm(Perm.VIEW_ANALYTICS)
)
def get_experiment(request: HttpRequest, slug: str, experiment_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(Experiment, pk=experiment_id, workspace=workspace_of(request)))


@router.post(
    "/workspaces/{slug}/experiments",
    response={201: ExperimentOut},
    **ws_perm(Perm.MANAGE_EXPERIMENTS),
)
def create_experiment(request: HttpRequest, slug: str, payload: ExperimentIn) -> Status:
    """Creates the experiment and schedules its variants' posts at `slots` (UTC), all or nothing."""
    workspace = workspace_of(request)
    channels = list(workspace.channels.filter(pk__in=payload.channel_ids))
    if len(channels) != len(set(payload.channel_ids)):
        raise HttpError(422, "channel_ids: a channel is not in this workspace")
    split = None
    if payload.paid_split is not None:
        account = AdAccount.objects.filter(workspace=workspace, pk=payload.paid_split.ad_account_id).first()
        if account is None:
            raise HttpError(422, "paid_split.ad_account_id: no such ad account in this workspace")
        split = paid.PaidSplitInput(
            account=account,
            budget_minor=payload.paid_split.budget_minor,
            days=payload.paid_split.days,
            audience=payload.paid_split.audience,
            objective=payload.paid_split.objective,
            budget_kind=payload.paid_split.budget_kind,
        )
    try:
        with transaction.atomic():
            experiment = actions.create_experiment(
                workspace=workspace,
                actor=request.auth,  # type: ignore[attr-defined]
                question=payload.question,
                variants=[actions.VariantInput(v.text, v.media) for v in payload.variants],
                channels=channels,
                metric=payload.metric,
                design=payload.design,
                baseline_rate=payload.baseline_rate,
                minimum_effect=payload.minimum_effect,
                paid_split=split,
            )
            actions.start(experiment, actor=request.auth, slots=payload.slots)  # type: ignore[attr-defined]
    except actions.ExperimentRefused as exc:
        raise HttpError(422, exc.message) from None
    experiment.refresh_from_db()
    return Status(201, _out(experiment))


@router.post(
    "/workspaces/{slug}/experiments/{experiment_id}/conclude",
    response={200: ExperimentOut, 409: ErrorOut},
    **ws_perm(Perm.MANAGE_EXPERIMENTS),
)
def conclude_experiment(request: HttpRequest, slug: str, experiment_id: int) -> dict[str, Any]:
    experiment = get_object_or_404(Experiment, pk=experiment_id, workspace=workspace_of(request))
    try:
        actions.conclude(experiment, actor=request.auth)  # type: ignore[attr-defined]
    except actions.ExperimentRefused as exc:
        raise HttpError(409, exc.message) from None
    experiment.refresh_from_db()
    return _out(experiment)


@router.post(
    "/workspaces/{slug}/experiments/{experiment_id}/stop",
    response={200: ExperimentOut, 409: ErrorOut},
    **ws_perm(Perm.MANAGE_EXPERIMENTS),
)
def stop_experiment(request: HttpRequest, slug: str, experiment_id: int) -> dict[str, Any]:
    experiment = get_object_or_404(Experiment, pk=experiment_id, workspace=workspace_of(request))
    try:
        actions.stop(experiment, actor=request.auth)  # type: ignore[attr-defined]
    except actions.ExperimentRefused as exc:
        raise HttpError(409, exc.message) from None
    experiment.refresh_from_db()
    return _out(experiment)
