"""Instagram professional accounts (Instagram API with Facebook Login, graph.facebook.com).

channel.config      {ig_user_id, username, page_id}
channel.credentials {access_token: the token of the Page the account is linked to}
target.options      {"ig_type": "feed" | "reels" | "story", "first_comment": str, "share_to_feed": bool}

The container flow (https://developers.facebook.com/docs/instagram-platform/content-publishing/):
POST /{ig-user-id}/media (image_url | media_type=REELS/STORIES/CAROUSEL ...) -> container id;
GET /{container-id}?fields=status_code until FINISHED; POST /{ig-user-id}/media_publish
creation_id. Instagram downloads the media itself, so files are given as public URLs.
Publishing limit: GET /{ig-user-id}/content_publishing_limit (50 API posts per 24 h).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ComposerOption,
    ConnectChoice,
    ConnectOption,
    Connector,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishError,
    PublishResult,
    Quota,
    RateLimited,
    number,
    with_followers,
)
from chorus.connectors.meta import graph, media
from chorus.connectors.meta import inbox as meta_inbox
from chorus.connectors.meta.graph import GraphAPI
from chorus.connectors.meta.insights import graph_insights
from chorus.connectors.meta.marketing import MetaAds
from chorus.connectors.meta.media import FetchesMediaByURL
from chorus.connectors.meta.setup import MetaAppSettings, NoFieldsForm

if TYPE_CHECKING:
    from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
    from chorus.content.models import PostTarget

# The inbox's permissions (Instagram API with Facebook Login; the Instagram-Login variant's
# instagram_business_* scopes are not used), asked by default, and what the team is told when
# the person logging in declined one.
INBOX_PERMISSIONS = (
    meta_inbox.InboxPermission(
        "instagram_manage_comments",  # also the first comment
        ("comments", "mentions"),
        _(
            "Chorus may not read or answer comments and mentions on this account: the permission "
            "%(permission)s was not granted. Reconnect and allow it."
        ),
    ),
    meta_inbox.InboxPermission(
        "instagram_manage_messages",
        ("messages",),
        _(
            "Chorus may not read messages on this account: the permission %(permission)s was not "
            "granted. Reconnect and allow it."
        ),
    ),
    meta_inbox.InboxPermission(
        "pages_manage_metadata",
        (),
        _(
            "Meta may not notify Chorus of this account's new comments and messages as they "
            "happen: the permission %(permission)s was not granted, so they arrive only with the "
            "next poll. Reconnect and allow it."
        ),
    ),
)
SCOPES = [
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
    *(row.permission for row in INBOX_PERMISSIONS),
]
TYPES = ("feed", "reels", "story")
IMAGE_TYPES = ("image/jpeg",)  # the API takes JPEG only
VIDEO_TYPES = ("video/mp4", "video/quicktime")
FEED_RATIO = (0.8, 1.91)  # 4:5 to 1.91:1
MAX_HASHTAGS, MAX_MENTIONS = 30, 20
HASHTAG_RE, MENTION_RE = re.compile(r"(?<!\w)#\w+"), re.compile(r"(?<!\w)@[\w.]+")
LOOKUP_SLACK = dt.timedelta(minutes=5)
# Mentions: the fields read for a tagged or @mentioning media, and for a @mentioning comment.
MENTION_MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,username"
MENTION_COMMENT_FIELDS = "text,timestamp,username,media"
MENTION_REPLY_FIELDS = "id,text,timestamp,username"  # our answer to a mention, read back
TAGS_PAGES = 4  # /tags pages read per poll (25 each); the webhook is the first path
LIMIT_RECHECK = 3600.0  # the 24 h window is rolling: a unit frees when the oldest post turns 24 h
# Insights: Meta name -> ours. `impressions` was retired for media (v22): `views` replaces it.
POST_METRICS = {
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "saved": "saves",
    "shares": "shares",
    "views": "views",
}
STORY_METRICS = {"reach": "reach", "replies": "replies", "shares": "shares", "views": "views"}


class InstagramConnector(meta_inbox.InboxPermissionsMixin, FetchesMediaByURL, MetaAppSettings, Connector):
    kind = "instagram"
    label = "Instagram"
    setting_prefix = "INSTAGRAM"
    setup_steps = _(
        "Use a Meta app (type Business) with Facebook Login for Business and the Instagram API; "
        "add the redirect URL <site>/channels/oauth/instagram/callback/ and the permissions "
        "instagram_basic, instagram_content_publish, instagram_manage_insights, "
        "instagram_manage_comments, pages_show_list, pages_read_engagement and, for the inbox, "
        "instagram_manage_messages and pages_manage_metadata; link each Instagram "
        "professional account to a Facebook Page; then set INSTAGRAM_CLIENT_ID, "
        "INSTAGRAM_CLIENT_SECRET and INSTAGRAM_ENABLED=true and restart. Media must be reachable "
        "from the internet at CHORUS_BASE_URL."
    )
    features = frozenset(
        {Feature.ADS, Feature.METRICS, Feature.LOOKUP, Feature.VIDEO, Feature.FIRST_COMMENT, Feature.INBOX}
    )
    idempotent = False
    max_text_length = 2200
    # The feed shows about the first 125 characters of a caption, then "… more".
    preview_fold = 125
    composer_options = (
        ComposerOption(
            "ig_type",
            _("Post type"),
            "choice",
            (("feed", _("Feed")), ("reels", _("Reel")), ("story", _("Story (24 hours)"))),
        ),
        ComposerOption(
            "first_comment",
            _("First comment"),
            "text",
            help=_("Posted as a comment right after the post (not on stories)"),
        ),
    )
    mention_pattern = MENTION_RE
    max_images = 10
    max_concurrency = 2
    quotas = (Quota("posts", 50, dt.timedelta(hours=24)),)  # a carousel counts as one post
    connect_form: ClassVar[type[Any] | None] = NoFieldsForm

    # --- connecting -----------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.require_configured()
        url = graph.facebook_authorize_url(client_id, callback_url, SCOPES, state)
        return ConnectRedirect(url=url, state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectChoice:
        """The Instagram professional accounts linked to the Pages the user shared: one is
        connected at once, several go to the picker."""
        code = cls.authorization_code(params, "Instagram")
        client_id, secret = cls.require_configured()
        token = graph.facebook_user_token(
            client_id=client_id, client_secret=secret, redirect_uri=callback_url, code=code
        )
        missing = meta_inbox.missing_permissions(
            INBOX_PERMISSIONS, graph.granted_permissions(token["access_token"])
        )
        options = {
            str(page["instagram_business_account"]["id"]): _account_option(page, missing)
            for page in graph.facebook_pages(token["access_token"])
            if page.get("instagram_business_account")
        }  # keyed by account: one account linked to two Pages is offered once
        if not options:
            raise ValueError(
                gettext(
                    "None of the Facebook Pages you shared has an Instagram professional account. "
                    "Switch the Instagram account to a business or creator account, link it to a "
                    "Facebook Page you manage, then connect again and select that Page in "
                    "Facebook's dialog."
                )
            )
        return ConnectChoice(tuple(options.values()))

    def ads(self, account_id: str, access_token: str | None = None) -> MetaAds:
        """Paid reach through the Marketing API; a Page token cannot manage ads, so the ad
        account's own token (a user or system-user token with ads_management) is expected."""
        return MetaAds(
            account_id, access_token or self.channel.credentials["access_token"], network="instagram"
        )

    def api(self) -> GraphAPI:
        return GraphAPI(self.channel.credentials["access_token"], network="Instagram", channel=self.channel)

    @property
    def user_id(self) -> str:
        return str(self.channel.config["ig_user_id"])

    def check(self) -> str:
        account = self.api().get(self.user_id, fields="username,followers_count")
        return with_followers(f"@{account['username']}", account.get("followers_count"))

    # --- validation ------------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        kind, items = target.options.get("ig_type") or "feed", list(target.media)
        if kind not in TYPES:
            return [
                *problems,
                Problem("options", gettext("The Instagram type is feed, reels or story."), "type"),
            ]
        if len(HASHTAG_RE.findall(target.text)) > MAX_HASHTAGS:
            message = ngettext(
                "Instagram allows %(most)s hashtag.", "Instagram allows %(most)s hashtags.", MAX_HASHTAGS
            )
            problems.append(Problem("text", message % {"most": MAX_HASHTAGS}, "hashtags"))
        if len(MENTION_RE.findall(target.text)) > MAX_MENTIONS:
            message = ngettext(
                "Instagram allows %(most)s mention.", "Instagram allows %(most)s mentions.", MAX_MENTIONS
            )
            problems.append(Problem("text", message % {"most": MAX_MENTIONS}, "mentions"))
        if not items:
            return [
                *problems,
                Problem("media", gettext("An Instagram post needs a photo or a video."), "required"),
            ]
        problems.extend(self.media_problems(items))
        if kind in ("reels", "story") and len(items) != 1:
            problems.append(Problem("media", gettext("Reels and stories take exactly one file."), "count"))
        if kind == "reels" and not media.is_video(items[0]):
            problems.append(Problem("media", gettext("A reel is a video."), "type"))
        if len(items) > self.max_images:
            most = self.max_images
            message = ngettext(
                "A carousel takes up to %(most)s item.", "A carousel takes up to %(most)s items.", most
            )
            problems.append(Problem("media", message % {"most": most}, "too_many"))
        for index, item in enumerate(items):
            problems.extend(_media_problems(index, item, kind))
        return problems

    # --- publishing ------------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api, options = self.api(), target.options
        self.check_publishing_limit(api)
        kind, items = options.get("ig_type") or "feed", list(target.media)
        caption = {"caption": target.text} if target.text and kind != "story" else {}
        if kind == "story":
            container = self._container(api, items[0], media_type="STORIES")
        elif kind == "reels" or (len(items) == 1 and media.is_video(items[0])):
            share = {"share_to_feed": "true" if options.get("share_to_feed", True) else "false"}
            container = self._container(api, items[0], media_type="REELS", **caption, **share)
        elif len(items) == 1:
            container = self._container(api, items[0], **caption)
        else:
            children = [self._container(api, item, is_carousel_item="true") for item in items]
            for child in children:
                api.wait_for_container(child)
            data = {"media_type": "CAROUSEL", "children": ",".join(children), **caption}
            container = str(api.post(f"{self.user_id}/media", data)["id"])
        api.wait_for_container(container)
        # The one irreversible call: after a timeout it may have published, so OutcomeUnknown.
        media_id = str(
            api.post(f"{self.user_id}/media_publish", {"creation_id": container}, may_apply=True)["id"]
        )
        return self._after_publish(api, media_id, options.get("first_comment") if kind != "story" else None)

    def _container(self, api: GraphAPI, item: dict[str, Any], **fields: str) -> str:
        """Creating a container publishes nothing: safe to resend after a timeout."""
        data = dict(fields)
        url = media.public_url(item["path"])
        if media.is_video(item):
            data.setdefault("media_type", "VIDEO")  # carousel children; reels/stories set their own
            data["video_url"] = url
        else:
            data["image_url"] = url
            if item.get("alt") and data.get("media_type") not in ("STORIES",):
                data["alt_text"] = str(item["alt"])
        return str(api.post(f"{self.user_id}/media", data)["id"])

    def _after_publish(self, api: GraphAPI, media_id: str, first_comment: Any) -> PublishResult:
        """The post is out: nothing from here may fail the publish."""
        extra: dict[str, Any] = {}
        try:
            info = api.get(media_id, fields="permalink,timestamp")
        except PublishError:
            info = {}
        if first_comment:
            try:
                extra["first_comment_id"] = str(
                    api.post(f"{media_id}/comments", {"message": str(first_comment)})["id"]
                )
            except PublishError as exc:
                extra["first_comment_error"] = exc.message
        return PublishResult(
            media_id,
            url=info.get("permalink", ""),
            published_at=_time(info.get("timestamp")) or timezone.now(),
            extra=extra,
        )

    def check_publishing_limit(self, api: GraphAPI) -> None:
        """Reads the account's live usage: posts made outside Chorus count too, which our own
        ledger cannot see. https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit"""
        answer = api.get(f"{self.user_id}/content_publishing_limit", fields="quota_usage,config")
        row = (answer.get("data") or [{}])[0]
        config = row.get("config") or {}
        total = int(config.get("quota_total") or self.quotas[0].limit)
        if int(row.get("quota_usage") or 0) >= total:
            window = float(config.get("quota_duration") or 86400)
            message = ngettext(
                "Instagram's limit of %(total)s post per %(hours)s h is reached for this account.",
                "Instagram's limit of %(total)s posts per %(hours)s h is reached for this account.",
                total,
            )
            raise RateLimited(
                message % {"total": total, "hours": number(window / 3600)},
                retry_after=min(LIMIT_RECHECK, window),
            )

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """No idempotency key and no room for a hidden marker in a caption: after a timeout we
        look for a media of this account with exactly this caption, created since the attempt
        began (5 minutes of clock slack)."""
        since = (target.sending_at or target.claimed_at or target.created_at) - LOOKUP_SLACK
        answer = self.api().get(f"{self.user_id}/media", fields="id,caption,timestamp,permalink", limit=25)
        for item in answer.get("data", []):
            created = _time(item.get("timestamp"))
            if created is not None and created >= since and (item.get("caption") or "") == target.text:
                return PublishResult(str(item["id"]), url=item.get("permalink", ""), published_at=created)
        return None

    # --- metrics ---------------------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        table = STORY_METRICS if target.options.get("ig_type") == "story" else POST_METRICS
        answer = self.api().get(f"{target.external_id}/insights", metric=",".join(table))
        return graph_insights(answer, table)

    def account_metrics(self) -> dict[str, int | None]:
        account = self.api().get(self.user_id, fields="followers_count,follows_count,media_count")
        names = {"followers_count": "followers", "follows_count": "following", "media_count": "posts"}
        return {ours: int(account[theirs]) for theirs, ours in names.items() if theirs in account}

    # --- inbox (Feature.INBOX): comments, mentions and direct messages; webhooks, polling as
    # backstop ----------------------------------------------------------------------------------
    inbox_streams: ClassVar[tuple[str, ...]] = ("comments", "mentions", "messages")
    inbox_moderations: ClassVar[tuple[str, ...]] = ("hide", "unhide", "delete")

    inbox_permissions = INBOX_PERMISSIONS

    webhook_page_fields: ClassVar[tuple[str, ...]] = ("feed",)

    def inbox_webhook_subscribe(self) -> dict[str, Any] | None:
        """Enables Page subscriptions on the Page linked to the account (Instagram's webhooks
        docs: the linked Page must be subscribed to the app, on any Page field; "feed" here),
        with the Page token the channel keeps. None when pages_manage_metadata was declined or
        the channel predates the linked Page id: no call is made."""
        page_id = str(self.channel.config.get("page_id") or "")
        if meta_inbox.SUBSCRIBE_PERMISSION in self._missing() or not page_id:
            return None
        app_id, _secret = self.app_credentials()
        return meta_inbox.subscribe_page(self.api(), page_id, self.webhook_page_fields, app_id)

    def inbox_item_moderations(self, entry: InboxEntry) -> tuple[str, ...]:
        """A mention is on someone else's media: nothing to hide or delete there."""
        return () if entry.kind == "mention" else self.inbox_moderations

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        from chorus.connectors.inbox import InboxPage

        since = int(cursor or 0)
        if stream == "messages":
            # The backstop of the messaging webhook: the linked Page's instagram conversations.
            linked = self.channel.config.get("page_id")
            if not linked:
                return InboxPage([], cursor or "", more=False)
            return meta_inbox.poll_conversations(self.api(), linked, "instagram", self.user_id, cursor)
        if stream == "mentions":
            return self._tags(since)
        fields = "id,comments.limit(50){id,text,timestamp,from{id,username},parent_id}"
        data = self.api().get(f"{self.user_id}/media", fields=fields, limit=25)
        entries, newest = [], since
        for item in data.get("data") or []:
            for comment in (item.get("comments") or {}).get("data") or []:
                entry = meta_inbox.instagram_comment({**comment, "media": {"id": item["id"]}}, 0)
                if int(entry.created_at.timestamp()) < since or entry.author_id == self.user_id:
                    continue
                entries.append(entry)
                newest = max(newest, int(entry.created_at.timestamp()))
        return InboxPage(entries, str(newest), more=False)

    def _tags(self, since: int) -> InboxPage:
        """The media the account is tagged or @mentioned in (GET /{ig-user-id}/tags, newest
        first), newer than the stored time: page after page until an older one shows."""
        from chorus.connectors.inbox import InboxPage

        api = self.api()
        params: dict[str, Any] = {"fields": MENTION_MEDIA_FIELDS, "limit": 25}
        entries, newest = [], since
        for _page in range(TAGS_PAGES):
            data = api.get(f"{self.user_id}/tags", **params)
            older_seen = False
            for found in data.get("data") or []:
                entry = meta_inbox.tagged_media(found)
                stamp = int(entry.created_at.timestamp())
                if stamp < since:
                    older_seen = True
                    continue
                entries.append(entry)
                newest = max(newest, stamp)
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            if older_seen or not after or not (data.get("paging") or {}).get("next"):
                break
            params["after"] = after
        return InboxPage(entries, str(newest), more=False)

    def inbox_enrich(self, entry: InboxEntry) -> InboxEntry:
        """A "mentions" webhook gives only ids: read the caption (mentioned_media) or the
        comment (mentioned_comment) through the account, the documented way for media that is
        not ours."""
        media_id = str(entry.extra.get("media_id") or "")
        comment_id = str(entry.extra.get("comment_id") or "")
        if comment_id:
            fields = f"mentioned_comment.comment_id({comment_id}){{{MENTION_COMMENT_FIELDS}}}"
            found = self.api().get(self.user_id, fields=fields).get("mentioned_comment") or {}
            return meta_inbox.mentioned_comment({"id": comment_id, **found}, media_id)
        fields = f"mentioned_media.media_id({media_id}){{{MENTION_MEDIA_FIELDS.removeprefix('id,')}}}"
        found = self.api().get(self.user_id, fields=fields).get("mentioned_media") or {}
        return meta_inbox.tagged_media({"id": media_id, **found})

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        """Comments have no seen state on the Graph API."""

    def inbox_reply_window(self, last_message: InboxEntry, at: dt.datetime) -> str:
        return meta_inbox.messaging_window(last_message.created_at, at)

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        from chorus.connectors.inbox import ReplyResult

        api = self.api()
        if parent.kind == "message":
            payload = meta_inbox.message_payload(
                str(parent.extra.get("sender") or parent.author_id), text, parent.created_at, timezone.now()
            )
            sent = api.request("POST", f"{self.user_id}/messages", json=payload, may_apply=True)
            return ReplyResult(str(sent.get("message_id") or ""))
        if parent.kind == "mention":
            # Someone else's media or comment: answered through the account's mentions edge.
            data = {"media_id": str(parent.extra.get("media_id") or parent.root_id), "message": text}
            if parent.extra.get("comment_id"):
                data["comment_id"] = str(parent.extra["comment_id"])
            created = api.post(f"{self.user_id}/mentions", data, may_apply=True)
            return ReplyResult(str(created["id"]))
        if parent.parent_id:
            raise ContentRejected(
                gettext("Instagram allows replies to top-level comments only; answer the first comment."),
                detail={"code": "not_top_level"},
            )
        created = api.post(f"{parent.network_id}/replies", {"message": text}, may_apply=True)
        return ReplyResult(str(created["id"]))

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        from chorus.connectors.inbox import ReplyResult

        if parent.kind == "message":
            return None
        if parent.kind == "mention":
            return self._find_mention_reply(parent, key)
        replies = self.api().get(f"{parent.network_id}/replies", fields="id,timestamp,from{id}")
        since = key.created_at - dt.timedelta(minutes=5)
        for reply in replies.get("data") or []:
            mine = str((reply.get("from") or {}).get("id") or "") == self.user_id
            if mine and meta_inbox.graph_time(str(reply["timestamp"])) >= since:
                return ReplyResult(str(reply["id"]))
        return None

    def _find_mention_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        """Our answer to a mention, read back (POST /{ig-user-id}/mentions has no key): it is a
        reply under the mentioning comment (GET /{comment-id}/replies) or, for a caption, a
        comment on the media (its `comments` edge through mentioned_media, the documented way to
        read media that is not ours). Ours: written by this account, with this text, since the
        reply was created (5 minutes of clock slack)."""
        from chorus.connectors.inbox import ReplyResult

        comment_id = str(parent.extra.get("comment_id") or "")
        if comment_id:
            found = self.api().get(f"{comment_id}/replies", fields=MENTION_REPLY_FIELDS)
        else:
            media_id = str(parent.extra.get("media_id") or parent.root_id)
            fields = f"mentioned_media.media_id({media_id}){{comments{{{MENTION_REPLY_FIELDS}}}}}"
            media = self.api().get(self.user_id, fields=fields).get("mentioned_media") or {}
            found = media.get("comments") or {}
        username = str(self.channel.config.get("username") or "").lower()
        since = key.created_at - LOOKUP_SLACK
        for comment in found.get("data") or []:
            mine = str(comment.get("username") or "").lower() == username
            stamp = _time(comment.get("timestamp"))
            same = str(comment.get("text") or "").strip() == key.text.strip()
            if mine and same and stamp is not None and stamp >= since:
                return ReplyResult(str(comment["id"]))
        return None

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        api = self.api()
        if action in ("hide", "unhide"):
            api.post(entry.network_id, {"hide": "true" if action == "hide" else "false"})
        elif action == "delete":
            api.request("DELETE", entry.network_id)
        else:
            raise ContentRejected(gettext("Instagram does not allow this from Chorus."))
        return {}


def _account_option(page: dict[str, Any], missing: list[str]) -> ConnectOption:
    account = page["instagram_business_account"]
    result = ConnectResult(
        name=f"@{account['username']}",
        config={
            "ig_user_id": str(account["id"]),
            "username": account["username"],
            "page_id": str(page["id"]),
            "missing_permissions": missing,  # always written: a reconnect that grants clears it
            meta_inbox.SUBSCRIPTION_KEY: {},  # emptied: the next inbox sweep subscribes again
        },
        # The linked Page's token: read with a long-lived user token it does not expire.
        credentials={"access_token": page["access_token"]},
        account_id=str(account["id"]),
    )
    picture = str(account.get("profile_picture_url") or "")
    return ConnectOption(
        key=str(account["id"]),
        name=f"@{account['username']}",
        result=result,
        detail=gettext("linked to the Page %(page)s") % {"page": page["name"]},
        picture=picture if picture.startswith("https://") else "",
    )


def _media_problems(index: int, item: dict[str, Any], kind: str) -> list[Problem]:
    common: dict[str, Any] = {
        "network": "Instagram",
        "image_types": IMAGE_TYPES,
        "video_types": VIDEO_TYPES,
        "max_image_bytes": 8 * 2**20,
    }
    if kind == "story":
        return media.check(index, item, max_video_bytes=100 * 2**20, duration=(3, 60), **common)
    if kind == "reels":
        return media.check(index, item, max_video_bytes=300 * 2**20, duration=(3, 900), **common)
    ratio = None if media.is_video(item) else FEED_RATIO
    return media.check(index, item, max_video_bytes=300 * 2**20, duration=(3, 60), ratio=ratio, **common)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z") if value else None
