"""Raw Marketing API calls (paid reach on Facebook and Instagram) over the one Graph client.

Plain requests through chorus.core.http rather than Meta's Business SDK: the SDK brings its own
HTTP session (requests), retries and error classes, which would bypass the one seam every test
fakes and the one `classify` that decides retries (CONTRIBUTING.md, "Ads").

References (developers.facebook.com/docs/marketing-api): ad account (/reference/ad-account:
currency, timezone_name, account_status, spend_cap, min_daily_budget), campaigns
(/reference/ad-campaign-group: objective OUTCOME_*, special_ad_categories, always sent),
ad sets (/reference/ad-campaign: daily_budget / lifetime_budget in minor units, targeting,
start_time, end_time), creatives from an existing post (/reference/ad-creative: object_story_id
"<page>_<post>"; Instagram: source_instagram_media_id with instagram_user_id), ads
(/reference/adgroup: effective_status, ad_review_feedback), insights (/insights: time_increment=1),
targeting search (/audiences/reference/targeting-search), delivery estimate (/reference/ad-account/delivery_estimate),
the ad accounts a person can use (/graph-api/reference/user/adaccounts, paged by cursor like every
Graph edge), split tests (/reference/ad-study and /reference/business/ad_studies: POST /<business>/ad_studies
with type SPLIT_TEST, start_time/end_time in Unix seconds and cells [{name, treatment_percentage,
adsets}]; the ad account's Business from GET /act_<id>?fields=business).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from chorus.connectors.ads import (
    AdAccountInfo,
    AdInsightDay,
    AdPlan,
    AdReview,
    minor_amount,
)
from chorus.connectors.meta.graph import MAX_PAGE_REQUESTS, GraphAPI

OBJECTIVES = {
    # ours -> (campaign objective, ad set optimization goal)
    "awareness": ("OUTCOME_AWARENESS", "REACH"),
    "engagement": ("OUTCOME_ENGAGEMENT", "POST_ENGAGEMENT"),
    "traffic": ("OUTCOME_TRAFFIC", "LINK_CLICKS"),
}
SOCIAL_ISSUE_CATEGORY = "ISSUES_ELECTIONS_POLITICS"
BUDGET_TOO_LOW_SUBCODE = 1885272  # "Your budget is too low" (code 100)
ACCOUNT_STATUSES = {
    1: "active",
    2: "disabled",
    3: "unsettled",
    7: "pending_review",
    8: "unsettled",
    9: "active",  # in grace period: still delivers
    100: "closed",
    101: "closed",
}
REVIEW_STATUSES = {
    "ACTIVE": "active",
    "PREAPPROVED": "active",
    "PENDING_REVIEW": "in_review",
    "IN_PROCESS": "in_review",
    "DISAPPROVED": "rejected",
    "WITH_ISSUES": "rejected",
    "PAUSED": "paused",
    "CAMPAIGN_PAUSED": "paused",
    "ADSET_PAUSED": "paused",
    "ARCHIVED": "ended",
    "DELETED": "ended",
}
STATUS_VALUES = {"active": "ACTIVE", "paused": "PAUSED", "stopped": "ARCHIVED"}
GENDERS = {"male": 1, "female": 2}
EDGES = {"campaign": "campaigns", "adset": "adsets", "creative": "adcreatives", "ad": "ads"}
INSIGHT_FIELDS = "date_start,spend,impressions,reach,frequency,clicks,inline_post_engagement,actions"
MAX_INSIGHT_PAGES = 10
SEARCH_TYPES = {
    "interests": {"type": "adinterest"},
    "regions": {"type": "adgeolocation", "location_types": '["region"]'},
    "cities": {"type": "adgeolocation", "location_types": '["city"]'},
    "languages": {"type": "adlocale"},
}


#: What the Ads page's "Connect a Meta ad account" asks in Meta's login (Facebook Login for
#: Business, the Facebook app's): manage ads, read their results, see the Business that owns them.
ADS_SCOPES = ["ads_management", "ads_read", "business_management"]
AD_ACCOUNT_FIELDS = "account_id,name,currency,timezone_name,account_status,spend_cap,business{id,name}"


def ad_accounts_of(user_token: str) -> list[dict[str, Any]]:
    """The ad accounts the person who logged in can use (GET /me/adaccounts), following the cursor
    until `paging.next` is absent (at most MAX_PAGE_REQUESTS pages of 100)."""
    api = GraphAPI(user_token)
    accounts: list[dict[str, Any]] = []
    query: dict[str, Any] = {"fields": AD_ACCOUNT_FIELDS, "limit": 100}
    for _request in range(MAX_PAGE_REQUESTS):
        answer = api.get("me/adaccounts", **query)
        accounts.extend(row for row in answer.get("data", []) if isinstance(row, dict) and row.get("id"))
        paging = answer.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        query["after"] = after
    return accounts


def account_status(code: Any) -> str:
    """Meta's numeric `account_status` as ours (an unknown code counts as disabled)."""
    try:
        return ACCOUNT_STATUSES.get(int(code or 0), "disabled")
    except (TypeError, ValueError):
        return "disabled"


def targeting_spec(plan: AdPlan, network: str) -> dict[str, Any]:
    audience = plan.audience
    geo: dict[str, Any] = {}
    if audience.countries:
        geo["countries"] = list(audience.countries)
    if audience.regions:
        geo["regions"] = [{"key": r["key"]} for r in audience.regions]
    if audience.cities:
        geo["cities"] = [{"key": c["key"]} for c in audience.cities]
    spec: dict[str, Any] = {"geo_locations": geo, "age_min": audience.age_min, "age_max": audience.age_max}
    if audience.genders and len(audience.genders) < 2:
        spec["genders"] = [GENDERS[g] for g in audience.genders]
    if audience.languages:
        spec["locales"] = [int(x["key"]) for x in audience.languages if x["key"].isdigit()]
    if audience.interests:
        spec["flexible_spec"] = [
            {"interests": [{"id": x["key"], "name": x["name"]} for x in audience.interests]}
        ]
    if plan.placements:  # none chosen: Meta places the ad (Advantage+ placements)
        platforms: dict[str, list[str]] = {}
        for placement in plan.placements:
            platform, _sep, position = placement.partition(":")
            platforms.setdefault(platform, []).append(position)
        spec["publisher_platforms"] = sorted(platforms)
        for platform, positions in sorted(platforms.items()):
            spec[f"{platform}_positions"] = positions
    elif network == "instagram":
        spec["publisher_platforms"] = ["instagram"]
    return spec


class MetaAds:
    """Feature.ADS for Facebook Pages and Instagram: one ad account, one token with ads_management."""

    steps: tuple[str, ...] = ("campaign", "adset", "creative", "ad")

    def __init__(self, account_id: str, access_token: str, *, network: str = "facebook") -> None:
        self.account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"
        self.network = network
        self.api = GraphAPI(access_token, network="Facebook" if network == "facebook" else "Instagram")

    # --- the account -------------------------------------------------------------------------
    def account(self) -> AdAccountInfo:
        fields = "id,name,currency,timezone_name,account_status,spend_cap,min_daily_budget"
        answer = self.api.get(self.account_id, fields=fields)
        cap = int(answer.get("spend_cap") or 0)
        status_code = int(answer.get("account_status") or 0)
        return AdAccountInfo(
            external_id=self.account_id,
            name=str(answer.get("name") or self.account_id),
            currency=str(answer.get("currency") or "USD"),
            timezone=str(answer.get("timezone_name") or "UTC"),
            status=ACCOUNT_STATUSES.get(status_code, "disabled"),
            spend_cap_minor=cap or None,  # "0": no cap
            min_daily_budget_minor=int(answer["min_daily_budget"])
            if answer.get("min_daily_budget")
            else None,
            raw_status=str(status_code),
        )

    # --- creating, one step at a time -----------------------------------------------------------
    def payload(self, step: str, plan: AdPlan, created: dict[str, str]) -> dict[str, str]:
        """The form fields Meta receives for one step (JSON values encoded, as Graph wants)."""
        objective, goal = OBJECTIVES[plan.objective]
        if step == "campaign":
            data = {
                "name": plan.name(step),
                "objective": objective,
                "status": "ACTIVE",  # nothing spends before the ad (the last step) exists
                "special_ad_categories": json.dumps([SOCIAL_ISSUE_CATEGORY] if plan.social_issue else []),
                # No campaign budget: the ad set holds it, and Meta asks this be said explicitly.
                "is_adset_budget_sharing_enabled": "false",
            }
            if plan.social_issue:
                data["special_ad_category_country"] = json.dumps(list(plan.audience.countries))
            return data
        if step == "adset":
            data = {
                "name": plan.name(step),
                "campaign_id": created["campaign"],
                "status": "ACTIVE",
                "billing_event": "IMPRESSIONS",
                "optimization_goal": goal,
                "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
                f"{plan.budget_kind}_budget": str(plan.budget_minor),
                "start_time": plan.starts_at.astimezone(dt.UTC).isoformat(),
                "end_time": plan.ends_at.astimezone(dt.UTC).isoformat(),
                "targeting": json.dumps(targeting_spec(plan, self.network)),
            }
            if plan.extra.get("eu_targeted"):  # the DSA asks who benefits and who pays
                data["dsa_beneficiary"] = str(plan.extra.get("beneficiary") or "")
                data["dsa_payor"] = str(plan.extra.get("payer") or "")
            return data
        if step == "creative":
            data = {"name": plan.name(step)}
            if self.network == "instagram":
                data["object_id"] = plan.page_id
                data["instagram_user_id"] = plan.instagram_user_id
                data["source_instagram_media_id"] = plan.post_external_id
            else:
                post = plan.post_external_id
                data["object_story_id"] = post if "_" in post else f"{plan.page_id}_{post}"
            if plan.social_issue:
                data["authorization_category"] = "POLITICAL"
            return data
        if step == "ad":
            return {
                "name": plan.name(step),
                "adset_id": created["adset"],
                "creative": json.dumps({"creative_id": created["creative"]}),
                "status": "ACTIVE",
            }
        raise ValueError(step)

    def create(self, step: str, plan: AdPlan, created: dict[str, str]) -> str:
        answer = self.api.post(
            f"{self.account_id}/{EDGES[step]}", self.payload(step, plan, created), may_apply=True
        )
        return str(answer["id"])

    def find(self, step: str, plan: AdPlan, created: dict[str, str]) -> str | None:
        name = plan.name(step)
        filtering = json.dumps([{"field": "name", "operator": "EQUAL", "value": name}])
        answer = self.api.get(f"{self.account_id}/{EDGES[step]}", fields="id,name", filtering=filtering)
        for node in answer.get("data", []):
            if node.get("name") == name:  # the filter narrows; the name decides
                return str(node["id"])
        return None

    # --- managing ------------------------------------------------------------------------------
    def set_status(self, created: dict[str, str], status: str) -> None:
        self.api.post(created["campaign"], {"status": STATUS_VALUES[status]})

    def update_budget(self, created: dict[str, str], plan: AdPlan) -> None:
        data = {
            f"{plan.budget_kind}_budget": str(plan.budget_minor),
            "end_time": plan.ends_at.astimezone(dt.UTC).isoformat(),
        }
        self.api.post(created["adset"], data)

    def review(self, created: dict[str, str]) -> AdReview:
        answer = self.api.get(created["ad"], fields="effective_status,ad_review_feedback")
        status = REVIEW_STATUSES.get(str(answer.get("effective_status") or ""), "in_review")
        feedback = answer.get("ad_review_feedback") or {}
        reasons = [str(v) for part in feedback.values() if isinstance(part, dict) for v in part.values()]
        return AdReview(status, "; ".join(reasons))

    def insights(
        self, created: dict[str, str], since: dt.date, until: dt.date, *, currency: str, objective: str
    ) -> list[AdInsightDay]:
        query: dict[str, Any] = {
            "fields": INSIGHT_FIELDS,
            "time_increment": "1",
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            "limit": "100",
        }
        days: list[AdInsightDay] = []
        for _page in range(MAX_INSIGHT_PAGES):
            answer = self.api.get(f"{created['ad']}/insights", **query)
            days += [_day(row, currency, objective) for row in answer.get("data", [])]
            after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
            if not (answer.get("paging") or {}).get("next") or not after:
                break
            query["after"] = after
        return days

    # --- split tests (A/B experiments) -------------------------------------------------------
    def business_id(self) -> str | None:
        """The Business that owns the ad account: Meta creates split tests on a Business."""
        answer = self.api.get(self.account_id, fields="business")
        business = answer.get("business") or {}
        return str(business["id"]) if business.get("id") else None

    def split_test_payload(
        self, name: str, description: str, starts_at: dt.datetime, ends_at: dt.datetime, adsets: list[str]
    ) -> dict[str, str]:
        """One cell per ad set, equal treatment percentages that sum to 100 (Meta splits the
        audience so the cells do not overlap)."""
        share, rest = divmod(100, len(adsets))
        cells = [
            {
                "name": f"{name} {index + 1}",
                "treatment_percentage": share + (1 if index < rest else 0),
                "adsets": [adset],
            }
            for index, adset in enumerate(adsets)
        ]
        return {
            "name": name,
            "description": description,
            "type": "SPLIT_TEST",
            "start_time": str(int(starts_at.timestamp())),
            "end_time": str(int(ends_at.timestamp())),
            "cells": json.dumps(cells),
        }

    def create_split_test(self, business_id: str, payload: dict[str, str]) -> str:
        answer = self.api.post(f"{business_id}/ad_studies", payload, may_apply=True)
        return str(answer["id"])

    def find_split_test(self, business_id: str, name: str) -> str | None:
        answer = self.api.get(f"{business_id}/ad_studies", fields="id,name,type", limit="100")
        for node in answer.get("data", []):
            if node.get("name") == name:
                return str(node["id"])
        return None

    # --- audience tools ------------------------------------------------------------------------
    def search_targeting(self, kind: str, query: str) -> list[dict[str, str]]:
        answer = self.api.get("search", q=query, limit="25", **SEARCH_TYPES[kind])
        found = []
        for node in answer.get("data", []):
            key = str(node.get("key") or node.get("id") or "")
            name = str(node.get("name") or "")
            detail = str(node.get("country_name") or node.get("region") or node.get("topic") or "")
            if key and name:
                found.append({"key": key, "name": name, "detail": detail})
        return found

    def reach_estimate(self, plan: AdPlan) -> tuple[int, int] | None:
        _objective, goal = OBJECTIVES[plan.objective]
        answer = self.api.get(
            f"{self.account_id}/delivery_estimate",
            optimization_goal=goal,
            targeting_spec=json.dumps(targeting_spec(plan, self.network)),
        )
        rows = answer.get("data") or []
        if not rows or not rows[0].get("estimate_ready", True):
            return None
        low, high = rows[0].get("estimate_mau_lower_bound"), rows[0].get("estimate_mau_upper_bound")
        if low is None or high is None:
            return None
        return int(low), int(high)


def _day(row: dict[str, Any], currency: str, objective: str) -> AdInsightDay:
    actions = {str(a.get("action_type")): int(float(a.get("value") or 0)) for a in row.get("actions") or []}
    engagements = int(row.get("inline_post_engagement") or actions.get("post_engagement", 0))
    reach = int(row.get("reach") or 0)
    results = {"awareness": reach, "engagement": engagements, "traffic": actions.get("link_click", 0)}
    return AdInsightDay(
        day=dt.date.fromisoformat(str(row["date_start"])),
        spend_minor=minor_amount(row.get("spend"), currency),
        impressions=int(row.get("impressions") or 0),
        reach=reach,
        frequency=float(row.get("frequency") or 0),
        clicks=int(row.get("clicks") or 0),
        engagements=engagements,
        video_views=actions.get("video_view", 0),
        results=results.get(objective, engagements),
    )
