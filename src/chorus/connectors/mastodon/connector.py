"""Mastodon: our domain (a PostTarget on a Channel) <-> any Mastodon instance.

channel.config      {instance, account_id, username, limits: {...read from the instance}}
channel.credentials {access_token, client_id, client_secret}
target.media        [{"path": <default_storage name>, "alt": str, "focus": [x, y], "content_type": str}]
target.options      {"visibility", "spoiler_text", "language", "sensitive",
                     "poll": {"options": [...], "expires_in": s, "multiple": bool}, "thread": bool}
"""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django import forms
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from chorus.connectors.base import (
    Amplifier,
    ComposerOption,
    Connector,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    CredentialsInvalid,
    Feature,
    Problem,
    PublishResult,
    Quota,
)
from chorus.connectors.mastodon import inbox as mastodon_inbox
from chorus.connectors.mastodon import rules
from chorus.connectors.mastodon.client import MastodonAPI, normalize_instance
from chorus.connectors.mastodon.rules import DEFAULT_LIMITS, VISIBILITIES, limits_from_instance
from chorus.core import http

if TYPE_CHECKING:
    from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
    from chorus.content.models import PostTarget

TAG_RE = re.compile(r"<[^>]+>")
LOOKUP_SLACK = dt.timedelta(minutes=5)  # clock skew between us and the instance


class InstanceForm(forms.Form):
    instance = forms.CharField(
        label=gettext_lazy("Instance"), max_length=300, help_text=gettext_lazy("e.g. mastodon.social")
    )

    def clean_instance(self) -> str:
        instance = normalize_instance(self.cleaned_data["instance"])
        try:
            return http.check_public_url(instance)
        except http.UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from exc


class TokenForm(InstanceForm):
    """The API's connect fields: the instance and an access token (no browser step)."""

    access_token = forms.CharField(max_length=500)


class MastodonConnector(Connector):
    kind = "mastodon"
    label = "Mastodon"
    features = frozenset(
        {Feature.METRICS, Feature.AMPLIFIERS, Feature.THREADS, Feature.LOOKUP, Feature.DELETE, Feature.INBOX}
    )
    max_amplifier_pages: ClassVar[int] = 5  # 80 boosters a page: a status's first 400
    amplifier_kinds: ClassVar[frozenset[str]] = frozenset({"repost"})  # no API lists quotes
    idempotent = True  # Idempotency-Key header
    max_text_length = DEFAULT_LIMITS["max_characters"]  # the instance's own limit wins, see `limits`
    composer_options = (
        ComposerOption("spoiler_text", gettext_lazy("Content warning"), "text"),
        ComposerOption(
            "visibility",
            gettext_lazy("Visibility"),
            "choice",
            (
                ("public", gettext_lazy("Public")),
                ("unlisted", gettext_lazy("Unlisted")),
                ("private", gettext_lazy("Followers only")),
                ("direct", gettext_lazy("Mentioned people only")),
            ),
        ),
        ComposerOption("language", gettext_lazy("Language"), "text", help=gettext_lazy("e.g. en")),
        ComposerOption("sensitive", gettext_lazy("Mark media as sensitive"), "bool"),
        ComposerOption("thread", gettext_lazy("Post a long text as a thread"), "bool"),
        ComposerOption(
            "in_reply_to",
            gettext_lazy("In reply to"),
            "text",
            help=gettext_lazy("The address of a post: found on your instance when it is sent"),
        ),
        ComposerOption(
            "quote",
            gettext_lazy("Quoting"),
            "text",
            help=gettext_lazy("The address of a post (Mastodon 4.5 or later)"),
        ),
    )
    # @name or @name@instance (a remote account)
    mention_pattern = re.compile(r"(?<![\w/])@[a-zA-Z0-9_]+(?:@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,})?")
    max_images = DEFAULT_LIMITS["max_media_attachments"]
    quotas = (
        Quota("requests", 300, dt.timedelta(minutes=5)),
        Quota("media", 30, dt.timedelta(minutes=30)),
    )
    connect_form: ClassVar[type[Any] | None] = InstanceForm

    # --- connecting -----------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        from chorus.connectors.mastodon.models import MastodonApp  # the app is optional to import

        instance = http.check_public_url(normalize_instance(data["instance"]))
        api = MastodonAPI(instance)
        app = MastodonApp.objects.filter(instance_url=instance, redirect_uri=callback_url).first()
        if app is None:
            registered = api.register_app(callback_url)
            app = MastodonApp(
                instance_url=instance, redirect_uri=callback_url, client_id=registered["client_id"]
            )
            app.client_secret = registered["client_secret"]
            app.save()
        return ConnectRedirect(
            url=api.authorize_url(app.client_id, callback_url, state),
            state_data={"instance": instance, "client_id": app.client_id, "client_secret": app.client_secret},
        )

    @classmethod
    def connect_with_credentials(cls, data: dict[str, Any]) -> ConnectResult:
        """By API: the instance and an access token the program already holds (made in the
        account's Preferences → Development, with read and write scopes)."""
        form = TokenForm(data)
        if not form.is_valid():
            raise CredentialsInvalid(
                {name: " ".join(map(str, errors)) for name, errors in form.errors.items()}
            )
        instance, token = form.cleaned_data["instance"], form.cleaned_data["access_token"]
        return cls._result(instance, MastodonAPI(instance, token), {"access_token": token})

    @classmethod
    def _result(cls, instance: str, api: MastodonAPI, credentials: dict[str, Any]) -> ConnectResult:
        account = api.verify_credentials()
        host = instance.split("://", 1)[1]
        return ConnectResult(
            name=f"@{account['username']}@{host}",
            config={
                "instance": instance,
                "account_id": str(account["id"]),
                "username": account["username"],
                "limits": limits_from_instance(api),
            },
            credentials=credentials,
            account_id=f"{instance}#{account['id']}",  # account ids are only unique per instance
        )

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "Mastodon")
        instance = state_data["instance"]
        token = MastodonAPI(instance).exchange_code(
            client_id=state_data["client_id"],
            client_secret=state_data["client_secret"],
            redirect_uri=callback_url,
            code=code,
        )
        credentials = {
            "access_token": token,
            "client_id": state_data["client_id"],
            "client_secret": state_data["client_secret"],
        }
        return cls._result(instance, MastodonAPI(instance, token), credentials)

    def api(self) -> MastodonAPI:
        return MastodonAPI(self.channel.config["instance"], self.channel.credentials["access_token"])

    def check(self) -> str:
        api = self.api()
        account = api.verify_credentials()
        self.channel.config = {**self.channel.config, "limits": limits_from_instance(api)}
        self.channel.save(update_fields=["config"])
        return gettext("%(account)s on %(network)s") % {
            "account": f"@{account['username']}",
            "network": api.instance,
        }

    # --- limits and validation ------------------------------------------------------------
    @property
    def limits(self) -> dict[str, int]:
        return {**DEFAULT_LIMITS, **(self.channel.config.get("limits") or {})}

    def count(self, text: str) -> int:
        return rules.count(text, self.limits)

    def count_text(self, text: str) -> tuple[int, int | None]:
        # Any URL counts as the instance's reserved length (23 by default), against its own limit.
        return self.count(text), self.limits["max_characters"]

    def handle(self) -> str:
        config = self.channel.config or {}
        if not config.get("username") or not config.get("instance"):
            return ""
        return f"@{config['username']}@{str(config['instance']).split('://', 1)[-1]}"

    def parts(self, target: PostTarget) -> list[str]:
        """The statuses to post: one, or (options "thread") the text split to fit the instance."""
        text = target.text.strip()
        if not target.options.get("thread") or self.count(text) <= self.limits["max_characters"]:
            return [text]
        return rules.split_thread(text, self.limits)

    def validate(self, target: PostTarget) -> list[Problem]:
        limits, options, poll = self.limits, target.options, target.options.get("poll")
        most = limits["max_characters"]
        problems = [
            Problem(
                "text",
                ngettext(
                    "%(used)s character; this instance allows %(limit)s.",
                    "%(used)s characters; this instance allows %(limit)s.",
                    self.count(part),
                )
                % {"used": self.count(part), "limit": most},
                "too_long",
            )
            for part in self.parts(target)
            if self.count(part) > most
        ]
        if not target.text.strip() and not target.media and not poll:
            problems.append(Problem("text", gettext("A Mastodon post needs text, media or a poll."), "empty"))
        if len(target.media) > limits["max_media_attachments"]:
            allowed = limits["max_media_attachments"]
            message = ngettext(
                "This instance allows %(most)s attachment.",
                "This instance allows %(most)s attachments.",
                allowed,
            )
            problems.append(Problem("media", message % {"most": allowed}, "too_many"))
        if poll and target.media:
            problems.append(
                Problem("options", gettext("Mastodon does not allow a poll and media in one post."), "poll")
            )
        if options.get("visibility", "public") not in VISIBILITIES:
            choices = ", ".join(VISIBILITIES)
            problems.append(
                Problem(
                    "options",
                    gettext("Visibility must be one of %(choices)s.") % {"choices": choices},
                    "visibility",
                )
            )
        for name in ("in_reply_to", "quote"):
            address = str(options.get(name) or "")
            if address and not address.startswith(("https://", "http://")):
                problems.append(
                    Problem(
                        f"options.{name}",
                        gettext("Give the address of a post, starting with https://."),
                        "invalid",
                    )
                )
        for index, item in enumerate(target.media):
            problems.extend(rules.media_problems(index, item, limits))
        if poll:
            problems.extend(rules.poll_problems(poll, limits))
        return problems

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        media = len(target.media)
        return {"requests": len(self.parts(target)) + media, "media": media}

    # --- publishing ------------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api, options = self.api(), target.options
        media_ids = [self._upload(api, item) for item in target.media]
        common = {key: options[key] for key in ("spoiler_text", "language", "sensitive") if options.get(key)}
        common["visibility"] = options.get("visibility", "public")
        key = self.idempotency_key(target)
        first: dict[str, Any] | None = None
        # A reply or a quote of another post: its id on our instance (found before any write).
        previous_id = (
            self.resolve_status(api, str(options["in_reply_to"])) if options.get("in_reply_to") else None
        )
        quoted_id = self.resolve_status(api, str(options["quote"])) if options.get("quote") else None
        for index, text in enumerate(self.parts(target)):
            payload: dict[str, Any] = {"status": text, **common}
            if index == 0:
                payload |= {"media_ids": media_ids} if media_ids else {}
                payload |= {"poll": _poll_payload(options["poll"])} if options.get("poll") else {}
                payload |= {"quoted_status_id": quoted_id} if quoted_id else {}
            if previous_id:
                payload["in_reply_to_id"] = previous_id
            # One key per part, stable across retries: a retry after part 2 failed gets parts
            # already posted back from the server instead of posting them again.
            status = api.post_status(payload, idempotency_key=key if index == 0 else f"{key}-{index}")
            first = first or status
            previous_id = str(status["id"])
        assert first is not None
        return _result(first)

    @classmethod
    def answer_options(cls, mode: str, *, uri: str, url: str) -> dict[str, str]:
        address = url or uri
        if not address.startswith(("https://", "http://")):
            return {}
        return {"in_reply_to" if mode == "reply" else "quote": address}

    def resolve_status(self, api: MastodonAPI, address: str) -> str:
        """The id on our instance of the post at `address` (its URL or URI). A post of our own
        instance is read by the id its address ends with; another instance's is looked up with
        search `resolve=true`, which fetches it into our instance when it does not know it yet."""
        instance = str(self.channel.config.get("instance") or "")
        parts = httpx.URL(address)
        last = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if parts.host == httpx.URL(instance).host and last.isdigit():
            status = api.get_status(last)
            return str(status["id"])
        statuses = api.search_statuses(address, resolve=True)
        if not statuses:
            raise ContentRejected(
                gettext("Your instance could not find the post %(address)s.") % {"address": address}
            )
        return str(statuses[0]["id"])

    def _upload(self, api: MastodonAPI, item: dict[str, Any]) -> str:
        with default_storage.open(item["path"], "rb") as handle:
            content = handle.read()
        focus = item.get("focus")
        media = api.upload_media(
            content=content,
            filename=PurePath(item["path"]).name,
            content_type=rules.content_type(item),
            description=item.get("alt") or "",
            focus=f"{float(focus[0])},{float(focus[1])}" if focus else "",
        )
        return str(media["id"])

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Reads the account's recent statuses for this target's first part.

        Mastodon statuses carry no client id, and re-POSTing with the Idempotency-Key is a write:
        outside the server's one-hour window (or if the first request never arrived) it would
        publish instead of looking. So we only read, and match the plain text, content warning
        and attachment count of statuses created since the attempt began.
        """
        since = (target.sending_at or target.claimed_at or target.created_at) - LOOKUP_SLACK
        wanted = (_squash(self.parts(target)[0]), target.options.get("spoiler_text") or "", len(target.media))
        for status in self.api().account_statuses(self.channel.config["account_id"]):
            created = dt.datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))
            if created < since:
                break  # newest first: nothing older can be ours
            seen = (
                _squash(_plain(status["content"])),
                status.get("spoiler_text") or "",
                len(status["media_attachments"]),
            )
            if seen == wanted and not status.get("in_reply_to_id"):
                return _result(status)
        return None

    # --- metrics and delete ----------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        status = self.api().get_status(target.external_id)
        return {
            "likes": status.get("favourites_count"),
            "reposts": status.get("reblogs_count"),
            "replies": status.get("replies_count"),
        }

    def amplifiers(self, target: PostTarget) -> list[Amplifier]:
        """The accounts that boosted the status. Quotes: Mastodon's API does not list them."""
        api, found, max_id = self.api(), [], ""
        host = self.channel.config["instance"].split("://", 1)[-1]
        for _ in range(self.max_amplifier_pages):
            accounts, max_id = api.reblogged_by(target.external_id, max_id)
            found += [_booster(account, host) for account in accounts]
            if not max_id or not accounts:
                break
        return found

    def account_metrics(self) -> dict[str, int | None]:
        account = self.api().verify_credentials()
        return {
            "followers": account.get("followers_count"),
            "following": account.get("following_count"),
            "posts": account.get("statuses_count"),
        }

    def delete(self, target: PostTarget) -> None:
        self.api().delete_status(target.external_id)

    # --- inbox (Feature.INBOX; see inbox.py for the forward cursor) --------------------------
    inbox_streams: ClassVar[tuple[str, ...]] = ("notifications",)
    inbox_page_size: ClassVar[int] = mastodon_inbox.PAGE_SIZE
    inbox_moderations: ClassVar[tuple[str, ...]] = ("like",)

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        notes = self.api().notifications_after(cursor or "0", limit=self.inbox_page_size)
        return mastodon_inbox.forward_page(notes, cursor, limit=self.inbox_page_size)

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        """The cursor is Chorus's own read marker; the account's markers are left to its apps."""

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        from chorus.connectors.inbox import ReplyResult

        api = self.api()
        payload = {
            "status": mastodon_inbox.reply_text(text, self._acct_here(str(parent.extra.get("acct") or ""))),
            "in_reply_to_id": self._status_id_of(api, parent),
            "visibility": mastodon_inbox.reply_visibility(str(parent.extra.get("visibility") or "")),
        }
        # The Idempotency-Key is stable across retries: a resend returns the first status.
        status = api.post_status(payload, idempotency_key=key.key)
        return ReplyResult(str(status["id"]), str(status.get("url") or status.get("uri") or ""))

    def _status_id_of(self, api: MastodonAPI, entry: InboxEntry) -> str:
        """The id on our instance of the status an inbox item is: a notification names it; a post
        listening found (maybe on another instance) is looked up by its address."""
        known = str(entry.extra.get("status_id") or "")
        return known or self.resolve_status(api, entry.url or entry.network_id)

    def _acct_here(self, acct: str) -> str:
        """An account as our instance names it: `name` for its own accounts, `name@host` else."""
        own = urllib.parse.urlsplit(str(self.channel.config.get("instance") or "")).netloc
        return acct.removesuffix(f"@{own}") if own else acct

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        from chorus.connectors.inbox import ReplyResult

        since = key.created_at - dt.timedelta(minutes=5)
        api = self.api()
        parent_id = self._status_id_of(api, parent)
        for status in api.account_statuses(str(self.channel.config["account_id"])):
            created = dt.datetime.fromisoformat(str(status["created_at"]).replace("Z", "+00:00"))
            if str(status.get("in_reply_to_id")) == parent_id and created >= since:
                return ReplyResult(str(status["id"]), str(status.get("url") or ""))
        return None

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        if action != "like":
            raise ContentRejected(gettext("Mastodon does not allow this from Chorus."))
        self.api().favourite(str(entry.extra["status_id"]))
        return {"favourited": True}


def _booster(account: dict[str, Any], host: str) -> Amplifier:
    acct = str(account.get("acct") or account.get("username") or "")
    followers = account.get("followers_count")
    return Amplifier(
        account_id=str(account["id"]),
        kind="repost",
        handle=f"@{acct}" if "@" in acct else f"@{acct}@{host}",  # local accounts come without host
        display_name=str(account.get("display_name") or ""),
        profile_url=str(account.get("url") or ""),
        followers=followers if isinstance(followers, int) else None,
    )


def _poll_payload(poll: dict[str, Any]) -> dict[str, Any]:
    return {
        "options": [str(option) for option in poll["options"]],
        "expires_in": int(poll.get("expires_in") or 86400),
        "multiple": bool(poll.get("multiple", False)),
    }


def _plain(content: str) -> str:
    return html.unescape(TAG_RE.sub(" ", content))


def _squash(text: str) -> str:
    """Whitespace-free text: Mastodon's HTML moves line breaks into <p>/<br> and shortens links
    into spans, but keeps every visible and invisible character in order."""
    return "".join(text.split())


def _result(status: dict[str, Any]) -> PublishResult:
    created = status.get("created_at")
    when = dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else timezone.now()
    return PublishResult(
        external_id=str(status["id"]), url=status.get("url") or status.get("uri") or "", published_at=when
    )
