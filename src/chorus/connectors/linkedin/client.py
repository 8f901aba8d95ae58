"""Raw LinkedIn REST calls (versioned /rest API) and `classify`.

References (learn.microsoft.com/linkedin): 3-legged OAuth
(/shared/authentication/authorization-code-flow), refresh tokens
(/shared/authentication/programmatic-refresh-tokens), Posts API
(/marketing/community-management/shares/posts-api), Images API (.../shares/images-api:
initializeUpload then PUT), Videos API (.../shares/videos-api: initializeUpload, PUT each part,
finalizeUpload with the parts' ETags), Organization Access Control
(/marketing/community-management/organizations/organization-access-control-by-role),
Organization Lookup (.../organizations/organization-lookup-api), Social Actions
(.../shares/social-actions-api), Share statistics
(.../organizations/share-statistics), error handling (/shared/api-guide/concepts/error-handling),
rate limits (/shared/api-guide/concepts/rate-limits: daily, reset at midnight UTC, no header),
Posts API find by author (q=author), Comments API (.../shares/comments-api: GET
socialActions/{urn}/comments with start/count paging; a reply is a comment created on
socialActions/{comment urn}/comments with "parentComment"; Delete a Comment: DELETE
socialActions/{target}/comments/{id}?actor=), Reactions API (.../shares/reactions-api: Create a
Reaction on a Comment, POST reactions?actor= with root and reactionType).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from django.utils.translation import gettext_lazy as _

from chorus.connectors import classify as errors
from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.classify import ErrorTable, Reading, Rule, codes
from chorus.connectors.oauth2 import BearerAPI, TokenEndpoint

AUTHORIZE_URL = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
API = "https://api.linkedin.com"
ACL_PAGE_SIZE = 50  # organizations per organizationAcls page and per batch lookup
ACL_PAGES = 10
INBOX_POSTS = 10  # the organization's most recent posts whose comments the inbox reads
COMMENTS_PAGE = 100
VERSION = "202510"  # LinkedIn-Version (YYYYMM): each version is supported for at least a year
SCOPES = "openid profile w_member_social r_organization_admin w_organization_social r_organization_social"


def _seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    if response.status_code < 400:
        return None
    code = str(body.get("code") or "")
    return Reading(
        reason=str(body.get("message") or response.reason_phrase or response.status_code),
        codes=frozenset({code}) - {""},
        detail={
            "status": response.status_code,
            "serviceErrorCode": body.get("serviceErrorCode"),
            "code": code,
        },
    )


ERRORS = ErrorTable(
    network="LinkedIn",
    read=_read,
    rules=(
        Rule(
            ReauthRequired,
            _("The LinkedIn member revoked Chorus's access (%(reason)s)."),
            statuses=frozenset({401}),
            codes=codes("REVOKED_ACCESS_TOKEN"),
            reason_has=("revoked",),
        ),
        Rule(AuthExpired, _("%(network)s refused the access token (%(reason)s)."), statuses=frozenset({401})),
        Rule(
            ReauthRequired,
            _("%(network)s denied the action (%(reason)s); reconnect with the right role."),
            statuses=frozenset({403}),
            codes=codes("ACCESS_DENIED"),
            reason_has=("permission",),
        ),
        # LinkedIn's limits are daily and reset at midnight UTC; it sends no reset header.
        Rule(
            RateLimited,
            _("%(network)s daily limit reached (%(reason)s)."),
            statuses=frozenset({429}),
            wait=_seconds_to_utc_midnight,
        ),
        Rule(Transient, _("%(network)s server error %(status)s."), server_error=True),
    ),
    fallback=Rule(ContentRejected, _("%(network)s rejected the post: %(reason)s")),
)


def classify(response: httpx.Response) -> PublishError | None:
    return errors.classify(response, ERRORS)


def comment_id(urn: str) -> str:
    """The comment's own id, the last part of urn:li:comment:(urn:li:activity:123,456)."""
    return urn.rstrip(")").rsplit(",", 1)[-1] if urn.startswith("urn:li:comment:(") else urn


class LinkedInAPI(BearerAPI):
    label = "LinkedIn"
    token_endpoint = TokenEndpoint(TOKEN_URL)

    @staticmethod
    def classify(response: httpx.Response) -> PublishError | None:
        return classify(response)

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
            **kwargs.pop("headers", {}),
        }
        return self.request(method, f"{API}/rest/{path}", headers=headers, **kwargs)

    # --- OAuth --------------------------------------------------------------------------
    @staticmethod
    def authorize_url(client_id: str, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": SCOPES,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    # --- reads --------------------------------------------------------------------------
    def userinfo(self) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"{API}/v2/userinfo")
        return result

    def administered_organizations(self) -> list[str]:
        """Every organization the member administers, page by page (`start`/`count`; LinkedIn
        returns 10 by default), at most ACL_PAGES pages."""
        found: list[str] = []
        for page in range(ACL_PAGES):
            params = {
                "q": "roleAssignee",
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "start": str(page * ACL_PAGE_SIZE),
                "count": str(ACL_PAGE_SIZE),
            }
            body = self.rest("GET", "organizationAcls", params=params).json()
            elements = body.get("elements") or []
            found += [str(element["organization"]) for element in elements]
            total = (body.get("paging") or {}).get("total")
            if len(elements) < ACL_PAGE_SIZE or (total is not None and len(found) >= int(total)):
                break
        return list(dict.fromkeys(found))

    def organizations(self, organization_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Batch get (/marketing/community-management/organizations/organization-lookup-api):
        {"results": {id: organization}, "statuses": …, "errors": {id: …}} -> {id: organization};
        an id LinkedIn did not return is absent. The Rest.li 2.0 `List(…)` goes unencoded
        (encoded parentheses would be read as data); the ids are numbers."""
        ids = [str(value) for value in organization_ids if str(value).isdigit()]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), ACL_PAGE_SIZE):
            chunk = ids[start : start + ACL_PAGE_SIZE]
            body = self.rest("GET", f"organizations?ids=List({','.join(chunk)})").json()
            results = body.get("results") or {}
            found.update({str(key): value for key, value in results.items() if isinstance(value, dict)})
        return found

    def social_actions(self, urn: str) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("GET", f"socialActions/{quote(urn, safe='')}").json()
        return result

    def recent_posts(self, author: str) -> list[str]:
        """The URNs of the author's most recent posts (Posts API, q=author)."""
        params = {"q": "author", "author": author, "count": str(INBOX_POSTS), "sortBy": "LAST_MODIFIED"}
        elements = self.rest("GET", "posts", params=params).json().get("elements") or []
        return [str(post["id"]) for post in elements if post.get("id")]

    def comments(self, urn: str, start: int = 0) -> dict[str, Any]:
        """One page of the comments on a post (or, with a comment URN, on a comment)."""
        params = {"start": str(start), "count": str(COMMENTS_PAGE)}
        result: dict[str, Any] = self.rest(
            "GET", f"socialActions/{quote(urn, safe='')}/comments", params=params
        ).json()
        return result

    def create_comment(self, target: str, payload: dict[str, Any]) -> str:
        """Creates a comment on `target` (a post, or the parent comment of a reply); returns its
        URN (the body's, else the x-restli-id header of the 201)."""
        response = self.rest(
            "POST", f"socialActions/{quote(target, safe='')}/comments", json=payload, may_apply=True
        )
        body = response.json() if response.content else {}
        return str(body.get("commentUrn") or body.get("$URN") or response.headers.get("x-restli-id") or "")

    def delete_comment(self, target: str, comment: str, actor: str) -> None:
        """Comments API, Delete a Comment: DELETE socialActions/{target}/comments/{comment id}
        ?actor={actor} (204), `target` being what the comment is on (the post, or the parent
        comment of a nested one)."""
        self.rest(
            "DELETE",
            f"socialActions/{quote(target, safe='')}/comments/{comment_id(comment)}",
            params={"actor": actor},
        )

    def react(self, root: str, actor: str, reaction: str = "LIKE") -> None:
        """Reactions API, Create a Reaction on a Comment: POST reactions?actor={actor} with
        {"root": the comment URN, "reactionType": ...} (201)."""
        self.rest("POST", "reactions", params={"actor": actor}, json={"root": root, "reactionType": reaction})

    def share_statistics(self, organization: str, urn: str) -> dict[str, Any]:
        kind = "ugcPosts" if ":ugcPost:" in urn else "shares"
        params = {"q": "organizationalEntity", "organizationalEntity": organization, kind: f"List({urn})"}
        elements = (
            self.rest("GET", "organizationalEntityShareStatistics", params=params).json().get("elements")
        )
        return dict((elements or [{}])[0].get("totalShareStatistics") or {})

    def follower_count(self, organization: str) -> int | None:
        response = self.rest(
            "GET",
            f"networkSizes/{quote(organization, safe='')}",
            params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        )
        count = response.json().get("firstDegreeSize")
        return int(count) if count is not None else None

    # --- uploads and posts --------------------------------------------------------------
    def upload_image(self, owner: str, content: bytes) -> str:
        init = {"initializeUploadRequest": {"owner": owner}}
        value = self.rest("POST", "images", params={"action": "initializeUpload"}, json=init).json()["value"]
        self.request("PUT", value["uploadUrl"], content=content)
        return str(value["image"])

    def upload_video(self, owner: str, content: bytes) -> str:
        init = {
            "initializeUploadRequest": {
                "owner": owner,
                "fileSizeBytes": len(content),
                "uploadCaptions": False,
                "uploadThumbnail": False,
            }
        }
        value = self.rest("POST", "videos", params={"action": "initializeUpload"}, json=init).json()["value"]
        etags = []
        for part in value["uploadInstructions"]:
            chunk = content[int(part["firstByte"]) : int(part["lastByte"]) + 1]
            response = self.request("PUT", part["uploadUrl"], content=chunk)
            etags.append(response.headers.get("etag", ""))
        finalize = {
            "finalizeUploadRequest": {
                "video": value["video"],
                "uploadToken": value.get("uploadToken", ""),
                "uploadedPartIds": etags,
            }
        }
        self.rest("POST", "videos", params={"action": "finalizeUpload"}, json=finalize)
        return str(value["video"])

    def create_post(self, payload: dict[str, Any]) -> str:
        """Returns the post URN, from the x-restli-id header of the 201."""
        response = self.rest("POST", "posts", json=payload, may_apply=True)
        return str(response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or "")

    def delete_post(self, urn: str) -> None:
        self.rest("DELETE", f"posts/{quote(urn, safe='')}", headers={"X-RestLi-Method": "DELETE"})

    # --- paid reach (Marketing API: /marketing/integrations/ads/account-structure/*) -------------
    # Campaign groups, campaigns and creatives live under the ad account; a create answers 201
    # with the new id in `x-restli-id`. Partial updates are POSTs with X-RestLi-Method.
    def ad_account(self, account_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("GET", f"adAccounts/{account_id}").json()
        return result

    def ad_create(self, account_id: str, collection: str, payload: dict[str, Any]) -> str:
        response = self.rest("POST", f"adAccounts/{account_id}/{collection}", json=payload, may_apply=True)
        return str(response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or "")

    def ad_search(self, account_id: str, collection: str, query: str) -> list[dict[str, Any]]:
        """A Rest.li finder (`q=search` / `q=criteria`); `query` goes unencoded, as in
        `organizations` (its values are encoded by the caller)."""
        body = self.rest("GET", f"adAccounts/{account_id}/{collection}?{query}").json()
        return list(body.get("elements") or [])

    def ad_patch(self, account_id: str, path: str, changes: dict[str, Any]) -> None:
        self.rest(
            "POST",
            f"adAccounts/{account_id}/{path}",
            json={"patch": {"$set": changes}},
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
        )

    def ad_get(self, account_id: str, path: str) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("GET", f"adAccounts/{account_id}/{path}").json()
        return result

    def ad_analytics(self, query: str) -> list[dict[str, Any]]:
        """/marketing/integrations/ads-reporting/ads-reporting: `q=analytics`, Rest.li query."""
        return list(self.rest("GET", f"adAnalytics?{query}").json().get("elements") or [])

    def audience_count(self, criteria: str) -> dict[str, Any]:
        """/marketing/integrations/ads/advertising-targeting/audience-counts: `q=targetingCriteriaV2`
        with the targeting criteria in Rest.li form (`criteria`, already encoded); answers
        {"elements": [{"active", "total"}]}."""
        body = self.rest("GET", f"audienceCounts?q=targetingCriteriaV2&targetingCriteria={criteria}").json()
        elements = body.get("elements") or [{}]
        return dict(elements[0])

    def ad_targeting_typeahead(self, facet: str, query: str) -> list[dict[str, Any]]:
        """/marketing/integrations/ads/advertising-targeting/ads-targeting: typeahead by facet."""
        params = {"q": "typeahead", "facet": facet, "query": query}
        return list(self.rest("GET", "adTargetingEntities", params=params).json().get("elements") or [])
