"""X (Twitter): our domain <-> the X API v2, OAuth 2.0 with PKCE.

channel.config      {user_id, username}
channel.credentials {access_token, refresh_token, expires_at}
target.options      {"thread": bool}  — a text longer than 280 is split into replies
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ComposerOption,
    ConnectRedirect,
    ConnectResult,
    Feature,
    Problem,
    PublishResult,
    Quota,
    number,
    unaccepted_type,
)
from chorus.connectors.inbox import InboxEntry, InboxPage, ReadCost, ReplyKey, ReplyResult
from chorus.connectors.oauth2 import (
    OAuth2Connector,
    media_bytes,
    media_size,
    media_type,
    pkce_pair,
    token_credentials,
)
from chorus.connectors.probe import probe
from chorus.connectors.x import client as xclient
from chorus.connectors.x import text as xtext
from chorus.connectors.x.client import XAPI

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

LOOKUP_SLACK = dt.timedelta(minutes=5)
IMAGE_TYPES = {"image/jpeg": 5, "image/png": 5, "image/webp": 5, "image/gif": 15}  # MB
VIDEO_TYPES = {"video/mp4": 512, "video/quicktime": 512}
VIDEO_SECONDS = (0.5, 140.0)
ASPECT = (1 / 3, 3.0)  # X video aspect ratio between 1:3 and 3:1
# https://docs.x.com/x-api/getting-started/pricing ("Content: Create" and "Create (with URL)").
COST_PER_POST = Decimal("0.015")
COST_PER_POST_WITH_LINK = Decimal("0.200")
URL_IN_TEXT = re.compile(r"https?://\S+")
# "Posts: Read" on the same pricing page: each post a read returns is billed.
COST_PER_POST_READ = Decimal("0.005")


class XConnector(OAuth2Connector):
    kind = "x"
    label = "X"
    network = "x"
    api_class = XAPI
    features = frozenset(
        {Feature.THREADS, Feature.METRICS, Feature.LOOKUP, Feature.VIDEO, Feature.DELETE, Feature.INBOX}
    )
    max_text_length = xtext.MAX_WEIGHTED_LENGTH
    composer_options = (ComposerOption("thread", _("Post a long text as a thread"), "bool"),)
    mention_pattern = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{1,15}\b")
    max_images = 4
    # Chorus's own cap, per the X posting limits documented for user-context POST /2/tweets.
    quotas = (Quota("posts", 300, dt.timedelta(hours=3)),)
    idempotent = False
    setup_steps = _(
        "Create a project and app at developer.x.com, enable OAuth 2.0 (type: Web App, confidential "
        "client) with the callback URL /channels/oauth/x/callback/, buy pay-per-use credits, then "
        "set X_CLIENT_ID and X_CLIENT_SECRET."
    )

    def count_text(self, text: str) -> tuple[int, int | None]:
        return xtext.weighted_length(text), xtext.MAX_WEIGHTED_LENGTH  # a URL weighs 23, CJK 2

    # --- connecting -------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.app()
        verifier, challenge = pkce_pair()
        url = XAPI.authorize_url(client_id, callback_url, state, challenge)
        return ConnectRedirect(url=url, state_data={"code_verifier": verifier})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "X")
        token = cls.exchange_code(code, callback_url, verifier=state_data["code_verifier"])
        user = XAPI(token["access_token"]).me()
        return ConnectResult(
            name=f"@{user['username']}",
            config={"user_id": str(user["id"]), "username": user["username"]},
            credentials=token_credentials(token),
            account_id=str(user["id"]),
        )

    def api(self) -> XAPI:
        return XAPI(self.access_token(), channel=self.channel)

    def check(self) -> str:
        return gettext("%(account)s on %(network)s") % {
            "account": f"@{self.api().me()['username']}",
            "network": "X",
        }

    # --- validation and cost ----------------------------------------------------------
    @staticmethod
    def parts(target: PostTarget) -> list[str]:
        """The posts to create: one, or (options "thread") the text split into 280-long replies."""
        text = target.text.strip()
        if target.options.get("thread") and xtext.weighted_length(text) > xtext.MAX_WEIGHTED_LENGTH:
            return xtext.split_thread(text)
        return [text]

    def validate(self, target: PostTarget) -> list[Problem]:
        problems = [
            Problem(
                "text",
                ngettext(
                    "%(used)s character as X counts them; X allows %(limit)s.",
                    "%(used)s characters as X counts them; X allows %(limit)s.",
                    xtext.weighted_length(part),
                )
                % {"used": xtext.weighted_length(part), "limit": self.max_text_length},
                "too_long",
            )
            for part in self.parts(target)
            if xtext.weighted_length(part) > self.max_text_length
        ]
        if not target.text.strip() and not target.media:
            problems.append(Problem("text", gettext("An X post needs text or media."), "empty"))
        types = [media_type(item) for item in target.media]
        videos = [t for t in types if t in VIDEO_TYPES or t == "image/gif"]
        if videos and len(types) > 1:
            problems.append(
                Problem("media", gettext("X allows one video or GIF, alone, per post."), "too_many")
            )
        elif len(types) > self.max_images:
            most = self.max_images
            message = ngettext(
                "X allows %(most)s image per post.", "X allows %(most)s images per post.", most
            )
            problems.append(Problem("media", message % {"most": most}, "too_many"))
        for index, (item, kind) in enumerate(zip(target.media, types, strict=True)):
            problems.extend(self._media_problems(index, item, kind))
        return problems

    def _media_problems(self, index: int, item: dict[str, Any], kind: str) -> list[Problem]:
        field = f"media.{index}"
        limit_mb = IMAGE_TYPES.get(kind) or VIDEO_TYPES.get(kind)
        if limit_mb is None:
            return [Problem(field, unaccepted_type("X", kind), "type")]
        size = media_size(item)
        if size is not None and size > limit_mb * 1024 * 1024:
            message = gettext("X accepts files up to %(size)s MB of this type.") % {"size": number(limit_mb)}
            return [Problem(field, message, "too_large")]
        if kind not in VIDEO_TYPES:
            return []
        facts = probe(item["path"])
        if facts is None:
            return []
        problems = []
        if facts.duration is not None and not VIDEO_SECONDS[0] <= facts.duration <= VIDEO_SECONDS[1]:
            problems.append(Problem(field, gettext("X videos last from 0.5 to 140 seconds."), "duration"))
        if facts.aspect is not None and not ASPECT[0] <= facts.aspect <= ASPECT[1]:
            problems.append(
                Problem(field, gettext("X videos need an aspect ratio between 1:3 and 3:1."), "aspect")
            )
        return problems

    @classmethod
    def estimated_cost(cls, target: PostTarget) -> Decimal:
        """USD charged by X's pay-per-use API for publishing this target: each created post is one
        "Content: Create" request, billed higher when its text holds a URL. Assumption: a thread
        part without a link is billed at the plain rate; media uploads are not billed as posts."""
        parts = cls.parts(target)
        return sum(
            (COST_PER_POST_WITH_LINK if xtext.urls(part) else COST_PER_POST for part in parts), Decimal("0")
        )

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        return {"posts": len(self.parts(target))}

    # --- publishing -------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api = self.api()
        media_ids = [self._upload(api, item) for item in target.media]
        first: dict[str, Any] | None = None
        previous = ""
        for index, text in enumerate(self.parts(target)):
            payload: dict[str, Any] = {"text": text}
            if index == 0 and media_ids:
                payload["media"] = {"media_ids": media_ids}
            if previous:
                payload["reply"] = {"in_reply_to_tweet_id": previous}
            tweet = api.create_tweet(payload)
            first = first or tweet
            previous = str(tweet["id"])
        assert first is not None
        return self._result(first)

    def _upload(self, api: XAPI, item: dict[str, Any]) -> str:
        kind = media_type(item)
        category = (
            "tweet_video" if kind in VIDEO_TYPES else "tweet_gif" if kind == "image/gif" else "tweet_image"
        )
        return api.upload(media_bytes(item), kind, category)

    def _result(self, tweet: dict[str, Any]) -> PublishResult:
        created = tweet.get("created_at")
        when = dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else timezone.now()
        username = self.channel.config.get("username", "i")
        return PublishResult(
            external_id=str(tweet["id"]),
            url=f"https://x.com/{username}/status/{tweet['id']}",
            published_at=when,
        )

    def lookup(self, target: PostTarget) -> PublishResult | None:
        """Reads the account's tweets since the attempt began and matches the first part's text.
        X rewrites links to t.co and appends a media link, so links and whitespace are ignored."""
        since = (target.sending_at or target.claimed_at or target.created_at) - LOOKUP_SLACK
        start = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        wanted = _squash(self.parts(target)[0])
        for tweet in self.api().recent_tweets(self.channel.config["user_id"], start):
            replying = any(ref.get("type") == "replied_to" for ref in tweet.get("referenced_tweets") or [])
            if not replying and _squash(tweet.get("text", "")) == wanted:
                return self._result(tweet)
        return None

    # --- metrics and delete -----------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        metrics = self.api().tweet(target.external_id).get("public_metrics") or {}
        mapping = {
            "likes": "like_count",
            "reposts": "retweet_count",
            "replies": "reply_count",
            "quotes": "quote_count",
            "bookmarks": "bookmark_count",
            "impressions": "impression_count",
        }
        return {ours: metrics[theirs] for ours, theirs in mapping.items() if theirs in metrics}

    def account_metrics(self) -> dict[str, int | None]:
        metrics = self.api().me().get("public_metrics") or {}
        mapping = {"followers": "followers_count", "following": "following_count", "posts": "tweet_count"}
        return {ours: metrics[theirs] for ours, theirs in mapping.items() if theirs in metrics}

    def delete(self, target: PostTarget) -> None:
        self.api().delete_tweet(target.external_id)

    # --- inbox ------------------------------------------------------------------------
    # Mentions (replies to our posts are mentions too: X prefixes them with @us). The cursor is
    # JSON: {"since": newest id of the last finished sweep, "top": newest id of this sweep,
    # "token": the next page of this sweep}; a sweep walks newest first down to "since".
    inbox_streams = ("mentions",)
    inbox_read_cost = ReadCost("x-post-reads", COST_PER_POST_READ, xclient.MENTIONS_PAGE)

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        state = json.loads(cursor) if cursor else {}
        since, top, token = state.get("since", ""), state.get("top", ""), state.get("token", "")
        answer = self.api().mentions(self.channel.config["user_id"], since_id=since, token=token)
        posts = answer.get("data") or []
        users = {u["id"]: u for u in (answer.get("includes") or {}).get("users", [])}
        meta = answer.get("meta") or {}
        top = top or meta.get("newest_id", "")
        entries = [self._inbox_entry(post, users) for post in posts]
        if meta.get("next_token"):
            after = {"since": since, "top": top, "token": meta["next_token"]}
            return InboxPage(entries, json.dumps(after), more=True, cost=len(posts))
        return InboxPage(entries, json.dumps({"since": top or since}), more=False, cost=len(posts))

    def _inbox_entry(self, post: dict[str, Any], users: dict[str, Any]) -> InboxEntry:
        author = users.get(post.get("author_id", ""), {})
        parent = next(
            (r["id"] for r in post.get("referenced_tweets") or [] if r.get("type") == "replied_to"), ""
        )
        created = post.get("created_at")
        username = author.get("username", "i")
        return InboxEntry(
            network_id=str(post["id"]),
            kind="reply" if parent else "mention",
            author_id=str(post.get("author_id", "")),
            author_handle=username,
            author_name=author.get("name", ""),
            created_at=(
                dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else timezone.now()
            ),
            text=post.get("text", ""),
            url=f"https://x.com/{username}/status/{post['id']}",
            root_id=str(post.get("conversation_id") or ""),
            parent_id=parent,
        )

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        return None  # X keeps no "seen" state for mentions

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        """POST /2/tweets with reply.in_reply_to_tweet_id. X takes no idempotency key: a lost
        answer is settled by `inbox_find_reply`, never by sending again."""
        tweet = self.api().create_tweet({"text": text, "reply": {"in_reply_to_tweet_id": parent.network_id}})
        result = self._result(tweet)
        return ReplyResult(result.external_id, result.url)

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        start = (key.created_at - LOOKUP_SLACK).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for tweet in self.api().recent_tweets(self.channel.config["user_id"], start):
            refs = tweet.get("referenced_tweets") or []
            if any(r.get("type") == "replied_to" and r.get("id") == parent.network_id for r in refs):
                result = self._result(tweet)
                return ReplyResult(result.external_id, result.url)
        return None


def _squash(text: str) -> str:
    return "".join(URL_IN_TEXT.sub("", text).split())
