"""Facebook Pages: our domain (a PostTarget on a Channel) <-> the Graph API Pages endpoints.

channel.config      {page_id, page_name}
channel.credentials {access_token: the Page token (from a long-lived user token: does not expire)}
target.options      {"link": url, "native_schedule": bool}

Flows (https://developers.facebook.com/docs/pages-api/posts/):
- text / link:  POST /{page-id}/feed  message, link
- one photo:    POST /{page-id}/photos  caption + source (multipart)
- photos:       POST /{page-id}/photos published=false per photo, then
                POST /{page-id}/feed  attached_media[i]={"media_fbid": id}
- video:        POST graph-video.facebook.com/{page-id}/videos  description + source
  (https://developers.facebook.com/docs/video-api/guides/publishing/)
- native scheduling: published=false + scheduled_publish_time (10 minutes to 30 days ahead).
- delete (a consent withdrawal): DELETE /{photo-id} for each photo of the post, then
  DELETE /{page-post-id}; a video post is DELETE /{video-id}.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ConnectChoice,
    ConnectOption,
    Connector,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishResult,
    with_followers,
)
from chorus.connectors.meta import graph, media
from chorus.connectors.meta import inbox as meta_inbox
from chorus.connectors.meta.graph import FACEBOOK_VIDEO_GRAPH, GraphAPI
from chorus.connectors.meta.marketing import MetaAds
from chorus.connectors.meta.setup import MetaAppSettings, NoFieldsForm

if TYPE_CHECKING:
    from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
    from chorus.content.models import PostTarget

# The inbox's permissions, asked by default (a team answers its audience): what each one lets
# Chorus read or do, and what the team is told when the person logging in declined it.
INBOX_PERMISSIONS = (
    meta_inbox.InboxPermission(
        "pages_read_user_content",
        ("comments", "mentions"),
        _(
            "Chorus may not read comments and mentions on this Page: the permission "
            "%(permission)s was not granted. Reconnect and allow it."
        ),
    ),
    meta_inbox.InboxPermission(
        "pages_manage_engagement",
        (),
        _(
            "Chorus may not answer, like, hide or delete comments on this Page: the permission "
            "%(permission)s was not granted. Reconnect and allow it."
        ),
    ),
    meta_inbox.InboxPermission(
        "pages_messaging",
        ("messages",),
        _(
            "Chorus may not read messages on this Page: the permission %(permission)s was not "
            "granted. Reconnect and allow it."
        ),
    ),
    meta_inbox.InboxPermission(
        "pages_manage_metadata",
        (),
        _(
            "Meta may not notify Chorus of this Page's new comments and messages as they happen: "
            "the permission %(permission)s was not granted, so they arrive only with the next "
            "poll. Reconnect and allow it."
        ),
    ),
)
SCOPES = [
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "read_insights",
    *(row.permission for row in INBOX_PERMISSIONS),
]
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
SCHEDULE_MIN = dt.timedelta(minutes=10)
SCHEDULE_MAX = dt.timedelta(days=30)
LOOKUP_SLACK = dt.timedelta(minutes=5)
TAGGED_FIELDS = "id,message,created_time,from,permalink_url"


class FacebookConnector(meta_inbox.InboxPermissionsMixin, MetaAppSettings, Connector):
    kind = "facebook"
    label = "Facebook"
    setting_prefix = "FACEBOOK"
    setup_steps = _(
        "Create a Meta app (type Business) at developers.facebook.com, add Facebook Login for "
        "Business with the redirect URL <site>/channels/oauth/facebook/callback/, request the "
        "permissions pages_show_list, pages_read_engagement, pages_manage_posts, read_insights and, "
        "for the inbox, pages_read_user_content, pages_manage_engagement, pages_messaging and "
        "pages_manage_metadata, then set FACEBOOK_CLIENT_ID, FACEBOOK_CLIENT_SECRET and FACEBOOK_ENABLED=true and restart."
    )
    features = frozenset(
        {
            Feature.ADS,
            Feature.METRICS,
            Feature.LOOKUP,
            Feature.DELETE,
            Feature.VIDEO,
            Feature.NATIVE_SCHEDULING,
            Feature.INBOX,
        }
    )
    idempotent = False  # the Graph API has no idempotency key: reconciliation reads back (lookup)
    max_text_length = 63206
    max_images = 10
    max_image_bytes = 10 * 2**20
    max_video_bytes = 1024 * 2**20  # a non-resumable upload
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
        """Every Page the user shared, each with its own Page token: one is connected at once,
        several go to the picker (the long-lived user token itself is not kept)."""
        code = cls.authorization_code(params, "Facebook")
        client_id, secret = cls.require_configured()
        token = graph.facebook_user_token(
            client_id=client_id, client_secret=secret, redirect_uri=callback_url, code=code
        )
        pages = graph.facebook_pages(token["access_token"])
        granted = graph.granted_permissions(token["access_token"])
        missing = meta_inbox.missing_permissions(INBOX_PERMISSIONS, granted)
        if not pages:
            raise ValueError(
                gettext(
                    "Your Facebook account shared no Page with Chorus. Create a Page (or ask its "
                    "admin for a role that can post), then connect again and, in Facebook's "
                    "dialog, select the Pages Chorus may use."
                )
            )
        return ConnectChoice(tuple(_page_option(page, missing) for page in pages))

    def ads(self, account_id: str, access_token: str | None = None) -> MetaAds:
        """Paid reach through the Marketing API; a Page token cannot manage ads, so the ad
        account's own token (a user or system-user token with ads_management) is expected."""
        return MetaAds(
            account_id, access_token or self.channel.credentials["access_token"], network="facebook"
        )

    def api(self) -> GraphAPI:
        return GraphAPI(self.channel.credentials["access_token"], network="Facebook", channel=self.channel)

    @property
    def page_id(self) -> str:
        return str(self.channel.config["page_id"])

    def check(self) -> str:
        page = self.api().get(self.page_id, fields="id,name,followers_count")
        return with_followers(str(page["name"]), page.get("followers_count"))

    # --- validation ----------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        videos = [item for item in target.media if media.is_video(item)]
        if not target.text.strip() and not target.media and not target.options.get("link"):
            problems.append(
                Problem("text", gettext("A Facebook post needs text, a link, photos or a video."), "empty")
            )
        if len(target.media) > self.max_images:
            most = self.max_images
            message = ngettext(
                "Facebook posts take up to %(most)s photo.",
                "Facebook posts take up to %(most)s photos.",
                most,
            )
            problems.append(Problem("media", message % {"most": most}, "too_many"))
        if videos and len(target.media) > 1:
            problems.append(
                Problem("media", gettext("A Facebook video post takes one video and no photos."), "mixed")
            )
        for index, item in enumerate(target.media):
            problems.extend(
                media.check(
                    index,
                    item,
                    network="Facebook",
                    image_types=IMAGE_TYPES,
                    video_types=VIDEO_TYPES,
                    max_image_bytes=self.max_image_bytes,
                    max_video_bytes=self.max_video_bytes,
                )
            )
        when = target.scheduled_at
        if target.options.get("native_schedule") and when is not None:
            ahead = when - timezone.now()
            if not SCHEDULE_MIN <= ahead <= SCHEDULE_MAX:
                problems.append(
                    Problem(
                        "options",
                        gettext("Facebook schedules posts 10 minutes to 30 days ahead."),
                        "schedule",
                    )
                )
        return problems

    # --- publishing ------------------------------------------------------------------------
    def _schedule(self, target: PostTarget) -> dict[str, str]:
        when = target.scheduled_at
        if (
            target.options.get("native_schedule")
            and when is not None
            and when - timezone.now() >= SCHEDULE_MIN
        ):
            return {"published": "false", "scheduled_publish_time": str(int(when.timestamp()))}
        return {}

    def publish(self, target: PostTarget) -> PublishResult:
        api, page, schedule = self.api(), self.page_id, self._schedule(target)
        items = list(target.media)
        if items and media.is_video(items[0]):
            data = {"description": target.text, **schedule}
            answer = api.request(
                "POST",
                f"{page}/videos",
                base_url=FACEBOOK_VIDEO_GRAPH,
                data=data,
                files=_source(items[0]),
                may_apply=True,
            )
            video_id = str(answer["id"])
            return PublishResult(video_id, url=f"https://www.facebook.com/{page}/videos/{video_id}")
        if len(items) == 1:
            data = {"caption": target.text, **schedule}
            answer = api.post(f"{page}/photos", data, files=_source(items[0]), may_apply=True)
            return _result(str(answer.get("post_id") or answer["id"]))
        data = {"message": target.text, **schedule}
        if target.options.get("link"):
            data["link"] = str(target.options["link"])
        for index, item in enumerate(items):
            # Unpublished photos are not a post: resending one after a timeout only leaves an
            # orphan upload, so these are not `may_apply`. "temporary" keeps them alive until the
            # scheduled post goes out.
            upload = {"published": "false", **({"temporary": "true"} if schedule else {})}
            photo = api.post(f"{page}/photos", upload, files=_source(item))
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(photo["id"])})
        answer = api.post(f"{page}/feed", data, may_apply=True)
        return _result(str(answer["id"]))

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Graph posts carry no client marker and a caption cannot hold a hidden one, so after a
        timeout we look for a post of this Page with exactly this text created since the attempt
        began (5 minutes of clock slack). Scheduled posts are listed by /scheduled_posts."""
        since = (target.sending_at or target.claimed_at or target.created_at) - LOOKUP_SLACK
        edge = "scheduled_posts" if self._schedule(target) else "posts"
        answer = self.api().get(
            f"{self.page_id}/{edge}",
            fields="id,message,created_time,permalink_url",
            since=int(since.timestamp()),
        )
        for post in answer.get("data", []):
            if (post.get("message") or "") == target.text and _time(post.get("created_time")) >= since:
                return PublishResult(str(post["id"]), url=post.get("permalink_url") or _url(str(post["id"])))
        return None

    def delete(self, target: PostTarget) -> None:
        """DELETE /{page-post-id} (pages_manage_posts), photos first: the photos of a Page post
        are objects of their own (the attached ones were uploaded unpublished), listed in the
        post's `attachments` (target id, and subattachments for several). A video post is the
        video node itself (DELETE /{video-id}). A photo whose post deletion then fails is already
        gone, which is what a consent withdrawal needs first."""
        api = self.api()
        if target.media and media.is_video(target.media[0]):
            api.request("DELETE", target.external_id)
            return
        fields = "attachments{media_type,target{id},subattachments{media_type,target{id}}}"
        answer = api.get(target.external_id, fields=fields)
        photos: list[str] = []
        for attachment in (answer.get("attachments") or {}).get("data") or []:
            parts = [attachment, *((attachment.get("subattachments") or {}).get("data") or [])]
            for part in parts:  # an album's own target is the album: only its photos go
                found = str((part.get("target") or {}).get("id") or "")
                if part.get("media_type") == "photo" and found and found not in photos:
                    photos.append(found)
        for photo in photos:
            api.request("DELETE", photo)
        api.request("DELETE", target.external_id)

    # --- metrics -----------------------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        """Reactions, comments and shares. `shares` is absent when Facebook omits it."""
        fields = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
        post = self.api().get(target.external_id, fields=fields)
        found: dict[str, int | None] = {}
        for key in ("reactions", "comments"):
            summary = (post.get(key) or {}).get("summary") or {}
            if "total_count" in summary:
                found[key] = int(summary["total_count"])
        if "shares" in post:
            found["shares"] = int(post["shares"].get("count", 0))
        return found

    def account_metrics(self) -> dict[str, int | None]:
        page = self.api().get(self.page_id, fields="followers_count,fan_count")
        names = {"followers_count": "followers", "fan_count": "page_likes"}
        return {ours: int(page[theirs]) for theirs, ours in names.items() if theirs in page}

    # --- inbox (Feature.INBOX): comments, mentions and Messenger; webhooks first, polling as
    # backstop ----------------------------------------------------------------------------------
    inbox_streams: ClassVar[tuple[str, ...]] = ("comments", "mentions", "messages")
    inbox_moderations: ClassVar[tuple[str, ...]] = ("like", "hide", "unhide", "delete")

    inbox_permissions = INBOX_PERMISSIONS

    webhook_page_fields: ClassVar[tuple[str, ...]] = ("feed", "mention", "messages")

    def inbox_webhook_subscribe(self) -> dict[str, Any] | None:
        """Installs the app on the Page (POST /{page-id}/subscribed_apps) for comments and posts
        ("feed"), mentions and Messenger; None when pages_manage_metadata was declined (the
        permission note says so) and no call is made."""
        page_id = str(self.channel.config.get("page_id") or "")
        if meta_inbox.SUBSCRIBE_PERMISSION in self._missing() or not page_id:
            return None
        app_id, _secret = self.app_credentials()
        return meta_inbox.subscribe_page(self.api(), page_id, self.webhook_page_fields, app_id)

    def inbox_item_moderations(self, entry: InboxEntry) -> tuple[str, ...]:
        """A post or comment that mentions the Page is someone else's, on their timeline: the Page
        may like it, not hide or delete it."""
        return ("like",) if entry.kind == "mention" else self.inbox_moderations

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        """The Page's recent posts with their comments since the stored time (Unix seconds);
        stream "mentions": the public posts the Page is tagged in (GET /{page-id}/tagged)."""
        from chorus.connectors.inbox import InboxPage

        since = int(cursor or 0)
        if stream == "messages":
            return meta_inbox.poll_conversations(self.api(), self.page_id, "messenger", self.page_id, cursor)
        if stream == "mentions":
            return self._tagged(since)
        fields = "id,comments.limit(50){id,message,from,created_time,parent{id}}"
        params: dict[str, Any] = {"fields": fields, "limit": 25}
        if since:
            params["since"] = since - 86400  # posts from before still get new comments
        data = self.api().get(f"{self.page_id}/feed", **params)
        entries, newest = [], since
        for post in data.get("data") or []:
            for comment in (post.get("comments") or {}).get("data") or []:
                entry = meta_inbox.feed_comment(
                    {
                        "item": "comment",
                        "verb": "add",
                        "comment_id": comment["id"],
                        "post_id": post["id"],
                        "parent_id": (comment.get("parent") or {}).get("id") or post["id"],
                        "from": comment.get("from") or {},
                        "message": comment.get("message") or "",
                        "created_time": comment.get("created_time"),
                    }
                )
                if entry is None or int(entry.created_at.timestamp()) < since:
                    continue
                if entry.author_id == self.page_id:  # our own answers
                    continue
                entries.append(entry)
                newest = max(newest, int(entry.created_at.timestamp()))
        return InboxPage(entries, str(newest), more=False)

    def _tagged(self, since: int) -> InboxPage:
        from chorus.connectors.inbox import InboxPage

        params: dict[str, Any] = {"fields": TAGGED_FIELDS, "limit": 25}
        if since:
            params["since"] = since
        data = self.api().get(f"{self.page_id}/tagged", **params)
        entries, newest = [], since
        for post in data.get("data") or []:
            entry = meta_inbox.tagged_post(post, self.page_id)
            if entry is None or int(entry.created_at.timestamp()) < since:
                continue
            entries.append(entry)
            newest = max(newest, int(entry.created_at.timestamp()))
        return InboxPage(entries, str(newest), more=False)

    def inbox_enrich(self, entry: InboxEntry) -> InboxEntry:
        """A "mention" webhook names the post (or comment) and its author, not its text: read
        them (GET /{comment-id} or /{post-id})."""
        comment_id = str(entry.extra.get("comment_id") or "")
        found = self.api().get(
            comment_id or str(entry.extra.get("post_id") or entry.network_id), fields=TAGGED_FIELDS
        )
        sender = found.get("from") or {}
        permalink = str(found.get("permalink_url") or "")
        return dataclasses.replace(
            entry,
            author_id=entry.author_id or str(sender.get("id") or ""),
            author_name=entry.author_name or str(sender.get("name") or ""),
            text=str(found.get("message") or ""),
            created_at=meta_inbox.graph_time(str(found["created_time"]))
            if found.get("created_time")
            else entry.created_at,
            url=permalink if permalink.startswith("https://") else entry.url,
            extra={k: v for k, v in entry.extra.items() if k != "enrich"},
        )

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        """Comments have no seen state on the Graph API."""

    def inbox_reply_window(self, last_message: InboxEntry, at: dt.datetime) -> str:
        return meta_inbox.messaging_window(last_message.created_at, at)

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        """A comment under the comment, post or mentioning post (POST /{id}/comments), or a Send
        API message inside the messaging window."""
        from chorus.connectors.inbox import ReplyResult

        api = self.api()
        if parent.kind == "message":
            payload = meta_inbox.message_payload(
                str(parent.extra.get("sender") or parent.author_id), text, parent.created_at, timezone.now()
            )
            sent = api.request("POST", f"{self.page_id}/messages", json=payload, may_apply=True)
            return ReplyResult(str(sent.get("message_id") or ""))
        created = api.post(f"{parent.network_id}/comments", {"message": text}, may_apply=True)
        return ReplyResult(str(created["id"]))

    def inbox_private_reply(self, comment: InboxEntry, text: str) -> ReplyResult:
        """One private message answering a comment (Messenger), within 7 days of it."""
        from chorus.connectors.inbox import ReplyResult

        payload = meta_inbox.private_reply_payload(
            comment.network_id, comment.created_at, timezone.now(), text
        )
        sent = self.api().request("POST", f"{self.page_id}/messages", json=payload, may_apply=True)
        return ReplyResult(str(sent.get("message_id") or ""))

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        from chorus.connectors.inbox import ReplyResult

        if parent.kind == "message":
            return None  # the Send API keeps no read-back by key; the echo webhook records it
        answers = self.api().get(f"{parent.network_id}/comments", fields="id,from,created_time")
        since = key.created_at - dt.timedelta(minutes=5)
        for comment in answers.get("data") or []:
            mine = str((comment.get("from") or {}).get("id") or "") == self.page_id
            if mine and meta_inbox.graph_time(str(comment["created_time"])) >= since:
                return ReplyResult(str(comment["id"]))
        return None

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        api = self.api()
        if action == "like":
            api.post(f"{entry.network_id}/likes", {})
        elif action in ("hide", "unhide"):
            api.post(entry.network_id, {"is_hidden": "true" if action == "hide" else "false"})
        elif action == "delete":
            api.request("DELETE", entry.network_id)
        else:
            raise ContentRejected(gettext("Facebook does not allow this from Chorus."))
        return {}


def _page_option(page: dict[str, Any], missing: list[str]) -> ConnectOption:
    result = ConnectResult(
        name=str(page["name"]),
        # missing_permissions is always written, so a reconnect that grants them clears it; the
        # webhook subscription's record is emptied, so the next inbox sweep subscribes again.
        config={
            "page_id": str(page["id"]),
            "page_name": page["name"],
            "missing_permissions": missing,
            meta_inbox.SUBSCRIPTION_KEY: {},
        },
        credentials={"access_token": page["access_token"]},
        account_id=str(page["id"]),
    )
    return ConnectOption(
        key=str(page["id"]),
        name=str(page["name"]),
        result=result,
        detail=str(page.get("category") or ""),
        picture=graph.picture_url(page),
    )


def _source(item: dict[str, Any]) -> dict[str, tuple[str, bytes, str]]:
    path = item["path"]
    return {"source": (PurePath(path).name, media.read_bytes(path), media.content_type(item))}


def _url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


def _result(post_id: str) -> PublishResult:
    return PublishResult(post_id, url=_url(post_id), published_at=timezone.now())


def _time(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
