"""Raw YouTube Data API v3 calls (Google OAuth 2) and `classify`.

References: Google OAuth 2.0 for web server apps
(https://developers.google.com/identity/protocols/oauth2/web-server: access_type=offline,
refresh responses carry no new refresh_token), resumable uploads
(https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol: POST
uploadType=resumable -> Location, then PUT the bytes), videos.insert
(https://developers.google.com/youtube/v3/docs/videos/insert: status.publishAt needs
privacyStatus "private"), errors (https://developers.google.com/youtube/v3/docs/errors),
channels.list and videos.list (statistics), commentThreads.list
(https://developers.google.com/youtube/v3/docs/commentThreads/list: allThreadsRelatedToChannelId,
pageToken / nextPageToken, 1 unit) and comments.insert / comments.list
(https://developers.google.com/youtube/v3/docs/comments/insert: snippet.parentId is a top-level
comment, 50 units; comments need the youtube.force-ssl scope), comments.setModerationStatus
(https://developers.google.com/youtube/v3/docs/comments/setModerationStatus: POST with id and
moderationStatus heldForReview | published | rejected as query parameters, no body, 204; the
channel's owner only; a rejected comment cannot be published again; 50 units) and
comments.delete (DELETE with id, 204; only the comment's author; 50 units).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

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
from chorus.connectors.oauth2 import BearerAPI, TokenEndpoint

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
API = "https://www.googleapis.com/youtube/v3"
UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly "
    "https://www.googleapis.com/auth/youtube.force-ssl"
)
THREADS_PAGE = 100  # commentThreads.list maxResults (the most it allows)
QUOTA_REASONS = frozenset(
    {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "uploadLimitExceeded"}
)
REAUTH_REASONS = frozenset(
    {"forbidden", "insufficientPermissions", "youtubeSignupRequired", "channelNotFound"}
)


def _seconds_to_pacific_midnight() -> float:
    """The daily quota resets at midnight Pacific time."""
    now = dt.datetime.now(ZoneInfo("America/Los_Angeles"))
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    if response.status_code < 400:
        return None
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    reasons = frozenset(str(item.get("reason")) for item in error.get("errors") or [])
    return Reading(
        reason=str(error.get("message") or response.reason_phrase or response.status_code),
        codes=reasons,
        detail={"status": response.status_code, "reasons": sorted(reasons)},
    )


_QUOTA = _("%(network)s quota reached (%(reason)s).")
ERRORS = ErrorTable(
    network="YouTube",
    read=_read,
    rules=(
        Rule(AuthExpired, _("%(network)s refused the access token (%(reason)s)."), statuses=frozenset({401})),
        # The daily quota resets at midnight Pacific time.
        Rule(RateLimited, _QUOTA, codes=QUOTA_REASONS, wait=_seconds_to_pacific_midnight),
        Rule(RateLimited, _QUOTA, statuses=frozenset({429}), wait=_seconds_to_pacific_midnight),
        Rule(
            ReauthRequired,
            _("%(network)s refused the channel (%(reason)s); reconnect it."),
            statuses=frozenset({403}),
            codes=REAUTH_REASONS,
        ),
        Rule(Transient, _("%(network)s server error %(status)s."), server_error=True),
    ),
    fallback=Rule(ContentRejected, _("%(network)s rejected the video: %(reason)s")),
)


def classify(response: httpx.Response) -> PublishError | None:
    return errors.classify(response, ERRORS)


class YouTubeAPI(BearerAPI):
    label = "YouTube"
    token_endpoint = TokenEndpoint(TOKEN_URL)

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
            "access_type": "offline",  # a refresh token
            "prompt": "consent",  # ...every time, also on a reconnect
            "include_granted_scopes": "true",
            "state": state,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    def my_channel(self) -> dict[str, Any]:
        params = {"part": "snippet,statistics", "mine": "true"}
        items = self.json("GET", f"{API}/channels", params=params).get("items") or []
        if not items:
            raise ReauthRequired(gettext("This Google account has no YouTube channel."))
        return dict(items[0])

    def video(self, video_id: str) -> dict[str, Any]:
        items = (
            self.json("GET", f"{API}/videos", params={"part": "statistics", "id": video_id}).get("items")
            or []
        )
        return dict(items[0]) if items else {}

    def upload(self, resource: dict[str, Any], content: bytes, content_type: str) -> dict[str, Any]:
        """Resumable upload: the session request, then the bytes to its Location."""
        headers = {"X-Upload-Content-Length": str(len(content)), "X-Upload-Content-Type": content_type}
        params = {"uploadType": "resumable", "part": "snippet,status"}
        session = self.request("POST", UPLOAD, params=params, json=resource, headers=headers)
        location = session.headers.get("location")
        if not location:
            raise Transient(gettext("YouTube did not open an upload session."))
        # From here the video may be created: a timeout is an unknown outcome.
        response = self.request(
            "PUT", location, content=content, headers={"Content-Type": content_type}, may_apply=True
        )
        result: dict[str, Any] = response.json()
        return result

    def delete_video(self, video_id: str) -> None:
        self.request("DELETE", f"{API}/videos", params={"id": video_id})

    def comment_threads(self, channel_id: str, token: str = "") -> dict[str, Any]:
        """One page of the comment threads on the channel's videos, newest first (1 unit)."""
        params = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": channel_id,
            "maxResults": str(THREADS_PAGE),
            "order": "time",
            "textFormat": "plainText",
        }
        if token:
            params["pageToken"] = token
        result: dict[str, Any] = self.json("GET", f"{API}/commentThreads", params=params)
        return result

    def insert_reply(self, parent_id: str, text: str) -> dict[str, Any]:
        """comments.insert under a top-level comment (50 units). No idempotency key exists: a
        lost answer is settled by `replies`, never by sending again."""
        body = {"snippet": {"parentId": parent_id, "textOriginal": text}}
        response = self.request(
            "POST", f"{API}/comments", params={"part": "snippet"}, json=body, may_apply=True
        )
        result: dict[str, Any] = response.json()
        return result

    def replies(self, parent_id: str) -> list[dict[str, Any]]:
        """The replies under a top-level comment (comments.list, 1 unit)."""
        params = {"part": "snippet", "parentId": parent_id, "maxResults": "100", "textFormat": "plainText"}
        return list(self.json("GET", f"{API}/comments", params=params).get("items") or [])

    def set_moderation_status(self, comment_id: str, status: str) -> None:
        """comments.setModerationStatus (50 units): heldForReview, published or rejected."""
        params = {"id": comment_id, "moderationStatus": status}
        self.request("POST", f"{API}/comments/setModerationStatus", params=params)

    def delete_comment(self, comment_id: str) -> None:
        """comments.delete (50 units): our own comments only."""
        self.request("DELETE", f"{API}/comments", params={"id": comment_id})
