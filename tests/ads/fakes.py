"""Named fakes of the two ad networks we cannot run, at Chorus's one HTTP seam (chorus.core.http),
built from their documented requests and responses. Both keep the objects they "created", so a
lookup by name (Chorus's resume after a crash) finds what a lost answer created.

MetaMarketingFake — developers.facebook.com/docs/marketing-api/reference: POST
/act_<id>/{campaigns,adsets,adcreatives,ads} answer {"id": …} (form-encoded fields, JSON values
as strings); GET edges with `filtering=[{"field":"name","operator":"EQUAL","value":…}]` answer
{"data": [{"id", "name"}]}; GET /<ad id>?fields=effective_status,ad_review_feedback; GET
/<ad id>/insights answers {"data": [{"date_start", "spend": "12.34", …}], "paging": …}; POST
/<business>/ad_studies (type SPLIT_TEST, cells JSON) answers {"id": …}, GET lists {"data": […]};
POST /<page>/feed answers {"id": "<page>_<post>"}; Meta's login
(facebook-login/guides/advanced/manual-flow and access-tokens/get-long-lived): GET /oauth/access_token
with the code answers a short-lived user token, with grant_type=fb_exchange_token a long-lived one
{"access_token", "token_type": "bearer", "expires_in"}; GET /me/adaccounts
(graph-api/reference/user/adaccounts) answers {"data": [{"id": "act_…", "account_id", "name",
"currency", "timezone_name", "account_status", "spend_cap", "business"}], "paging": {"cursors":
{"before", "after"}, "next"}} with `next` absent on the last page; errors
{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "fbtrace_id"}}.

LinkedInAdsFake — learn.microsoft.com/linkedin/marketing/integrations/ads/account-structure: POST
/rest/adAccounts/<id>/{adCampaignGroups,adCampaigns,creatives} answer 201 with the id in
`x-restli-id` (creatives: the URN); finders `q=search` / `q=criteria` answer {"elements": […]};
PARTIAL_UPDATE is a POST {"patch": {"$set": …}}; /rest/adAnalytics answers {"elements": […]};
/rest/audienceCounts?q=targetingCriteriaV2 (…/advertising-targeting/audience-counts) answers
{"elements": [{"active", "total"}]}, total 0 below 300 members;
errors {"status", "code", "message", "serviceErrorCode"}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx

from chorus.connectors.meta.graph import GRAPH_VERSION

G = f"https://graph.facebook.com/{GRAPH_VERSION}"
LI = "https://api.linkedin.com/rest"
META_EDGES = {"campaigns": "campaign", "adsets": "adset", "adcreatives": "creative", "ads": "ad"}


@dataclass
class Fault:
    """What happens to the next create of a step: an error answer, or the object is created and
    then the answer is lost (`after_apply`: an httpx exception or any exception, a crash)."""

    response: httpx.Response | None = None
    after_apply: BaseException | None = None


@dataclass
class MetaMarketingFake:
    account: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "act_1234",
            "name": "Seas Alive ads",
            "currency": "EUR",
            "timezone_name": "Europe/Paris",
            "account_status": 1,
            "spend_cap": "0",
            "min_daily_budget": 100,
            "business": {"id": "5550001", "name": "Seas Alive"},
        }
    )
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"edge", "fields"}
    sent: list[httpx.Request] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)  # step -> next faults
    ad_status: str = "PENDING_REVIEW"
    ad_feedback: dict[str, Any] = field(default_factory=dict)
    insight_rows: list[dict[str, Any]] = field(default_factory=list)
    insight_rows_by_ad: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # else insight_rows
    search_results: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 23840000000000
    # Meta's login: the ad accounts /me/adaccounts lists (act_1234 is `account`), `page_size` a page
    my_ad_accounts: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    short_token: str = "short-user-token"
    long_token: str = "long-user-token"

    def fail(self, step: str, fault: Fault) -> None:
        self.faults.setdefault(step, []).append(fault)

    def creates(self, step: str) -> list[dict[str, str]]:
        """The form bodies of every create request of a step Chorus sent."""
        edge = {v: k for k, v in META_EDGES.items()}[step]
        return [
            dict(parse_qsl(r.content.decode()))
            for r in self.sent
            if r.method == "POST" and r.url.path.endswith(f"/act_1234/{edge}")
        ]

    def study_creates(self) -> list[dict[str, str]]:
        """The form bodies of every POST /<business>/ad_studies Chorus sent."""
        return [
            dict(parse_qsl(r.content.decode()))
            for r in self.sent
            if r.method == "POST" and r.url.path.endswith("/5550001/ad_studies")
        ]

    def of(self, step: str) -> list[str]:
        return [pk for pk, obj in self.objects.items() if obj["step"] == step]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path.removeprefix(f"/{GRAPH_VERSION}/")
        query = dict(request.url.params)
        form = dict(parse_qsl(request.content.decode())) if request.method == "POST" else {}
        parts = path.split("/")
        if parts[0] == "act_1234" and len(parts) == 1:
            return httpx.Response(200, json=self.account)
        if parts == ["oauth", "access_token"]:
            if query.get("grant_type") == "fb_exchange_token":
                if query.get("fb_exchange_token") != self.short_token:
                    return error(190, "Invalid OAuth access token.")
                return httpx.Response(
                    200, json={"access_token": self.long_token, "token_type": "bearer", "expires_in": 5183944}
                )
            if query.get("code") != "c0de":
                return error(100, "Invalid verification code format.", subcode=36008)
            return httpx.Response(
                200, json={"access_token": self.short_token, "token_type": "bearer", "expires_in": 5400}
            )
        if parts == ["me", "adaccounts"]:
            if query.get("access_token") != self.long_token:
                return error(190, "Invalid OAuth access token.")
            start = int(query["after"].removeprefix("cursor-")) if query.get("after") else 0
            rows = self.my_ad_accounts[start : start + self.page_size]
            paging: dict[str, Any] = {
                "cursors": {"before": f"cursor-{start}", "after": f"cursor-{start + len(rows)}"}
            }
            if start + len(rows) < len(self.my_ad_accounts):
                paging["next"] = f"{G}/me/adaccounts?after=cursor-{start + len(rows)}"
            return httpx.Response(200, json={"data": rows, "paging": paging})
        if len(parts) == 1 and parts[0].startswith("act_"):
            for row in self.my_ad_accounts:
                if row["id"] == parts[0]:
                    return httpx.Response(200, json={**row, "min_daily_budget": 100})
        if parts[0] == "act_1234" and parts[1] in META_EDGES:
            step = META_EDGES[parts[1]]
            if request.method == "POST":
                return self._create(step, form)
            wanted = json.loads(query.get("filtering", "[]"))
            names = {f["value"] for f in wanted if f.get("field") == "name"}
            data = [
                {"id": pk, "name": obj["fields"]["name"]}
                for pk, obj in self.objects.items()
                if obj["step"] == step and (not names or obj["fields"]["name"] in names)
            ]
            return httpx.Response(200, json={"data": data})
        if parts[0] == "act_1234" and parts[1] == "delivery_estimate":
            return httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "estimate_dau": 1200,
                            "estimate_mau_lower_bound": 41000,
                            "estimate_mau_upper_bound": 48200,
                            "estimate_ready": True,
                        }
                    ]
                },
            )
        if parts == ["5550001", "ad_studies"]:  # the Business's split tests (reference/ad-study)
            if request.method == "POST":
                return self._create("study", form)
            data = [
                {"id": pk, "name": obj["fields"]["name"], "type": obj["fields"].get("type")}
                for pk, obj in self.objects.items()
                if obj["step"] == "study"
            ]
            return httpx.Response(200, json={"data": data})
        if parts == ["1111", "feed"] and request.method == "POST":  # a Page post (pages/publishing)
            self.next_id += 1
            return httpx.Response(200, json={"id": f"1111_{self.next_id}"})
        if parts[0] == "search":
            return httpx.Response(200, json={"data": self.search_results})
        if len(parts) == 2 and parts[1] == "insights":
            rows = self.insight_rows_by_ad.get(parts[0], self.insight_rows)
            return httpx.Response(200, json={"data": rows, "paging": {"cursors": {}}})
        if len(parts) == 1 and parts[0] in self.objects:
            obj = self.objects[parts[0]]
            if request.method == "POST":
                obj["fields"].update(form)
                return httpx.Response(200, json={"success": True})
            return httpx.Response(
                200,
                json={
                    "id": parts[0],
                    "effective_status": self.ad_status,
                    "ad_review_feedback": self.ad_feedback,
                },
            )
        return error(100, f"Unsupported request {request.method} {path}")

    def _create(self, step: str, form: dict[str, str]) -> httpx.Response:
        fault = self.faults.get(step, []).pop(0) if self.faults.get(step) else None
        if fault is not None and fault.response is not None:
            return fault.response
        self.next_id += 1
        pk = str(self.next_id)
        self.objects[pk] = {"step": step, "fields": dict(form)}
        if fault is not None and fault.after_apply is not None:
            raise fault.after_apply
        return httpx.Response(200, json={"id": pk})


def error(
    code: int,
    message: str,
    subcode: int | None = None,
    status: int = 400,
    headers: dict[str, str] | None = None,
    **more: Any,
) -> httpx.Response:
    """A Graph error answer, as documented (graph-api/guides/error-handling)."""
    body: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf",
    }
    if subcode:
        body["error_subcode"] = subcode
    body.update(more)
    return httpx.Response(status, json={"error": body}, headers=headers)


@dataclass
class LinkedInAdsFake:
    account: dict[str, Any] = field(
        default_factory=lambda: {
            "id": 512345678,
            "name": "Chorus Foundation ads",
            "currency": "EUR",
            "status": "ACTIVE",
            "type": "BUSINESS",
            "reference": "urn:li:organization:2414183",
            "test": False,
        }
    )
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"step", "body"}
    sent: list[httpx.Request] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    review: dict[str, Any] = field(default_factory=lambda: {"status": "PENDING"})
    analytics: list[dict[str, Any]] = field(default_factory=list)
    typeahead: list[dict[str, Any]] = field(default_factory=list)
    audience: dict[str, int] = field(default_factory=lambda: {"active": 0, "total": 0})
    next_id: int = 600000000
    on_request: Callable[[httpx.Request], None] | None = None

    COLLECTIONS = {"adCampaignGroups": "campaign_group", "adCampaigns": "campaign", "creatives": "creative"}

    def fail(self, step: str, fault: Fault) -> None:
        self.faults.setdefault(step, []).append(fault)

    def creates(self, step: str) -> list[dict[str, Any]]:
        collection = {v: k for k, v in self.COLLECTIONS.items()}[step]
        return [
            json.loads(r.content)
            for r in self.sent
            if r.method == "POST"
            and r.url.path == f"/rest/adAccounts/512345678/{collection}"
            and "X-RestLi-Method" not in r.headers
        ]

    def of(self, step: str) -> list[str]:
        return [pk for pk, obj in self.objects.items() if obj["step"] == step]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = unquote(request.url.path).removeprefix("/rest/")
        raw_query = unquote(
            request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query
        )
        parts = path.split("/")
        if parts[0] == "adAccounts" and len(parts) == 2:
            return httpx.Response(200, json=self.account)
        if parts[0] == "adAccounts" and len(parts) == 3 and parts[2] in self.COLLECTIONS:
            step = self.COLLECTIONS[parts[2]]
            if request.method == "POST":
                return self._create(step, json.loads(request.content))
            elements = []
            for pk, obj in self.objects.items():
                if obj["step"] != step:
                    continue
                body = obj["body"]
                if step == "creative" and body["campaign"] in raw_query:
                    elements.append({"id": f"urn:li:sponsoredCreative:{pk}", **body})
                elif step != "creative" and f"values:List({body['name']})" in raw_query:
                    elements.append({"id": int(pk), **body})
            return httpx.Response(200, json={"elements": elements, "paging": {"start": 0, "count": 10}})
        if parts[0] == "adAccounts" and len(parts) == 4:
            if request.method == "POST" and request.headers.get("X-RestLi-Method") == "PARTIAL_UPDATE":
                self.objects[parts[3]]["body"].update(json.loads(request.content)["patch"]["$set"])
                return httpx.Response(204)
            if parts[2] == "creatives":
                pk = parts[3].rsplit(":", 1)[-1]
                return httpx.Response(
                    200, json={"id": parts[3], **self.objects[pk]["body"], "review": self.review}
                )
        if parts[0] == "adAnalytics":
            return httpx.Response(200, json={"elements": self.analytics, "paging": {"start": 0, "count": 10}})
        if parts[0] == "audienceCounts":  # GET ?q=targetingCriteriaV2&targetingCriteria=(include:…)
            return httpx.Response(
                200, json={"elements": [self.audience], "paging": {"start": 0, "count": 10}}
            )
        if parts[0] == "adTargetingEntities":
            return httpx.Response(200, json={"elements": self.typeahead})
        return httpx.Response(404, json={"status": 404, "message": f"No route {request.method} {path}"})

    def _create(self, step: str, body: dict[str, Any]) -> httpx.Response:
        fault = self.faults.get(step, []).pop(0) if self.faults.get(step) else None
        if fault is not None and fault.response is not None:
            return fault.response
        self.next_id += 1
        pk = str(self.next_id)
        self.objects[pk] = {"step": step, "body": body}
        if fault is not None and fault.after_apply is not None:
            raise fault.after_apply
        restli_id = f"urn:li:sponsoredCreative:{pk}" if step == "creative" else pk
        return httpx.Response(201, headers={"x-restli-id": restli_id})
