"""WordPress: a blog post per target, through the REST API with an application password.

Idempotency marker: WordPress has no idempotency key, and post meta is not writable over REST
unless a plugin registers it. The post's `slug` is writable by any author and searchable, so each
created post gets the slug `Connector.idempotency_key(target)` ("chorus-<target uid>"). `lookup`
reads it back with `?slug=...&status=any` (scheduled posts included), and `publish` looks first,
so a retry after an attempt that did land returns that post instead of writing a second one.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from chorus.connectors.base import (
    ComposerOption,
    Connector,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    OutcomeUnknown,
    Problem,
    PublishError,
    PublishResult,
    Transient,
)
from chorus.connectors.wordpress import inbox as wp_inbox
from chorus.connectors.wordpress.client import WordPressAPI, discover
from chorus.core.http import check_public_url
from chorus.media import storage

if TYPE_CHECKING:
    from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
    from chorus.content.models import PostTarget


class WordPressConnectForm(forms.Form):
    site_url = forms.URLField(
        label=_("Site address"), assume_scheme="https", help_text=_("e.g. https://blog.example.org")
    )
    username = forms.CharField(label=_("Username"), max_length=150)
    application_password = forms.CharField(
        label=_("Application password"),
        widget=forms.PasswordInput,
        help_text=_("Create one in WordPress under Users → Profile → Application Passwords."),
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return "\n".join("<p>" + html.escape(block).replace("\n", "<br>\n") + "</p>" for block in blocks)


def _media_file(item: Any) -> tuple[str, bytes]:
    """(file name, bytes) of a media item: a media storage name (the bucket on the scaled shape,
    read wherever the upload happened), or an absolute local path as before."""
    raw = str(item.get("path", "") if isinstance(item, dict) else item)
    name = Path(raw).name
    if Path(raw).is_absolute() and not storage.on_bucket():
        return name, Path(raw).read_bytes()
    try:
        return name, storage.read_bytes(raw)
    except storage.NotAMediaFile as exc:
        raise FileNotFoundError(raw) from exc


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(name).strip() for name in value or [] if str(name).strip()]


def _gmt(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WordPressConnector(Connector):
    kind = "wordpress"
    label = "WordPress"
    composer_options = (
        ComposerOption("title", _("Title"), "text"),
        ComposerOption("excerpt", _("Excerpt"), "text"),
        ComposerOption("categories", _("Categories"), "list", help=_("Comma separated")),
        ComposerOption("tags", _("Tags"), "list", help=_("Comma separated")),
        ComposerOption(
            "native_schedule",
            _("Schedule on the site itself (WordPress publishes it at the time)"),
            "bool",
        ),
    )

    def handle(self) -> str:
        return str((self.channel.config or {}).get("site_url") or "")

    features = frozenset(
        {Feature.METRICS, Feature.LOOKUP, Feature.DELETE, Feature.NATIVE_SCHEDULING, Feature.INBOX}
    )
    max_images = 1  # the featured image
    max_concurrency = 2  # often a small shared host
    idempotent = False  # no idempotency key: the slug marker + lookup stand in (module docstring)
    connect_form: ClassVar[type[Any] | None] = WordPressConnectForm
    connects_with_credentials = True  # an app password: the API connects it too

    # --- connecting -----------------------------------------------------------------------
    @classmethod
    def begin_connect(
        cls, data: dict[str, Any], *, callback_url: str, state: str
    ) -> ConnectResult | ConnectRedirect:
        """Connects at once. Bad input raises ValueError (UnsafeURL is one) with a message the
        connect form shows: the user is right there, so there is no channel to pause."""
        site_url = check_public_url(str(data["site_url"]).strip().rstrip("/"))
        rest_root, index = discover(site_url)
        api = WordPressAPI(
            rest_root=rest_root, username=data["username"], application_password=data["application_password"]
        )
        try:
            me = api.me()
        except PublishError as exc:
            status = exc.detail.get("status")
            if status in (401, 403):
                raise ValueError(
                    gettext(
                        "WordPress refused the username or application password (%(reason)s). Check the "
                        "username and create a new application password under Users → Profile; WordPress "
                        "only offers application passwords on sites served over HTTPS."
                    )
                    % {"reason": exc.detail.get("message") or exc.message}
                ) from exc
            raise ValueError(
                gettext("Could not verify the account on %(url)s: %(reason)s")
                % {"url": site_url, "reason": exc.message}
            ) from exc
        name = html.unescape(str(index.get("name") or "")) or site_url
        config = {
            "site_url": site_url,
            "rest_root": rest_root,
            "username": data["username"],
            "user_id": me["id"],
        }
        return ConnectResult(
            name=name,
            config=config,
            credentials={"application_password": data["application_password"]},
            account_id=f"{site_url}#{me['id']}",  # user ids are only unique per site
        )

    def api(self) -> WordPressAPI:
        config = self.channel.config
        return WordPressAPI(
            rest_root=config["rest_root"],
            username=config["username"],
            application_password=self.channel.credentials["application_password"],
        )

    def check(self) -> str:
        me = self.api().me()
        return gettext("Connected to %(site)s as %(account)s") % {
            "site": self.channel.name,
            "account": me.get("name") or me.get("slug"),
        }

    # --- validating -----------------------------------------------------------------------
    @staticmethod
    def title_for(target: PostTarget) -> str:
        return (
            str(target.options.get("title") or "").strip()
            or target.post.title.strip()
            or _first_line(target.text)
        )

    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        if not self.title_for(target):
            problems.append(Problem("title", gettext("A WordPress post needs a title."), "required"))
        if target.media:
            try:
                name, data = _media_file(target.media[0])
            except OSError:
                name, data = Path(str(target.media[0].get("path", ""))).name, b""
            try:
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()
            except (OSError, UnidentifiedImageError, SyntaxError):
                message = gettext("%(file)s is not an image file WordPress can feature.") % {"file": name}
                problems.append(Problem("media", message, "invalid"))
        if len(target.media) > self.max_images:
            problems.append(
                Problem("media", gettext("WordPress takes one featured image per post."), "too_many")
            )
        return problems

    # --- publishing -----------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        existing = self.lookup(target)
        if existing is not None:
            return existing  # an earlier attempt landed (its answer was lost): never post twice
        api = self.api()
        try:
            payload = self._payload(api, target)
        except OutcomeUnknown as exc:
            # A media upload or term creation timed out; the post itself was not created, so a
            # retry is safe (at worst it leaves an unused attachment or term behind).
            raise Transient(exc.message, detail=exc.detail) from exc
        return self._result(api.create_post(payload))

    def _payload(self, api: WordPressAPI, target: PostTarget) -> dict[str, Any]:
        options = target.options
        title = self.title_for(target)
        text = target.text
        if not options.get("title") and not target.post.title and _first_line(text) == title:
            text = text.strip().split("\n", 1)[1] if "\n" in text.strip() else ""  # the title line
        payload: dict[str, Any] = {
            "title": title,
            "content": str(options["html"]) if options.get("html") else _paragraphs(text),
            "slug": self.idempotency_key(target),
            "status": "publish",
        }
        if options.get("excerpt"):
            payload["excerpt"] = str(options["excerpt"])
        when = target.scheduled_at
        if options.get("native_schedule") and when is not None and when > timezone.now():
            payload.update(status="future", date_gmt=_gmt(when))
        if target.media:
            payload["featured_media"] = self._upload(api, target.media[0], self._media_slug(target))
        for option, taxonomy in (("categories", "categories"), ("tags", "tags")):
            names = _names(options.get(option))
            if names:
                payload[taxonomy] = [api.term_id(taxonomy, name) for name in names]
        return payload

    @classmethod
    def _media_slug(cls, target: PostTarget) -> str:
        """The slug Chorus gives the image it uploads for a post: how a delete finds it again."""
        return f"{cls.idempotency_key(target)}-image"

    def _upload(self, api: WordPressAPI, item: Any, slug: str) -> int:
        alt = str(item.get("alt") or "") if isinstance(item, dict) else ""
        raw = str(item.get("path", "") if isinstance(item, dict) else item)
        try:
            name, content = _media_file(item)
            with Image.open(io.BytesIO(content)) as image:
                content_type = Image.MIME.get(image.format or "", "application/octet-stream")
        except (OSError, UnidentifiedImageError) as exc:
            raise ContentRejected(
                gettext("The featured image %(file)s cannot be read: %(error)s")
                % {"file": Path(raw).name, "error": exc}
            ) from exc
        media = api.upload_media(content, filename=name, content_type=content_type, alt=alt, slug=slug)
        return int(media["id"])

    @staticmethod
    def _result(post: dict[str, Any]) -> PublishResult:
        published_at = None
        if post.get("status") == "publish" and post.get("date_gmt"):
            published_at = dt.datetime.fromisoformat(post["date_gmt"]).replace(tzinfo=dt.UTC)
        return PublishResult(
            external_id=str(post["id"]),
            url=str(post.get("link") or ""),
            published_at=published_at,
            extra={"status": post.get("status")},
        )

    def lookup(self, target: PostTarget) -> PublishResult | None:
        found = self.api().posts_with_slug(self.idempotency_key(target))
        return self._result(found[0]) if found else None

    def delete(self, target: PostTarget) -> None:
        """The post and the image Chorus uploaded for it: deleting a post leaves its attachments
        on the site, publicly served from wp-content/uploads, so a withdrawn photo would stay online.
        Only attachments carrying this post's slug mark are deleted (never a site's own image
        someone set as featured later); a retry's orphaned upload (slug -2, -3...) goes too."""
        if not target.external_id:
            return
        api, mark = self.api(), self._media_slug(target)
        ids: set[int] = {int(m["id"]) for m in api.media_with_slug(mark)}
        post = api.post_for_edit(target.external_id)
        featured = int((post or {}).get("featured_media") or 0)
        if featured and featured not in ids:
            found = api.media_for_edit(featured)
            if found and str(found.get("slug", "")).startswith(mark):
                ids.add(featured)
        api.delete_post(target.external_id)
        for media_id in sorted(ids):
            api.delete_media(media_id)

    # --- metrics --------------------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        comments = self.api().total("/wp/v2/comments", {"post": target.external_id})
        return {} if comments is None else {"comments": comments}

    def account_metrics(self) -> dict[str, int | None]:
        posts = self.api().total("/wp/v2/posts")
        return {} if posts is None else {"posts": posts}

    # --- inbox (Feature.INBOX): comments, moderation, replies as child comments -------------
    inbox_streams: ClassVar[tuple[str, ...]] = ("comments",)
    inbox_moderations: ClassVar[tuple[str, ...]] = ("approve", "hold", "spam", "trash", "delete")

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        after, page = wp_inbox.next_request(cursor)
        comments = self.api().comments_since(after=after, page=page, per_page=wp_inbox.PER_PAGE)
        return wp_inbox.comments_page(comments, cursor, own_user=int(self.channel.config.get("user_id") or 0))

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        """WordPress has no "seen" state for comments."""

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        from chorus.connectors.inbox import ReplyResult

        payload = {"post": int(parent.extra["post"]), "parent": int(parent.network_id), "content": text}
        try:
            created = self.api().create_comment(payload)
        except ContentRejected as exc:
            # WordPress refuses the same text twice from the same person (comment_duplicate):
            # a retry of a reply that went through. Read it back instead of failing.
            if (
                exc.detail.get("code") != "comment_duplicate"
                or (found := self.inbox_find_reply(parent, key)) is None
            ):
                raise
            return found
        return ReplyResult(str(created["id"]), str(created.get("link") or ""))

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        """No idempotency key on comments: our reply is the connected user's child comment of
        `parent` written after the reply was (its text is compared by the caller's record)."""
        from chorus.connectors.inbox import ReplyResult

        mine = self.api().comment_replies(parent.network_id, int(self.channel.config.get("user_id") or 0))
        since = key.created_at - dt.timedelta(minutes=5)  # clocks of two machines
        for comment in mine:
            if wp_inbox.comment_time(comment) >= since:
                return ReplyResult(str(comment["id"]), str(comment.get("link") or ""))
        return None

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        if action == "delete":
            self.api().delete_comment(entry.network_id)
            return {"status": "deleted"}
        if action not in wp_inbox.STATUSES:
            raise ContentRejected(gettext("WordPress comments cannot be moderated that way."))
        updated = self.api().set_comment_status(entry.network_id, wp_inbox.STATUSES[action])
        return {"status": str(updated.get("status") or "")}
