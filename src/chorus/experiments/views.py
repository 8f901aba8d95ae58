from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.ads.models import AdAccount, AdInsightDay, Boost
from chorus.analytics.models import PostMetrics
from chorus.experiments import actions, paid, results
from chorus.experiments.forms import ExperimentForm
from chorus.experiments.models import Experiment, Learning
from chorus.media.actions import as_post_media


@workspace_view(Perm.VIEW_ANALYTICS)
def experiment_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    experiments = list(Experiment.objects.filter(workspace=workspace).prefetch_related("variants"))
    return render(
        request,
        "experiments/list.html",
        {
            "workspace": workspace,
            "experiments": experiments,
            "learnings": Learning.objects.filter(workspace=workspace)[:50],
            "can_manage": can(membership_of(request).role, Perm.MANAGE_EXPERIMENTS),
        },
    )


@workspace_view(Perm.MANAGE_EXPERIMENTS)
def experiment_new(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    form = ExperimentForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        letters = ["a", "b", *(["c"] if data.get("variant_c") or data.get("image_c") else [])]
        variants = [
            actions.VariantInput(
                data[f"variant_{letter}"] or "",
                [as_post_media(data[f"image_{letter}"])] if data.get(f"image_{letter}") else [],
            )
            for letter in letters
        ]
        try:
            experiment = actions.create_experiment(
                workspace=workspace,
                actor=current_user(request),
                question=data["question"],
                variants=variants,
                channels=list(data["channels"]),
                metric=data["metric"],
                design=data["design"],
                baseline_rate=data["baseline_rate"],
                minimum_effect=data["minimum_effect"],
                paid_split=data["paid_split"],
            )
            actions.start(experiment, actor=current_user(request), slots=data["slot_times"])
        except actions.ExperimentRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The experiment is running: its posts are scheduled."))
            return redirect("experiments:detail", slug=workspace.slug, experiment_id=experiment.pk)
    return render(request, "experiments/new.html", {"workspace": workspace, "form": form})


def _organic_days(experiment: Experiment) -> dict[str, dict[dt.date, list[int]]]:
    """Each variant's successes and impressions per day its posts were published (organic)."""
    rows = (
        PostMetrics.objects.filter(
            target__experiment_placement__experiment=experiment, workspace=experiment.workspace
        )
        .values(
            "target__experiment_placement__variant__label",
            "local_day",
            "engagement",
            "link_clicks",
            "impressions",
        )
        .order_by("local_day")
    )
    per_day: dict[str, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        if not row["impressions"]:
            continue
        hits = (
            row["link_clicks"] if experiment.metric == Experiment.Metric.CLICK_THROUGH else row["engagement"]
        )
        cell = per_day[row["target__experiment_placement__variant__label"]][row["local_day"]]
        cell[0] += int(hits or 0)
        cell[1] += int(row["impressions"])
    return per_day


def _paid_days(experiment: Experiment) -> dict[str, dict[dt.date, list[int]]]:
    """A paid split's figures are its ads' daily results (the split test's cells), the same
    numbers the verdict uses (results._paid_figures), not the posts' organic metrics."""
    labels = {p.pk: p.variant.label for p in experiment.placements.select_related("variant")}
    per_day: dict[str, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for placement_id, boost in paid.boosts_of(experiment).items():
        for row in AdInsightDay.objects.filter(boost=boost, workspace=experiment.workspace):
            if not row.impressions:
                continue
            hits = row.clicks if experiment.metric == Experiment.Metric.CLICK_THROUGH else row.engagements
            cell = per_day[labels[placement_id]][row.day]
            cell[0] += int(hits)
            cell[1] += int(row.impressions)
    return per_day


def _chart(experiment: Experiment) -> dict[str, Any]:
    """Each variant's estimate and 95 % credible interval after each day (cumulative): from the
    ads' daily results for a paid split, from the posts' metrics otherwise."""
    paid_split = experiment.design == Experiment.Design.PAID_SPLIT
    per_day = _paid_days(experiment) if paid_split else _organic_days(experiment)
    days = sorted({day for cells in per_day.values() for day in cells})
    from scipy import stats as distributions  # on use: 2.5 s of import (experiments/stats.py)

    series: dict[str, dict[str, list[float | None]]] = {}
    for label, cells in sorted(per_day.items()):
        hits = trials = 0
        mean, low, high = [], [], []
        for day in days:
            if day in cells:
                hits, trials = hits + cells[day][0], trials + cells[day][1]
            posterior = distributions.beta(1 + min(hits, trials), 1 + trials - min(hits, trials))
            mean.append(round(100 * float(posterior.mean()), 3) if trials else None)
            low.append(round(100 * float(posterior.ppf(0.025)), 3) if trials else None)
            high.append(round(100 * float(posterior.ppf(0.975)), 3) if trials else None)
        series[label] = {"mean": mean, "low": low, "high": high}
    return {
        "days": [d.isoformat() for d in days],
        "series": series,
        "source": "ads" if paid_split else "posts",
    }


def _paid_summary(experiment: Experiment) -> dict[str, Any] | None:
    """What the paid split was set up with, for its page (None for organic designs)."""
    settings = experiment.paid_split or {}
    if experiment.design != Experiment.Design.PAID_SPLIT or not settings.get("account"):
        return None
    account = AdAccount.objects.filter(pk=settings["account"], workspace=experiment.workspace).first()
    audience = settings.get("audience") or {}
    return {
        "account": account,
        "budget_minor": settings.get("budget_minor"),
        "lifetime": settings.get("budget_kind") == "lifetime",
        "days": settings.get("days"),
        "objective": dict(Boost.Objective.choices).get(settings.get("objective", ""), ""),
        "countries": ", ".join(audience.get("countries") or []),
        "age_min": audience.get("age_min"),
        "age_max": audience.get("age_max"),
        "study_id": settings.get("study_id") if settings.get("study") == "created" else "",
        "error": settings.get("error", ""),
    }


@workspace_view(Perm.VIEW_ANALYTICS)
def experiment_detail(request: HttpRequest, experiment_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    experiment = get_object_or_404(Experiment, pk=experiment_id, workspace=workspace)
    outcome = results.compute(experiment)
    posteriors = {p.label: p for p in outcome.posteriors}
    rows = []
    for variant in outcome.variants:
        posterior = posteriors.get(variant.label)
        rows.append(
            {
                "variant": variant,
                "rate": 100 * posterior.mean if posterior else None,
                "low": 100 * posterior.low if posterior else None,
                "high": 100 * posterior.high if posterior else None,
                "best": 100 * posterior.probability_best if posterior else None,
            }
        )
    return render(
        request,
        "experiments/detail.html",
        {
            "workspace": workspace,
            "experiment": experiment,
            "outcome": outcome,
            "rows": rows,
            "progress_percent": round(outcome.progress * 100),
            "placements": experiment.placements.select_related("variant", "target", "target__channel"),
            "chart": _chart(experiment),
            "paid": _paid_summary(experiment),
            "channels": workspace.channels.order_by("name"),
            "can_manage": can(membership_of(request).role, Perm.MANAGE_EXPERIMENTS),
        },
    )


@workspace_view(Perm.MANAGE_EXPERIMENTS, methods=("POST",))
def experiment_action(request: HttpRequest, experiment_id: int, action: str) -> HttpResponse:
    workspace = workspace_of(request)
    experiment = get_object_or_404(Experiment, pk=experiment_id, workspace=workspace)
    user = current_user(request)
    try:
        if action == "conclude":
            actions.conclude(experiment, actor=user)
            messages.success(request, _("The experiment is concluded and added to the learning log."))
        elif action == "stop":
            count = actions.stop(experiment, actor=user)
            messages.success(
                request, _("Stopped; %(count)s scheduled posts taken off the schedule.") % {"count": count}
            )
        elif action == "promote":
            channels = list(workspace.channels.filter(pk__in=request.POST.getlist("channels")))
            post = actions.promote(experiment, actor=user, channels=channels)
            messages.success(request, _("The winning variant is a new draft post."))
            first = post.targets.order_by("pk").values_list("pk", flat=True)[0]
            return redirect("publishing:target", slug=workspace.slug, target_id=first)
        else:
            return HttpResponse(status=404)
    except actions.ExperimentRefused as exc:
        messages.error(request, exc.message)
    return redirect("experiments:detail", slug=workspace.slug, experiment_id=experiment.pk)
