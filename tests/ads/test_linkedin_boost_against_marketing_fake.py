"""Boosting LinkedIn organization posts against LinkedInAdsFake (tests/ads/fakes.py): the exact
requests (campaign group -> campaign -> creative), LinkedIn's error shapes, resume after a crash."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from chorus.ads import actions, collect, creating
from chorus.ads.models import AdAccount, AdInsightDay, Boost
from chorus.ads.refusals import AdsRefused
from tests.ads.conftest import boost_values, published
from tests.ads.fakes import Fault, LinkedInAdsFake

SHARE = "urn:li:share:7012345678901234567"
LOCATIONS = [{"key": "urn:li:geo:103644278", "name": "United States"}]
AUDIENCE = {
    "regions": LOCATIONS,
    "age_min": 25,
    "age_max": 54,
    "genders": ["female"],
    "interests": [{"key": "urn:li:interest:637", "name": "Climate change"}],
}


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_it_reads_the_linkedin_ad_account(linkedin: LinkedInAdsFake, linkedin_account: AdAccount) -> None:
    request = linkedin.sent[0]
    assert request.url.path == "/rest/adAccounts/512345678"
    assert request.headers["Authorization"] == "Bearer li-access-1"
    assert request.headers["LinkedIn-Version"] and request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert (linkedin_account.currency, linkedin_account.timezone, linkedin_account.status) == (
        "EUR",
        "UTC",
        "active",
    )


def test_it_creates_group_campaign_and_creative_with_the_documented_bodies(
    cast, organization, linkedin: LinkedInAdsFake, linkedin_account, budget
) -> None:
    target = published(cast, organization, SHARE)
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE, budget_minor=2550)
    )
    assert creating.run(boost.pk) == "in_review"
    schedule = {"start": _ms(boost.starts_at), "end": _ms(boost.ends_at)}
    group_id, campaign_id, creative_id = (
        linkedin.of(s)[0] for s in ("campaign_group", "campaign", "creative")
    )
    assert linkedin.creates("campaign_group") == [
        {
            "account": "urn:li:sponsoredAccount:512345678",
            "name": f"Chorus {boost.marker} campaign_group",
            "status": "ACTIVE",
            "runSchedule": schedule,
        }
    ]
    assert linkedin.creates("campaign") == [
        {
            "account": "urn:li:sponsoredAccount:512345678",
            "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group_id}",
            "name": f"Chorus {boost.marker} campaign",
            "type": "SPONSORED_UPDATES",
            "costType": "CPM",
            "objectiveType": "ENGAGEMENT",
            "dailyBudget": {"amount": "25.50", "currencyCode": "EUR"},  # LinkedIn's Money: a decimal string
            "locale": {"country": "US", "language": "en"},
            "offsiteDeliveryEnabled": False,
            "politicalIntent": "NOT_POLITICAL",
            "runSchedule": schedule,
            "status": "ACTIVE",
            "targetingCriteria": {
                "include": {
                    "and": [
                        {"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:103644278"]}},
                        {
                            "or": {
                                "urn:li:adTargetingFacet:ageRanges": [
                                    "urn:li:ageRange:(25,34)",
                                    "urn:li:ageRange:(35,54)",
                                ]
                            }
                        },
                        {"or": {"urn:li:adTargetingFacet:genders": ["urn:li:gender:FEMALE"]}},
                        {"or": {"urn:li:adTargetingFacet:interests": ["urn:li:interest:637"]}},
                    ]
                }
            },
        }
    ]
    assert linkedin.creates("creative") == [
        {
            "campaign": f"urn:li:sponsoredCampaign:{campaign_id}",
            "content": {"reference": SHARE},
            "intendedStatus": "ACTIVE",
        }
    ]
    assert boost.created_objects() == {
        "campaign_group": group_id,
        "campaign": campaign_id,
        "creative": f"urn:li:sponsoredCreative:{creative_id}",
    }


@pytest.mark.parametrize("step", ["campaign_group", "campaign", "creative"])
def test_a_lost_answer_at_any_step_never_makes_a_second_object(
    cast, organization, linkedin: LinkedInAdsFake, linkedin_account, budget, step
) -> None:
    target = published(cast, organization, SHARE)
    linkedin.fail(step, Fault(after_apply=httpx.ReadTimeout("no answer")))
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE)
    )
    assert creating.run(boost.pk) == "retry"
    assert creating.run(boost.pk) == "in_review"
    for each in ("campaign_group", "campaign", "creative"):
        assert len(linkedin.of(each)) == 1, each
        assert len(linkedin.creates(each)) == 1, each


def test_an_expired_token_and_a_daily_limit_are_told_apart(
    cast, organization, linkedin, linkedin_account, budget
) -> None:
    target = published(cast, organization, SHARE)
    linkedin.fail(
        "campaign_group",
        Fault(httpx.Response(429, json={"status": 429, "message": "Resource level throttle"})),
    )
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE)
    )
    assert creating.run(boost.pk) == "rate limited"
    Boost.objects.filter(pk=boost.pk).update(claimed_at=None)
    linkedin.fail(
        "campaign_group",
        Fault(
            httpx.Response(
                401,
                json={
                    "status": 401,
                    "code": "EXPIRED_ACCESS_TOKEN",
                    "message": "The token used in the request has expired",
                },
            )
        ),
    )
    assert creating.run(boost.pk) == "failed"
    boost.refresh_from_db()
    assert boost.last_error_code == "auth_expired" and "expired" in boost.last_error


def test_linkedin_minimum_budget_is_checked_before_sending(
    cast, organization, linkedin, linkedin_account, budget
) -> None:
    target = published(cast, organization, SHARE)
    sent = len(linkedin.sent)
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE, budget_minor=500)
        )
    assert refused.value.code == "below_daily_minimum"
    assert (
        refused.value.message
        == "LinkedIn needs a daily budget of at least 10.00 EUR; this boost has 5.00 EUR."
    )
    assert len(linkedin.sent) == sent  # nothing was sent


def test_linkedin_refuses_political_boosts_before_sending(
    cast, organization, linkedin, linkedin_account, budget
) -> None:
    target = published(cast, organization, SHARE)
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target,
            actor=cast.owner,
            **boost_values(
                linkedin_account,
                audience=AUDIENCE,
                social_issue=True,
                authorized=True,
                disclaimer="Chorus Foundation",
            ),
        )
    assert refused.value.code == "political_linkedin"


def test_pause_resume_and_budget_changes_are_partial_updates(
    cast, organization, linkedin, linkedin_account, budget
) -> None:
    target = published(cast, organization, SHARE)
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE)
    )
    creating.run(boost.pk)
    boost.refresh_from_db()
    campaign_id = linkedin.of("campaign")[0]
    actions.change_status(boost, actor=cast.owner, change="pause")
    patch = linkedin.sent[-1]
    assert patch.url.path == f"/rest/adAccounts/512345678/adCampaigns/{campaign_id}"
    assert patch.headers["X-RestLi-Method"] == "PARTIAL_UPDATE"
    assert linkedin.objects[campaign_id]["body"]["status"] == "PAUSED"
    boost.refresh_from_db()
    actions.change_status(boost, actor=cast.owner, change="resume")
    assert linkedin.objects[campaign_id]["body"]["status"] == "ACTIVE"
    boost.refresh_from_db()
    actions.change_budget(boost, actor=cast.owner, budget_minor=3000)
    assert linkedin.objects[campaign_id]["body"]["dailyBudget"] == {"amount": "30.00", "currencyCode": "EUR"}


def test_daily_analytics_become_insight_days(cast, organization, linkedin, linkedin_account, budget) -> None:
    target = published(cast, organization, SHARE)
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(linkedin_account, audience=AUDIENCE)
    )
    creating.run(boost.pk)
    day = boost.starts_at.astimezone(dt.UTC).date()
    linkedin.review = {"status": "APPROVED"}
    linkedin.analytics = [
        {
            "dateRange": {
                "start": {"year": day.year, "month": day.month, "day": day.day},
                "end": {"year": day.year, "month": day.month, "day": day.day},
            },
            "costInLocalCurrency": "18.42",
            "impressions": 5210,
            "approximateMemberReach": 3900,
            "clicks": 61,
            "totalEngagements": 140,
            "videoViews": 0,
            "landingPageClicks": 44,
            "pivotValues": [boost.created_objects()["creative"]],
        }
    ]
    Boost.objects.filter(pk=boost.pk).update(starts_at=boost.starts_at - dt.timedelta(hours=2))
    assert collect.collect(boost.pk) == "1 days"
    row = AdInsightDay.objects.get(boost=boost)
    assert (row.spend_minor, row.impressions, row.reach, row.clicks, row.engagements, row.results) == (
        1842,
        5210,
        3900,
        61,
        140,
        140,
    )
    analytics = next(r for r in linkedin.sent if r.url.path == "/rest/adAnalytics")
    query = httpx.URL(str(analytics.url)).query.decode()
    assert "q=analytics&pivot=CREATIVE&timeGranularity=DAILY" in query
    assert "creatives=List(urn%3Ali%3AsponsoredCreative%3A" in query
    boost.refresh_from_db()
    assert boost.status == Boost.Status.ACTIVE


def test_country_codes_alone_are_refused_on_linkedin_before_sending(
    cast, organization, linkedin, linkedin_account, budget
) -> None:
    """LinkedIn's locations facet takes geo URNs: ISO codes would be dropped, leaving no location."""
    target = published(cast, organization, SHARE)
    sent = len(linkedin.sent)
    audience = {**AUDIENCE, "regions": [], "countries": ["US", "FR"]}
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(target, actor=cast.owner, **boost_values(linkedin_account, audience=audience))
    assert refused.value.code == "linkedin_locations"
    assert "US, FR" in refused.value.message
    assert len(linkedin.sent) == sent and not Boost.objects.exists()
