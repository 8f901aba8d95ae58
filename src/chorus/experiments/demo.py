"""The sample workspace's experiments (`chorus demo`): one concluded, one running.

The concluded one alternated two photo styles on the sample website over past posts whose
invented numbers are set here so that the registered test is met; the running one has two
published posts per variant and more scheduled on the simulated network.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils import timezone

from chorus.accounts.models import User, Workspace
from chorus.analytics.collect import store_post_snapshot
from chorus.analytics.models import PostMetrics
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.experiments import actions
from chorus.experiments.models import Experiment, Placement

IMPRESSIONS_PER_POST = 400


def _attach(
    experiment: Experiment,
    rows: list[PostMetrics],
    rates: dict[str, float],
    impressions: int = IMPRESSIONS_PER_POST,
) -> None:
    """Past published posts become the experiment's placements, alternately A and B, with
    engagement at the given rate per impression."""
    variants = {v.label: v for v in experiment.variants.all()}
    for index, row in enumerate(rows):
        label = "AB"[index % 2]
        engagement = round(impressions * rates[label])
        # A newer snapshot, through the collector's own path: raw snapshots, latest metrics and
        # (rebuilt by the demo afterwards) rollups agree.
        store_post_snapshot(
            row.target,
            {"impressions": impressions, "reach": round(impressions * 0.8), "comments": engagement},
            refresh_rollups=False,  # load_demo rebuilds every rollup after the experiments
        )
        Placement.objects.create(
            experiment=experiment,
            variant=variants[label],
            target_id=row.target_id,
            planned_at=row.published_at,
        )


def _conclude(experiment: Experiment, owner: User, past: list[PostMetrics]) -> None:
    Experiment.objects.filter(pk=experiment.pk).update(
        status=Experiment.Status.RUNNING,
        started_at=min(r.published_at for r in past),
        needed_per_variant=actions.registered_sample(experiment),
    )
    experiment.refresh_from_db()
    actions.conclude(experiment, actor=owner)


def load(workspace: Workspace, owner: User) -> None:
    channels = {c.name: c for c in Channel.objects.filter(workspace=workspace, kind="wordpress")}
    news, stories = channels.get("Website · News"), channels.get("Website · Stories (FR)")
    if news is None or stories is None:
        return
    concluded = actions.create_experiment(
        workspace=workspace,
        actor=owner,
        question="Does a portrait of the storyteller beat a landscape photo?",
        variants=[
            actions.VariantInput("Landscape photo, story below"),
            actions.VariantInput("Portrait of the storyteller"),
        ],
        channels=[news],
        baseline_rate=4.0,
        minimum_effect=2.0,
    )
    past = list(
        PostMetrics.objects.filter(channel=news).select_related("target").order_by("-published_at")[:24]
    )
    if len(past) < 4:
        concluded.delete()
    else:
        # Enough impressions per post for the registered sample (a short demo has few posts).
        needed = actions.registered_sample(concluded) or 0
        per_post = max(IMPRESSIONS_PER_POST, math.ceil(needed * 1.1 / (len(past) // 2)))
        _attach(concluded, past, {"A": 0.04, "B": 0.075}, impressions=per_post)
        _conclude(concluded, owner, past)

    running = actions.create_experiment(
        workspace=workspace,
        actor=owner,
        question="Does a question in the first line draw more comments?",
        variants=[
            actions.VariantInput("A statement opens the post"),
            actions.VariantInput("Who has a story like this?"),
        ],
        channels=[stories],
        baseline_rate=4.0,
        minimum_effect=2.0,
    )
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    actions.start(running, actor=owner, slots=[first + dt.timedelta(days=i) for i in range(6)])
    recent = list(
        PostMetrics.objects.filter(channel=stories, target__status=PostTarget.Status.PUBLISHED).order_by(
            "-published_at"
        )[:4]
    )
    _attach(running, recent, {"A": 0.04, "B": 0.05})
