"""Bluesky: our domain (a PostTarget on a Channel) ↔ AT Protocol records.

Sessions: one createSession at connect time; the access token is reused for every call and
refreshed with refreshSession when it expires. The app password is kept (encrypted) only to log
in again when the refresh token itself is refused — never per post (createSession is capped).

Idempotency: every post record is created under a record key derived from the target, so a
retried create collides with the first one instead of duplicating it; a create that may have
collided is settled by reading that record key back (DESIGN.md, "At most once").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    Amplifier,
    AuthExpired,
    ComposerOption,
    Connector,
    ConnectResult,
    ContentRejected,
    Feature,
    OutcomeUnknown,
    Problem,
    PublishResult,
    Quota,
    ReauthRequired,
    Transient,
)
from chorus.core import http

from . import amplifiers, linkcard, media
from . import inbox as inbox_notes
from .client import (
    DEFAULT_SERVICE,
    POST_COLLECTION,
    XrpcClient,
    appview_of,
    clean_appview,
    default_appview,
    is_service_ref,
    post_url,
    record_time,
    web_base,
)
from .facets import MAX_GRAPHEMES, MENTION_RE, detect_facets, grapheme_count, split_thread

if TYPE_CHECKING:
    from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
    from chorus.content.models import PostTarget

T = TypeVar("T")
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
POST_URI_RE = re.compile(r"at://[^/\s]+/app\.bsky\.feed\.post/[^/\s]+")


def _refuse_inactive(session: dict[str, Any]) -> None:
    """A session of a deactivated (or suspended) account logs in but cannot post."""
    if session.get("active") is False:
        raise ReauthRequired(
            gettext(
                "This Bluesky account is still not active (%(status)s): reactivate it on its server, "
                "then connect it again."
            )
            % {"status": session.get("status") or "deactivated"},
            detail={"error": "AccountDeactivated", "status": session.get("status") or ""},
        )


def record_key(target: PostTarget, index: int = 0) -> str:
    """A TID (the record key form app.bsky.feed.post requires) that only this target produces:
    its creation second, plus microseconds and a clock id taken from a hash of its uid, plus the
    thread part index. The same target always gives the same keys, so a retry collides."""
    digest = int.from_bytes(hashlib.sha256(target.uid.bytes).digest()[:8], "big")
    micros = int(target.created_at.timestamp()) * 1_000_000 + (digest % 15_625) * 64 + index
    value = micros << 10 | (digest >> 20) % 1024
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


APPVIEW_HELP = _(
    "Where likes, reposts and replies are read: a service DID such as "
    "did:web:api.bsky.app#bsky_appview (asked through your server), or an AppView URL. Leave empty "
    "for the default: Bluesky's AppView on Bluesky's servers, your server itself otherwise."
)
WEB_URL_HELP = _(
    "Where people open your posts, e.g. your network's web app. Posts on Bluesky's servers link to "
    "bsky.app; elsewhere, leave empty to link with the post's at:// address."
)


def _clean_appview_field(value: Any) -> str:
    try:
        return clean_appview(str(value or ""))
    except (ValueError, http.UnsafeURL) as exc:
        raise ValidationError(str(exc)) from exc


class BlueskyConnectForm(forms.Form):
    handle = forms.CharField(label=_("Handle"), max_length=253, help_text=_("e.g. ourngo.bsky.social"))
    app_password = forms.CharField(
        label=_("App password"),
        widget=forms.PasswordInput,
        help_text=_("Create one in Bluesky under Settings → Privacy and security → App passwords."),
    )
    service = forms.URLField(
        label=_("Server"),
        required=False,
        initial=DEFAULT_SERVICE,
        help_text=_("Only for self-hosted servers."),
    )
    appview = forms.CharField(
        label=_("AppView"),
        required=False,
        max_length=300,
        help_text=APPVIEW_HELP,
    )
    web_url = forms.URLField(label=_("Web address for post links"), required=False, help_text=WEB_URL_HELP)

    def clean_handle(self) -> str:
        return str(self.cleaned_data["handle"]).strip().lstrip("@").lower()

    def clean_service(self) -> str:
        service = str(self.cleaned_data.get("service") or DEFAULT_SERVICE).rstrip("/")
        try:
            return http.check_public_url(service)
        except http.UnsafeURL as exc:
            raise ValidationError(str(exc)) from exc

    def clean_appview(self) -> str:
        return _clean_appview_field(self.cleaned_data.get("appview"))

    def clean_web_url(self) -> str:
        return str(self.cleaned_data.get("web_url") or "").rstrip("/")


class BlueskySettingsForm(forms.Form):
    """What a channel's settings page edits (public config): where counters are read and where
    post links point. Empty fields take the default for the channel's server."""

    appview = forms.CharField(label=_("AppView"), required=False, max_length=300, help_text=APPVIEW_HELP)
    web_url = forms.URLField(label=_("Web address for post links"), required=False, help_text=WEB_URL_HELP)

    @classmethod
    def initial_from(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"appview": appview_of(config), "web_url": str(config.get("web_url") or "")}

    def clean_appview(self) -> str:
        return _clean_appview_field(self.cleaned_data.get("appview"))

    def clean_web_url(self) -> str:
        return str(self.cleaned_data.get("web_url") or "").rstrip("/")

    def config_changes(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config keys to store: an empty AppView means the default for the server."""
        appview = self.cleaned_data["appview"] or default_appview(str(config.get("service") or ""))
        return {"appview": appview, "web_url": self.cleaned_data["web_url"]}


class BlueskyConnector(Connector):
    kind = "bluesky"
    label = "Bluesky"
    features = frozenset(
        {Feature.METRICS, Feature.AMPLIFIERS, Feature.THREADS, Feature.LOOKUP, Feature.DELETE, Feature.INBOX}
    )
    max_text_length = MAX_GRAPHEMES  # graphemes, not characters
    composer_options = (
        ComposerOption("langs", _("Languages"), "list", help=_("Up to 3 codes, e.g. en, fr")),
        ComposerOption("thread", _("Post a long text as a thread"), "bool"),
        ComposerOption("reply_to", _("In reply to"), "text", help=_("The at:// address of a post")),
        ComposerOption("quote", _("Quoting"), "text", help=_("The at:// address of a post")),
    )
    mention_pattern = MENTION_RE
    max_images = 4
    max_image_bytes: ClassVar[int] = 1_000_000  # the PDS's blob cap for post images
    max_alt_length: ClassVar[int] = 2000
    max_thread_posts: ClassVar[int] = 25
    write_points_per_post: ClassVar[int] = 3  # a record create costs 3 of the 5,000 hourly points
    quotas = (Quota("write_points", 5000, dt.timedelta(hours=1)),)
    idempotent = True
    connect_form = BlueskyConnectForm
    connects_with_credentials = True  # an app password: the API connects it too
    settings_form = BlueskySettingsForm

    # --- the composer -----------------------------------------------------------------------
    @classmethod
    def answer_options(cls, mode: str, *, uri: str, url: str) -> dict[str, str]:
        if not POST_URI_RE.fullmatch(uri):
            return {}
        return {"reply_to" if mode == "reply" else "quote": uri}

    def count_text(self, text: str) -> tuple[int, int | None]:
        return grapheme_count(text), self.max_text_length  # an emoji with modifiers is one

    def draft_options(self, *, link: str, media: list[dict[str, Any]]) -> dict[str, Any]:
        # A post embeds either images or one link card: the link becomes a card when no image does.
        return {"link_card": link} if link and not media else {}

    # --- connecting ----------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectResult:
        service = str(data.get("service") or DEFAULT_SERVICE).rstrip("/")
        handle, password = str(data["handle"]).lstrip("@"), str(data["app_password"])
        try:
            session = XrpcClient(service).create_session(handle, password)
        except (ReauthRequired, ContentRejected) as exc:
            raise ReauthRequired(
                gettext("Bluesky refused this handle and app password (%(reason)s).")
                % {"reason": exc.message}
            ) from exc
        _refuse_inactive(session)  # a reconnect must not report "Active" for a deactivated account
        config = {"handle": session["handle"], "did": session["did"], "service": service}
        # Only what was typed: a reconnect keeps the AppView and web address set on the channel's
        # settings page; a channel without them reads the server's default (`appview_of`).
        if data.get("appview"):
            config["appview"] = str(data["appview"]).rstrip("/")
        if data.get("web_url"):
            config["web_url"] = str(data["web_url"]).rstrip("/")
        return ConnectResult(
            name=f"@{session['handle']}",
            config=config,
            credentials={
                "accessJwt": session["accessJwt"],
                "refreshJwt": session["refreshJwt"],
                "appPassword": password,  # only to log in again if the refresh token is refused
            },
            account_id=str(session["did"]),
        )

    def check(self) -> str:
        """A fresh login with the stored app password, not the cached session: an app password
        revoked on Bluesky shows here at once instead of at the next refresh (up to 2 h later)."""
        from chorus.channels.actions import update_credentials

        credentials, config = self.channel.credentials, self.channel.config
        if not credentials.get("appPassword"):  # connected before app passwords were kept
            session = self._with_refresh(lambda: self._pds().get_session())
        else:
            try:
                session = XrpcClient(config["service"]).create_session(
                    config["did"], str(credentials["appPassword"])
                )
            except (AuthExpired, ReauthRequired, ContentRejected) as exc:
                raise ReauthRequired(
                    gettext("Bluesky refused the saved app password; reconnect (%(reason)s).")
                    % {"reason": exc.message}
                ) from exc
            update_credentials(
                channel=self.channel,
                credentials={"accessJwt": session.get("accessJwt"), "refreshJwt": session.get("refreshJwt")},
            )
        _refuse_inactive(session)
        return gettext("Connected as %(account)s") % {"account": f"@{session['handle']}"}

    def refresh_credentials(self) -> None:
        from chorus.channels.actions import update_credentials

        credentials, config = self.channel.credentials, self.channel.config
        pds = XrpcClient(config["service"])
        try:
            session = pds.refresh_session(str(credentials.get("refreshJwt", "")))
        except (AuthExpired, ReauthRequired, ContentRejected):
            # The refresh token is refused (expired or revoked): one login with the app password.
            if not credentials.get("appPassword"):
                raise ReauthRequired(gettext("The Bluesky session ended; reconnect the channel.")) from None
            try:
                session = pds.create_session(config["did"], str(credentials["appPassword"]))
            except (AuthExpired, ReauthRequired, ContentRejected) as exc:
                raise ReauthRequired(
                    gettext("Bluesky refused the saved app password; reconnect (%(reason)s).")
                    % {"reason": exc.message}
                ) from exc
        update_credentials(
            channel=self.channel,
            credentials={"accessJwt": session.get("accessJwt"), "refreshJwt": session.get("refreshJwt")},
        )

    # --- publishing ----------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems: list[Problem] = []
        items, options = list(target.media or []), dict(target.options or {})
        count = grapheme_count(target.text)
        if not target.text.strip() and not items:
            problems.append(Problem("text", gettext("A Bluesky post needs text or an image."), "empty"))
        if count > MAX_GRAPHEMES and not options.get("thread"):
            message = ngettext(
                "%(used)s character; Bluesky allows %(limit)s (or post it as a thread).",
                "%(used)s characters; Bluesky allows %(limit)s (or post it as a thread).",
                count,
            )
            problems.append(Problem("text", message % {"used": count, "limit": MAX_GRAPHEMES}, "too_long"))
        elif len(self._parts(target)) > self.max_thread_posts:
            most = self.max_thread_posts
            message = ngettext(
                "A thread may have at most %(most)s post.", "A thread may have at most %(most)s posts.", most
            )
            problems.append(Problem("text", message % {"most": most}, "too_long"))
        if len(items) > self.max_images:
            message = ngettext(
                "%(used)s image; Bluesky allows %(limit)s.",
                "%(used)s images; Bluesky allows %(limit)s.",
                len(items),
            )
            problems.append(
                Problem("media", message % {"used": len(items), "limit": self.max_images}, "too_many")
            )
        for i, item in enumerate(items):
            if item.get("kind") == "video" or str(item.get("mime_type") or "").startswith("video/"):
                problems.append(
                    Problem("media", gettext("Chorus posts images to Bluesky, not videos."), "video")
                )
            alt = str(item.get("alt") or "")
            if len(alt) > self.max_alt_length:
                message = ngettext(
                    "Alt text is %(used)s character; the limit is %(limit)s.",
                    "Alt text is %(used)s characters; the limit is %(limit)s.",
                    len(alt),
                )
                problems.append(
                    Problem(
                        f"media.{i}.alt",
                        message % {"used": len(alt), "limit": self.max_alt_length},
                        "too_long",
                    )
                )
            try:
                media.media_name(item)
            except media.MediaError as exc:
                problems.append(Problem(f"media.{i}.path", str(exc), "missing"))
        for name in ("reply_to", "quote"):
            address = str(options.get(name) or "")
            if address and not POST_URI_RE.fullmatch(address):
                problems.append(
                    Problem(
                        f"options.{name}",
                        gettext("Give the at:// address of a Bluesky post (at://…/app.bsky.feed.post/…)."),
                        "invalid",
                    )
                )
        if items and options.get("link_card"):
            problems.append(
                Problem(
                    "options.link_card",
                    gettext("A Bluesky post has either images or a link card."),
                    "conflict",
                )
            )
        langs = options.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3 or not all(isinstance(x, str) for x in langs):
            problems.append(
                Problem(
                    "options.langs", gettext('Give at most 3 language codes, e.g. ["en", "fr"].'), "invalid"
                )
            )
        return problems

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        return {"write_points": self.write_points_per_post * len(self._parts(target))}

    def publish(self, target: PostTarget) -> PublishResult:
        problems = self.validate(target)
        if problems:
            raise ContentRejected("; ".join(f"{p.field}: {p.message}" for p in problems))
        pds = self._pds()
        options = target.options or {}
        langs = list(options.get("langs") or [])
        # A reply or a quote of another post: its strong ref (uri + cid) and, for a reply, its
        # thread's root, read from the AppView before any write.
        root, parent = self._reply_refs(str(options["reply_to"])) if options.get("reply_to") else (None, None)
        quoted = self._post_refs(str(options["quote"]))[0] if options.get("quote") else None
        created_at: dt.datetime | None = None
        for index, text in enumerate(self._parts(target)):
            now = dt.datetime.now(dt.UTC)
            created_at = created_at or now  # the first part's time is the post's
            record: dict[str, Any] = {
                "$type": POST_COLLECTION,
                "text": text,
                "createdAt": now.isoformat().replace("+00:00", "Z"),
            }
            facets = detect_facets(text, pds.resolve_handle)
            if facets:
                record["facets"] = facets
            if langs:
                record["langs"] = langs
            if index == 0 and (embed := self._embed(target, pds, quoted)):
                record["embed"] = embed
            if root and parent:
                record["reply"] = {"root": root, "parent": parent}
            parent, existing = self._create(pds, record_key(target, index), record)
            if index == 0 and existing is not None:
                created_at = record_time(existing) or created_at  # a retry: the first attempt's time
            root = root or parent
        return self._result(record_key(target), published_at=created_at)

    def _create(
        self, pds: XrpcClient, rkey: str, record: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any] | None]:
        """The created record's {uri, cid}, and the record read back when it was already there."""
        did = self.channel.config["did"]
        try:
            created = pds.create_record(did, rkey, record)
        except (OutcomeUnknown, ContentRejected) as exc:
            maybe_duplicate = isinstance(exc, OutcomeUnknown) or "already" in exc.message.lower()
            if not maybe_duplicate:
                raise
            # A retry hits the record key of the first attempt (this PDS answers a bare 500): the
            # record being there means it is published; read it back instead of guessing.
            try:
                existing = pds.get_record(did, rkey)
            except (Transient, OutcomeUnknown):
                raise exc from None
            if existing is not None:
                return {"uri": existing["uri"], "cid": existing["cid"]}, existing
            if isinstance(exc, OutcomeUnknown) and "status" in exc.detail:
                # A server error answered and the record is not there: it was not applied.
                raise Transient(exc.message, detail=exc.detail) from exc
            raise
        return {"uri": created["uri"], "cid": created["cid"]}, None

    def _post_refs(self, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        """The post's strong ref and its thread root's (itself when it is not a reply), from the
        AppView (app.bsky.feed.getPosts)."""
        answer = self._with_refresh(lambda: self._appview().query("app.bsky.feed.getPosts", uris=[uri]))
        posts = answer.get("posts") if isinstance(answer, dict) else None
        if not posts:
            raise ContentRejected(gettext("Bluesky does not know the post %(uri)s.") % {"uri": uri})
        post = posts[0]
        ref = {"uri": str(post["uri"]), "cid": str(post["cid"])}
        root = ((post.get("record") or {}).get("reply") or {}).get("root") or {}
        if root.get("uri") and root.get("cid"):
            return ref, {"uri": str(root["uri"]), "cid": str(root["cid"])}
        return ref, ref

    def _reply_refs(self, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        """(root, parent) of a reply to the post at `uri`."""
        parent, root = self._post_refs(uri)
        return root, parent

    def _embed(
        self, target: PostTarget, pds: XrpcClient, quoted: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Images or a link card, and the quoted post with them when there is one."""
        media_embed = self._media_embed(target, pds)
        if quoted is None:
            return media_embed
        record = {"$type": "app.bsky.embed.record", "record": quoted}
        if media_embed is None:
            return record
        return {"$type": "app.bsky.embed.recordWithMedia", "record": record, "media": media_embed}

    def _media_embed(self, target: PostTarget, pds: XrpcClient) -> dict[str, Any] | None:
        items = list(target.media or [])
        if items:
            images = []
            for item in items:
                data, mime, (width, height) = media.fit_image(media.media_bytes(item), self.max_image_bytes)
                images.append(
                    {
                        "image": pds.upload_blob(data, mime),
                        "alt": str(item.get("alt") or ""),
                        "aspectRatio": {"width": width, "height": height},
                    }
                )
            return {"$type": "app.bsky.embed.images", "images": images}
        url = (target.options or {}).get("link_card")
        if not url:
            return None
        card = linkcard.fetch_card(str(url))
        external: dict[str, Any] = {"uri": card.url, "title": card.title, "description": card.description}
        thumb = linkcard.fetch_image(card.image_url) if card.image_url else None
        if thumb:
            try:
                data, mime, _size = media.fit_image(thumb, self.max_image_bytes)
                external["thumb"] = pds.upload_blob(data, mime)
            except media.MediaError:
                pass  # a card without its picture is still a card
        return {"$type": "app.bsky.embed.external", "external": external}

    def _parts(self, target: PostTarget) -> list[str]:
        if (target.options or {}).get("thread") and grapheme_count(target.text) > MAX_GRAPHEMES:
            return split_thread(target.text)
        return [target.text]

    def _result(self, rkey: str, published_at: dt.datetime | None = None) -> PublishResult:
        config = self.channel.config
        uri = f"at://{config['did']}/{POST_COLLECTION}/{rkey}"
        return PublishResult(external_id=uri, url=post_url(config, rkey), published_at=published_at)

    # --- read back, metrics, delete ------------------------------------------------------
    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Published means every part is there. Parts are created in order, each replying to the
        one before, so the last part's record stands for the whole thread; a thread cut short by
        a crash reads as absent, and sending it again collides on the parts that exist and adds
        the missing ones."""
        did, count = self.channel.config["did"], len(self._parts(target))
        found = self._with_refresh(lambda: self._pds().get_record(did, record_key(target, count - 1)))
        if not found:
            return None
        # The post's time is the one its first record carries, not the time of this read-back.
        first = (
            found
            if count == 1
            else self._with_refresh(lambda: self._pds().get_record(did, record_key(target)))
        )
        return self._result(record_key(target), published_at=record_time(first))

    def delete(self, target: PostTarget) -> None:
        did = self.channel.config["did"]
        for index in reversed(range(len(self._parts(target)))):  # replies first, then the root
            self._with_refresh(lambda i=index: self._pds().delete_record(did, record_key(target, i)))  # type: ignore[misc]

    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        uri = target.external_id or self._result(record_key(target)).external_id
        posts = self._with_refresh(
            lambda: self._appview().query("app.bsky.feed.getPosts", uris=[uri])["posts"]
        )
        if not posts:
            return {}
        post = posts[0]
        keys = {
            "likes": "likeCount",
            "reposts": "repostCount",
            "replies": "replyCount",
            "quotes": "quoteCount",
        }
        metrics = {ours: post[theirs] for ours, theirs in keys.items() if theirs in post}
        if metrics.get("replies") and len(self._parts(target)) > 1:
            # The thread's second part replies to its first: our own continuation, not a reply
            # from anyone (the AppView's replyCount counts direct replies only, so exactly one).
            metrics["replies"] = max(0, int(metrics["replies"]) - 1)
        return metrics

    def amplifiers(self, target: PostTarget) -> list[Amplifier]:
        uri = target.external_id or self._result(record_key(target)).external_id
        web = web_base(self.channel.config)
        return amplifiers.read(
            lambda nsid, **params: self._with_refresh(lambda: self._appview().query(nsid, **params)), uri, web
        )

    def account_metrics(self) -> dict[str, int | None]:
        did = self.channel.config["did"]
        profile = self._with_refresh(lambda: self._appview().query("app.bsky.actor.getProfile", actor=did))
        keys = {"followers": "followersCount", "follows": "followsCount", "posts": "postsCount"}
        return {ours: profile[theirs] for ours, theirs in keys.items() if theirs in profile}

    # --- plumbing ------------------------------------------------------------------------
    def _pds(self) -> XrpcClient:
        return XrpcClient(
            self.channel.config["service"], token=str(self.channel.credentials.get("accessJwt", ""))
        )

    def _appview(self) -> XrpcClient:
        """app.bsky.* reads, by the channel's AppView setting (`appview_of`): a URL is asked
        directly (public reads need no token); a service DID through the PDS, named in
        `atproto-proxy`; none, through the PDS with no header, which forwards the read to the
        AppView it is set up with. Naming Bluesky's AppView to a self-hosted PDS that does not
        know it makes every read answer 500."""
        appview = appview_of(self.channel.config)
        if appview and not is_service_ref(appview):
            return XrpcClient(appview)
        return self._pds_reads()

    def _pds_reads(self) -> XrpcClient:
        """The PDS with the account's token, for app.bsky.* reads that need it (notifications),
        with the AppView setting's service DID when it is one."""
        pds = self._pds()
        appview = appview_of(self.channel.config)
        if is_service_ref(appview):
            pds.headers["atproto-proxy"] = appview
        return pds

    def _with_refresh(self, call: Callable[[], T]) -> T:
        """Reads outside the engine refresh an expired session once themselves."""
        try:
            return call()
        except AuthExpired:
            self.refresh_credentials()
            return call()

    # --- inbox (Feature.INBOX; see inbox.py for the sweep cursor) -----------------------------
    inbox_streams: ClassVar[tuple[str, ...]] = ("notifications",)
    inbox_page_size: ClassVar[int] = 50
    inbox_moderations: ClassVar[tuple[str, ...]] = ("like",)

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        state_next = inbox_notes.next_cursor(cursor)
        data = self._with_refresh(
            lambda: self._pds_reads().list_notifications(limit=self.inbox_page_size, cursor=state_next)
        )
        config = self.channel.config
        return inbox_notes.sweep_page(data, cursor, web=web_base(config), own_did=str(config["did"]))

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        """updateSeen up to the sweep's newest notification, once the inbox has stored them."""
        if page.seen_at:
            self._with_refresh(lambda: self._pds_reads().update_seen(page.seen_at))

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        from chorus.connectors.inbox import ReplyResult

        pds = self._pds()
        parent_ref = {"uri": parent.network_id, "cid": str(parent.extra.get("cid") or "")}
        root_ref = (
            {"uri": parent.root_id, "cid": str(parent.extra.get("root_cid") or "")}
            if parent.root_id
            else parent_ref
        )
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "reply": {"root": root_ref, "parent": parent_ref},
        }
        facets = detect_facets(text, pds.resolve_handle)
        if facets:
            record["facets"] = facets
        rkey = inbox_notes.reply_record_key(key.key, key.created_at)
        # _create collides on the record key when this reply was already created (a retry).
        created, _existing = self._with_refresh(lambda: self._create(pds, rkey, record))
        return ReplyResult(created["uri"], post_url(self.channel.config, rkey))

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        from chorus.connectors.inbox import ReplyResult

        did = self.channel.config["did"]
        rkey = inbox_notes.reply_record_key(key.key, key.created_at)
        found = self._with_refresh(lambda: self._pds().get_record(did, rkey))
        if found is None:
            return None
        return ReplyResult(found["uri"], post_url(self.channel.config, rkey))

    def inbox_thread(self, uri: str) -> list[dict[str, Any]]:
        """The posts of a thread from the AppView (getPostThread), depth first."""
        return inbox_notes.thread_entries(self._with_refresh(lambda: self._appview().get_post_thread(uri)))

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        if action != "like":
            raise ContentRejected(gettext("Bluesky does not allow this from Chorus."))
        record = {
            "$type": inbox_notes.LIKE_COLLECTION,
            "subject": {"uri": entry.network_id, "cid": str(entry.extra.get("cid") or "")},
            "createdAt": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        did = self.channel.config["did"]
        liked = self._with_refresh(
            lambda: self._pds().create_record_in(did, inbox_notes.LIKE_COLLECTION, record)
        )
        return {"like_uri": liked.get("uri", "")}
