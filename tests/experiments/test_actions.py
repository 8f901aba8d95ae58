"""An experiment's life: its posts go through approvals and the engine like any post; no winner
before the registered horizon; the conclusion feeds the learning log; the winner is promoted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from chorus.analytics.collect import store_post_snapshot
from chorus.channels.actions import connect_channel
from chorus.content.models import Post, PostTarget
from chorus.core.models import AuditEvent
from chorus.experiments import actions, results
from chorus.experiments.models import Experiment, Learning
from chorus.publishing import actions as publishing
from chorus.publishing import dispatch, engine

pytestmark = pytest.mark.django_db
S = PostTarget.Status


def _slots(count: int) -> list[dt.datetime]:
    first = timezone.now() + dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range(count)]


def _experiment(cast, channel, **extra) -> Experiment:
    return actions.create_experiment(
        workspace=cast.workspace,
        actor=cast.owner,
        question="Does a photo of a person beat a landscape?",
        variants=[actions.VariantInput("A person, smiling"), actions.VariantInput("A wide landscape")],
        channels=[channel],
        **extra,
    )


def _publish_everything(experiment: Experiment) -> None:
    """The slots come due (moved to the past), and the real claim + engine publish them."""
    ids = list(experiment.placements.values_list("target_id", flat=True))
    PostTarget.objects.filter(pk__in=ids).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, claimed = dispatch.claim_due()
    assert sorted(claimed) == sorted(ids)
    assert [engine.publish_one(pk, attempt_id) for pk in claimed] == ["published"] * len(ids)


def _measure(experiment: Experiment, per_variant: dict[str, tuple[int, int]]) -> None:
    """Engagements and impressions of each variant, spread over its posts."""
    for placement in experiment.placements.select_related("target", "variant"):
        engagements, impressions = per_variant[placement.variant.label]
        posts = experiment.placements.filter(variant=placement.variant).count()
        store_post_snapshot(
            PostTarget.objects.select_related("workspace", "channel", "post").get(pk=placement.target_id),
            {"likes": engagements // posts, "impressions": impressions // posts},
        )


def test_starting_schedules_every_placement_through_the_publishing_actions(cast, sink_channel):
    experiment = _experiment(cast, sink_channel)
    placements = actions.start(experiment, actor=cast.owner, slots=_slots(6))

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING
    assert 20_500 <= experiment.needed_per_variant <= 21_500  # 2 % → 2.4 %, registered once
    assert [p.variant.label for p in placements].count("A") == 3
    assert {p.target.status for p in placements} == {S.SCHEDULED}
    scheduled = AuditEvent.objects.filter(action="target.scheduled", actor=cast.owner).count()
    assert scheduled == 6


def test_a_person_who_may_not_schedule_directly_sends_the_variants_to_review(cast, sink_channel):
    experiment = _experiment(cast, sink_channel)
    contributor = cast.members["contributor"]

    placements = actions.start(experiment, actor=contributor, slots=_slots(4))

    assert {PostTarget.objects.get(pk=p.target_id).status for p in placements} == {S.IN_REVIEW}


def test_no_winner_before_the_horizon_then_a_conclusion_and_a_promotion(cast, sink_channel):
    experiment = _experiment(cast, sink_channel)
    actions.start(experiment, actor=cast.owner, slots=_slots(4))
    _publish_everything(experiment)
    experiment.refresh_from_db()

    _measure(experiment, {"A": (100, 5_000), "B": (160, 5_000)})
    early = results.compute(experiment)
    assert early.winner is None and not early.horizon.reached
    assert (
        "Not enough data yet — about" in early.status_line and "more posts per variant" in early.status_line
    )
    with pytest.raises(actions.ExperimentRefused, match="Not enough data yet"):
        actions.conclude(experiment, actor=cast.owner)

    _measure(experiment, {"A": (440, 22_000), "B": (600, 22_000)})  # 2.0 % vs 2.7 %
    outcome = actions.conclude(experiment, actor=cast.owner)

    assert outcome.winner == "B"
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.CONCLUDED and experiment.conclusion["winner"] == "B"
    learning = Learning.objects.get(experiment=experiment)
    assert "variant B" in learning.summary and "probability" in learning.summary

    post = actions.promote(experiment, actor=cast.owner, channels=[sink_channel])
    assert Post.objects.get(pk=post.pk).targets.get().text == "A wide landscape"
    assert post.targets.get().status == S.DRAFT


def test_stopping_takes_the_unpublished_variants_off_the_schedule(cast, sink_channel):
    experiment = _experiment(cast, sink_channel)
    actions.start(experiment, actor=cast.owner, slots=_slots(4))

    assert actions.stop(experiment, actor=cast.owner) == 4
    assert set(
        PostTarget.objects.filter(experiment_placement__experiment=experiment).values_list(
            "status", flat=True
        )
    ) == {S.APPROVED}


def test_bad_experiments_are_refused_with_a_reason(cast, sink_channel):
    with pytest.raises(actions.ExperimentRefused, match="between 2 and 8"):
        actions.create_experiment(
            workspace=cast.workspace,
            actor=cast.owner,
            question="Q",
            variants=[actions.VariantInput("x")],
            channels=[sink_channel],
        )
    experiment = _experiment(cast, sink_channel)
    with pytest.raises(actions.ExperimentRefused, match="future"):
        actions.start(experiment, actor=cast.owner, slots=[timezone.now() - dt.timedelta(hours=1)])
    assert not PostTarget.objects.filter(post__workspace=cast.workspace).exists()


def test_variants_sent_to_review_are_approved_then_placed_at_their_slots_and_published(cast, sink_channel):
    experiment = _experiment(cast, sink_channel)
    slots = _slots(4)
    placements = actions.start(experiment, actor=cast.members["contributor"], slots=slots)
    assert {PostTarget.objects.get(pk=p.target_id).status for p in placements} == {S.IN_REVIEW}

    assert actions.place_approved_variants() == 0  # nothing approved yet: nothing scheduled
    approver = cast.members["approver"]
    for placement in placements:
        publishing.approve(PostTarget.objects.get(pk=placement.target_id), actor=approver)
    assert actions.place_approved_variants() == 4
    for placement in placements:
        target = PostTarget.objects.get(pk=placement.target_id)
        assert (target.status, target.scheduled_at) == (S.SCHEDULED, placement.planned_at)

    _publish_everything(experiment)
    for placement in placements:
        trail = list(
            AuditEvent.objects.filter(object_id=str(placement.target_id), action__startswith="target.")
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert trail == [
            "target.submitted",
            "target.approved",
            "target.scheduled",
            "target.claimed",
            "target.published",
        ], trail
    assert actions.place_approved_variants() == 0


def test_a_cross_over_swaps_the_variants_between_channels_at_the_middle(cast, sink_channel):
    other = connect_channel(
        workspace=cast.workspace,
        kind="sink",
        name="Sink (FR)",
        config={},
        credentials={"token": "secret-token-2"},
        actor=cast.owner,
    )
    experiment = actions.create_experiment(
        workspace=cast.workspace,
        actor=cast.owner,
        question="Does a question in the first line draw more replies?",
        variants=[actions.VariantInput("Did you know?"), actions.VariantInput("Here is what we found.")],
        channels=[sink_channel, other],
        design=Experiment.Design.CROSSOVER,
    )
    slots = _slots(6)
    placements = actions.start(experiment, actor=cast.owner, slots=slots)
    swap_at = slots[3]

    assert len(placements) == 12
    for placement in placements:
        assert placement.period == (1 if placement.planned_at < swap_at else 2)
        assert placement.target.scheduled_at == placement.planned_at
    first, second = sorted([sink_channel.pk, other.pk])
    labels = {
        (p.target.channel_id, p.period): {
            q.variant.label
            for q in placements
            if (q.target.channel_id, q.period) == (p.target.channel_id, p.period)
        }
        for p in placements
    }
    assert labels == {(first, 1): {"A"}, (first, 2): {"B"}, (second, 1): {"B"}, (second, 2): {"A"}}
    _publish_everything(experiment)
    assert set(
        PostTarget.objects.filter(experiment_placement__experiment=experiment).values_list(
            "status", flat=True
        )
    ) == {S.PUBLISHED}
