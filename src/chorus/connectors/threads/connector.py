"""Threads (graph.threads.net): container, then publish.

channel.config      {user_id, username, token_expires_at}
channel.credentials {access_token: long-lived (60 days, refreshable)}
target.options      {"thread": bool (a long text becomes replies to itself), "reply_to_id": str}

https://developers.facebook.com/docs/threads/posts — POST /{user-id}/threads (media_type TEXT |
IMAGE | VIDEO | CAROUSEL) -> container; POST /{user-id}/threads_publish creation_id.
Replies: reply_to_id on the container. Inbox (.../threads/reply-management): the replies to the
profile's recent posts from GET /{media-id}/conversation (every level, reverse=false:
oldest first, paged with the after cursor); our own replies from GET /{user-id}/replies. Limit: GET /{user-id}/threads_publishing_limit (250 posts
and 1,000 replies per 24 h). OAuth: https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ComposerOption,
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
    ReauthRequired,
    number,
)
from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
from chorus.connectors.meta import media
from chorus.connectors.meta.graph import THREADS_GRAPH, THREADS_VERSION, GraphAPI
from chorus.connectors.meta.insights import graph_insights
from chorus.connectors.meta.media import FetchesMediaByURL
from chorus.connectors.meta.setup import MetaAppSettings, NoFieldsForm

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

AUTHORIZE_URL = "https://threads.net/oauth/authorize"
SCOPES = [
    "threads_basic",
    "threads_content_publish",
    "threads_manage_insights",
    "threads_manage_replies",
    "threads_delete",  # a consent withdrawal deletes published posts (DELETE /{threads-media-id})
]
IMAGE_TYPES = ("image/jpeg", "image/png")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
MAX_CAROUSEL = 20
LOOKUP_SLACK = dt.timedelta(minutes=5)
LIMIT_RECHECK = 3600.0
INBOX_POSTS = 10  # the profile's most recent posts whose replies the inbox reads
REPLIES_PAGE = 100
REPLY_FIELDS = "id,text,username,permalink,timestamp,replied_to,root_post,is_reply"
POST_METRICS = {
    "views": "views",
    "likes": "likes",
    "replies": "replies",
    "reposts": "reposts",
    "quotes": "quotes",
    "shares": "shares",
}


class ThreadsConnector(FetchesMediaByURL, MetaAppSettings, Connector):
    kind = "threads"
    label = "Threads"
    setting_prefix = "THREADS"
    setup_steps = _(
        "Create a Meta app with the Threads use case at developers.facebook.com, add the redirect "
        "URL <site>/channels/oauth/threads/callback/ and the permissions threads_basic, "
        "threads_content_publish, threads_manage_insights, threads_manage_replies and "
        "threads_delete, then set "
        "THREADS_CLIENT_ID (the Threads app id), THREADS_CLIENT_SECRET and THREADS_ENABLED=true "
        "and restart. Media must be reachable from the internet at CHORUS_BASE_URL."
    )
    features = frozenset(
        {Feature.METRICS, Feature.LOOKUP, Feature.THREADS, Feature.VIDEO, Feature.INBOX, Feature.DELETE}
    )
    idempotent = False
    max_text_length = 500
    composer_options = (ComposerOption("thread", _("Post a long text as a thread"), "bool"),)
    max_images = MAX_CAROUSEL
    max_concurrency = 2
    quotas = (Quota("posts", 250, dt.timedelta(hours=24)),)  # a carousel counts as one post
    connect_form: ClassVar[type[Any] | None] = NoFieldsForm

    # --- connecting -----------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.require_configured()
        query = {
            "client_id": client_id,
            "redirect_uri": callback_url,
            "scope": ",".join(SCOPES),
            "response_type": "code",
            "state": state,
        }
        return ConnectRedirect(url=f"{AUTHORIZE_URL}?{urlencode(query)}", state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "Threads")
        client_id, secret = cls.require_configured()
        oauth = GraphAPI(base_url=THREADS_GRAPH, version="", network="Threads")
        short = oauth.post(
            "oauth/access_token",
            {
                "client_id": client_id,
                "client_secret": secret,
                "grant_type": "authorization_code",
                "redirect_uri": callback_url,
                "code": code,
            },
        )
        long = oauth.get(
            "access_token",
            grant_type="th_exchange_token",
            client_secret=secret,
            access_token=short["access_token"],
        )
        # A Threads login is one profile: there is nothing to pick.
        account = _api(long["access_token"]).get("me", fields="id,username")
        return ConnectResult(
            name=f"@{account['username']}",
            config={
                "user_id": str(account["id"]),
                "username": account["username"],
                "token_expires_at": _expiry(long.get("expires_in")),
            },
            credentials={"access_token": long["access_token"]},
            account_id=str(account["id"]),
        )

    def api(self) -> GraphAPI:
        return _api(self.channel.credentials["access_token"], channel=self.channel)

    @property
    def user_id(self) -> str:
        return str(self.channel.config["user_id"])

    def check(self) -> str:
        account = f"@{self.api().get('me', fields='id,username')['username']}"
        return gettext("%(account)s on %(network)s") % {"account": account, "network": "Threads"}

    def refresh_credentials(self) -> None:
        """Long-lived Threads tokens refresh for another 60 days while still valid."""
        oauth = GraphAPI(base_url=THREADS_GRAPH, version="", network="Threads")
        try:
            fresh = oauth.get(
                "refresh_access_token",
                grant_type="th_refresh_token",
                access_token=self.channel.credentials["access_token"],
            )
        except PublishError as exc:
            raise ReauthRequired(
                gettext("The Threads connection cannot be refreshed (%(reason)s); reconnect it.")
                % {"reason": exc.message}
            ) from exc
        if not fresh.get("access_token"):  # never overwrite a token with an empty one
            raise ReauthRequired(gettext("Threads returned no token on refresh; reconnect the channel."))
        self.channel.credentials = {**self.channel.credentials, "access_token": fresh["access_token"]}
        self.channel.config = {**self.channel.config, "token_expires_at": _expiry(fresh.get("expires_in"))}
        self.channel.save(update_fields=["credentials_encrypted", "config"])

    # --- validation ------------------------------------------------------------------------
    def parts(self, target: PostTarget) -> list[str]:
        text = target.text.strip()
        if not target.options.get("thread") or len(text) <= self.max_text_length:
            return [text]
        parts, current = [], ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= self.max_text_length:
                current = candidate
                continue
            if current:
                parts.append(current)
            while len(word) > self.max_text_length:
                parts.append(word[: self.max_text_length])
                word = word[self.max_text_length :]
            current = word
        return [*parts, current] if current else parts

    def validate(self, target: PostTarget) -> list[Problem]:
        most = self.max_text_length
        problems = [
            Problem(
                "text",
                ngettext(
                    "%(used)s character; %(network)s allows %(limit)s.",
                    "%(used)s characters; %(network)s allows %(limit)s.",
                    len(part),
                )
                % {"used": len(part), "network": self.label, "limit": most},
                "too_long",
            )
            for part in self.parts(target)
            if len(part) > most
        ]
        if not target.text.strip() and not target.media:
            problems.append(Problem("text", gettext("A Threads post needs text or media."), "empty"))
        problems.extend(self.media_problems(list(target.media)))
        if len(target.media) > MAX_CAROUSEL:
            message = ngettext(
                "Threads carousels take up to %(most)s item.",
                "Threads carousels take up to %(most)s items.",
                MAX_CAROUSEL,
            )
            problems.append(Problem("media", message % {"most": MAX_CAROUSEL}, "too_many"))
        for index, item in enumerate(target.media):
            problems.extend(
                media.check(
                    index,
                    item,
                    network="Threads",
                    image_types=IMAGE_TYPES,
                    video_types=VIDEO_TYPES,
                    max_image_bytes=8 * 2**20,
                    max_video_bytes=1024 * 2**20,
                    duration=(0, 300),
                )
            )
        return problems

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        return {"posts": len(self.parts(target))}

    # --- publishing ------------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api = self.api()
        self.check_publishing_limit(api)
        reply_to = str(target.options.get("reply_to_id") or "")
        first: PublishResult | None = None
        for index, text in enumerate(self.parts(target)):
            items = list(target.media) if index == 0 else []
            container = self._container(api, text, items, reply_to)
            # The one irreversible call of each part: after a timeout it may have published.
            post_id = str(
                api.post(f"{self.user_id}/threads_publish", {"creation_id": container}, may_apply=True)["id"]
            )
            reply_to = post_id  # the next part answers this one: a thread
            first = first or self._result(api, post_id)
        assert first is not None
        return first

    def delete(self, target: PostTarget) -> None:
        """DELETE /{threads-media-id} (threads_delete; 100 a day per account). The media of a post
        are all in its first part (see publish), which is the target's external_id; the text-only
        replies of a long thread stay. A channel connected before threads_delete was asked for is
        refused by Meta: the error is shown and the team reconnects it."""
        self.api().request("DELETE", target.external_id)

    def _container(self, api: GraphAPI, text: str, items: list[dict[str, Any]], reply_to: str) -> str:
        base: dict[str, str] = {"text": text} if text else {}
        if reply_to:
            base["reply_to_id"] = reply_to
        if len(items) > 1:
            children = [
                self._create(api, _media_fields(item) | {"is_carousel_item": "true"}) for item in items
            ]
            for child in children:
                api.wait_for_container(child, field="status")
            container = self._create(api, {"media_type": "CAROUSEL", "children": ",".join(children), **base})
        elif items:
            container = self._create(api, _media_fields(items[0]) | base)
        else:
            return self._create(api, {"media_type": "TEXT", **base})  # text is ready at once
        api.wait_for_container(container, field="status")
        return container

    def _create(self, api: GraphAPI, data: dict[str, str]) -> str:
        return str(api.post(f"{self.user_id}/threads", data)["id"])

    def _result(self, api: GraphAPI, post_id: str) -> PublishResult:
        try:
            info = api.get(post_id, fields="permalink,timestamp")
        except PublishError:  # published already: a failed read must not fail the publish
            info = {}
        when = _time(info.get("timestamp")) or timezone.now()
        return PublishResult(post_id, url=info.get("permalink", ""), published_at=when)

    def check_publishing_limit(self, api: GraphAPI) -> None:
        fields = "quota_usage,config,reply_quota_usage,reply_config"
        row = (api.get(f"{self.user_id}/threads_publishing_limit", fields=fields).get("data") or [{}])[0]
        config = row.get("config") or {}
        total = int(config.get("quota_total") or self.quotas[0].limit)
        if int(row.get("quota_usage") or 0) >= total:
            window = float(config.get("quota_duration") or 86400)
            message = ngettext(
                "Threads' limit of %(total)s post per %(hours)s h is reached for this profile.",
                "Threads' limit of %(total)s posts per %(hours)s h is reached for this profile.",
                total,
            )
            raise RateLimited(
                message % {"total": total, "hours": number(window / 3600)},
                retry_after=min(LIMIT_RECHECK, window),
            )

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """No idempotency key: match the exact text of the first part on a post of this profile
        created since the attempt began (5 minutes of clock slack)."""
        since = (target.sending_at or target.claimed_at or target.created_at) - LOOKUP_SLACK
        answer = self.api().get(
            f"{self.user_id}/threads",
            fields="id,text,timestamp,permalink",
            since=int(since.timestamp()),
            limit=25,
        )
        wanted = self.parts(target)[0]
        for post in answer.get("data", []):
            created = _time(post.get("timestamp"))
            if created is not None and created >= since and (post.get("text") or "") == wanted:
                return PublishResult(str(post["id"]), url=post.get("permalink", ""), published_at=created)
        return None

    # --- metrics ---------------------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        answer = self.api().get(f"{target.external_id}/insights", metric=",".join(POST_METRICS))
        return graph_insights(answer, POST_METRICS)

    def account_metrics(self) -> dict[str, int | None]:
        answer = self.api().get(f"{self.user_id}/threads_insights", metric="followers_count")
        return graph_insights(answer, {"followers_count": "followers"})

    # --- inbox ---------------------------------------------------------------------------
    # The cursor is JSON: {"queue": posts this sweep has still to read, "after": {post: the
    # after-cursor of the last reply read}}; a sweep lists the recent posts, then reads each
    # post's conversation from where the last sweep stopped, one page per fetch.
    inbox_streams = ("replies",)
    # Every 5 minutes: a sweep is 1 + 10 calls or more, against Meta's hourly call budget.
    inbox_poll_seconds = 300

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        state = json.loads(cursor) if cursor else {}
        queue: list[str] = list(state.get("queue") or [])
        after: dict[str, str] = dict(state.get("after") or {})
        api = self.api()
        if not queue:
            posts = api.get(f"{self.user_id}/threads", fields="id", limit=INBOX_POSTS).get("data") or []
            queue = [str(post["id"]) for post in posts]
            after = {post: after[post] for post in queue if post in after}  # older posts drop out
            if not queue:
                return InboxPage([], json.dumps({"queue": [], "after": after}), more=False)
        post = queue[0]
        params: dict[str, Any] = {"fields": REPLY_FIELDS, "reverse": "false", "limit": REPLIES_PAGE}
        if after.get(post):
            params["after"] = after[post]
        answer = api.get(f"{post}/conversation", **params)
        paging = answer.get("paging") or {}
        token = str((paging.get("cursors") or {}).get("after") or "")
        if token:
            after[post] = token
        if not paging.get("next"):
            queue = queue[1:]
        entries = [e for e in (self._inbox_entry(r, post) for r in answer.get("data") or []) if e is not None]
        return InboxPage(entries, json.dumps({"queue": queue, "after": after}), more=bool(queue))

    def _inbox_entry(self, reply: dict[str, Any], post: str) -> InboxEntry | None:
        username = str(reply.get("username") or "")
        if username == self.channel.config.get("username"):
            return None  # our own replies are stored as replies, not as items to answer
        parent = str((reply.get("replied_to") or {}).get("id") or post)
        return InboxEntry(
            network_id=str(reply["id"]),
            kind="reply",
            author_id=username,  # the reply fields give no user id; a username is unique
            author_handle=username,
            created_at=_time(reply.get("timestamp")) or timezone.now(),
            text=str(reply.get("text") or ""),
            url=str(reply.get("permalink") or ""),
            root_id=str((reply.get("root_post") or {}).get("id") or post),
            parent_id=parent,
        )

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        return None  # Threads keeps no "seen" state for replies

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        """A TEXT container with reply_to_id, then threads_publish (no idempotency key: a lost
        answer is settled by `inbox_find_reply`, never by sending again)."""
        api = self.api()
        container = self._create(api, {"media_type": "TEXT", "text": text, "reply_to_id": parent.network_id})
        post_id = str(
            api.post(f"{self.user_id}/threads_publish", {"creation_id": container}, may_apply=True)["id"]
        )
        result = self._result(api, post_id)
        return ReplyResult(result.external_id, result.url)

    # Reply management: POST /{reply-id}/manage_reply hide=true|false hides a top-level reply
    # and the replies nested under it; a deeper one cannot be targeted alone. Threads has no API
    # to like a reply or delete someone else's; our own replies are deleted (threads_delete).
    inbox_moderations = ("hide", "unhide")

    def inbox_item_moderations(self, entry: InboxEntry) -> tuple[str, ...]:
        if entry.parent_id and entry.parent_id != entry.root_id:
            return ()  # nested: hidden with the top-level reply it answers
        return ("unhide",) if entry.extra.get("moderation") == "hide" else ("hide",)

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        if action not in self.inbox_moderations:
            raise ContentRejected(gettext("Threads does not allow this from Chorus."))
        self.api().post(f"{entry.network_id}/manage_reply", {"hide": "true" if action == "hide" else "false"})
        return {}

    def inbox_delete_reply(self, parent: InboxEntry, network_id: str) -> None:
        """DELETE /{threads-media-id} on our own reply (threads_delete; 100 a day per account)."""
        self.api().request("DELETE", network_id)

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        since = key.created_at - LOOKUP_SLACK
        answer = self.api().get(
            f"{self.user_id}/replies",
            fields="id,timestamp,permalink,replied_to",
            since=int(since.timestamp()),
            limit=25,
        )
        for reply in answer.get("data") or []:
            if (reply.get("replied_to") or {}).get("id") == parent.network_id:
                return ReplyResult(str(reply["id"]), str(reply.get("permalink") or ""))
        return None


def _api(token: str, channel: Any = None) -> GraphAPI:
    return GraphAPI(
        token, base_url=THREADS_GRAPH, version=THREADS_VERSION, network="Threads", channel=channel
    )


def _media_fields(item: dict[str, Any]) -> dict[str, str]:
    url = media.public_url(item["path"])
    if media.is_video(item):
        return {"media_type": "VIDEO", "video_url": url}
    fields = {"media_type": "IMAGE", "image_url": url}
    if item.get("alt"):
        fields["alt_text"] = str(item["alt"])
    return fields


def _expiry(seconds: Any) -> str:
    return (timezone.now() + dt.timedelta(seconds=int(seconds or 0))).isoformat() if seconds else ""


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z") if value else None
