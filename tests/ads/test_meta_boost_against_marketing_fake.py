"""Boosting Facebook and Instagram posts against MetaMarketingFake (tests/ads/fakes.py): the exact
requests of each step, Meta's error shapes, and resuming after a crash at each step."""

from __future__ import annotations

import json

import httpx
import pytest

from chorus.ads import actions, creating
from chorus.ads.models import AdAccount, Boost, BoostStep, MonthSpend
from chorus.ads.refusals import AdsRefused
from chorus.connectors.base import RateLimited
from chorus.core.models import AuditEvent
from tests.ads.conftest import boost_values, published
from tests.ads.fakes import Fault, MetaMarketingFake, error


def test_it_reads_the_ad_account_from_meta(meta: MetaMarketingFake, meta_account: AdAccount) -> None:
    request = meta.sent[0]
    assert request.url.path.endswith("/act_1234")
    assert dict(request.url.params) == {
        "fields": "id,name,currency,timezone_name,account_status,spend_cap,min_daily_budget",
        "access_token": "system-user-token",
    }
    assert (meta_account.external_id, meta_account.currency, meta_account.timezone) == (
        "act_1234",
        "EUR",
        "Europe/Paris",
    )
    assert (meta_account.status, meta_account.spend_cap_minor, meta_account.min_daily_budget_minor) == (
        "active",
        None,
        100,
    )
    assert meta_account.credentials == {"access_token": "system-user-token"}
    assert "system-user-token" not in meta_account.credentials_encrypted  # encrypted at rest
    assert AuditEvent.objects.filter(action="ads.account_connected", object_id=str(meta_account.pk)).exists()


def test_it_creates_campaign_ad_set_creative_and_ad_with_the_documented_fields(
    cast, page, meta: MetaMarketingFake, meta_account: AdAccount, budget
) -> None:
    target = published(cast, page, "1111_2222")
    values = boost_values(meta_account, placements=["facebook:feed", "instagram:stream"])
    boost = actions.request_boost(target, actor=cast.owner, **values)
    assert creating.run(boost.pk) == "in_review"

    [campaign] = meta.creates("campaign")
    assert campaign == {
        "name": f"Chorus {boost.marker} campaign",
        "objective": "OUTCOME_ENGAGEMENT",
        "status": "ACTIVE",
        "special_ad_categories": "[]",  # always sent, empty when not a social-issue ad
        "is_adset_budget_sharing_enabled": "false",
    }
    [adset] = meta.creates("adset")
    campaign_id, adset_id, creative_id, ad_id = (
        meta.of(step)[0] for step in ("campaign", "adset", "creative", "ad")
    )
    assert adset["campaign_id"] == campaign_id
    assert adset["daily_budget"] == "1500"  # minor units: 15.00 EUR
    assert "lifetime_budget" not in adset
    assert (adset["billing_event"], adset["optimization_goal"]) == ("IMPRESSIONS", "POST_ENGAGEMENT")
    assert adset["start_time"] == boost.starts_at.astimezone(__import__("datetime").UTC).isoformat()
    assert json.loads(adset["targeting"]) == {
        "geo_locations": {"countries": ["US", "CA"]},
        "age_min": 25,
        "age_max": 54,
        "flexible_spec": [{"interests": [{"id": "6003107902433", "name": "Ocean"}]}],
        "publisher_platforms": ["facebook", "instagram"],
        "facebook_positions": ["feed"],
        "instagram_positions": ["stream"],
    }
    assert "dsa_beneficiary" not in adset  # no EU country in the audience
    [creative] = meta.creates("creative")
    assert creative == {"name": f"Chorus {boost.marker} creative", "object_story_id": "1111_2222"}
    [ad] = meta.creates("ad")
    assert ad == {
        "name": f"Chorus {boost.marker} ad",
        "adset_id": adset_id,
        "creative": json.dumps({"creative_id": creative_id}),
        "status": "ACTIVE",
    }
    assert all(r.url.params["access_token"] == "system-user-token" for r in meta.sent)
    steps = list(BoostStep.objects.filter(boost=boost).values_list("step", "state", "external_id"))
    assert steps == [
        ("campaign", "created", campaign_id),
        ("adset", "created", adset_id),
        ("creative", "created", creative_id),
        ("ad", "created", ad_id),
    ]
    boost.refresh_from_db()
    assert boost.status == Boost.Status.IN_REVIEW


def test_an_instagram_boost_uses_the_existing_media(cast, instagram, meta: MetaMarketingFake, budget) -> None:
    account = actions.connect_ad_account(
        cast.workspace, actor=cast.owner, channel=instagram, external_id="act_1234", access_token="t"
    )
    target = published(cast, instagram, "17895695668004550")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(account, objective="awareness"))
    creating.run(boost.pk)
    assert meta.creates("creative") == [
        {
            "name": f"Chorus {boost.marker} creative",
            "object_id": "1111",
            "instagram_user_id": "17841400000000001",
            "source_instagram_media_id": "17895695668004550",
        }
    ]
    assert meta.creates("campaign")[0]["objective"] == "OUTCOME_AWARENESS"
    assert json.loads(meta.creates("adset")[0]["targeting"])["publisher_platforms"] == ["instagram"]


def test_a_social_issue_boost_sends_the_category_and_authorization(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    values = boost_values(
        meta_account,
        social_issue=True,
        authorized=True,
        disclaimer="Seas Alive Foundation",
        budget_kind="lifetime",
        budget_minor=20_000,
    )
    boost = actions.request_boost(target, actor=cast.owner, **values)
    creating.run(boost.pk)
    campaign = meta.creates("campaign")[0]
    assert json.loads(campaign["special_ad_categories"]) == ["ISSUES_ELECTIONS_POLITICS"]
    assert json.loads(campaign["special_ad_category_country"]) == ["US", "CA"]
    assert meta.creates("creative")[0]["authorization_category"] == "POLITICAL"
    adset = meta.creates("adset")[0]
    assert adset["lifetime_budget"] == "20000" and "daily_budget" not in adset


def test_an_eu_audience_carries_the_dsa_beneficiary_and_payer(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    audience = {"countries": ["FR"], "age_min": 18, "age_max": 65}
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, audience=audience))
    creating.run(boost.pk)
    adset = meta.creates("adset")[0]
    assert (adset["dsa_beneficiary"], adset["dsa_payor"]) == ("Seas Alive", "Seas Alive ads")


# --- Meta's error shapes --------------------------------------------------------------------------
def test_a_budget_below_metas_minimum_fails_the_boost_with_metas_reason_and_frees_the_budget(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail(
        "adset",
        Fault(
            error(
                100,
                "Invalid parameter",
                subcode=1885272,
                error_user_title="Your Budget Is Too Low",
                error_user_msg="The minimum budget for this ad set is €1.00.",
            )
        ),
    )
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert MonthSpend.objects.get().reserved_minor > 0
    assert creating.run(boost.pk) == "failed"
    boost.refresh_from_db()
    assert boost.status == Boost.Status.FAILED
    assert boost.last_error_code == "content_rejected"
    assert "The minimum budget for this ad set is €1.00." in boost.last_error
    assert MonthSpend.objects.get().reserved_minor == 0  # nothing more will be spent: released
    assert AuditEvent.objects.filter(action="ads.boost_failed", object_id=str(boost.pk)).exists()


def test_an_expired_token_fails_the_boost_asking_to_reconnect(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail(
        "campaign",
        Fault(error(190, "Error validating access token: Session has expired", subcode=463, status=401)),
    )
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    creating.run(boost.pk)
    boost.refresh_from_db()
    assert (boost.status, boost.last_error_code) == (Boost.Status.FAILED, "auth_expired")
    assert meta.of("campaign") == []


def test_a_disapproved_ad_shows_as_rejected_with_metas_reason(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    meta.ad_status = "DISAPPROVED"
    meta.ad_feedback = {"global": {"Prohibited content": "Your ad goes against our advertising policies."}}
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert creating.run(boost.pk) == "rejected"
    boost.refresh_from_db()
    assert boost.status == Boost.Status.REJECTED
    assert boost.review_reason == "Your ad goes against our advertising policies."
    changed = AuditEvent.objects.get(action="ads.status_changed", object_id=str(boost.pk))
    assert changed.data["new"] == "rejected"
    assert cast.owner.notifications.filter(kind="ads.boost_rejected").exists()


def test_rate_limit_headers_hold_the_boost_and_it_resumes_later(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    usage = {
        "1234": [
            {
                "type": "ads_management",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    meta.fail(
        "adset",
        Fault(
            error(
                80004,
                "There have been too many calls to this ad-account.",
                headers={"x-business-use-case-usage": json.dumps(usage)},
            )
        ),
    )
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert creating.run(boost.pk) == "rate limited"
    boost.refresh_from_db()
    assert (boost.status, boost.last_error_code) == (Boost.Status.CREATING, "rate_limited")
    # Held for Meta's 7 minutes: the lease runs out then, not before.
    held_until = boost.claimed_at + creating.LEASE
    assert (
        6 * 60
        < (held_until - __import__("django.utils.timezone").utils.timezone.now()).total_seconds()
        <= 7 * 60
    )
    assert creating.run(boost.pk) == "not due"
    Boost.objects.filter(pk=boost.pk).update(claimed_at=None)
    assert creating.run(boost.pk) == "in_review"
    assert len(meta.of("campaign")) == 1 and len(meta.of("adset")) == 1


def test_the_graph_classifier_maps_the_rate_limit_to_rate_limited() -> None:
    from chorus.connectors.meta.graph import classify

    usage = {"1": [{"type": "ads_insights", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    answer = error(17, "User request limit reached", headers={"x-business-use-case-usage": json.dumps(usage)})
    found = classify(answer)
    assert isinstance(found, RateLimited) and found.retry_after == 180


# --- at most once: resume after a crash at each step ---------------------------------------------------
@pytest.mark.parametrize("step", ["campaign", "adset", "creative", "ad"])
def test_a_lost_answer_at_any_step_is_adopted_on_retry_never_sent_twice(
    cast, page, meta: MetaMarketingFake, meta_account, budget, step
) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail(step, Fault(after_apply=httpx.ReadTimeout("no answer")))
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert creating.run(boost.pk) == "retry"
    assert BoostStep.objects.get(boost=boost, step=step).state == BoostStep.State.SENDING
    assert creating.run(boost.pk) == "in_review"
    for each in ("campaign", "adset", "creative", "ad"):
        assert len(meta.of(each)) == 1, each  # one object per step at Meta
        assert len(meta.creates(each)) == 1, each  # the lost create was never resent
    created = boost.created_objects()
    assert created[step] == meta.of(step)[0]


@pytest.mark.parametrize("step", ["campaign", "adset", "creative", "ad"])
def test_a_worker_crash_after_a_create_resumes_from_the_last_created_object(
    cast, page, meta: MetaMarketingFake, meta_account, budget, step
) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail(step, Fault(after_apply=SystemExit("worker killed")))
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    with pytest.raises(SystemExit):
        creating.run(boost.pk)
    assert creating.run(boost.pk) == "not due"  # the dead worker's claim holds until its lease ends
    Boost.objects.filter(pk=boost.pk).update(claimed_at=boost.created_at - creating.LEASE)
    assert creating.run(boost.pk) == "in_review"
    for each in ("campaign", "adset", "creative", "ad"):
        assert len(meta.of(each)) == 1, each
        assert len(meta.creates(each)) == 1, each


def test_a_create_that_never_reached_meta_is_sent_again(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail(
        "adset",
        Fault(
            response=httpx.Response(
                503, json={"error": {"code": 2, "message": "Service temporarily unavailable"}}
            )
        ),
    )
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert creating.run(boost.pk) == "retry"
    assert creating.run(boost.pk) == "in_review"
    assert len(meta.creates("adset")) == 2 and len(meta.of("adset")) == 1


def test_a_boost_of_an_unpublished_post_is_refused(cast, page, meta, meta_account, budget) -> None:
    from tests.publishing.conftest import make_target

    target = make_target(cast, page)
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert refused.value.code == "not_published"


def test_reach_estimate_and_targeting_search(cast, page, meta, meta_account) -> None:
    from chorus.ads.creating import plan_for

    meta.search_results = [
        {"id": "6003107902433", "name": "Ocean", "audience_size_lower_bound": 1, "topic": "Science"}
    ]
    client = meta_account.client()
    assert client.search_targeting("interests", "ocean") == [
        {"key": "6003107902433", "name": "Ocean", "detail": "Science"}
    ]
    assert dict(meta.sent[-1].url.params)["type"] == "adinterest"
    target = published(cast, page, "1111_2222")
    boost = Boost(
        account=meta_account,
        target=target,
        workspace=cast.workspace,
        objective="awareness",
        budget_kind="daily",
        budget_minor=500,
        currency="EUR",
        starts_at=target.published_at,
        ends_at=target.published_at,
        audience={"countries": ["US"]},
    )
    assert client.reach_estimate(plan_for(boost)) == (41000, 48200)
    params = dict(meta.sent[-1].url.params)
    assert params["optimization_goal"] == "REACH"
    assert json.loads(params["targeting_spec"])["geo_locations"] == {"countries": ["US"]}


def test_a_failed_boost_retried_reuses_what_meta_already_created(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    meta.fail("creative", Fault(error(190, "Error validating access token", subcode=463, status=401)))
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert creating.run(boost.pk) == "failed"
    boost.refresh_from_db()
    assert MonthSpend.objects.get().reserved_minor == 0
    actions.retry_boost(boost, actor=cast.owner)
    assert MonthSpend.objects.get().reserved_minor == sum(boost.reserved.values()) > 0
    assert creating.run(boost.pk) == "in_review"
    assert len(meta.creates("campaign")) == 1 and len(meta.creates("adset")) == 1  # reused, not resent
    assert len(meta.of("creative")) == 1 and len(meta.of("ad")) == 1
    assert AuditEvent.objects.filter(action="ads.boost_retried", object_id=str(boost.pk)).exists()
