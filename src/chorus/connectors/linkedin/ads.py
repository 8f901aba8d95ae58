"""Feature.ADS for LinkedIn organization posts: campaign group -> campaign (sponsored content of
the existing share) -> creative, through the raw calls of client.py.

Money on LinkedIn's wire is a decimal string with its currency ({"amount": "10.50",
"currencyCode": "EUR"}); Chorus keeps minor units and converts here. LinkedIn reports in UTC and
its ad accounts carry no time zone. LinkedIn does not accept political ads: the ads app refuses a
social-issue boost on LinkedIn before sending (politicalIntent is always NOT_POLITICAL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from chorus.connectors.ads import AdAccountInfo, AdInsightDay, AdPlan, AdReview, decimal_amount, minor_amount
from chorus.connectors.linkedin.client import LinkedInAPI

OBJECTIVES = {"awareness": "BRAND_AWARENESS", "engagement": "ENGAGEMENT", "traffic": "WEBSITE_VISIT"}
ACCOUNT_STATUSES = {"ACTIVE": "active", "DRAFT": "pending_review", "CANCELED": "closed", "REMOVED": "closed"}
REVIEW_STATUSES = {
    "APPROVED": "active",
    "PENDING": "in_review",
    "REJECTED": "rejected",
    "NEEDS_REVIEW": "in_review",
}
STATUS_VALUES = {"active": "ACTIVE", "paused": "PAUSED", "stopped": "ARCHIVED"}
GENDERS = {"female": "urn:li:gender:FEMALE", "male": "urn:li:gender:MALE"}
# LinkedIn's age facet has fixed ranges: a range is targeted when it overlaps the audience's.
AGE_RANGES = ((18, 24), (25, 34), (35, 54), (55, 200))
FACETS = {
    "regions": "urn:li:adTargetingFacet:locations",
    "cities": "urn:li:adTargetingFacet:locations",
    "interests": "urn:li:adTargetingFacet:interests",
    "languages": "urn:li:adTargetingFacet:interfaceLocales",
}
MIN_AUDIENCE = 300  # LinkedIn runs no campaign for a smaller audience (and counts it as 0)
COLLECTIONS = {"campaign_group": "adCampaignGroups", "campaign": "adCampaigns", "creative": "creatives"}
INSIGHT_FIELDS = (
    "dateRange,costInLocalCurrency,impressions,approximateMemberReach,clicks,totalEngagements,videoViews,"
    "landingPageClicks"
)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _urn_id(value: str) -> str:
    return value.rsplit(":", 1)[-1]


def _date(day: dt.date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def targeting_criteria(plan: AdPlan) -> dict[str, Any]:
    audience = plan.audience
    clauses: list[dict[str, Any]] = []
    locations = [x["key"] for x in (*audience.regions, *audience.cities)]
    if locations:
        clauses.append({"or": {FACETS["regions"]: locations}})
    ages = [
        f"urn:li:ageRange:({low},{high})"
        for low, high in AGE_RANGES
        if low <= audience.age_max and high >= audience.age_min
    ]
    if ages and (audience.age_min > 18 or audience.age_max < 65):
        clauses.append({"or": {"urn:li:adTargetingFacet:ageRanges": ages}})
    if len(audience.genders) == 1:
        clauses.append({"or": {"urn:li:adTargetingFacet:genders": [GENDERS[audience.genders[0]]]}})
    if audience.languages:
        clauses.append({"or": {FACETS["languages"]: [x["key"] for x in audience.languages]}})
    if audience.interests:
        clauses.append({"or": {FACETS["interests"]: [x["key"] for x in audience.interests]}})
    return {"include": {"and": clauses}}


class LinkedInAds:
    steps: tuple[str, ...] = ("campaign_group", "campaign", "creative")

    def __init__(self, account_id: str, access_token: str) -> None:
        self.account_id = _urn_id(account_id)
        self.api = LinkedInAPI(access_token)

    @property
    def account_urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self.account_id}"

    def account(self) -> AdAccountInfo:
        body = self.api.ad_account(self.account_id)
        return AdAccountInfo(
            external_id=self.account_id,
            name=str(body.get("name") or self.account_id),
            currency=str(body.get("currency") or "USD"),
            timezone="UTC",  # LinkedIn ad accounts have no zone; reporting is in UTC
            status=ACCOUNT_STATUSES.get(str(body.get("status") or ""), "disabled"),
            raw_status=str(body.get("status") or ""),
        )

    def money(self, plan: AdPlan, minor: int | None = None) -> dict[str, str]:
        return {
            "amount": decimal_amount(plan.budget_minor if minor is None else minor, plan.currency),
            "currencyCode": plan.currency,
        }

    def payload(self, step: str, plan: AdPlan, created: dict[str, str]) -> dict[str, Any]:
        schedule = {"start": _ms(plan.starts_at), "end": _ms(plan.ends_at)}
        if step == "campaign_group":
            return {
                "account": self.account_urn,
                "name": plan.name(step),
                "status": "ACTIVE",
                "runSchedule": schedule,
            }
        if step == "campaign":
            language, _sep, country = str(plan.extra.get("locale") or "en_US").partition("_")
            return {
                "account": self.account_urn,
                "campaignGroup": f"urn:li:sponsoredCampaignGroup:{_urn_id(created['campaign_group'])}",
                "name": plan.name(step),
                "type": "SPONSORED_UPDATES",
                "costType": "CPM",
                "objectiveType": OBJECTIVES[plan.objective],
                "dailyBudget" if plan.budget_kind == "daily" else "totalBudget": self.money(plan),
                "locale": {"country": country or "US", "language": language},
                "offsiteDeliveryEnabled": False,
                "politicalIntent": "NOT_POLITICAL",
                "runSchedule": schedule,
                "status": "ACTIVE",  # nothing spends before the creative (the last step) exists
                "targetingCriteria": targeting_criteria(plan),
            }
        if step == "creative":
            return {
                "campaign": f"urn:li:sponsoredCampaign:{_urn_id(created['campaign'])}",
                "content": {"reference": plan.post_external_id},
                "intendedStatus": "ACTIVE",
            }
        raise ValueError(step)

    def create(self, step: str, plan: AdPlan, created: dict[str, str]) -> str:
        return self.api.ad_create(self.account_id, COLLECTIONS[step], self.payload(step, plan, created))

    def find(self, step: str, plan: AdPlan, created: dict[str, str]) -> str | None:
        if step == "creative":  # a creative has no name: the campaign is ours, its creative too
            campaign = quote(f"urn:li:sponsoredCampaign:{_urn_id(created['campaign'])}", safe="")
            elements = self.api.ad_search(
                self.account_id, "creatives", f"q=criteria&campaigns=List({campaign})"
            )
            return str(elements[0]["id"]) if elements else None
        name = plan.name(step)
        query = f"q=search&search=(name:(values:List({quote(name, safe='')})))"
        for element in self.api.ad_search(self.account_id, COLLECTIONS[step], query):
            if element.get("name") == name:
                return str(element["id"])
        return None

    def set_status(self, created: dict[str, str], status: str) -> None:
        self.api.ad_patch(
            self.account_id, f"adCampaigns/{_urn_id(created['campaign'])}", {"status": STATUS_VALUES[status]}
        )

    def update_budget(self, created: dict[str, str], plan: AdPlan) -> None:
        key = "dailyBudget" if plan.budget_kind == "daily" else "totalBudget"
        changes = {
            key: self.money(plan),
            "runSchedule": {"start": _ms(plan.starts_at), "end": _ms(plan.ends_at)},
        }
        self.api.ad_patch(self.account_id, f"adCampaigns/{_urn_id(created['campaign'])}", changes)

    def review(self, created: dict[str, str]) -> AdReview:
        creative = quote(
            created["creative"]
            if created["creative"].startswith("urn:")
            else f"urn:li:sponsoredCreative:{created['creative']}",
            safe="",
        )
        body = self.api.ad_get(self.account_id, f"creatives/{creative}")
        review = body.get("review") or {}
        status = REVIEW_STATUSES.get(str(review.get("status") or ""), "in_review")
        if status == "active" and body.get("intendedStatus") == "PAUSED":
            status = "paused"
        return AdReview(status, "; ".join(str(r) for r in review.get("rejectionReasons") or []))

    def insights(
        self, created: dict[str, str], since: dt.date, until: dt.date, *, currency: str, objective: str
    ) -> list[AdInsightDay]:
        creative = (
            created["creative"]
            if created["creative"].startswith("urn:")
            else f"urn:li:sponsoredCreative:{created['creative']}"
        )
        query = (
            f"q=analytics&pivot=CREATIVE&timeGranularity=DAILY&dateRange=(start:{_date(since)},end:{_date(until)})"
            f"&creatives=List({quote(creative, safe='')})&fields={INSIGHT_FIELDS}"
        )
        days = []
        for row in self.api.ad_analytics(query):
            start = (row.get("dateRange") or {}).get("start") or {}
            impressions = int(row.get("impressions") or 0)
            reach = int(row.get("approximateMemberReach") or 0)
            engagements = int(row.get("totalEngagements") or 0)
            results = {
                "awareness": reach,
                "engagement": engagements,
                "traffic": int(row.get("landingPageClicks") or 0),
            }
            days.append(
                AdInsightDay(
                    day=dt.date(int(start["year"]), int(start["month"]), int(start["day"])),
                    spend_minor=minor_amount(row.get("costInLocalCurrency"), currency),
                    impressions=impressions,
                    reach=reach,
                    frequency=round(impressions / reach, 2) if reach else 0.0,
                    clicks=int(row.get("clicks") or 0),
                    engagements=engagements,
                    video_views=int(row.get("videoViews") or 0),
                    results=results[objective],
                )
            )
        return days

    def search_targeting(self, kind: str, query: str) -> list[dict[str, str]]:
        found = []
        for element in self.api.ad_targeting_typeahead(FACETS[kind], query):
            if element.get("urn") and element.get("name"):
                found.append({"key": str(element["urn"]), "name": str(element["name"]), "detail": ""})
        return found

    def reach_estimate(self, plan: AdPlan) -> tuple[int, int] | None:
        """LinkedIn's audience count for the targeting: (active members, all members). LinkedIn
        says 0 below 300 members (its minimum to run a campaign): that is (0, 299), "fewer than
        300", not an unknown."""
        if not (plan.audience.regions or plan.audience.cities):
            return None  # LinkedIn counts nothing without a location
        answer = self.api.audience_count(restli(targeting_criteria(plan)))
        total, active = int(answer.get("total") or 0), int(answer.get("active") or 0)
        if total == 0:
            return (0, MIN_AUDIENCE - 1)
        return (active or total, total)


def restli(value: Any) -> str:
    """A value in Rest.li 2.0 query form: (key:value,…), List(…), strings percent-encoded
    (a URN's colons included), so the criteria can go in a URL as LinkedIn documents it."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{quote(str(k), safe='')}:{restli(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "List(" + ",".join(restli(v) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value), safe="")
