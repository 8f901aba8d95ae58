"""YouTube: our domain <-> the YouTube Data API v3 (one video per target, resumable upload).

channel.config      {channel_id, title}
channel.credentials {access_token, refresh_token, expires_at}
target.options      {"title" (required), "privacy": public|unlisted|private, "tags": [...],
                     "category_id": str, "made_for_kids": bool, "publish_at": ISO datetime}
With "publish_at", YouTube publishes the video itself at that time (native scheduling): the video
is uploaded private and status.publishAt set, as the API requires.
Inbox: the comment threads on the channel's videos (top-level comments and the replies the
thread carries), answered with a reply under the thread's top-level comment; a fan's comment held
for review, published again or rejected (hidden for good), our own replies deleted; every call is
charged to the "units" quota it shares with publishing (UnitQuota). YouTube has no API to like a
comment.
No LOOKUP: a video carries no field we could search our marker by, and reading the uploads
playlist lags behind and costs quota; an unknown outcome is settled by a person.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ComposerOption,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishError,
    PublishResult,
    Quota,
    RateLimited,
)
from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult, UnitQuota
from chorus.connectors.oauth2 import OAuth2Connector, media_bytes, media_size, media_type, token_credentials
from chorus.connectors.probe import probe
from chorus.connectors.youtube.client import YouTubeAPI

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

PRIVACY = ("public", "unlisted", "private")
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm", "video/x-msvideo", "video/mpeg"}
MAX_BYTES = 256 * 1024**3  # 256 GB
MAX_SECONDS = 12 * 3600
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000


class YouTubeConnector(OAuth2Connector):
    kind = "youtube"
    label = "YouTube"
    network = "youtube"
    api_class = YouTubeAPI
    features = frozenset(
        {Feature.VIDEO, Feature.METRICS, Feature.NATIVE_SCHEDULING, Feature.DELETE, Feature.INBOX}
    )
    max_text_length = None  # the description is checked in bytes, see validate
    max_images = 0
    max_concurrency = 2  # uploads are large
    composer_options = (
        ComposerOption("title", _("Title"), "text"),
        ComposerOption(
            "privacy",
            _("Visibility"),
            "choice",
            (("public", _("Public")), ("unlisted", _("Unlisted")), ("private", _("Private"))),
        ),
        ComposerOption("tags", _("Tags"), "list", help=_("Comma separated")),
    )
    # The Data API's default project quota: 10,000 units a day; videos.insert costs 1,600.
    quotas = (Quota("units", 10_000, dt.timedelta(hours=24)),)
    idempotent = False
    setup_steps = _(
        "In Google Cloud Console create a project, enable the YouTube Data API v3, configure the "
        "OAuth consent screen, create an OAuth client (Web application) with the redirect URI "
        "/channels/oauth/youtube/callback/, then set YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET. "
        "Until Google audits the project, videos from unverified projects are locked private."
    )

    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.app()
        return ConnectRedirect(url=YouTubeAPI.authorize_url(client_id, callback_url, state), state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "Google")
        token = cls.exchange_code(code, callback_url)
        channel = YouTubeAPI(token["access_token"]).my_channel()
        title = str(channel["snippet"]["title"])
        return ConnectResult(
            name=title,
            config={"channel_id": channel["id"], "title": title},
            credentials=token_credentials(token),
            account_id=str(channel["id"]),
        )

    def api(self) -> YouTubeAPI:
        return YouTubeAPI(self.access_token())

    def check(self) -> str:
        return gettext("%(account)s on %(network)s") % {
            "account": self.api().my_channel()["snippet"]["title"],
            "network": "YouTube",
        }

    def quota_cost(self, target: PostTarget) -> dict[str, int]:
        return {"units": 1600}

    # --- validation -------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        options = target.options
        problems: list[Problem] = []
        title = str(options.get("title") or "").strip()
        if not title:
            problems.append(Problem("options.title", gettext("A YouTube video needs a title."), "required"))
        elif len(title) > TITLE_MAX or "<" in title or ">" in title:
            problems.append(
                Problem(
                    "options.title",
                    gettext("A YouTube title has at most 100 characters, without < or >."),
                    "invalid",
                )
            )
        if len(target.text.encode()) > DESCRIPTION_MAX_BYTES or "<" in target.text or ">" in target.text:
            problems.append(
                Problem(
                    "text",
                    gettext("A YouTube description has at most 5,000 bytes, without < or >."),
                    "too_long",
                )
            )
        if options.get("privacy", "public") not in PRIVACY:
            problems.append(
                Problem("options.privacy", gettext("Privacy is public, unlisted or private."), "privacy")
            )
        if options.get("publish_at"):
            when = _parse(options["publish_at"])
            if when is None or when <= timezone.now():
                problems.append(
                    Problem(
                        "options.publish_at", gettext("The publish time must be in the future."), "publish_at"
                    )
                )
        if len(target.media) != 1 or media_type(target.media[0]) not in VIDEO_TYPES:
            problems.append(Problem("media", gettext("A YouTube post is exactly one video file."), "video"))
            return problems
        item = target.media[0]
        size = media_size(item)
        if size is not None and size > MAX_BYTES:
            problems.append(Problem("media.0", gettext("YouTube accepts videos up to 256 GB."), "too_large"))
        facts = probe(item["path"])
        if facts and facts.duration is not None and facts.duration > MAX_SECONDS:
            problems.append(Problem("media.0", gettext("YouTube accepts videos up to 12 hours."), "duration"))
        return problems

    # --- publishing -------------------------------------------------------------------
    def resource(self, target: PostTarget) -> dict[str, Any]:
        options = target.options
        snippet: dict[str, Any] = {"title": str(options["title"]).strip(), "description": target.text}
        if options.get("tags"):
            snippet["tags"] = list(options["tags"])
        snippet["categoryId"] = str(options.get("category_id") or "22")  # 22: People & Blogs
        status: dict[str, Any] = {
            "privacyStatus": options.get("privacy", "public"),
            "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False)),
        }
        when = _parse(options["publish_at"]) if options.get("publish_at") else None
        if when is not None:
            status["privacyStatus"] = "private"  # publishAt only works on private videos
            status["publishAt"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"snippet": snippet, "status": status}

    def publish(self, target: PostTarget) -> PublishResult:
        item = target.media[0]
        video = self.api().upload(self.resource(target), media_bytes(item), media_type(item))
        return PublishResult(
            external_id=str(video["id"]),
            url=f"https://www.youtube.com/watch?v={video['id']}",
            published_at=timezone.now(),
            extra={"privacy": video.get("status", {}).get("privacyStatus")},
        )

    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        stats = self.api().video(target.external_id).get("statistics") or {}
        mapping = {"views": "viewCount", "likes": "likeCount", "comments": "commentCount"}
        return {ours: int(stats[theirs]) for ours, theirs in mapping.items() if theirs in stats}

    def account_metrics(self) -> dict[str, int | None]:
        stats = self.api().my_channel().get("statistics") or {}
        mapping = {"views": "viewCount", "videos": "videoCount"}
        if not stats.get("hiddenSubscriberCount"):
            mapping["followers"] = "subscriberCount"
        return {ours: int(stats[theirs]) for ours, theirs in mapping.items() if theirs in stats}

    def delete(self, target: PostTarget) -> None:
        self.api().delete_video(target.external_id)

    # --- inbox ------------------------------------------------------------------------
    # The cursor is JSON: {"since": publishedAt of the newest comment of the last finished sweep,
    # "top": the newest of this sweep, "token": this sweep's next page}. Threads come newest
    # first; a sweep stops at the first page that reaches back to "since" (nothing older is new).
    inbox_streams = ("comments",)
    # Every 15 minutes: 96 units a day of the 10,000, not 1,440.
    inbox_poll_seconds = 900
    inbox_unit_quota = UnitQuota("units", page_units=1, reply_units=50)
    # Chorus's words -> comments.setModerationStatus; rejected is final on YouTube.
    inbox_moderations = ("hold", "approve", "reject")
    MODERATION_STATUS = {"hold": "heldForReview", "approve": "published", "reject": "rejected"}
    MODERATION_UNITS = 50  # setModerationStatus and comments.delete each cost 50

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        state = json.loads(cursor) if cursor else {}
        since, top, token = state.get("since", ""), state.get("top", ""), state.get("token", "")
        answer = self.api().comment_threads(self.channel.config["channel_id"], token)
        entries: list[InboxEntry] = []
        reached = False
        for thread in answer.get("items") or []:
            top_comment = (thread.get("snippet") or {}).get("topLevelComment") or {}
            published = (top_comment.get("snippet") or {}).get("publishedAt", "")
            top = max(top, published)
            reached = reached or bool(since and published and published <= since)
            for comment in [top_comment, *((thread.get("replies") or {}).get("comments") or [])]:
                entry = self._inbox_entry(comment, str(thread["id"]))
                if entry is not None:
                    entries.append(entry)
        if answer.get("nextPageToken") and not reached:
            after = {"since": since, "top": top, "token": answer["nextPageToken"]}
            return InboxPage(entries, json.dumps(after), more=True, cost=1)
        return InboxPage(entries, json.dumps({"since": top or since}), more=False, cost=1)

    def _inbox_entry(self, comment: dict[str, Any], thread_id: str) -> InboxEntry | None:
        snippet = comment.get("snippet") or {}
        author = str((snippet.get("authorChannelId") or {}).get("value") or "")
        if author == self.channel.config["channel_id"]:
            return None  # our own replies are stored as replies, not as items to answer
        video = str(snippet.get("videoId") or "")
        is_reply = str(comment.get("id")) != thread_id
        published = _parse(snippet.get("publishedAt")) or timezone.now()
        return InboxEntry(
            network_id=str(comment["id"]),
            kind="reply" if is_reply else "comment",
            author_id=author,
            author_handle=str(snippet.get("authorDisplayName") or ""),
            author_name=str(snippet.get("authorDisplayName") or ""),
            created_at=published,
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
            url=f"https://www.youtube.com/watch?v={video}&lc={comment['id']}",
            root_id=video,
            parent_id=thread_id if is_reply else video,
            extra={"thread_id": thread_id},
        )

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        return None  # YouTube keeps no "seen" state for comments

    def _charge(self, units: int) -> None:
        """Charges `units` to the shared daily quota before a call, refused when they do not fit."""
        from chorus.inbox.actions import units_left
        from chorus.quotas.models import QuotaUsage

        if units_left(self.channel, self, self.inbox_unit_quota) < units:
            raise RateLimited(
                gettext("The YouTube quota for the day is used up; the reply waits for it to free."),
                retry_after=3600,
            )
        QuotaUsage.objects.create(channel=self.channel, bucket=self.inbox_unit_quota.bucket, amount=units)

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        """A reply under the thread's top-level comment (YouTube threads are one level deep)."""
        self._charge(self.inbox_unit_quota.reply_units)
        comment = self.api().insert_reply(str(parent.extra.get("thread_id") or parent.network_id), text)
        return ReplyResult(
            str(comment["id"]), f"https://www.youtube.com/watch?v={parent.root_id}&lc={comment['id']}"
        )

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        """Our reply under the thread published since the first attempt, if any (1 unit)."""
        self._charge(self.inbox_unit_quota.page_units)
        thread = str(parent.extra.get("thread_id") or parent.network_id)
        since = key.created_at - dt.timedelta(minutes=5)
        for comment in self.api().replies(thread):
            snippet = comment.get("snippet") or {}
            author = (snippet.get("authorChannelId") or {}).get("value")
            published = _parse(snippet.get("publishedAt"))
            if author == self.channel.config["channel_id"] and published and published >= since:
                url = f"https://www.youtube.com/watch?v={parent.root_id}&lc={comment['id']}"
                return ReplyResult(str(comment["id"]), url)
        return None

    def inbox_item_moderations(self, entry: InboxEntry) -> tuple[str, ...]:
        """A rejected comment cannot be published again (YouTube refuses): nothing more is
        offered on it; a held one can be published or rejected; a published one held or rejected."""
        state = entry.extra.get("moderation")
        if state == "reject":
            return ()
        return ("approve", "reject") if state == "hold" else ("hold", "reject")

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        if action not in self.MODERATION_STATUS:
            raise ContentRejected(gettext("YouTube does not allow this from Chorus."))
        self._charge(self.MODERATION_UNITS)
        try:
            self.api().set_moderation_status(entry.network_id, self.MODERATION_STATUS[action])
        except ContentRejected as exc:
            raise _comment_refused(exc) from exc
        return {"status": self.MODERATION_STATUS[action]}

    def inbox_delete_reply(self, parent: InboxEntry, network_id: str) -> None:
        """comments.delete on our own reply (the author only; 50 units)."""
        self._charge(self.MODERATION_UNITS)
        try:
            self.api().delete_comment(network_id)
        except ContentRejected as exc:
            raise _comment_refused(exc) from exc


def _comment_refused(exc: PublishError) -> ContentRejected:
    """The error table's fallback speaks of a video; here it was a comment."""
    return ContentRejected(
        gettext("YouTube refused the change to this comment: %(reason)s")
        % {"reason": (exc.params or {}).get("reason") or exc.message},
        detail=exc.detail,
    )


def _parse(value: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else None
