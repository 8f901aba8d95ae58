"""Raw Pinterest API v5 calls and `classify`.

References (developers.pinterest.com/docs): OAuth (/getting-started/set-up-authentication-and-
authorization: authorize at www.pinterest.com/oauth/, token at api.pinterest.com/v5/oauth/token
with HTTP Basic client auth), pins/create (/api/v5/pins-create: media_source image_base64 or
image_url), boards/list (/api/v5/boards-list), user_account/get, pins/analytics
(/api/v5/pins-analytics), errors ({"code": int, "message": str}) and rate limits
(/reference/rate-limits: X-RateLimit-Reset).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import urlencode

import httpx
from django.utils.translation import gettext

from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.oauth2 import BearerAPI, basic_auth
from chorus.core import http

AUTHORIZE_URL = "https://www.pinterest.com/oauth/"
API = "https://api.pinterest.com/v5"
TOKEN_URL = f"{API}/oauth/token"
SCOPES = "boards:read,pins:read,pins:write,user_accounts:read"


def classify(response: httpx.Response) -> PublishError | None:
    status = response.status_code
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    reason = str(body.get("message") or response.reason_phrase or status)
    detail = {"status": status, "code": body.get("code")}
    words = {"network": "Pinterest", "reason": reason, "status": status}  # Pinterest's reason stays as given
    if status == 401:
        return AuthExpired(
            gettext("%(network)s refused the access token (%(reason)s).") % words, detail=detail
        )
    if status == 403 and "scope" in reason.lower():
        return ReauthRequired(
            gettext("%(network)s refused the action (%(reason)s); reconnect the account.") % words,
            detail=detail,
        )
    if status == 429:
        wait = http.retry_after_seconds(response, default=60.0)  # X-RateLimit-Reset
        return RateLimited(
            gettext("%(network)s rate limit reached (%(reason)s).") % words, retry_after=wait, detail=detail
        )
    if status >= 500:
        return Transient(gettext("%(network)s server error %(status)s.") % words, detail=detail)
    return ContentRejected(gettext("%(network)s rejected the pin: %(reason)s") % words, detail=detail)


class PinterestAPI(BearerAPI):
    label = "Pinterest"

    @staticmethod
    def classify(response: httpx.Response) -> PublishError | None:
        return classify(response)

    @staticmethod
    def authorize_url(client_id: str, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    def exchange_code(self, client: tuple[str, str], code: str, redirect_uri: str) -> dict[str, Any]:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self.token(TOKEN_URL, data, headers={"Authorization": basic_auth(*client)})

    def refresh(self, client: tuple[str, str], refresh_token: str) -> dict[str, Any]:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.token(TOKEN_URL, data, headers={"Authorization": basic_auth(*client)})

    def user_account(self) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"{API}/user_account")
        return result

    def boards(self) -> list[dict[str, Any]]:
        boards: list[dict[str, Any]] = []
        bookmark = ""
        for _page in range(10):  # 250 boards at most
            params = {"page_size": "25", **({"bookmark": bookmark} if bookmark else {})}
            page = self.json("GET", f"{API}/boards", params=params)
            boards.extend(page.get("items") or [])
            bookmark = page.get("bookmark") or ""
            if not bookmark:
                break
        return boards

    def create_pin(self, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.json("POST", f"{API}/pins", json=payload, may_apply=True)
        return result

    def pin_analytics(self, pin_id: str, metrics: list[str], days: int = 30) -> dict[str, Any]:
        today = dt.date.today()
        params = {
            "start_date": (today - dt.timedelta(days=days)).isoformat(),
            "end_date": today.isoformat(),
            "metric_types": ",".join(metrics),
        }
        data = self.json("GET", f"{API}/pins/{pin_id}/analytics", params=params)
        return dict((data.get("all") or {}).get("summary_metrics") or {})

    def delete_pin(self, pin_id: str) -> None:
        self.request("DELETE", f"{API}/pins/{pin_id}")


def base64_source(content: bytes, content_type: str) -> dict[str, str]:
    return {
        "source_type": "image_base64",
        "content_type": content_type,
        "data": base64.b64encode(content).decode(),
    }
