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
from chorus.connectors.oauth2 import BearerAPI, TokenEndpoint

AUTHORIZE_URL = "https://www.pinterest.com/oauth/"
API = "https://api.pinterest.com/v5"
TOKEN_URL = f"{API}/oauth/token"
SCOPES = "boards:read,pins:read,pins:write,user_accounts:read"


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    if response.status_code < 400:
        return None
    return Reading(
        reason=str(body.get("message") or response.reason_phrase or response.status_code),
        detail={"status": response.status_code, "code": body.get("code")},
    )


ERRORS = ErrorTable(
    network="Pinterest",
    read=_read,
    rules=(
        Rule(AuthExpired, _("%(network)s refused the access token (%(reason)s)."), statuses=frozenset({401})),
        Rule(
            ReauthRequired,
            _("%(network)s refused the action (%(reason)s); reconnect the account."),
            statuses=frozenset({403}),
            reason_has=("scope",),
        ),
        Rule(
            RateLimited,
            _("%(network)s rate limit reached (%(reason)s)."),
            statuses=frozenset({429}),
            wait=60.0,  # X-RateLimit-Reset says when
        ),
        Rule(Transient, _("%(network)s server error %(status)s."), server_error=True),
    ),
    fallback=Rule(ContentRejected, _("%(network)s rejected the pin: %(reason)s")),
)


def classify(response: httpx.Response) -> PublishError | None:
    return errors.classify(response, ERRORS)


class PinterestAPI(BearerAPI):
    label = "Pinterest"
    token_endpoint = TokenEndpoint(TOKEN_URL, client_auth="basic", client_id_in_form=False)

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
