"""A paid split against the Meta Marketing API fake (tests/ads/fakes.py): every variant's post is
published through the engine, boosted identically through the ads app (budgets, approvals, at
most once), then one SPLIT_TEST study is created on the ad account's Business with one cell per
ad set — the exact requests asserted — and the results come from the ads' insights."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from django.utils import timezone

from chorus.ads import actions as ads
from chorus.ads import collect, creating
from chorus.ads.models import Boost, MonthSpend
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.experiments import actions, paid, results
from chorus.experiments.models import Experiment
from chorus.publishing import dispatch, engine
from tests.ads.conftest import AUDIENCE
from tests.ads.fakes import Fault, MetaMarketingFake

pytestmark = pytest.mark.django_db

QUESTION = "Does a photo of a person beat a landscape?"


def _experiment(cast, page, meta_account, **paid_values) -> Experiment:
    values = {"budget_minor": 2000, "days": 5, "audience": AUDIENCE, **paid_values}
    return actions.create_experiment(
        workspace=cast.workspace,
        actor=cast.owner,
        question=QUESTION,
        variants=[actions.VariantInput("A person, smiling"), actions.VariantInput("A wide landscape")],
        channels=[page],
        design=Experiment.Design.PAID_SPLIT,
        paid_split=paid.PaidSplitInput(account=meta_account, **values),
    )


def _start_and_publish(experiment: Experiment, actor) -> list[PostTarget]:
    """The variants' posts are scheduled, come due, and the real claim + engine publish them to
    the Page (POST /1111/feed at the fake)."""
    placements = actions.start(experiment, actor=actor, slots=[timezone.now() + dt.timedelta(hours=2)])
    ids = [p.target_id for p in placements]
    assert set(PostTarget.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"scheduled"}
    PostTarget.objects.filter(pk__in=ids).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, claimed = dispatch.claim_due()
    assert sorted(claimed) == sorted(ids)
    assert [engine.publish_one(pk, attempt_id) for pk in claimed] == ["published"] * len(ids)
    return [p.target for p in experiment.placements.select_related("target", "variant").order_by("variant")]


def _create_ads(experiment: Experiment) -> list[Boost]:
    boosts = sorted(paid.boosts_of(experiment).values(), key=lambda b: b.pk)
    for boost in boosts:
        assert creating.run(boost.pk) == "in_review"  # what the worker's create_boost task runs
    return boosts


def test_the_variants_become_identical_ads_in_one_split_test_with_the_exact_requests(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    experiment = _experiment(cast, page, meta_account)
    targets = _start_and_publish(experiment, cast.owner)
    posts = [t.external_id for t in targets]
    assert len(set(posts)) == 2 and all(p.startswith("1111_") for p in posts)

    assert paid.advance(experiment.pk) == "boosts requested"
    assert paid.advance(experiment.pk) == "waiting for boosts"  # no study before the ad sets exist
    assert meta.study_creates() == []
    boosts = _create_ads(experiment)
    assert paid.advance(experiment.pk) == "study created"
    assert paid.advance(experiment.pk) == "running"

    # Two campaigns, ad sets and ads; only the creative differs: each variant's own post.
    campaigns, adsets = meta.creates("campaign"), meta.creates("adset")
    assert len(campaigns) == len(adsets) == len(meta.creates("ad")) == 2
    assert {c["objective"] for c in campaigns} == {"OUTCOME_ENGAGEMENT"}
    assert {c["special_ad_categories"] for c in campaigns} == {"[]"}
    for adset in adsets:
        assert adset["daily_budget"] == "2000"  # equal budgets, minor units
        assert json.loads(adset["targeting"]) == {
            "geo_locations": {"countries": ["US", "CA"]},
            "age_min": 25,
            "age_max": 54,
            "flexible_spec": [{"interests": [{"id": "6003107902433", "name": "Ocean"}]}],
        }
    assert len({(a["start_time"], a["end_time"]) for a in adsets}) == 1  # the same schedule
    assert [c["object_story_id"] for c in meta.creates("creative")] == posts

    # The study: on the ad account's Business, type SPLIT_TEST, one cell per ad set, 50 / 50.
    assert any(r.method == "GET" and r.url.params.get("fields") == "business" for r in meta.sent)
    (study,) = meta.study_creates()
    adset_ids = [b.created_objects()["adset"] for b in boosts]
    assert set(study) == {"name", "description", "type", "start_time", "end_time", "cells"}
    assert study["name"] == paid.study_name(experiment)
    assert study["description"] == QUESTION
    assert study["type"] == "SPLIT_TEST"
    assert study["start_time"] == str(int(boosts[0].starts_at.timestamp()))
    assert study["end_time"] == str(int(boosts[0].ends_at.timestamp()))
    assert json.loads(study["cells"]) == [
        {"name": f"{study['name']} 1", "treatment_percentage": 50, "adsets": [adset_ids[0]]},
        {"name": f"{study['name']} 2", "treatment_percentage": 50, "adsets": [adset_ids[1]]},
    ]
    experiment.refresh_from_db()
    assert experiment.paid_split["study_id"] == meta.of("study")[0]
    assert AuditEvent.objects.filter(
        action="experiment.split_test_created", object_id=str(experiment.pk)
    ).exists()


def test_results_come_from_the_ads_insights_and_are_labelled_randomized(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    experiment = _experiment(cast, page, meta_account)
    _start_and_publish(experiment, cast.owner)
    paid.advance(experiment.pk)
    boosts = _create_ads(experiment)
    paid.advance(experiment.pk)
    day = timezone.localdate()

    def rows(impressions: int, engagements: int) -> list[dict]:
        return [
            {
                "date_start": (day - dt.timedelta(days=offset)).isoformat(),
                "date_stop": (day - dt.timedelta(days=offset)).isoformat(),
                "spend": "19.50",
                "impressions": str(impressions),
                "reach": str(impressions * 3 // 4),
                "clicks": "12",
                "inline_post_engagement": str(engagements),
                "actions": [],
            }
            for offset in (0, 1)
        ]

    def measure(a: tuple[int, int], b: tuple[int, int]) -> results.Results:
        for boost, figures in zip(boosts, (a, b), strict=True):
            meta.insight_rows_by_ad[boost.created_objects()["ad"]] = rows(*figures)
            Boost.objects.filter(pk=boost.pk).update(starts_at=timezone.now() - dt.timedelta(days=2))
            collect.collect(boost.pk)
        experiment.refresh_from_db()
        return results.compute(experiment)

    early = measure((3_000, 60), (3_000, 90))
    assert early.design_kind == "randomized"
    assert [(v.label, v.successes, v.trials) for v in early.variants] == [("A", 120, 6000), ("B", 180, 6000)]
    needed = experiment.needed_per_variant
    assert early.winner is None and not early.stopping_rule_met
    assert early.status_line == (
        f"Not enough data yet — about {needed - 6000:,} more impressions per variant from the split test."
    )

    late = measure((12_000, 240), (12_000, 330))  # 2.0 % vs 2.75 % over 24,000 impressions each
    assert [v.trials for v in late.variants] == [24_000, 24_000]
    outcome = actions.conclude(experiment, actor=cast.owner)
    assert outcome.winner == "B" and outcome.design_kind == "randomized"


def test_a_lost_answer_when_creating_the_study_never_makes_a_second_one(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    experiment = _experiment(cast, page, meta_account)
    _start_and_publish(experiment, cast.owner)
    paid.advance(experiment.pk)
    _create_ads(experiment)
    meta.fail("study", Fault(after_apply=httpx.ReadTimeout("no answer")))

    assert paid.advance(experiment.pk) == "retry"
    assert len(meta.of("study")) == 1  # Meta applied it; Chorus did not hear back
    assert paid.advance(experiment.pk) == "study created"  # found by its name, adopted

    assert len(meta.study_creates()) == 1 and len(meta.of("study")) == 1
    experiment.refresh_from_db()
    assert experiment.paid_split["study_id"] == meta.of("study")[0]


def test_a_crash_while_sending_the_study_waits_for_the_lease_then_looks_it_up(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    experiment = _experiment(cast, page, meta_account)
    _start_and_publish(experiment, cast.owner)
    paid.advance(experiment.pk)
    _create_ads(experiment)
    meta.fail("study", Fault(after_apply=SystemExit("worker killed")))

    with pytest.raises(SystemExit):
        paid.advance(experiment.pk)
    assert paid.advance(experiment.pk) == "busy"  # the dead worker's lease still holds
    experiment.refresh_from_db()
    stale = (timezone.now() - paid.LEASE - dt.timedelta(seconds=1)).isoformat()
    Experiment.objects.filter(pk=experiment.pk).update(
        paid_split={**experiment.paid_split, "study_sent_at": stale}
    )
    assert paid.advance(experiment.pk) == "study created"
    assert len(meta.study_creates()) == 1 and len(meta.of("study")) == 1


def test_above_the_threshold_both_ads_wait_for_an_approver_before_the_study(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    ads.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=5_000,
    )
    experiment = _experiment(cast, page, meta_account)  # 20.00 EUR a day for 5 days: 100.00 each
    _start_and_publish(experiment, cast.owner)

    assert paid.advance(experiment.pk) == "boosts requested"
    boosts = list(paid.boosts_of(experiment).values())
    assert {b.status for b in boosts} == {Boost.Status.AWAITING_APPROVAL}
    assert paid.advance(experiment.pk) == "waiting for boosts"
    assert meta.creates("campaign") == [] and meta.study_creates() == []

    for boost in boosts:
        ads.approve_boost(boost, actor=cast.members["approver"])
    _create_ads(experiment)
    assert paid.advance(experiment.pk) == "study created"


def test_when_the_budget_cannot_hold_every_variant_no_ad_is_requested(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    ads.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=15_000,
        approval_threshold_minor=None,
    )
    experiment = _experiment(cast, page, meta_account)  # two ads of up to 100.00 (or more) each
    _start_and_publish(experiment, cast.owner)

    assert paid.advance(experiment.pk) == "refused"
    assert not Boost.objects.filter(workspace=cast.workspace).exists()  # not one of the two
    assert sum(MonthSpend.objects.values_list("reserved_minor", flat=True)) == 0
    experiment.refresh_from_db()
    assert "monthly ad budget" in experiment.paid_split["error"]
    assert paid.advance(experiment.pk) == "stuck"
    assert meta.creates("campaign") == []


def test_a_paid_split_is_refused_where_it_cannot_run(cast, page, sink_channel, meta_account, budget) -> None:
    with pytest.raises(actions.ExperimentRefused, match="Facebook Page or Instagram"):
        actions.create_experiment(
            workspace=cast.workspace,
            actor=cast.owner,
            question=QUESTION,
            variants=[actions.VariantInput("a"), actions.VariantInput("b")],
            channels=[sink_channel],
            design=Experiment.Design.PAID_SPLIT,
            paid_split=paid.PaidSplitInput(
                account=meta_account, budget_minor=2000, days=5, audience=AUDIENCE
            ),
        )
    with pytest.raises(actions.ExperimentRefused, match="ad account"):
        actions.create_experiment(
            workspace=cast.workspace,
            actor=cast.owner,
            question=QUESTION,
            variants=[actions.VariantInput("a"), actions.VariantInput("b")],
            channels=[page],
            design=Experiment.Design.PAID_SPLIT,
        )


def test_stopping_a_paid_split_stops_its_ads(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    experiment = _experiment(cast, page, meta_account)
    _start_and_publish(experiment, cast.owner)
    paid.advance(experiment.pk)
    boosts = _create_ads(experiment)

    actions.stop(experiment, actor=cast.owner)

    assert {Boost.objects.get(pk=b.pk).status for b in boosts} == {Boost.Status.STOPPED}
    campaigns = [b.created_objects()["campaign"] for b in boosts]
    assert all(meta.objects[c]["fields"]["status"] == "ARCHIVED" for c in campaigns)


def test_the_api_creates_a_paid_split_and_reports_it_randomized(
    cast, page, meta: MetaMarketingFake, meta_account, budget
) -> None:
    from chorus.accounts.models import ApiToken

    _token, raw = ApiToken.issue(cast.owner, "tests")
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/workspaces/{cast.workspace.slug}/experiments"
    payload = {
        "question": QUESTION,
        "design": "paid_split",
        "channel_ids": [page.pk],
        "variants": [{"text": "A person, smiling"}, {"text": "A wide landscape"}],
        "slots": [(timezone.now() + dt.timedelta(hours=2)).isoformat()],
        "paid_split": {
            "ad_account_id": meta_account.pk,
            "budget_minor": 2000,
            "days": 5,
            "audience": AUDIENCE,
        },
    }
    client = cast.client_for(None)

    created = client.post(url, payload, content_type="application/json", headers=headers)

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["design"], body["design_kind"], body["status"]) == ("paid_split", "randomized", "running")
    experiment = Experiment.objects.get(pk=body["id"])
    assert experiment.paid_split == {
        "account": meta_account.pk,
        "objective": "engagement",
        "budget_kind": "daily",
        "budget_minor": 2000,
        "days": 5,
        "audience": AUDIENCE,
    }
    missing = client.post(
        url,
        {**payload, "paid_split": {**payload["paid_split"], "ad_account_id": meta_account.pk + 999}},
        content_type="application/json",
        headers=headers,
    )
    assert missing.status_code == 422 and "ad account" in missing.json()["detail"]
    wrong = client.post(
        url,
        {**payload, "paid_split": {**payload["paid_split"], "objective": "conversions"}},
        content_type="application/json",
        headers=headers,
    )
    assert wrong.status_code == 422 and "objective" in wrong.json()["detail"]
    assert Experiment.objects.count() == 1
