"""Raw X API v2 calls and `classify`.

References (docs.x.com): OAuth 2.0 Authorization Code with PKCE
(https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code),
POST /2/tweets (https://docs.x.com/x-api/posts/create-post), media upload v2
(https://docs.x.com/x-api/media/quickstart/media-upload-chunked: POST /2/media/upload/initialize,
/2/media/upload/{id}/append, /2/media/upload/{id}/finalize, GET /2/media/upload?command=STATUS),
rate limits (https://docs.x.com/x-api/fundamentals/rate-limits: x-rate-limit-reset, epoch seconds).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from django.utils.translation import gettext
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
from chorus.connectors.classify import ErrorTable, Reading, Rule
from chorus.connectors.oauth2 import DEAD_GRANT_ERRORS, BearerAPI, TokenEndpoint

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
API = "https://api.x.com"
TOKEN_URL = f"{API}/2/oauth2/token"
SCOPES = "tweet.read tweet.write users.read media.write offline.access"
CHUNK_SIZE = 4 * 1024 * 1024  # APPEND segments: X accepts up to 5 MB each
STATUS_POLL_ATTEMPTS = 60
MENTIONS_PAGE = 100  # max_results of GET /2/users/:id/mentions (5 to 100)


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    if response.status_code < 400:
        return None
    errors_ = body.get("errors") or [{}]
    first = errors_[0] if isinstance(errors_[0], dict) else {}
    reason = first.get("message") or body.get("detail") or body.get("title") or response.status_code
    return Reading(reason=str(reason), detail={"status": response.status_code, "type": body.get("type", "")})


ERRORS = ErrorTable(
    network="X",
    read=_read,
    rules=(
        # X access tokens live two hours; a refresh follows. A revoked grant fails that refresh.
        Rule(AuthExpired, _("%(network)s refused the access token (%(reason)s)."), statuses=frozenset({401})),
        Rule(
            ReauthRequired,
            _("%(network)s refused the account: %(reason)s"),
            statuses=frozenset({403}),
            reason_has=("suspended",),
        ),
        Rule(
            RateLimited,
            _("%(network)s rate limit reached (%(reason)s)."),
            statuses=frozenset({429}),
            wait=900.0,  # x-rate-limit-reset says when, in epoch seconds
        ),
        Rule(Transient, _("%(network)s server error %(status)s."), server_error=True),
    ),
    # 400 invalid request, 403 duplicate content / not permitted, 413 media too large...
    fallback=Rule(ContentRejected, _("%(network)s rejected the post: %(reason)s")),
)


def classify(response: httpx.Response) -> PublishError | None:
    return errors.classify(response, ERRORS)


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def observe_rate_limits(response: httpx.Response, method: str, url: str, channel: Any) -> None:
    """Feeds the quota ledger with X's x-rate-limit-limit / -remaining / -reset (epoch seconds) of
    every answer, one bucket per endpoint (ids folded: "POST /2/tweets"). A read endpoint's limit
    is kept but never delays a post; the 24-hour posting caps (x-user-limit-24hour-*,
    x-app-limit-24hour-*) gate publishing."""
    if channel is None:
        return
    from chorus.quotas.observe import observe

    path = re.sub(r"/\d{5,}(?=/|$)", "/:id", httpx.URL(url).path)  # ids, not the /2 version
    for prefix, bucket, gates in (
        ("x-rate-limit", f"{method.upper()} {path}", method.upper() != "GET"),
        ("x-user-limit-24hour", "user-24hour", True),
        ("x-app-limit-24hour", "app-24hour", True),
    ):
        remaining = _int_header(response, f"{prefix}-remaining")
        reset = _int_header(response, f"{prefix}-reset")
        if remaining is None and reset is None:
            continue
        observe(
            channel,
            bucket,
            remaining=remaining,
            limit=_int_header(response, f"{prefix}-limit"),
            resets_at=dt.datetime.fromtimestamp(reset, dt.UTC) if reset is not None else None,
            gates_publishing=gates,
        )


class XAPI(BearerAPI):
    label = "X"
    token_endpoint = TokenEndpoint(TOKEN_URL, client_auth="basic")
    # X answers a revoked or reused refresh token with invalid_request ("Value passed for the token
    # was invalid"), not invalid_grant.
    dead_grant_errors = DEAD_GRANT_ERRORS | {"invalid_request"}

    def __init__(self, access_token: str = "", *, channel: Any = None) -> None:
        super().__init__(access_token)
        self.channel = channel  # whose quota the rate-limit headers are recorded on (None: not recorded)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        inner = kwargs.pop("classify", None) or self.classify

        def observing(response: httpx.Response) -> PublishError | None:
            observe_rate_limits(response, method, url, self.channel)
            return inner(response)

        return super().request(method, url, classify=observing, **kwargs)

    @staticmethod
    def classify(response: httpx.Response) -> PublishError | None:
        return classify(response)

    # --- OAuth --------------------------------------------------------------------------
    @staticmethod
    def authorize_url(client_id: str, redirect_uri: str, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    # --- reads --------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        params = {"user.fields": "public_metrics,username,name"}
        result: dict[str, Any] = self.json("GET", f"{API}/2/users/me", params=params)["data"]
        return result

    def tweet(self, tweet_id: str) -> dict[str, Any]:
        params = {"tweet.fields": "public_metrics,created_at"}
        result: dict[str, Any] = self.json("GET", f"{API}/2/tweets/{tweet_id}", params=params)["data"]
        return result

    def recent_tweets(self, user_id: str, start_time: str) -> list[dict[str, Any]]:
        params = {
            "max_results": "10",
            "start_time": start_time,
            "tweet.fields": "created_at,referenced_tweets",
            "exclude": "retweets",
        }
        result: list[dict[str, Any]] = self.json("GET", f"{API}/2/users/{user_id}/tweets", params=params).get(
            "data", []
        )
        return result

    def mentions(self, user_id: str, *, since_id: str = "", token: str = "") -> dict[str, Any]:
        """GET /2/users/:id/mentions (https://docs.x.com/x-api/posts/get-mentions), newest first:
        `since_id` bounds a sweep below, `pagination_token` walks it down. Pay-per-use: each post
        returned is billed as a read."""
        params = {
            "max_results": str(MENTIONS_PAGE),
            "tweet.fields": "created_at,conversation_id,author_id,referenced_tweets",
            "expansions": "author_id",
            "user.fields": "username,name",
        }
        if since_id:
            params["since_id"] = since_id
        if token:
            params["pagination_token"] = token
        result: dict[str, Any] = self.json("GET", f"{API}/2/users/{user_id}/mentions", params=params)
        return result

    # --- writes -------------------------------------------------------------------------
    def upload(self, content: bytes, media_type: str, category: str) -> str:
        """INIT, APPEND in CHUNK_SIZE segments, FINALIZE, then STATUS until processed."""
        init = {"media_type": media_type, "total_bytes": len(content), "media_category": category}
        media_id = str(self.json("POST", f"{API}/2/media/upload/initialize", json=init)["data"]["id"])
        for index, start in enumerate(range(0, len(content), CHUNK_SIZE)):
            self.request(
                "POST",
                f"{API}/2/media/upload/{media_id}/append",
                data={"segment_index": str(index)},
                files={"media": ("chunk", content[start : start + CHUNK_SIZE], "application/octet-stream")},
            )
        info = self.json("POST", f"{API}/2/media/upload/{media_id}/finalize")["data"].get("processing_info")
        for _attempt in range(STATUS_POLL_ATTEMPTS):
            if not info or info.get("state") == "succeeded":
                return media_id
            if info.get("state") == "failed":
                error = info.get("error", {}).get("message")
                if not error:
                    raise ContentRejected(
                        gettext("%(network)s could not process the media.") % {"network": "X"}
                    )
                raise ContentRejected(
                    gettext("%(network)s could not process the media: %(reason)s")
                    % {"network": "X", "reason": error}
                )
            time.sleep(float(info.get("check_after_secs", 1)))
            params = {"command": "STATUS", "media_id": media_id}
            info = self.json("GET", f"{API}/2/media/upload", params=params)["data"].get("processing_info")
        raise Transient(
            gettext("%(network)s is still processing the media; trying again later.") % {"network": "X"}
        )

    def create_tweet(self, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.json("POST", f"{API}/2/tweets", json=payload, may_apply=True)["data"]
        return result

    def delete_tweet(self, tweet_id: str) -> None:
        self.request("DELETE", f"{API}/2/tweets/{tweet_id}")
