"""Raw XRPC calls to a PDS (writes, sessions) and an AppView (counters), and `classify`.

Every request goes through `chorus.core.http.client` (the one seam). The PDS URL may be typed by
the user (self-hosted), so it passes the SSRF guard before any request, and redirects are not
followed. Failures become the connector error hierarchy in exactly one place: `classify`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext

from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
    Unreachable,
)
from chorus.core import http

DEFAULT_SERVICE = "https://bsky.social"
PUBLIC_APPVIEW = "https://public.api.bsky.app"  # Bluesky's own AppView, public reads
APPVIEW_PROXY = "did:web:api.bsky.app#bsky_appview"  # the same, reached through a PDS
BLUESKY_WEB = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
# PDSes run by Bluesky (bsky.social and the *.host.bsky.network shards behind it).
BLUESKY_PDS_HOSTS = ("bsky.social", ".bsky.network")


def is_bluesky_pds(service: str) -> bool:
    host = (urlsplit(service).hostname or "").lower()
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in BLUESKY_PDS_HOSTS)


def default_appview(service: str) -> str:
    """The AppView a channel reads counters from when none is given: Bluesky's own (named to the
    PDS by its service DID) for Bluesky's PDSes; "" otherwise, meaning the PDS itself with no
    `atproto-proxy` header, which forwards app.bsky.* reads to the AppView it is set up with (a
    self-hosted network's own, or Bluesky's for a federated PDS)."""
    return APPVIEW_PROXY if is_bluesky_pds(service) else ""


def appview_of(config: dict[str, Any]) -> str:
    """The channel's AppView setting, or the default for its server when none was set."""
    if "appview" in config:
        return str(config.get("appview") or "")
    return default_appview(str(config.get("service") or ""))


def is_service_ref(appview: str) -> bool:
    """An AppView named by its service DID (`did:web:api.bsky.app#bsky_appview`): asked through
    the PDS with an `atproto-proxy` header; any other non-empty setting is a URL asked directly."""
    return appview.startswith("did:") and "#" in appview


def clean_appview(value: str) -> str:
    """The AppView setting as stored: "" (the PDS itself), a service DID, or a URL that passes the
    SSRF guard. Raises ValueError (translated) on anything else."""
    value = value.strip().rstrip("/")
    if not value:
        return ""
    if value.startswith("did:"):
        if not is_service_ref(value) or " " in value:
            raise ValueError(
                gettext("Give the AppView's service DID with its service id, e.g. %(example)s.")
                % {"example": APPVIEW_PROXY}
            )
        return value
    return http.check_public_url(value)


def web_base(config: dict[str, Any]) -> str:
    """Where people open posts and profiles: bsky.app for an account on Bluesky's own PDSes; the
    channel's web address (its AppView's web client) otherwise, "" when none is set. A PDS that is
    not Bluesky's may not federate with bsky.app, so it never gets a bsky.app link by default."""
    if is_bluesky_pds(str(config.get("service") or "")):
        return BLUESKY_WEB
    return str(config.get("web_url") or "").rstrip("/")


def post_url(config: dict[str, Any], rkey: str) -> str:
    """The post's public link: on the web client where the account is seen (see `web_base`),
    else its at:// URI, which any AT Protocol client opens."""
    web = web_base(config)
    if web:
        return f"{web}/profile/{config['handle']}/post/{rkey}"
    return f"at://{config['did']}/{POST_COLLECTION}/{rkey}"


def record_time(record: dict[str, Any] | None) -> dt.datetime | None:
    """A record's own `createdAt` (the time the network shows), None when absent or unreadable."""
    value = ((record or {}).get("value") or {}).get("createdAt")
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


LIKE_COLLECTION = "app.bsky.feed.like"
TID_ALPHABET_REPLY = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, for inbox reply keys

# Error names of the XRPC error body {"error": ..., "message": ...} that mean something to us.
EXPIRED_TOKEN = "ExpiredToken"
REAUTH_ERRORS = frozenset({"AuthenticationRequired", "InvalidToken", "AccountTakedown", "AccountDeactivated"})


def _error_name(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("message") or "")


def _answer_host(response: httpx.Response) -> str:
    try:
        return http.url_host(response.request.url)
    except RuntimeError:  # a response built without a request (tests)
        return ""


def classify(failure: httpx.Response | httpx.HTTPError, *, write: bool = False) -> PublishError:
    """The one translation of a failed request into the error hierarchy.

    `write=True` for requests that change the repo: a failure after the request went out
    (a read timeout, a dropped connection) may have been applied, so it is OutcomeUnknown.
    """
    if isinstance(failure, httpx.HTTPError):
        words = {"network": "Bluesky", "error": type(failure).__name__}
        if isinstance(failure, http.NOT_CONNECTED):
            host = http.host_of(failure, "Bluesky")
            return Unreachable(
                gettext("Could not reach %(network)s at %(host)s: %(error)s") % {**words, "host": host},
                host=host,
            )
        if write:
            return OutcomeUnknown(gettext("No answer from %(network)s after sending (%(error)s).") % words)
        return Transient(gettext("The %(network)s request failed: %(error)s") % words)
    response = failure
    status = response.status_code
    name, message = _error_name(response)
    detail = {"status": status, "error": name, "host": _answer_host(response)}
    text = f"Bluesky: {message or name or f'HTTP {status}'}"
    if name == EXPIRED_TOKEN:  # the PDS answers 400 or 401 for an expired access token
        return AuthExpired(text, detail=detail)
    if status == 401 or name in REAUTH_ERRORS:
        return ReauthRequired(text, detail=detail)
    if status == 429:
        return RateLimited(text, retry_after=http.retry_after_seconds(response), detail=detail)
    if status >= 500:
        # The server failed while handling it: for a write this may be a duplicate record key or
        # a commit that happened before the error; the connector reads back before deciding.
        if write:
            return OutcomeUnknown(text, detail=detail)
        return Transient(text, detail=detail)
    return ContentRejected(text, detail=detail)


class XrpcClient:
    """Calls to one host. `token` is sent as a Bearer token when given."""

    def __init__(self, base_url: str, *, token: str = "", headers: dict[str, str] | None = None) -> None:
        self.base_url = http.check_public_url(base_url.rstrip("/"))
        self.token = token
        self.headers = headers or {}

    def _headers(self, token: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(self.headers)
        bearer = self.token if token is None else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return {**headers, **(extra or {})}

    def _send(self, method: str, nsid: str, *, write: bool, token: str | None = None, **kwargs: Any) -> Any:
        extra = kwargs.pop("headers", None)
        try:
            with http.client(user_url=True) as session:
                response = session.request(
                    method, f"{self.base_url}/xrpc/{nsid}", headers=self._headers(token, extra), **kwargs
                )
        except httpx.HTTPError as exc:
            raise classify(exc, write=write) from exc
        if response.status_code != 200:
            raise classify(response, write=write)
        return response.json() if response.content else {}

    def query(self, nsid: str, **params: Any) -> Any:
        return self._send("GET", nsid, write=False, params=params)

    def procedure(
        self, nsid: str, body: dict[str, Any], *, write: bool = True, token: str | None = None
    ) -> Any:
        return self._send("POST", nsid, write=write, json=body, token=token)

    # --- sessions ------------------------------------------------------------------------
    def create_session(self, identifier: str, password: str) -> dict[str, Any]:
        data: dict[str, Any] = self.procedure(
            "com.atproto.server.createSession",
            {"identifier": identifier, "password": password},
            write=False,
            token="",
        )
        return data

    def refresh_session(self, refresh_jwt: str) -> dict[str, Any]:
        data: dict[str, Any] = self._send(
            "POST", "com.atproto.server.refreshSession", write=False, token=refresh_jwt
        )
        return data

    def get_session(self) -> dict[str, Any]:
        data: dict[str, Any] = self.query("com.atproto.server.getSession")
        return data

    # --- repo ----------------------------------------------------------------------------
    def create_record(self, repo: str, rkey: str, record: dict[str, Any]) -> dict[str, Any]:
        body = {"repo": repo, "collection": POST_COLLECTION, "rkey": rkey, "record": record}
        data: dict[str, Any] = self.procedure("com.atproto.repo.createRecord", body)
        return data

    def get_record(self, repo: str, rkey: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = self.query(
                "com.atproto.repo.getRecord", repo=repo, collection=POST_COLLECTION, rkey=rkey
            )
        except ContentRejected as exc:  # 400 RecordNotFound: the record is not there
            if exc.detail.get("error") == "RecordNotFound" or exc.detail.get("status") == 404:
                return None
            raise
        return data

    def delete_record(self, repo: str, rkey: str) -> None:
        self.procedure(
            "com.atproto.repo.deleteRecord", {"repo": repo, "collection": POST_COLLECTION, "rkey": rkey}
        )

    def upload_blob(self, data: bytes, mime_type: str) -> dict[str, Any]:
        blob: dict[str, Any] = self._send(
            "POST",
            "com.atproto.repo.uploadBlob",
            write=False,
            content=data,
            headers={"Content-Type": mime_type},
        )["blob"]
        return blob

    def resolve_handle(self, handle: str) -> str | None:
        try:
            did: str = self.query("com.atproto.identity.resolveHandle", handle=handle)["did"]
        except ContentRejected:  # unknown handle: the mention stays plain text
            return None
        return did

    # --- inbox (Feature.INBOX) -----------------------------------------------------------
    def list_notifications(self, *, limit: int, cursor: str = "") -> dict[str, Any]:
        """app.bsky.notification.listNotifications, newest first; `cursor` pages to older ones.
        Asked of the PDS with the account's token: it proxies app.bsky.* to its AppView.

        `priority=false` always: without it the AppView applies the account's own "priority
        notifications" setting (only from accounts it follows), so a person who turned that on in
        the Bluesky app, or an AppView that set it by itself, would hide every mention from a
        stranger from the inbox. The dev-env AppView sets it at random on an account's first
        updateSeen (two concurrent upserts of actor_state, one with priority true)."""
        params: dict[str, Any] = {"limit": limit, "priority": "false"}
        if cursor:
            params["cursor"] = cursor
        data: dict[str, Any] = self.query("app.bsky.notification.listNotifications", **params)
        return data

    def update_seen(self, seen_at: str) -> None:
        self.procedure("app.bsky.notification.updateSeen", {"seenAt": seen_at}, write=False)

    def get_post_thread(self, uri: str, *, depth: int = 10) -> dict[str, Any]:
        data: dict[str, Any] = self.query("app.bsky.feed.getPostThread", uri=uri, depth=depth)
        return data

    def create_record_in(self, repo: str, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        """A record in another collection than posts (a like), under a key the PDS picks."""
        body = {"repo": repo, "collection": collection, "record": record}
        data: dict[str, Any] = self.procedure("com.atproto.repo.createRecord", body)
        return data
