"""What an experiment has measured so far, and what may be concluded from it (reads only).

Numbers come from the analytics app's latest metrics of each placement's published post. A rate
metric needs a denominator the network reports (impressions): where a channel gives none, the
variant has no trials and the page says so instead of inventing them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus.analytics.models import AccountDaily, PostMetrics
from chorus.content.models import PostTarget
from chorus.experiments import stats
from chorus.experiments.models import Experiment, Placement

# Most interactions come in a post's first two days: counts are compared once they settled.
MATURITY = dt.timedelta(days=2)


@dataclass
class VariantFigures:
    label: str
    posts_planned: int = 0
    posts_published: int = 0
    successes: int = 0
    trials: int = 0
    exposure: float = 0.0  # followers × posts, for counts without a denominator


@dataclass
class Results:
    experiment: Experiment
    variants: list[VariantFigures]
    design_kind: str  # "observational" (organic designs) or "randomized" (paid splits)
    needed_per_variant: int | None
    horizon: stats.FixedHorizon | None = None
    posteriors: list[stats.Posterior] = field(default_factory=list)
    counts: stats.CountComparison | None = None
    status_line: str = ""
    winner: str | None = None
    stopping_rule_met: bool = False
    """The registered rule allows a decision (a winner or "no difference"); never before."""

    @property
    def progress(self) -> float:
        """Share of the registered sample reached by the variant furthest from it (0..1)."""
        if not self.needed_per_variant:
            return 0.0
        return min(1.0, min(v.trials for v in self.variants) / self.needed_per_variant)


def _metric_values(experiment: Experiment, metrics: PostMetrics) -> tuple[int, int]:
    if experiment.metric == Experiment.Metric.CLICK_THROUGH:
        return int(metrics.link_clicks or 0), int(metrics.impressions or 0)
    return int(metrics.engagement or 0), int(metrics.impressions or 0)


def _followers_at(channel_id: int, when: dt.datetime) -> int:
    row = (
        AccountDaily.objects.filter(channel_id=channel_id, taken_at__lte=when, followers__isnull=False)
        .order_by("-taken_at")
        .values_list("followers", flat=True)
        .first()
    )
    return int(row or 0)


def _paid_figures(experiment: Experiment) -> list[VariantFigures]:
    """A paid split's numbers are its ads' results (the split test's cells), not the posts'."""
    from chorus.experiments import paid

    by_variant = {v.pk: VariantFigures(v.label) for v in experiment.variants.all()}
    totals = paid.insight_totals(experiment)
    for placement in Placement.objects.filter(experiment=experiment).select_related("target"):
        row = by_variant[placement.variant_id]
        row.posts_planned += 1
        if placement.target.status == PostTarget.Status.PUBLISHED:
            row.posts_published += 1
        measured = totals.get(placement.pk)
        if measured is None:
            continue
        key = "clicks" if experiment.metric == Experiment.Metric.CLICK_THROUGH else "engagements"
        row.successes += measured[key]
        row.trials += measured["impressions"]
    return list(by_variant.values())


def figures(experiment: Experiment) -> list[VariantFigures]:
    if experiment.design == Experiment.Design.PAID_SPLIT:
        return _paid_figures(experiment)
    by_variant = {v.pk: VariantFigures(v.label) for v in experiment.variants.all()}
    placements = Placement.objects.filter(experiment=experiment).select_related("target")
    metrics = {
        m.target_id: m
        for m in PostMetrics.objects.filter(target__experiment_placement__experiment=experiment)
    }
    for placement in placements:
        row = by_variant[placement.variant_id]
        row.posts_planned += 1
        target = placement.target
        if target.status != PostTarget.Status.PUBLISHED:
            continue
        row.posts_published += 1
        measured = metrics.get(target.pk)
        if measured is None:
            continue
        successes, trials = _metric_values(experiment, measured)
        row.successes += successes
        row.trials += trials
        if experiment.metric == Experiment.Metric.ENGAGEMENTS_PER_FOLLOWER:
            row.exposure += _followers_at(target.channel_id, target.published_at or placement.planned_at)
    return list(by_variant.values())


def compute(experiment: Experiment) -> Results:
    rows = figures(experiment)
    result = Results(
        experiment=experiment,
        variants=rows,
        design_kind="randomized" if experiment.design == Experiment.Design.PAID_SPLIT else "observational",
        needed_per_variant=experiment.needed_per_variant,
    )
    if len(rows) < 2:
        result.status_line = _("An experiment needs at least two variants.")
        return result
    if experiment.metric == Experiment.Metric.ENGAGEMENTS_PER_FOLLOWER:
        return _counts(result)
    if experiment.design == Experiment.Design.PAID_SPLIT and any(v.trials == 0 for v in rows):
        result.status_line = (experiment.paid_split or {}).get("error") or _(
            "Not enough data yet: the split test's ads have no impressions so far."
        )
        return result
    if any(v.trials == 0 for v in rows):
        result.status_line = _(
            "Not enough data yet: a variant has no impressions measured (Bluesky and Mastodon do not "
            "report impressions; use “engagements per follower” for them)."
        )
        return result
    arms = [stats.Arm(v.label, min(v.successes, v.trials), v.trials) for v in rows]
    result.posteriors = stats.posteriors(arms)
    needed = experiment.needed_per_variant or 0
    result.horizon = stats.fixed_horizon(arms, needed, alpha=experiment.alpha)
    result.stopping_rule_met = result.horizon.reached
    if not result.horizon.reached and experiment.design == Experiment.Design.PAID_SPLIT:
        result.status_line = _(
            "Not enough data yet — about %(impressions)s more impressions per variant from the split test."
        ) % {"impressions": number_format(result.horizon.missing_trials, force_grouping=True)}
    elif not result.horizon.reached:
        published = sum(v.posts_published for v in rows)
        per_post = (sum(v.trials for v in rows) / published) if published else 0
        more_posts = int(-(-result.horizon.missing_trials // per_post)) if per_post else 0
        result.status_line = ngettext(
            "Not enough data yet — about %(posts)s more post per variant (%(impressions)s impressions).",
            "Not enough data yet — about %(posts)s more posts per variant (%(impressions)s impressions).",
            more_posts,
        ) % {
            "posts": more_posts,
            "impressions": number_format(result.horizon.missing_trials, force_grouping=True),
        }
    elif result.horizon.leader:
        result.winner = result.horizon.leader
        result.status_line = _("%(label)s performed better (p = %(p)s, registered test at its horizon).") % {
            "label": result.horizon.leader,
            "p": f"{result.horizon.p_value:.3f}",
        }
    else:
        result.status_line = _(
            "No difference large enough to detect: the variants did not differ by the minimum effect."
        )
    return result


def _counts(result: Results) -> Results:
    rows = result.variants
    if len(rows) != 2:
        result.status_line = _("Counts with exposure compare exactly two variants.")
        return result
    comparison = stats.compare_counts(
        (rows[0].successes, rows[1].successes),
        (rows[0].exposure, rows[1].exposure) if rows[0].exposure and rows[1].exposure else None,
    )
    result.counts = comparison
    # The stopping rule of a count comparison: every planned post published and its counts
    # settled (MATURITY after the last one). No winner before, however the numbers look.
    remaining = sum(v.posts_planned - v.posts_published for v in rows)
    last = (
        Placement.objects.filter(experiment=result.experiment, target__published_at__isnull=False)
        .order_by("-target__published_at")
        .values_list("target__published_at", flat=True)
        .first()
    )
    if remaining or last is None or timezone.now() - last < MATURITY:
        result.status_line = ngettext(
            "Not enough data yet — %(count)s planned post still to publish and measure.",
            "Not enough data yet — %(count)s planned posts still to publish and measure.",
            max(remaining, 1),
        ) % {"count": max(remaining, 1)}
        return result
    result.stopping_rule_met = comparison.can_conclude
    if not comparison.can_conclude:
        result.status_line = _("Cannot conclude: no follower counts for these posts yet.")
    elif comparison.p_value is not None and comparison.p_value < result.experiment.alpha:
        better = rows[1] if (comparison.rate_ratio or 0) > 1 else rows[0]
        result.winner = better.label
        result.status_line = _("%(label)s drew more engagement per follower (exact test, p = %(p)s).") % {
            "label": better.label,
            "p": f"{comparison.p_value:.3f}",
        }
    else:
        result.status_line = _("No difference shown between the variants so far.")
    return result
