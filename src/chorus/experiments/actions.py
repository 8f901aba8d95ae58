"""Every state change of an experiment (STYLE.md: actions move, views and API call them).

Starting an experiment creates ordinary posts — one per placement — and schedules them through
`chorus.publishing.actions`, so they pass the same approvals, validation, link shortening and
engine as any post: a person who may not schedule directly gets them in review instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus import webhooks
from chorus.accounts.models import User, Workspace
from chorus.content.models import Post, PostTarget
from chorus.core import audit
from chorus.experiments import designs, paid, results, stats
from chorus.experiments.models import Experiment, Learning, Placement, Variant
from chorus.publishing import actions as publishing
from chorus.webhooks.events import experiment_data

VARIANT_LABELS = "ABCDEFGH"


class ExperimentRefused(Exception):
    """A user-facing refusal: the message says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class VariantInput:
    text: str
    media: Sequence[dict[str, Any]] = ()


def create_experiment(
    *,
    workspace: Workspace,
    actor: User,
    question: str,
    variants: Sequence[VariantInput],
    channels: Sequence[Any],
    metric: str = Experiment.Metric.ENGAGEMENT_RATE,
    design: str = Experiment.Design.ALTERNATION,
    baseline_rate: float = 2.0,
    minimum_effect: float = 0.4,
    paid_split: paid.PaidSplitInput | None = None,
) -> Experiment:
    if not question.strip():
        raise ExperimentRefused(_("Say what the experiment asks."))
    if not 2 <= len(variants) <= len(VARIANT_LABELS):
        raise ExperimentRefused(_("An experiment compares between 2 and 8 variants."))
    if any(not v.text.strip() and not v.media for v in variants):
        raise ExperimentRefused(_("Every variant needs a text or media."))
    if any(channel.workspace_id != workspace.pk for channel in channels):
        raise ExperimentRefused(_("A channel of another workspace cannot take part."))
    if design == Experiment.Design.ALTERNATION and len(channels) != 1:
        raise ExperimentRefused(_("An alternation runs on exactly one channel."))
    if design == Experiment.Design.CROSSOVER and len(channels) < 2:
        raise ExperimentRefused(_("A cross-over needs at least two comparable channels."))
    if design == Experiment.Design.PAID_SPLIT:
        _check_paid_split(workspace, channels, metric, paid_split)
    if metric != Experiment.Metric.ENGAGEMENTS_PER_FOLLOWER:
        try:
            stats.sample_size_per_variant(baseline_rate / 100, minimum_effect / 100)
        except ValueError:
            raise ExperimentRefused(
                _("The baseline rate and the minimum effect must give a rate between 0 % and 100 %.")
            ) from None
    with transaction.atomic():
        experiment = Experiment.objects.create(
            workspace=workspace,
            question=question.strip(),
            metric=metric,
            design=design,
            baseline_rate=baseline_rate,
            minimum_effect=minimum_effect,
            created_by=actor,
            paid_split=paid.settings_for(paid_split)
            if design == Experiment.Design.PAID_SPLIT and paid_split
            else {},
        )
        experiment.channels.set(channels)
        for label, variant in zip(VARIANT_LABELS, variants, strict=False):
            Variant.objects.create(
                experiment=experiment, label=label, text=variant.text, media=list(variant.media)
            )
        audit.record("experiment.created", workspace=workspace, actor=actor, obj=experiment)
    return experiment


def _check_paid_split(
    workspace: Workspace, channels: Sequence[Any], metric: str, settings: paid.PaidSplitInput | None
) -> None:
    if len(channels) != 1 or channels[0].kind not in paid.NETWORKS:
        raise ExperimentRefused(_("A paid split runs on exactly one Facebook Page or Instagram account."))
    if settings is None:
        raise ExperimentRefused(_("A paid split needs an ad account, a budget per variant and a duration."))
    if settings.account.workspace_id != workspace.pk or settings.account.channel_id != channels[0].pk:
        raise ExperimentRefused(_("Choose an ad account that advertises for this channel."))
    if settings.budget_minor <= 0 or settings.days < 1:
        raise ExperimentRefused(_("A paid split needs a positive budget per variant and at least one day."))
    if settings.objective not in paid.OBJECTIVES or settings.budget_kind not in paid.BUDGET_KINDS:
        raise ExperimentRefused(
            _("Choose an objective (awareness, engagement, traffic) and a daily or lifetime budget.")
        )
    if metric == Experiment.Metric.ENGAGEMENTS_PER_FOLLOWER:
        raise ExperimentRefused(
            _("A paid split compares rates per impression: choose engagement rate or click-through.")
        )


def registered_sample(experiment: Experiment) -> int | None:
    if experiment.metric == Experiment.Metric.ENGAGEMENTS_PER_FOLLOWER:
        return None
    return stats.sample_size_per_variant(
        experiment.baseline_rate / 100,
        experiment.minimum_effect / 100,
        alpha=experiment.alpha,
        power=experiment.power,
    )


def plan(experiment: Experiment, slots: Sequence[dt.datetime]) -> list[designs.Placement]:
    tz = ZoneInfo(experiment.workspace.timezone)
    variants = experiment.variants.count()
    channel_ids = sorted(experiment.channels.values_list("pk", flat=True))
    if experiment.design == Experiment.Design.CROSSOVER:
        placements, _swap = designs.crossover(slots, channel_ids=channel_ids, variants=variants)
        return placements
    if experiment.design == Experiment.Design.PAID_SPLIT:
        return designs.paid_split(slots, variants=variants, channel_id=channel_ids[0])
    return designs.alternation(slots, variants=variants, channel_id=channel_ids[0], tz=tz)


@transaction.atomic
def start(experiment: Experiment, *, actor: User, slots: Sequence[dt.datetime]) -> list[Placement]:
    """Registers the sample size, then creates and schedules one post per placement. All or
    nothing: a refused schedule (a network rule, a past time) leaves no post behind."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != Experiment.Status.DRAFT:
        raise ExperimentRefused(_("This experiment has already started."))
    if not slots:
        raise ExperimentRefused(_("Choose the times the variants will be published at."))
    now = timezone.now()
    if any(at <= now for at in slots):
        raise ExperimentRefused(_("Every slot must be in the future."))
    laid_out = plan(experiment, slots)
    variants = list(experiment.variants.all())
    channels = {c.pk: c for c in experiment.channels.all()}
    swap_at = (
        designs.crossover(slots, channel_ids=sorted(channels))[1]
        if experiment.design == Experiment.Design.CROSSOVER
        else None
    )
    created: list[Placement] = []
    for item in laid_out:
        variant = variants[item.variant]
        post = publishing.create_post(
            workspace=experiment.workspace,
            author=actor,
            channels=[channels[item.channel_id]],
            text=variant.text,
            title=_("Experiment: %(question)s — variant %(label)s")
            % {"question": experiment.question[:150], "label": variant.label},
        )
        target = post.targets.get()
        if variant.media:
            publishing.edit(target, actor=actor, media=list(variant.media))
        try:
            # In a savepoint: a refusal (an approval workflow applies, or the actor may not
            # schedule directly) leaves the draft as it was, and it goes to review instead.
            with transaction.atomic():
                publishing.schedule(target, actor=actor, when=item.at)
        except publishing.TransitionRefused:
            publishing.submit_for_review(target, actor=actor)
        created.append(
            Placement.objects.create(
                experiment=experiment,
                variant=variant,
                target=target,
                planned_at=item.at,
                period=2 if swap_at is not None and item.at >= swap_at else 1,
            )
        )
    Experiment.objects.filter(pk=experiment.pk, status=Experiment.Status.DRAFT).update(
        needed_per_variant=registered_sample(experiment), status=Experiment.Status.RUNNING, started_at=now
    )
    experiment.refresh_from_db()
    audit.record(
        "experiment.started",
        workspace=experiment.workspace,
        actor=actor,
        obj=experiment,
        placements=len(created),
        needed_per_variant=experiment.needed_per_variant,
    )
    return created


def place_approved_variants(now: dt.datetime | None = None) -> int:
    """Scheduler job: a variant sent to review (its author may not schedule directly) and since
    approved goes to the slot its design gave it, so the slot mix stays as planned. A slot
    already past is left alone (the post stays approved; the results count published posts)."""
    now = now or timezone.now()
    placed = 0
    waiting = Placement.objects.filter(
        experiment__status=Experiment.Status.RUNNING,
        target__status=PostTarget.Status.APPROVED,
        planned_at__gt=now,
    ).select_related("target", "target__workspace", "experiment")[:200]
    for placement in waiting:
        try:
            with transaction.atomic():
                publishing.schedule(placement.target, actor=None, when=placement.planned_at)
        except publishing.TransitionRefused:
            continue  # moved meanwhile (edited, unscheduled by hand): the person decides
        placed += 1
    return placed


def conclude(experiment: Experiment, *, actor: User | None) -> results.Results:
    """Records the conclusion once the stopping rule is met; refused before (never a winner
    before the horizon)."""
    outcome = results.compute(experiment)
    if not outcome.stopping_rule_met:
        raise ExperimentRefused(outcome.status_line or _("The experiment has not reached its sample yet."))
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status != Experiment.Status.RUNNING:
            raise ExperimentRefused(_("Only a running experiment can be concluded."))
        conclusion = {
            "winner": outcome.winner,
            "status": outcome.status_line,
            "p_value": outcome.horizon.p_value
            if outcome.horizon
            else (outcome.counts.p_value if outcome.counts else None),
            "variants": [
                {"label": v.label, "successes": v.successes, "trials": v.trials, "posts": v.posts_published}
                for v in outcome.variants
            ],
            "posteriors": [
                {"label": p.label, "mean": p.mean, "low": p.low, "high": p.high, "best": p.probability_best}
                for p in outcome.posteriors
            ],
        }
        Experiment.objects.filter(pk=locked.pk, status=Experiment.Status.RUNNING).update(
            status=Experiment.Status.CONCLUDED, concluded_at=timezone.now(), conclusion=conclusion
        )
        locked.refresh_from_db()
        learning = Learning.objects.create(
            workspace=locked.workspace, experiment=locked, summary=_learning_line(locked, outcome)
        )
        webhooks.emit(
            locked.workspace_id, "experiment.concluded", lambda: experiment_data(locked, learning.summary)
        )
        audit.record(
            "experiment.concluded",
            workspace=locked.workspace,
            actor=actor,
            obj=locked,
            winner=outcome.winner or "",
        )
    experiment.refresh_from_db()
    return outcome


def _learning_line(experiment: Experiment, outcome: results.Results) -> str:
    if outcome.winner is None:
        return _("%(question)s: no difference detected (%(design)s).") % {
            "question": experiment.question,
            "design": experiment.get_design_display(),
        }
    by_label = {p.label: p for p in outcome.posteriors}
    best = by_label.get(outcome.winner)
    others = [p.mean for p in outcome.posteriors if p.label != outcome.winner]
    if best is not None and others:
        return _(
            "%(question)s: variant %(label)s, %(delta)s points of %(metric)s, %(probability)s probability."
        ) % {
            "question": experiment.question,
            "label": outcome.winner,
            "delta": f"{(best.mean - max(others)) * 100:+.2f}",
            "metric": experiment.get_metric_display(),
            "probability": f"{best.probability_best:.0%}",
        }
    return _("%(question)s: variant %(label)s did better.") % {
        "question": experiment.question,
        "label": outcome.winner,
    }


def stop(experiment: Experiment, *, actor: User) -> int:
    """Stops a running experiment without a conclusion; its posts not yet published are taken
    off the schedule (they stay approved, to reuse or delete). Returns how many."""
    unscheduled = 0
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status != Experiment.Status.RUNNING:
            raise ExperimentRefused(_("Only a running experiment can be stopped."))
        for placement in locked.placements.select_related("target"):
            if placement.target.status == PostTarget.Status.SCHEDULED:
                publishing.unschedule(placement.target, actor=actor)
                unscheduled += 1
        Experiment.objects.filter(pk=locked.pk).update(status=Experiment.Status.STOPPED)
        audit.record(
            "experiment.stopped", workspace=locked.workspace, actor=actor, obj=locked, unscheduled=unscheduled
        )
    if locked.design == Experiment.Design.PAID_SPLIT:
        _stop_ads(locked, actor)
    return unscheduled


def _stop_ads(experiment: Experiment, actor: User) -> None:
    """A stopped paid split stops its ads (at the network, outside any transaction): no more
    spend on a test nobody will read. A refusal or a network error leaves that ad to the Ads page."""
    from chorus.ads import actions as ads
    from chorus.ads.models import Boost
    from chorus.ads.refusals import AdsRefused
    from chorus.connectors.base import PublishError

    for boost in paid.boosts_of(experiment).values():
        if boost.status in {Boost.Status.ACTIVE, Boost.Status.IN_REVIEW, Boost.Status.PAUSED}:
            try:
                ads.change_status(boost, actor=actor, change="stop")
            except (AdsRefused, PublishError):
                continue


def promote(experiment: Experiment, *, actor: User, channels: Sequence[Any]) -> Post:
    """The winning variant as a new draft post for the given channels (e.g. the remaining ones),
    to review and schedule like any post."""
    winner = (experiment.conclusion or {}).get("winner")
    if experiment.status != Experiment.Status.CONCLUDED or not winner:
        raise ExperimentRefused(_("Only a concluded experiment with a winner can be promoted."))
    if not channels:
        raise ExperimentRefused(_("Choose at least one channel."))
    variant = experiment.variants.get(label=winner)
    post = publishing.create_post(
        workspace=experiment.workspace, author=actor, channels=channels, text=variant.text
    )
    if variant.media:
        for target in post.targets.all():
            publishing.edit(target, actor=actor, media=list(variant.media))
    audit.record(
        "experiment.promoted", workspace=experiment.workspace, actor=actor, obj=experiment, post=post.pk
    )
    return post
