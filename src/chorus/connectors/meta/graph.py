"""The shared Meta Graph client (Facebook Pages, Instagram, Threads) over the one HTTP seam, and
`classify`: the one place where a Graph answer becomes an error of the connector contract.

Error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling/
Rate limiting and usage headers: https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors import classify as errors
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
from chorus.connectors.classify import ErrorTable, Reading, Rule
from chorus.core import http

GRAPH_VERSION = "v24.0"  # Facebook and Instagram (Graph API); Threads has its own version
FACEBOOK_GRAPH = "https://graph.facebook.com"
FACEBOOK_VIDEO_GRAPH = "https://graph-video.facebook.com"  # the documented host for video uploads
FACEBOOK_DIALOG = "https://www.facebook.com"
THREADS_GRAPH = "https://graph.threads.net"
THREADS_VERSION = "v1.0"

# Graph error codes (named so the tables below read as the documentation does).
AUTH_CODES = {190, 102}  # OAuthException: token invalid or expired
RATE_CODES = {4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006}  # app/user/page/BUC limits
TRANSIENT_CODES = {1, 2}  # unknown error / service temporarily unavailable
PERMISSION_CODES = {10, 200, 299}  # the permission was not granted (or removed)
# 190 subcodes: 463 expired, 467 invalid; 458 app removed, 459 checkpoint, 460 password changed,
# 464 unconfirmed user, 492 invalid session: only the first two can heal by a refresh.
EXPIRED_SUBCODES = {463, 467}
INSTAGRAM_DAILY_LIMIT_SUBCODE = 2207042  # "you reached the maximum number of posts allowed"
DEFAULT_RATE_WAIT = 300.0
POLL_INTERVAL = 2.0  # seconds between reads of a container still being processed
POLL_ATTEMPTS = 30  # ~1 minute: long enough for most images/short videos, shorter than the send lease
# /me/accounts: what the Page picker shows, each Page's token, its linked Instagram account.
PAGE_FIELDS = (
    "id,name,category,picture{url},access_token,tasks,"
    "instagram_business_account{id,username,name,profile_picture_url}"
)
MAX_PAGE_REQUESTS = 10  # 100 Pages per request: 1,000 Pages is beyond any team we serve


def usage_retry_after(response: httpx.Response, default: float = DEFAULT_RATE_WAIT) -> float:
    """Seconds to wait, from Graph usage headers.

    X-Business-Use-Case-Usage: {"<id>": [{"type": ..., "call_count": %, "total_cputime": %,
    "total_time": %, "estimated_time_to_regain_access": minutes}]} — the one header that says
    how long. X-App-Usage / X-Ad-Account-Usage give percentages only: at 100% the app is blocked
    for up to an hour. Retry-After wins when present.
    """
    if "retry-after" in response.headers:
        return http.retry_after_seconds(response, default=default)
    minutes = 0.0
    saturated = False
    for header in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
        usage = _json_header(response, header)
        entries: list[Any] = []
        if header == "x-business-use-case-usage" and isinstance(usage, dict):
            for value in usage.values():
                entries.extend(value if isinstance(value, list) else [value])
        elif isinstance(usage, dict):
            entries = [usage]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            minutes = max(minutes, float(entry.get("estimated_time_to_regain_access") or 0))
            percents = [
                entry.get(key) for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct")
            ]
            saturated = saturated or any(isinstance(p, int | float) and p >= 100 for p in percents)
    if minutes:
        return minutes * 60
    return 3600.0 if saturated else default


def observe_usage(response: httpx.Response, channel: Any) -> None:
    """Feeds the quota ledger (chorus.publishing.quotas.observe) with the usage headers of every
    Graph answer: X-App-Usage as bucket "app", each X-Business-Use-Case-Usage entry as
    "buc:<business id>:<type>"; used = the highest of call_count / total_time / total_cputime (%),
    reset = now + estimated_time_to_regain_access (minutes) when Meta gives one."""
    if channel is None:
        return
    from chorus.quotas.observe import observe

    found: list[tuple[str, dict[str, Any]]] = []
    app = _json_header(response, "x-app-usage")
    if isinstance(app, dict):
        found.append(("app", app))
    buc = _json_header(response, "x-business-use-case-usage")
    if isinstance(buc, dict):
        for business_id, value in buc.items():
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict):
                    found.append((f"buc:{business_id}:{entry.get('type') or 'all'}", entry))
    now = dt.datetime.now(dt.UTC)
    for bucket, entry in found:
        percents = [
            float(p)
            for p in (entry.get(key) for key in ("call_count", "total_time", "total_cputime"))
            if isinstance(p, int | float)
        ]
        minutes = entry.get("estimated_time_to_regain_access")
        resets_at = (
            now + dt.timedelta(minutes=float(minutes))
            if isinstance(minutes, int | float) and minutes > 0
            else None
        )
        observe(channel, bucket, used_percent=max(percents) if percents else None, resets_at=resets_at)


def _json_header(response: httpx.Response, name: str) -> Any:
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _code(value: int) -> str:
    return f"code:{value}"


def _read(response: httpx.Response, body: dict[str, Any]) -> Reading | None:
    """A Graph error may come with a 200 (batch and some legacy calls): the body decides."""
    error = body.get("error")
    if response.status_code < 400 and not error:
        return None
    error = error if isinstance(error, dict) else {}
    code, subcode = int(error.get("code") or 0), int(error.get("error_subcode") or 0)
    signals = {_code(code), f"subcode:{subcode}"}
    if code in AUTH_CODES and subcode in EXPIRED_SUBCODES:
        signals.add("token_expired")  # only these can heal by a refresh
    if code:
        signals.add("graph_error")
    return Reading(
        reason=str(
            error.get("error_user_msg")
            or error.get("message")
            or response.reason_phrase
            or response.status_code
        ),
        codes=frozenset(signals),
        detail={
            "status": response.status_code,
            "code": code,
            "subcode": subcode,
            "fbtrace_id": error.get("fbtrace_id", ""),
        },
    )


_LIMITED = _("%(network)s rate limit reached (%(reason)s).")
_UNAVAILABLE = _("%(network)s is temporarily unavailable (%(reason)s).")
ERRORS = ErrorTable(
    network="Facebook",
    read=_read,
    rules=(
        Rule(
            AuthExpired,
            _("The %(network)s access token expired (%(reason)s)."),
            codes=frozenset({"token_expired"}),
        ),
        Rule(
            ReauthRequired,
            _("%(network)s refused the access token (%(reason)s); reconnect the channel."),
            codes=frozenset(_code(c) for c in AUTH_CODES),
        ),
        # Instagram's 24-hour post cap: a unit frees when the oldest post turns 24 h.
        Rule(
            RateLimited,
            _LIMITED,
            codes=frozenset({f"subcode:{INSTAGRAM_DAILY_LIMIT_SUBCODE}"}),
            wait_from=usage_retry_after,
            min_wait=3600.0,
        ),
        Rule(
            RateLimited,
            _LIMITED,
            codes=frozenset(_code(c) for c in RATE_CODES),
            wait_from=usage_retry_after,
        ),
        Rule(
            RateLimited,
            _LIMITED,
            statuses=frozenset({429}),
            wait_from=usage_retry_after,
        ),
        Rule(Transient, _UNAVAILABLE, codes=frozenset(_code(c) for c in TRANSIENT_CODES)),
        Rule(Transient, _UNAVAILABLE, server_error=True),
        Rule(
            ReauthRequired,
            _("%(network)s refused the permission (%(reason)s); reconnect and grant it."),
            codes=frozenset(_code(c) for c in PERMISSION_CODES),
        ),
        # 100 invalid parameter, 3xx/1xxx media and policy errors
        Rule(
            ContentRejected, _("%(network)s rejected the post: %(reason)s"), codes=frozenset({"graph_error"})
        ),
        Rule(
            ContentRejected,
            _("%(network)s rejected the post: %(reason)s"),
            statuses=frozenset(range(400, 500)),
        ),
    ),
    fallback=Rule(PublishError, _("%(network)s answered %(status)s: %(reason)s")),
)


def classify(response: httpx.Response, network: str = "Facebook") -> PublishError | None:
    """None for a success; otherwise the contract error this Graph response means."""
    return errors.classify(response, ERRORS, network=network)


class GraphAPI:
    """One access token on one Graph host. Every call goes through `request`."""

    def __init__(
        self,
        access_token: str = "",
        *,
        base_url: str = FACEBOOK_GRAPH,
        version: str = GRAPH_VERSION,
        network: str = "Facebook",
        channel: Any = None,
    ) -> None:
        self.access_token = access_token
        self.channel = channel  # whose quota the usage headers are recorded on (None: not recorded)
        self.base_url = base_url
        self.version = version
        self.network = network

    def url(self, path: str, base_url: str | None = None) -> str:
        prefix = f"{base_url or self.base_url}/{self.version}" if self.version else base_url or self.base_url
        return f"{prefix}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        may_apply: bool = False,
        base_url: str | None = None,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """`may_apply=True` for a create that must not be resent blindly: a failure once the
        request left is then OutcomeUnknown instead of Transient. Returns the decoded JSON."""
        query = dict(params or {})
        if self.access_token and "access_token" not in query:
            query["access_token"] = self.access_token
        url = self.url(path, base_url)
        try:
            with http.client() as session:
                response = session.request(method, url, params=query, **kwargs)
        except http.NOT_CONNECTED as exc:
            raise Unreachable(
                gettext("Could not reach %(network)s: %(error)s")
                % {"network": self.network, "error": type(exc).__name__},
                host=http.host_of(exc, self.network),
            ) from exc
        except httpx.TransportError as exc:
            message = gettext("No answer from %(network)s after sending (%(error)s).") % {
                "network": self.network,
                "error": type(exc).__name__,
            }
            raise (OutcomeUnknown(message) if may_apply else Transient(message)) from exc
        observe_usage(response, self.channel)
        error = classify(response, self.network)
        if error is not None:
            raise error
        try:
            return response.json()
        except ValueError as exc:
            raise Transient(
                gettext("%(network)s answered with something that is not JSON.") % {"network": self.network}
            ) from exc

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict[str, Any], *, may_apply: bool = False, **kwargs: Any) -> Any:
        return self.request("POST", path, data=data, may_apply=may_apply, **kwargs)

    def wait_for_container(
        self, container_id: str, *, field: str = "status_code", sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Polls a media container until FINISHED (Instagram `status_code`, Threads `status`).

        ERROR is permanent (ContentRejected, with Meta's reason); still IN_PROGRESS after the
        bounded wait is Transient: nothing was published, so the engine retries later with a
        fresh container (an unpublished container simply expires after 24 h).
        """
        fields = f"{field},status" if field != "status" else "status,error_message"
        for attempt in range(POLL_ATTEMPTS):
            answer = self.get(container_id, fields=fields)
            state = str(answer.get(field) or "")
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state == "ERROR":
                reason = answer.get("error_message") or answer.get("status")
                if not reason:
                    raise ContentRejected(
                        gettext("%(network)s could not process the media.") % {"network": self.network}
                    )
                raise ContentRejected(
                    gettext("%(network)s could not process the media: %(reason)s")
                    % {"network": self.network, "reason": reason}
                )
            if state == "EXPIRED":
                raise Transient(
                    gettext("The %(network)s media container expired before publishing.")
                    % {"network": self.network}
                )
            if attempt + 1 < POLL_ATTEMPTS:
                sleep(POLL_INTERVAL)
        raise Transient(
            gettext("%(network)s is still processing the media; trying again later.")
            % {"network": self.network}
        )


# --- OAuth (Facebook Login for Business; Instagram with Facebook Login uses the same) --------------
def facebook_authorize_url(client_id: str, redirect_uri: str, scopes: list[str], state: str) -> str:
    # https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow/
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "scope": ",".join(scopes),
    }
    return f"{FACEBOOK_DIALOG}/{GRAPH_VERSION}/dialog/oauth?{urlencode(query)}"


def facebook_user_token(
    *, client_id: str, client_secret: str, redirect_uri: str, code: str
) -> dict[str, Any]:
    """Code -> short-lived user token -> long-lived user token (about 60 days). Page tokens
    read with a long-lived user token do not expire.
    https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived/"""
    api = GraphAPI()
    short = api.get(
        "oauth/access_token",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        code=code,
    )
    long: dict[str, Any] = api.get(
        "oauth/access_token",
        grant_type="fb_exchange_token",
        client_id=client_id,
        client_secret=client_secret,
        fb_exchange_token=short["access_token"],
    )
    return long


def facebook_pages(user_token: str) -> list[dict[str, Any]]:
    """The Pages the user granted, with each Page's token, category, picture and Instagram
    professional account, following the cursor (`paging.next` is absent on the last page).
    https://developers.facebook.com/docs/graph-api/reference/user/accounts/"""
    api = GraphAPI(user_token)
    pages: list[dict[str, Any]] = []
    query: dict[str, Any] = {"fields": PAGE_FIELDS, "limit": 100}
    for _request in range(MAX_PAGE_REQUESTS):
        answer = api.get("me/accounts", **query)
        pages.extend(answer.get("data", []))
        paging = answer.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        query["after"] = after
    return pages


def granted_permissions(user_token: str) -> set[str] | None:
    """The permissions the person granted at login (GET /me/permissions: {"data": [{"permission",
    "status": "granted"|"declined"|"expired"}]}), or None when Meta did not answer: the
    connection goes on, and nothing is marked missing.
    https://developers.facebook.com/docs/graph-api/reference/user/permissions/"""
    try:
        answer = GraphAPI(user_token).get("me/permissions")
    except PublishError:
        return None
    return {
        str(row.get("permission") or "") for row in answer.get("data") or [] if row.get("status") == "granted"
    }


def picture_url(node: dict[str, Any]) -> str:
    """The https URL of a `picture{url}` field ({"picture": {"data": {"url": …}}}), or ''."""
    url = str(((node.get("picture") or {}).get("data") or {}).get("url") or "")
    return url if url.startswith("https://") else ""
