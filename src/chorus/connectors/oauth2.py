"""What the OAuth 2 networks (LinkedIn, X, YouTube, TikTok, Pinterest) share: the app's client
id/secret from settings (one shape for every OAuth app, Meta's included: `oauth_app`), one
bearer-token request function over core.http, the token plumbing (code exchange and refresh, from
each network's declared `TokenEndpoint`), tokens kept fresh (refresh before expiry and once on
AuthExpired; a refresh answer without a refresh token never erases the stored one), and the
system check saying what is missing.

Our own base rather than Authlib: Authlib's httpx client is its own httpx.Client, so it would
bypass core.http (timeouts, SSRF guard, the one test seam) and fold "never sent" and "may have
been applied" into one OAuthError; what differs between these networks (client auth in the form
or HTTP Basic, TikTok's `client_key`, X's dead-grant error) is a few declared fields here.
Each network's error table (connectors/classify.py) says what its API answers mean; this module
only maps what does not depend on the network (a connection that never left vs. a request that
may have been applied).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import mimetypes
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from django import forms
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.files.storage import default_storage
from django.utils.functional import Promise
from django.utils.translation import gettext

from chorus.connectors.base import (
    Connector,
    OutcomeUnknown,
    PublishError,
    ReauthRequired,
    Transient,
    Unreachable,
)
from chorus.core import http

#: Refresh this long before the access token expires, so a publish never starts on a dying token.
REFRESH_MARGIN = dt.timedelta(minutes=5)
#: OAuth 2 token-endpoint errors that mean "this grant is dead, a person must reconnect"
#: (RFC 6749 §5.2). Anything else from a refresh (a 5xx, a network error) is not a reason to pause.
DEAD_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_token", "unauthorized_client", "access_denied"})
#: Stable system-check ids per network (chorus.W2xx).
CHECK_IDS = {"linkedin": "W201", "x": "W202", "youtube": "W203", "tiktok": "W204", "pinterest": "W205"}


class ConnectForm(forms.Form):
    """OAuth networks ask nothing before sending the user to the network."""


@dataclasses.dataclass(frozen=True)
class OAuthApp:
    """One OAuth app from settings.CHORUS_OAUTH_APPS[network] (environment: <NETWORK>_CLIENT_ID,
    _CLIENT_SECRET, _ENABLED). `enabled` None means "enabled when both credentials are set"."""

    network: str
    client_id: str = ""
    client_secret: str = ""
    enabled: bool | None = None

    @property
    def prefix(self) -> str:
        return self.network.upper()

    @property
    def switched_on(self) -> bool:
        return self.enabled if self.enabled is not None else bool(self.client_id and self.client_secret)

    def missing(self) -> list[str]:
        """The settings to set before the network can be connected ([] when it can)."""
        missing = [] if self.switched_on else [f"{self.prefix}_ENABLED"]
        missing += [] if self.client_id else [f"{self.prefix}_CLIENT_ID"]
        return missing + ([] if self.client_secret else [f"{self.prefix}_CLIENT_SECRET"])

    @property
    def meant(self) -> bool:
        """Someone meant to use this network: it is switched on or one credential is set."""
        return bool(self.enabled or self.client_id or self.client_secret)


def oauth_app(network: str) -> OAuthApp:
    apps: dict[str, dict[str, Any]] = getattr(settings, "CHORUS_OAUTH_APPS", {})
    app = apps.get(network) or {}
    return OAuthApp(
        network=network,
        client_id=str(app.get("client_id") or ""),
        client_secret=str(app.get("client_secret") or ""),
        enabled=app.get("enabled"),
    )


def app_credentials(network: str, label: str) -> tuple[str, str]:
    app = oauth_app(network)
    if app.missing():
        raise ValueError(gettext("%(network)s is not configured on this Chorus server.") % {"network": label})
    return app.client_id, app.client_secret


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic_auth(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def token_credentials(token: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The credentials we keep from a token response. `refresh_token` may be absent (Google does
    not resend it on refresh): update_credentials then keeps the stored one."""
    now = time.time() if now is None else now
    credentials: dict[str, Any] = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or "",
    }
    if token.get("expires_in"):
        credentials["expires_at"] = int(now + int(token["expires_in"]))
    if token.get("refresh_token_expires_in") or token.get("refresh_expires_in"):
        lifetime = int(token.get("refresh_token_expires_in") or token["refresh_expires_in"])
        credentials["refresh_expires_at"] = int(now + lifetime)
    return credentials


def token_error(response: httpx.Response) -> str:
    """The RFC 6749 `error` of a token-endpoint answer ('' when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # TikTok wraps errors: {"error": {"code": ...}}
        error = error.get("code")
    return str(error or "")


Classifier = Callable[[httpx.Response], PublishError | None]


@dataclasses.dataclass(frozen=True)
class TokenEndpoint:
    """How a network's token endpoint wants the app to identify itself (RFC 6749 §2.3)."""

    url: str
    client_auth: str = "body"  # "body": id and secret in the form; "basic": HTTP Basic
    client_id_field: str = "client_id"  # TikTok names it client_key
    client_id_in_form: bool = True  # with "basic": the id in the form too (X wants it)


class BearerAPI:
    """The one request function of an OAuth 2 network: fixed API hosts (no user-typed URL)."""

    label: ClassVar[str] = "the network"
    dead_grant_errors: ClassVar[frozenset[str]] = DEAD_GRANT_ERRORS
    token_endpoint: ClassVar[TokenEndpoint]

    def __init__(self, access_token: str = "") -> None:
        self.access_token = access_token

    @staticmethod
    def classify(response: httpx.Response) -> PublishError | None:
        raise NotImplementedError

    def request(
        self,
        method: str,
        url: str,
        *,
        may_apply: bool = False,
        headers: dict[str, str] | None = None,
        bearer: bool = True,
        classify: Classifier | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`may_apply=True` for a create that must not be resent after a timeout: a failure once
        the request left is then OutcomeUnknown instead of Transient."""
        all_headers = dict(headers or {})
        if bearer and self.access_token:
            all_headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            with http.client() as session:
                response = session.request(method, url, headers=all_headers, **kwargs)
        except http.NOT_CONNECTED as exc:
            raise Unreachable(
                gettext("Could not reach %(network)s: %(error)s")
                % {"network": self.label, "error": type(exc).__name__},
                host=http.host_of(exc, self.label),
            ) from exc
        except httpx.TransportError as exc:
            message = gettext("No answer from %(network)s after sending (%(error)s).") % {
                "network": self.label,
                "error": type(exc).__name__,
            }
            raise (OutcomeUnknown(message) if may_apply else Transient(message)) from exc
        error = (classify or self.classify)(response)
        if error is not None:
            raise error
        return response

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.request(method, url, **kwargs).json()

    def token(self, url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """A token-endpoint call (code exchange or refresh): a dead grant is ReauthRequired, a
        5xx/network failure Transient, anything else a plain PublishError (a config problem)."""

        def classify(response: httpx.Response) -> PublishError | None:
            if response.status_code < 400 and not token_error(response):
                return None
            error = token_error(response)
            detail = {"status": response.status_code, "error": error}
            words = {
                "network": self.label,
                "reason": error or response.status_code,
                "status": response.status_code,
            }
            if error in self.dead_grant_errors:
                return ReauthRequired(
                    gettext("%(network)s refused the authorization (%(reason)s); reconnect the channel.")
                    % words,
                    detail=detail,
                )
            if response.status_code >= 500:
                return Transient(gettext("%(network)s token server error %(status)s.") % words, detail=detail)
            return PublishError(
                gettext("%(network)s refused the token request (%(reason)s).") % words, detail=detail
            )

        result: dict[str, Any] = self.json(
            "POST", url, data=data, headers=headers, bearer=False, classify=classify
        )
        return result

    def grant(self, client: tuple[str, str], data: dict[str, str]) -> dict[str, Any]:
        """A token request with the app identified as the network's endpoint wants it."""
        endpoint = self.token_endpoint
        form, headers = dict(data), None
        if endpoint.client_auth == "basic":
            headers = {"Authorization": basic_auth(*client)}
            if endpoint.client_id_in_form:
                form[endpoint.client_id_field] = client[0]
        else:
            form |= {endpoint.client_id_field: client[0], "client_secret": client[1]}
        return self.token(endpoint.url, form, headers)

    def exchange_code(
        self, client: tuple[str, str], code: str, redirect_uri: str, *, verifier: str = ""
    ) -> dict[str, Any]:
        """The authorization code of the callback for tokens (with the PKCE verifier, if any)."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self.grant(client, data | ({"code_verifier": verifier} if verifier else {}))

    def refresh(self, client: tuple[str, str], refresh_token: str) -> dict[str, Any]:
        return self.grant(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})


class OAuth2Connector(Connector):
    """A connector whose channel holds {access_token, refresh_token, expires_at}."""

    network: ClassVar[str]  # the environment prefix: LINKEDIN_CLIENT_ID...
    api_class: ClassVar[type[BearerAPI]]  # its client: token plumbing and requests
    setup_steps: ClassVar[str | Promise] = ""
    connect_form: ClassVar[type[Any] | None] = ConnectForm

    @classmethod
    def configured(cls) -> bool:
        try:
            app_credentials(cls.network, cls.label)
        except ValueError:
            return False
        return True

    @classmethod
    def app(cls) -> tuple[str, str]:
        return app_credentials(cls.network, cls.label)

    @classmethod
    def exchange_code(cls, code: str, callback_url: str, *, verifier: str = "") -> dict[str, Any]:
        return cls.api_class().exchange_code(cls.app(), code, callback_url, verifier=verifier)

    def exchange_refresh_token(self, refresh_token: str) -> dict[str, Any]:
        """The network's refresh call; returns the token response."""
        return self.api_class().refresh(self.app(), refresh_token)

    def access_token(self) -> str:
        """The stored token, refreshed first when it expires within REFRESH_MARGIN."""
        credentials = self.channel.credentials
        expires_at = credentials.get("expires_at")
        expiring = expires_at and time.time() + REFRESH_MARGIN.total_seconds() >= float(expires_at)
        if expiring and credentials.get("refresh_token"):
            self.refresh_credentials()
        return str(self.channel.credentials["access_token"])

    def refresh_credentials(self) -> None:
        from chorus.channels.actions import update_credentials

        refresh_token = self.channel.credentials.get("refresh_token")
        if not refresh_token:
            raise ReauthRequired(
                gettext("The %(network)s connection expired; reconnect the channel.")
                % {"network": self.label}
            )
        token = self.exchange_refresh_token(str(refresh_token))
        update_credentials(channel=self.channel, credentials=token_credentials(token))
        self.channel.refresh_from_db(fields=["credentials_encrypted"])


# --- media helpers shared by validation ------------------------------------------------------
def media_type(item: dict[str, Any]) -> str:
    return str(item.get("content_type") or mimetypes.guess_type(item["path"])[0] or "")


def media_bytes(item: dict[str, Any]) -> bytes:
    with default_storage.open(item["path"], "rb") as handle:
        return bytes(handle.read())


def media_size(item: dict[str, Any]) -> int | None:
    try:
        return int(default_storage.size(item["path"]))
    except (OSError, NotImplementedError):
        return None


def checked_link(url: str) -> str:
    """A link a user typed, checked by the SSRF guard before a network is asked to fetch it."""
    return http.check_public_url(url)


# --- system check ------------------------------------------------------------------------------
@register(Tags.compatibility)
def check_oauth_apps(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A network half-configured (an id without a secret, or ENABLED without either) says what is
    missing; a network with nothing set is simply "not configured" in the UI."""
    problems: list[Any] = []
    for network, check_id in CHECK_IDS.items():
        app = oauth_app(network)
        prefix = app.prefix
        missing = [name for name in app.missing() if not name.endswith("_ENABLED")]
        if app.enabled is False or not missing:
            continue
        if len(missing) == 2 and app.enabled is not True:
            continue
        problems.append(
            Warning(
                f"{network}: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                f"the {network} connector is shown as not configured.",
                hint=f"Set {' and '.join(missing)} (or {prefix}_ENABLED=false to hide the network).",
                id=f"chorus.{check_id}",
            )
        )
    return problems
