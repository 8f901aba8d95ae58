"""Paid split tests: the variants as Meta ads in one split test (randomized, non-overlapping
audiences, equal budgets), through the ads app.

The life of a paid split, advanced by the `experiments-paid-split` scheduler job (`advance_due`):

1. `actions.start` publishes one post per variant on the Page (or Instagram account) through the
   normal approvals and engine, like every design.
2. Once every variant's post is published, each is boosted with **the same** audience, objective,
   schedule and budget (`chorus.ads.actions.request_boost`, in one transaction: all the boosts fit
   the workspace's ad budget or none is requested). The boosts pass the ads guardrails: the
   approval threshold, the social-issue rules, the at-most-once creation step by step.
3. Once every boost's ad set exists at Meta, one split test is created on the ad account's
   Business: POST /<business>/ad_studies, type SPLIT_TEST, one cell per ad set with equal
   treatment percentages — Meta then splits the audience into non-overlapping random groups.
   At most once: the state "sending" is committed before the call; a retry first looks for the
   study by its unique name, so a lost answer never makes a second study.
4. Results come from the boosts' daily ad insights (impressions, engagements, clicks), compared by
   the same registered test as the organic designs; the comparison is labelled randomized.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.ads import actions as ads
from chorus.ads.models import AdAccount, AdInsightDay, Boost, BoostStep
from chorus.ads.refusals import AdsRefused
from chorus.connectors.base import OutcomeUnknown, PublishError, RateLimited, Transient
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.experiments.models import Experiment

log = logging.getLogger(__name__)

NETWORKS = ("facebook", "instagram")
OBJECTIVES = tuple(Boost.Objective.values)
BUDGET_KINDS = tuple(Boost.BudgetKind.values)
LEAD_TIME = dt.timedelta(hours=1)  # Meta wants a split test's start in the future
LEASE = dt.timedelta(minutes=10)
GIVEN_UP = {
    Boost.Status.DECLINED,
    Boost.Status.FAILED,
    Boost.Status.REJECTED,
    Boost.Status.STOPPED,
}


@dataclass(frozen=True)
class PaidSplitInput:
    """What every variant's ad gets, identically: only the creative differs."""

    account: AdAccount
    budget_minor: int  # per variant, per day (daily) or in all (lifetime)
    days: int
    audience: dict[str, Any] = field(default_factory=dict)
    objective: str = Boost.Objective.ENGAGEMENT
    budget_kind: str = Boost.BudgetKind.DAILY


def settings_for(paid: PaidSplitInput) -> dict[str, Any]:
    return {
        "account": paid.account.pk,
        "objective": paid.objective,
        "budget_kind": paid.budget_kind,
        "budget_minor": int(paid.budget_minor),
        "days": int(paid.days),
        "audience": dict(paid.audience),
    }


def study_name(experiment: Experiment) -> str:
    """Unique per experiment: how a lost create is found again."""
    return f"chorus-experiment-{experiment.pk}-{experiment.created_at:%Y%m%d%H%M%S}"


def boosts_of(experiment: Experiment) -> dict[int, Boost]:
    """The boost of each placement's post (placement id -> boost), the latest if retried."""
    found: dict[int, Boost] = {}
    for placement in experiment.placements.all():
        boost = Boost.objects.filter(workspace=experiment.workspace, target_id=placement.target_id).order_by(
            "-pk"
        )
        if first := boost.first():
            found[placement.pk] = first
    return found


def _note(experiment: Experiment, **changes: Any) -> None:
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        locked.paid_split = {**locked.paid_split, **changes}
        locked.save(update_fields=["paid_split"])
    experiment.paid_split = locked.paid_split


def advance(experiment_id: int) -> str:
    """One step of a running paid split, safe to run twice. Returns what it did or waits for."""
    experiment = Experiment.objects.select_related("workspace", "created_by").get(pk=experiment_id)
    if experiment.design != Experiment.Design.PAID_SPLIT or experiment.status != Experiment.Status.RUNNING:
        return "not running"
    settings = experiment.paid_split
    if settings.get("error"):
        return "stuck"
    placements = list(experiment.placements.select_related("target"))
    if any(p.target.status != PostTarget.Status.PUBLISHED for p in placements):
        return "waiting for posts"
    boosts = boosts_of(experiment)
    if not boosts:
        return _request_boosts(experiment, placements)
    if any(b.status in GIVEN_UP for b in boosts.values()):
        _note(
            experiment,
            error=_("A variant's ad did not run (declined, rejected or failed): stop the experiment."),
        )
        audit.record(
            "experiment.paid_split_stuck", workspace=experiment.workspace, actor=None, obj=experiment
        )
        return "stuck"
    adsets = {
        step.boost_id: step.external_id
        for step in BoostStep.objects.filter(
            boost__in=boosts.values(), step="adset", state=BoostStep.State.CREATED
        )
    }
    if len(adsets) < len(placements):
        return "waiting for boosts"
    if settings.get("study") == "created":
        return "running"
    ordered = [adsets[boosts[p.pk].pk] for p in sorted(placements, key=lambda p: p.variant_id)]
    first = next(iter(boosts.values()))
    return _create_study(experiment, first, ordered)


def _request_boosts(experiment: Experiment, placements: list[Any]) -> str:
    settings = experiment.paid_split
    account = AdAccount.objects.get(pk=settings["account"], workspace=experiment.workspace)
    starts_at = (timezone.now() + LEAD_TIME).replace(second=0, microsecond=0)
    ends_at = starts_at + dt.timedelta(days=int(settings["days"]))
    try:
        with transaction.atomic():  # every variant's ad, or none: equal budgets or no test
            for placement in sorted(placements, key=lambda p: p.variant_id):
                ads.request_boost(
                    placement.target,
                    actor=experiment.created_by,
                    account=account,
                    objective=settings["objective"],
                    budget_kind=settings["budget_kind"],
                    budget_minor=int(settings["budget_minor"]),
                    starts_at=starts_at,
                    ends_at=ends_at,
                    audience=settings["audience"],
                )
    except AdsRefused as exc:
        _note(experiment, error=exc.message)
        audit.record(
            "experiment.paid_split_refused",
            workspace=experiment.workspace,
            actor=None,
            obj=experiment,
            code=exc.code,
        )
        return "refused"
    audit.record(
        "experiment.paid_split_boosted",
        workspace=experiment.workspace,
        actor=None,
        obj=experiment,
        variants=len(placements),
    )
    return "boosts requested"


def _create_study(experiment: Experiment, boost: Boost, adsets: list[str]) -> str:
    now = timezone.now()
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        state = locked.paid_split
        if state.get("study") == "created":
            return "running"
        sending_since = state.get("study_sent_at")
        if (
            state.get("study") == "sending"
            and sending_since
            and now - dt.datetime.fromisoformat(sending_since) < LEASE
        ):
            return "busy"  # another worker is sending it
        resumed = state.get("study") == "sending"
        locked.paid_split = {**state, "study": "sending", "study_sent_at": now.isoformat()}
        locked.save(update_fields=["paid_split"])
    client = boost.account.client()
    name = study_name(experiment)
    try:
        business = state.get("business_id") or client.business_id()
        if not business:
            _note(
                experiment,
                study="",
                error=_(
                    "Meta creates split tests on a Business: assign the ad account to a Business "
                    "Manager, then start the experiment again."
                ),
            )
            return "stuck"
        study_id = client.find_split_test(business, name) if resumed else None
        if study_id is None:
            payload = client.split_test_payload(
                name,
                experiment.question[:250],
                boost.starts_at,
                boost.ends_at,
                adsets,
            )
            study_id = client.create_split_test(business, payload)
    except (RateLimited, Transient, OutcomeUnknown) as exc:
        log.info("experiment %s: split test not created yet (%s)", experiment.pk, exc.code)
        # Left "sending" (the next run looks it up before sending again), the lease released.
        _note(experiment, study_sent_at="")
        return "retry"
    except PublishError as exc:
        _note(experiment, study="", error=exc.message)
        return "stuck"
    _note(experiment, study="created", study_id=study_id, business_id=business)
    audit.record(
        "experiment.split_test_created",
        workspace=experiment.workspace,
        actor=None,
        obj=experiment,
        study_id=study_id,
    )
    return "study created"


def advance_due() -> int:
    """Scheduler job: every running paid split moves on as far as it can."""
    count = 0
    for experiment_id in Experiment.objects.filter(
        design=Experiment.Design.PAID_SPLIT, status=Experiment.Status.RUNNING
    ).values_list("pk", flat=True)[:200]:
        advance(experiment_id)
        count += 1
    return count


def insight_totals(experiment: Experiment) -> dict[int, dict[str, int]]:
    """Each placement's ad results so far (placement id -> impressions, engagements, clicks)."""
    totals: dict[int, dict[str, int]] = {}
    for placement_id, boost in boosts_of(experiment).items():
        sums = AdInsightDay.objects.filter(boost=boost, workspace=experiment.workspace).aggregate(
            impressions=Sum("impressions"), engagements=Sum("engagements"), clicks=Sum("clicks")
        )
        totals[placement_id] = {key: int(value or 0) for key, value in sums.items()}
    return totals
