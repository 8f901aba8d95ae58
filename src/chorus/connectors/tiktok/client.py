"""Raw TikTok API v2 calls (Login Kit + Content Posting API) and `classify`.

References (developers.tiktok.com/doc): Login Kit for Web (/login-kit-web: authorize with
client_key and comma-separated scopes), OAuth tokens (/oauth-user-access-token-management),
Content Posting API direct post (/content-posting-api-reference-direct-post: POST
/v2/post/publish/video/init/ -> upload_url, PUT with Content-Range, then
/v2/post/publish/status/fetch/), media transfer guide (/content-posting-api-media-transfer-guide:
chunks of 5–64 MB, the last up to 128 MB), creator info (/content-posting-api-reference-query-creator-info),
video list/query (/tiktok-api-v2-video-query), errors (/tiktok-api-v2-error-handling: every body
carries {"error": {"code": "ok" | ..., "message", "log_id"}}).
"""

from __future__ import annotations

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
from chorus.connectors.classify import ErrorTable, Reading, Rule, codes
from chorus.connectors.oauth2 import BearerAPI, TokenEndpoint

AUTHORIZE_URL = "https://www.tiktok.com/v2/auth/authorize/"
API = "https://open.tiktokapis.com/v2"
TOKEN_URL = f"{API}/oauth/token/"
SCOPES = "user.info.basic,user.info.stats,video.publish,video.list"
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
RATE_CODES = frozenset(
    {"rate_limit_exceeded", "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting"}
)
SPAM_CODES = frozenset(code for code in RATE_CODES if code.startswith("spam_risk"))  # the daily cap
REAUTH_CODES = frozenset(
    {
        "access_token_invalid_revoked",
        "scope_not_authorized",
        "scope_permission_missed",
        "user_has_no_permission",
    }
)


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    """Every TikTok answer carries {"error": {"code": "ok" | ...}}, a 200 included."""
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or ("ok" if response.status_code < 400 else response.status_code))
    if code == "ok" and response.status_code < 400:
        return None
    return Reading(
        reason=str(error.get("message") or code),
        codes=frozenset({code}),
        code=code,
        detail={"status": response.status_code, "code": code, "log_id": error.get("log_id", "")},
    )


_TOKEN = _("%(network)s refused the access token (%(reason)s).")
_LIMIT = _("%(network)s limit reached (%(reason)s).")
_SERVER = _("%(network)s server error (%(reason)s).")
ERRORS = ErrorTable(
    network="TikTok",
    read=_read,
    rules=(
        Rule(
            ReauthRequired,
            _("%(network)s refused the account (%(reason)s); reconnect it."),
            codes=REAUTH_CODES,
        ),
        Rule(AuthExpired, _TOKEN, codes=codes("access_token_invalid")),
        Rule(AuthExpired, _TOKEN, statuses=frozenset({401})),
        # The daily post cap (spam_risk_*) against the 1-minute request window.
        Rule(RateLimited, _LIMIT, codes=SPAM_CODES, wait=86400.0),
        Rule(RateLimited, _LIMIT, codes=RATE_CODES, wait=60.0),
        Rule(RateLimited, _LIMIT, statuses=frozenset({429}), wait=60.0),
        Rule(Transient, _SERVER, server_error=True),
        Rule(Transient, _SERVER, codes=codes("internal_error")),
    ),
    # invalid_params, privacy_level_option_mismatch, unaudited_client_can_only_post_to_private_accounts...
    fallback=Rule(ContentRejected, _("%(network)s rejected the post: %(reason)s (%(code)s)")),
)


def classify(response: httpx.Response) -> PublishError | None:
    return errors.classify(response, ERRORS)


class TikTokAPI(BearerAPI):
    label = "TikTok"
    token_endpoint = TokenEndpoint(TOKEN_URL, client_id_field="client_key")

    @staticmethod
    def classify(response: httpx.Response) -> PublishError | None:
        return classify(response)

    @staticmethod
    def authorize_url(client_key: str, redirect_uri: str, state: str) -> str:
        query = {
            "client_key": client_key,
            "response_type": "code",
            "scope": SCOPES,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    def user(self) -> dict[str, Any]:
        fields = "open_id,display_name,avatar_url,follower_count,following_count,likes_count,video_count"
        result: dict[str, Any] = self.json("GET", f"{API}/user/info/", params={"fields": fields})["data"][
            "user"
        ]
        return result

    def creator_info(self) -> dict[str, Any]:
        result: dict[str, Any] = self.json("POST", f"{API}/post/publish/creator_info/query/", json={})["data"]
        return result

    def init_video(self, post_info: dict[str, Any], size: int) -> dict[str, Any]:
        chunk = size if size <= MAX_CHUNK else MAX_CHUNK
        source = {
            "source": "FILE_UPLOAD",
            "video_size": size,
            "chunk_size": chunk,
            "total_chunk_count": max(1, size // chunk),  # the remainder rides with the last chunk
        }
        payload = {"post_info": post_info, "source_info": source}
        # The init creates the post on TikTok's side: a timeout here is an unknown outcome.
        result: dict[str, Any] = self.json(
            "POST", f"{API}/post/publish/video/init/", json=payload, may_apply=True
        )["data"]
        result["chunk_size"], result["total_chunk_count"] = chunk, source["total_chunk_count"]
        return result

    def upload(self, upload_url: str, content: bytes, chunk: int, count: int, content_type: str) -> None:
        size = len(content)
        for index in range(count):
            start = index * chunk
            end = size if index == count - 1 else start + chunk
            headers = {
                "Content-Type": content_type,
                "Content-Length": str(end - start),
                "Content-Range": f"bytes {start}-{end - 1}/{size}",
            }
            # The upload host answers with an empty body: only the status matters.
            self.request(
                "PUT",
                upload_url,
                content=content[start:end],
                headers=headers,
                bearer=False,
                classify=_upload_status,
                may_apply=True,
            )

    def publish_status(self, publish_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json(
            "POST", f"{API}/post/publish/status/fetch/", json={"publish_id": publish_id}
        )["data"]
        return result

    def videos(self, video_ids: list[str]) -> list[dict[str, Any]]:
        fields = "id,create_time,share_url,view_count,like_count,comment_count,share_count"
        body = {"filters": {"video_ids": video_ids}}
        data = self.json("POST", f"{API}/video/query/", params={"fields": fields}, json=body)["data"]
        return list(data.get("videos") or [])


def _upload_status(response: httpx.Response) -> PublishError | None:
    if response.status_code < 400:
        return None
    if response.status_code >= 500:
        return Transient(
            gettext("%(network)s upload server error %(status)s.")
            % {"network": "TikTok", "status": response.status_code}
        )
    return ContentRejected(
        gettext("TikTok refused the video upload (%(status)s).") % {"status": response.status_code}
    )
