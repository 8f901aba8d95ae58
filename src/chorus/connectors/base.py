"""The connector contract: a narrow base, declared features, one error hierarchy.

A connector translates between our domain (a PostTarget on a Channel) and one network. It
implements `publish` and `validate`, plus only the methods its `features` promise. Limits are
class constants. Errors decide retries (DESIGN.md, "Errors decide retries"):

- AuthExpired       the access token expired: refresh once, then retry
- ReauthRequired    the user must reconnect: pause the channel, tell the team
- ContentRejected   permanent: the platform's reason is shown on the post
- RateLimited       wait `retry_after` seconds (from Retry-After or usage headers), then retry
- Transient         the request was NOT applied (connect error, 5xx before commit): back off, retry
- OutcomeUnknown    the request MAY have been applied (timeout after sending): never retry
                    blindly; reconciliation reads back with `lookup`
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext

if TYPE_CHECKING:
    from chorus.channels.models import Channel
    from chorus.content.models import PostTarget


class Feature(enum.StrEnum):
    METRICS = "metrics"
    INBOX = "inbox"
    LISTENING = "listening"
    THREADS = "threads"
    VIDEO = "video"
    FIRST_COMMENT = "first_comment"
    ADS = "ads"
    DELETE = "delete"
    LOOKUP = "lookup"  # can read back a publish by its idempotency marker (reconciliation)
    NATIVE_SCHEDULING = "native_scheduling"


class PublishError(Exception):
    code = "error"
    retryable = False

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class AuthExpired(PublishError):
    code = "auth_expired"
    retryable = True


class ReauthRequired(PublishError):
    code = "reauth_required"


class ContentRejected(PublishError):
    code = "content_rejected"


class RateLimited(PublishError):
    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = max(0.0, retry_after)


class Transient(PublishError):
    code = "transient"
    retryable = True


class OutcomeUnknown(PublishError):
    code = "outcome_unknown"


@dataclass(frozen=True)
class PublishResult:
    external_id: str
    url: str = ""
    published_at: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A validation problem, shown next to the field it concerns."""

    field: str
    message: str
    code: str = "invalid"


@dataclass(frozen=True)
class Quota:
    """A platform cap on a rolling window, e.g. Quota("posts", 50, dt.timedelta(hours=24))."""

    bucket: str
    limit: int
    window: dt.timedelta


@dataclass(frozen=True)
class ConnectResult:
    """A finished connection: the channel's display name, public config, secret credentials."""

    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]


@dataclass(frozen=True)
class ConnectRedirect:
    """An OAuth step: send the user to `url`; `state_data` is kept in their session under the
    state value and handed back to `finish_connect` on the callback."""

    url: str
    state_data: dict[str, Any]


class Connector:
    kind: ClassVar[str]
    label: ClassVar[str]
    features: ClassVar[frozenset[Feature]] = frozenset()
    max_text_length: ClassVar[int | None] = None
    max_images: ClassVar[int] = 0
    max_concurrency: ClassVar[int] = 4  # publishes in flight per network, across all workers
    quotas: ClassVar[tuple[Quota, ...]] = ()
    idempotent: ClassVar[bool] = False  # the network dedupes a retried create (key or record key)

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    # --- required -------------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        raise NotImplementedError

    def validate(self, target: PostTarget) -> list[Problem]:
        problems: list[Problem] = []
        if self.max_text_length is not None and len(target.text) > self.max_text_length:
            problems.append(
                Problem(
                    "text",
                    gettext("%(used)s characters; %(network)s allows %(limit)s.")
                    % {"used": len(target.text), "network": self.label, "limit": self.max_text_length},
                    "too_long",
                )
            )
        return problems

    # --- connecting (classmethods: there is no channel yet) ---------------------------------
    #: The form the user fills to connect (handle + app password, instance URL, site URL...).
    connect_form: ClassVar[type[Any] | None] = None

    @classmethod
    def begin_connect(
        cls, data: dict[str, Any], *, callback_url: str, state: str
    ) -> ConnectResult | ConnectRedirect:
        """From the cleaned connect form: either connect at once, or redirect to OAuth."""
        raise NotImplementedError

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        """The OAuth callback (code exchange). Only for connectors that return ConnectRedirect."""
        raise NotImplementedError

    @staticmethod
    def authorization_code(params: dict[str, str], provider: str) -> str:
        """The code of an OAuth callback, or ReauthRequired saying what the provider answered."""
        if "code" not in params:
            raise ReauthRequired(
                f"{provider} did not authorize Chorus: {params.get('error', 'no code returned')}."
            )
        return params["code"]

    def check(self) -> str:
        """Verifies the live connection; returns a one-line description (account name...)."""
        raise NotImplementedError

    # --- optional, by feature -------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        """Feature.METRICS: counters of one published post (likes, reposts, replies, quotes...).
        A metric the network does not give is absent, never 0."""
        raise NotImplementedError

    def account_metrics(self) -> dict[str, int | None]:
        """Feature.METRICS: counters of the account (followers, posts...)."""
        raise NotImplementedError

    def delete(self, target: PostTarget) -> None:
        """Feature.DELETE: remove the published post from the network."""
        raise NotImplementedError

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Feature.LOOKUP: find a publish of this target by its marker; None if it is not there."""
        raise NotImplementedError

    def refresh_credentials(self) -> None:
        """Called once on AuthExpired; raises ReauthRequired when the refresh is refused."""
        raise ReauthRequired("The connection expired and cannot be refreshed; reconnect the channel.")

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        """Units each quota bucket is charged for publishing this target."""
        return {quota.bucket: 1 for quota in self.quotas}

    @staticmethod
    def idempotency_key(target: PostTarget) -> str:
        """Stable across every retry of the same target (Mastodon Idempotency-Key, markers)."""
        return f"chorus-{target.uid}"
