"""Raw Mastodon REST calls over the one HTTP seam (chorus.core.http), and `classify`: the one
place where a Mastodon response or a network failure becomes an error of the connector contract.

Why not Mastodon.py: it talks through its own `requests` session, so it would bypass the SSRF
guard and the test seam of core/http.py, and it folds "could not connect" and "timed out after
sending" into one MastodonNetworkError — the one distinction an at-most-once publish needs.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors import classify as errors
from chorus.connectors.base import (
    ContentRejected,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
    Unreachable,
)
from chorus.connectors.classify import ErrorTable, Reading, Rule
from chorus.core import http

SCOPES = "read write"
APP_NAME = "Chorus"
APP_WEBSITE = "https://github.com/chorus-social/chorus"
MEDIA_POLL_INTERVAL = 1.0  # seconds between checks of a media attachment still processing (202)
MEDIA_POLL_ATTEMPTS = 30
REBLOGGED_BY_PAGE = 80  # the most /reblogged_by returns at once


def normalize_instance(url: str) -> str:
    """'mastodon.social', 'https://mastodon.social/' and 'https://Mastodon.social/about' are one
    instance: scheme + lower-cased host (+ port), no path. No scheme means https."""
    url = url.strip()
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme.lower()}://{netloc}"


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    if response.status_code < 400:
        return None
    reason = body.get("error_description") or body.get("error") or response.reason_phrase
    return Reading(reason=str(reason or response.status_code), detail={"status": response.status_code})


ERRORS = ErrorTable(
    network="Mastodon",
    read=_read,
    rules=(
        # Mastodon access tokens do not expire: a 401 means the token was revoked.
        Rule(
            ReauthRequired,
            _("%(network)s refused the access token (%(reason)s); reconnect the channel."),
            statuses=frozenset({401}),
        ),
        Rule(
            ReauthRequired,
            _("%(network)s refused the action (%(reason)s); check the account."),
            statuses=frozenset({403}),
        ),
        Rule(
            ContentRejected,
            _("%(network)s rejected the post: %(reason)s"),
            statuses=frozenset({400, 413, 422}),
        ),
        Rule(
            RateLimited,
            _("%(network)s rate limit reached (%(reason)s)."),
            statuses=frozenset({429}),
            wait=300.0,
        ),
        Rule(Transient, _("%(network)s server error %(status)s."), server_error=True),
    ),
    fallback=Rule(PublishError, _("%(network)s answered %(status)s: %(reason)s")),
)


def classify(response: httpx.Response) -> PublishError | None:
    """None for a success; otherwise the contract error this response means."""
    return errors.classify(response, ERRORS)


class MastodonAPI:
    def __init__(self, instance: str, access_token: str = "") -> None:
        self.instance = normalize_instance(instance)
        self.access_token = access_token

    # --- the one request function -------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        may_apply: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`may_apply=True` for a create that is not safe to resend after a timeout: a failure
        once the request left is then OutcomeUnknown instead of Transient."""
        url = f"{self.instance}{path}"
        try:
            http.check_public_url(url)  # every time: the instance's DNS may change after connecting
        except http.UnsafeURL as exc:
            # Nothing was sent. A person must look at the instance, so pause the channel.
            raise ReauthRequired(
                gettext("Chorus will not contact %(host)s: %(error)s") % {"host": self.instance, "error": exc}
            ) from exc
        all_headers = dict(headers or {})
        if self.access_token:
            all_headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            with http.client(user_url=True) as session:
                response = session.request(method, url, headers=all_headers, **kwargs)
        except http.NOT_CONNECTED as exc:
            host = http.host_of(exc, self.instance)
            raise Unreachable(
                gettext("Could not reach %(network)s: %(error)s")
                % {"network": self.instance, "error": type(exc).__name__},
                host=host,
            ) from exc
        except httpx.TransportError as exc:
            # The request may have reached the server (read timeout, connection dropped).
            message = gettext("No answer from %(network)s after sending (%(error)s).") % {
                "network": self.instance,
                "error": type(exc).__name__,
            }
            raise (OutcomeUnknown(message) if may_apply else Transient(message)) from exc
        error = classify(response)
        if error is not None:
            raise error
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # --- OAuth --------------------------------------------------------------------------------
    def register_app(self, redirect_uri: str) -> dict[str, Any]:
        data = {
            "client_name": APP_NAME,
            "redirect_uris": redirect_uri,
            "scopes": SCOPES,
            "website": APP_WEBSITE,
        }
        result: dict[str, Any] = self.json("POST", "/api/v1/apps", data=data)
        return result

    def authorize_url(self, client_id: str, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
        }
        return f"{self.instance}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, *, client_id: str, client_secret: str, redirect_uri: str, code: str) -> str:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
        }
        token: dict[str, Any] = self.json("POST", "/oauth/token", data=data)
        return str(token["access_token"])

    # --- reads --------------------------------------------------------------------------------
    def verify_credentials(self) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", "/api/v1/accounts/verify_credentials")
        return result

    def instance_info(self) -> tuple[int, dict[str, Any]]:
        """(API version, instance document): v2 when the server has it, else v1."""
        try:
            return 2, self.json("GET", "/api/v2/instance")
        except PublishError as exc:
            if exc.detail.get("status") not in (404, 410):
                raise
        return 1, self.json("GET", "/api/v1/instance")

    def get_status(self, status_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"/api/v1/statuses/{status_id}")
        return result

    def search_statuses(self, q: str, *, resolve: bool = False, limit: int = 1) -> list[dict[str, Any]]:
        """GET /api/v2/search for statuses; `resolve` lets the instance fetch a remote post by its
        address (needs a user token)."""
        params = {"q": q, "type": "statuses", "limit": limit, "resolve": "true" if resolve else "false"}
        found = self.json("GET", "/api/v2/search", params=params)
        statuses = found.get("statuses") if isinstance(found, dict) else None
        return [s for s in statuses or [] if isinstance(s, dict)]

    def reblogged_by(self, status_id: str, max_id: str = "") -> tuple[list[dict[str, Any]], str]:
        """One page of the accounts that boosted a status (followers_count included), and the
        `max_id` of the next page from the Link header ("" on the last page)."""
        params: dict[str, Any] = {"limit": REBLOGGED_BY_PAGE}
        if max_id:
            params["max_id"] = max_id
        response = self.request("GET", f"/api/v1/statuses/{status_id}/reblogged_by", params=params)
        following = response.links.get("next", {}).get("url", "")
        accounts: list[dict[str, Any]] = response.json()
        return accounts, httpx.URL(following).params.get("max_id", "") if following else ""

    def account_statuses(self, account_id: str, limit: int = 40) -> list[dict[str, Any]]:
        params = {"limit": limit, "exclude_reblogs": "true"}
        result: list[dict[str, Any]] = self.json(
            "GET", f"/api/v1/accounts/{account_id}/statuses", params=params
        )
        return result

    # --- writes -------------------------------------------------------------------------------
    def upload_media(
        self, *, content: bytes, filename: str, content_type: str, description: str, focus: str
    ) -> dict[str, Any]:
        data = {key: value for key, value in (("description", description), ("focus", focus)) if value}
        files = {"file": (filename, content, content_type)}
        response = self.request("POST", "/api/v2/media", data=data, files=files)
        media: dict[str, Any] = response.json()
        if response.status_code == 202:  # accepted, still processing: usable once it has a URL
            for _ in range(MEDIA_POLL_ATTEMPTS):
                time.sleep(MEDIA_POLL_INTERVAL)
                media = self.json("GET", f"/api/v1/media/{media['id']}")
                if media.get("url"):
                    break
            else:
                raise Transient(
                    gettext("%(network)s is still processing %(file)s; trying again later.")
                    % {"network": "Mastodon", "file": filename}
                )
        return media

    def post_status(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        # Mastodon keeps the key for an hour: a resend with the same key returns the status the
        # first request created instead of posting it twice.
        headers = {"Idempotency-Key": idempotency_key}
        result: dict[str, Any] = self.json(
            "POST", "/api/v1/statuses", json=payload, headers=headers, may_apply=True
        )
        return result

    def delete_status(self, status_id: str) -> None:
        self.request("DELETE", f"/api/v1/statuses/{status_id}")

    # --- inbox (Feature.INBOX) ------------------------------------------------------------------
    def notifications_after(self, min_id: str, *, limit: int) -> list[dict[str, Any]]:
        """The `limit` notifications immediately newer than `min_id` ("0": from the oldest kept),
        as Mastodon sends them (newest first)."""
        params = {"min_id": min_id or "0", "limit": limit}
        result: list[dict[str, Any]] = self.json("GET", "/api/v1/notifications", params=params)
        return result

    def notifications_before(self, max_id: str, *, limit: int) -> list[dict[str, Any]]:
        """Older notifications than `max_id` (reading back further than the stored cursor)."""
        params = {"max_id": max_id, "limit": limit}
        result: list[dict[str, Any]] = self.json("GET", "/api/v1/notifications", params=params)
        return result

    def favourite(self, status_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("POST", f"/api/v1/statuses/{status_id}/favourite")
        return result

    def status_context(self, status_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"/api/v1/statuses/{status_id}/context")
        return result
