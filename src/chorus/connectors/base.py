"""The connector contract: a narrow base, declared features, one error hierarchy.

A connector translates between our domain (a PostTarget on a Channel) and one network. It
implements `publish` and `validate`, plus only the methods its `features` promise. Limits are
class constants. Errors decide retries (DESIGN.md, "Errors decide retries"):

- AuthExpired       the access token expired: refresh once, then retry
- ReauthRequired    the user must reconnect: pause the channel, tell the team
- ContentRejected   permanent: the platform's reason is shown on the post
- RateLimited       wait `retry_after` seconds (from Retry-After or usage headers), then retry
- Transient         the request was NOT applied (5xx before commit): back off, retry within the
                    retry horizon, then hold for a person
- Unreachable       a Transient where the host did not answer at all (connection refused, DNS,
                    connect timeout): the channel's due posts wait as one group while one probe
                    at a time asks the host (chorus.publishing.unreachable)
- OutcomeUnknown    the request MAY have been applied (timeout after sending): never retry
                    blindly; reconciliation reads back with `lookup`
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

if TYPE_CHECKING:
    from chorus.channels.models import Channel
    from chorus.connectors.ads import AdsClient
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
    AMPLIFIERS = "amplifiers"  # can list the accounts that reposted or quoted a post


class PublishError(Exception):
    code = "error"
    retryable = False
    # The message as a translatable template and its words ({"msgid": ..., "network": ...}), when
    # it was built from one (`classify`): stored on the target and translated when shown.
    params: dict[str, Any] | None = None

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class AuthExpired(PublishError):
    code = "auth_expired"
    retryable = True


class CredentialsConnectRefused(Exception):
    """This network's connection needs a person at its login page (OAuth): not by API."""

    def __init__(self, network: str) -> None:
        self.network = network
        super().__init__(network)


class CredentialsInvalid(Exception):
    """The connect fields a program sent, each bad one named with the form's reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


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


class Unreachable(Transient):
    """Nothing reached the network: the connection to `host` was refused, its name did not
    resolve, or connecting timed out. `host` is named in what people see."""

    code = "unreachable"

    def __init__(self, message: str, *, host: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message, detail=detail)
        self.host = host


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
class ComposerOption:
    """One option the composer shows for a channel of this network. The connector reads it back
    from `target.options[name]`; the composer reads, shows and checks it from this declaration
    alone (no per-network table outside the connector)."""

    name: str
    label: Any  # a lazy translation
    kind: str = "text"  # text | list (comma separated) | bool | choice
    choices: tuple[tuple[str, Any], ...] = ()  # (value, lazy label); "choice" only
    help: Any = ""


@dataclass(frozen=True)
class Amplifier:
    """An account that reposted (`kind` "repost") or quoted ("quote") a post. `followers` is None
    when the network does not say; `url` is the quote's own address (quotes only)."""

    account_id: str
    kind: str
    handle: str = ""
    display_name: str = ""
    profile_url: str = ""
    followers: int | None = None
    url: str = ""


@dataclass(frozen=True)
class Quota:
    """A platform cap on a rolling window, e.g. Quota("posts", 50, dt.timedelta(hours=24))."""

    bucket: str
    limit: int
    window: dt.timedelta


@dataclass(frozen=True)
class ConnectResult:
    """A finished connection: the channel's display name, public config, secret credentials.
    `account_id` is the network's stable id of the connected account (a DID, a Page id…; ""
    when the connector cannot know it): connecting an account that is already a channel of
    the workspace reconnects that channel instead of adding a second one."""

    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]
    account_id: str = ""


@dataclass(frozen=True)
class ConnectRedirect:
    """An OAuth step: send the user to `url`; `state_data` is kept in their session under the
    state value and handed back to `finish_connect` on the callback."""

    url: str
    state_data: dict[str, Any]


@dataclass(frozen=True)
class ConnectOption:
    """One account a login reaches (a Page, an Instagram account, a LinkedIn organization)."""

    key: str  # unique among the options; the only thing the picker form sends back
    name: str
    result: ConnectResult  # becomes a channel if the user picks this option
    detail: str = ""  # a category, an @username, "yourself"
    picture: str = ""  # an https image URL, when the network gives one


@dataclass(frozen=True)
class ConnectChoice:
    """The login reaches several accounts: the user picks which become channels (the channels
    app keeps the options, tokens included, encrypted on the server until then)."""

    options: tuple[ConnectOption, ...]


class Connector:
    kind: ClassVar[str]
    label: ClassVar[str]
    features: ClassVar[frozenset[Feature]] = frozenset()
    max_text_length: ClassVar[int | None] = None
    max_images: ClassVar[int] = 0
    # Publishes in flight per network, across all workers; None only for a local stand-in.
    max_concurrency: ClassVar[int | None] = 4
    quotas: ClassVar[tuple[Quota, ...]] = ()
    idempotent: ClassVar[bool] = False  # the network dedupes a retried create (key or record key)
    # Feature.AMPLIFIERS: which kinds of amplification the network lists ("repost", "quote").
    amplifier_kinds: ClassVar[frozenset[str]] = frozenset({"repost", "quote"})

    # --- what the composer shows for this network (it holds no table of its own) -------------
    #: The options a post can carry on this network, in the order the composer shows them.
    composer_options: ClassVar[tuple[ComposerOption, ...]] = ()
    #: A mention of another account as the network writes it (highlighted in the preview).
    mention_pattern: ClassVar[re.Pattern[str] | None] = None
    #: About how many characters the network's feed shows before its "… more" (None: the whole
    #: text): the preview cuts there, so the first lines can be written to carry the post.
    preview_fold: ClassVar[int | None] = None

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def count_text(self, text: str) -> tuple[int, int | None]:
        """(characters used, the limit) as the network counts them; the composer's counter."""
        return len(text), self.max_text_length

    def handle(self) -> str:
        """How the account is named on the network ("@ngo.bsky.social"), for the preview."""
        handle = (self.channel.config or {}).get("handle")
        return f"@{handle}" if handle else ""

    @classmethod
    def answer_options(cls, mode: str, *, uri: str, url: str) -> dict[str, str]:
        """The composer options of a new post replying to (`mode` "reply") or quoting ("quote")
        another post of this network, named by its `uri` (the network's id) and `url` (its web
        address); empty when Chorus cannot do that on this network (listening's Reply / Quote)."""
        return {}

    def draft_options(self, *, link: str, media: list[dict[str, Any]]) -> dict[str, Any]:
        """Options a draft gets from the composer's fields unless the person set them (Bluesky
        turns the link into a card when there is no image)."""
        return {}

    # --- required -------------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        raise NotImplementedError

    def validate(self, target: PostTarget) -> list[Problem]:
        problems: list[Problem] = []
        if self.max_text_length is not None and len(target.text) > self.max_text_length:
            problems.append(
                Problem(
                    "text",
                    ngettext(
                        "%(used)s character; %(network)s allows %(limit)s.",
                        "%(used)s characters; %(network)s allows %(limit)s.",
                        len(target.text),
                    )
                    % {"used": len(target.text), "network": self.label, "limit": self.max_text_length},
                    "too_long",
                )
            )
        return problems

    # --- connecting (classmethods: there is no channel yet) ---------------------------------
    #: The form the user fills to connect (handle + app password, instance URL, site URL...).
    connect_form: ClassVar[type[Any] | None] = None
    #: True when the connect form's fields are all it takes (no browser step): the API connects it.
    connects_with_credentials: ClassVar[bool] = False
    #: The form of the channel's settings page, editing public config once connected (Bluesky's
    #: AppView). It has `initial_from(config)` and `config_changes(config) -> dict` to merge.
    settings_form: ClassVar[type[Any] | None] = None

    @classmethod
    def begin_connect(
        cls, data: dict[str, Any], *, callback_url: str, state: str
    ) -> ConnectResult | ConnectRedirect:
        """From the cleaned connect form: either connect at once, or redirect to OAuth."""
        raise NotImplementedError

    @classmethod
    def connect_with_credentials(cls, data: dict[str, Any]) -> ConnectResult:
        """A connection from credentials a program holds (the API's `POST …/channels`): the
        connect form's fields, for networks that connect without a browser step (an app password,
        a token). The others raise CredentialsConnectRefused: their login needs a person."""
        if not cls.connects_with_credentials or cls.connect_form is None:
            raise CredentialsConnectRefused(cls.label)
        form = cls.connect_form(data)
        if not form.is_valid():
            raise CredentialsInvalid(
                {name: " ".join(map(str, errors)) for name, errors in form.errors.items()}
            )
        step = cls.begin_connect(form.cleaned_data, callback_url="", state="")
        if not isinstance(step, ConnectResult):  # a connector that declared otherwise
            raise CredentialsConnectRefused(cls.label)
        return step

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult | ConnectChoice:
        """The OAuth callback (code exchange). Only for connectors that return ConnectRedirect."""
        raise NotImplementedError

    @staticmethod
    def authorization_code(params: dict[str, str], provider: str) -> str:
        """The code of an OAuth callback, or ReauthRequired saying what the provider answered."""
        if "code" not in params:
            if "error" in params:  # the provider's own words, kept as it gave them
                raise ReauthRequired(
                    gettext("%(network)s did not authorize Chorus: %(error)s.")
                    % {"network": provider, "error": params["error"]}
                )
            raise ReauthRequired(
                gettext("%(network)s did not authorize Chorus: no code returned.") % {"network": provider}
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

    def amplifiers(self, target: PostTarget) -> list[Amplifier]:
        """Feature.AMPLIFIERS: the accounts that reposted or quoted this published post, with
        their follower counts where the network gives them (a bounded number of pages)."""
        raise NotImplementedError

    def ads(self, account_id: str, access_token: str | None = None) -> AdsClient:
        """Feature.ADS: the network's paid-reach calls for one ad account (connectors/ads.py),
        with the ad account's own token, or the channel's when None."""
        raise NotImplementedError

    def delete(self, target: PostTarget) -> None:
        """Feature.DELETE: remove the published post from the network."""
        raise NotImplementedError

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Feature.LOOKUP: find a publish of this target by its marker; None if it is not there."""
        raise NotImplementedError

    def refresh_credentials(self) -> None:
        """Called once on AuthExpired; raises ReauthRequired when the refresh is refused."""
        raise ReauthRequired(
            gettext("The connection expired and cannot be refreshed; reconnect the channel.")
        )

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        """Units each quota bucket is charged for publishing this target."""
        return {quota.bucket: 1 for quota in self.quotas}

    def waits(self) -> bool:
        """A publish waits on the network, so the engine overlaps such calls on its thread pool.
        Only a local stand-in without latency says False: its calls run one after the other."""
        return True

    @staticmethod
    def idempotency_key(target: PostTarget) -> str:
        """Stable across every retry of the same target (Mastodon Idempotency-Key, markers)."""
        return f"chorus-{target.uid}"


# --- numbers in messages ---------------------------------------------------------------------------
# Messages are built when validation runs, inside the reader's language: numbers are formatted
# for it too (1.5 MB in English, 1,5 Mo in French), without a needless ".0".


def number(value: float) -> str:
    """A limit or a measure as the active language writes it: 40, 0.5, 1,000.5."""
    rounded = round(float(value), 1)
    return number_format(int(rounded) if rounded.is_integer() else rounded, force_grouping=True)


def unaccepted_type(network: str, content_type: str) -> str:
    """ "X does not accept video/x-msvideo." for a file type the network refuses."""
    if not content_type:
        return gettext("%(network)s does not accept this file type.") % {"network": network}
    return gettext("%(network)s does not accept %(type)s.") % {"network": network, "type": content_type}


def with_followers(account: str, followers: Any) -> str:
    """The one-line description of a checked account: "@ngo (1,204 followers)"."""
    if not isinstance(followers, int):  # the network did not say
        return account
    return ngettext(
        "%(account)s (%(followers)s follower)", "%(account)s (%(followers)s followers)", followers
    ) % {
        "account": account,
        "followers": number(followers),
    }


def megabytes(size: float) -> str:
    """A byte count in megabytes (2**20), for "the file is larger than %(size)s MB"."""
    return number(size / 2**20)
