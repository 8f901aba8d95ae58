"""LinkedIn: our domain <-> the versioned LinkedIn REST API, for a member or an organization page.

Connecting always authorizes a member (3-legged OAuth). When the member administers organization
pages, the picker then offers "yourself" and each page (named by a batch organization lookup); each
one chosen becomes a channel, all sharing the member's grant. One channel is one author. The
organizations the member administers are listed in the config so the UI can show them.

channel.config      {author: urn:li:person:… | urn:li:organization:…, member: urn, organizations: [urn…]}
channel.credentials {access_token, refresh_token, expires_at, refresh_expires_at}
No LOOKUP: reading a member's own posts needs the restricted r_member_social permission, so an
unknown outcome is settled by a person.

target.options      {"link": url, "link_title": str, "link_description": str, "video_title": str}
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ConnectChoice,
    ConnectOption,
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishResult,
    unaccepted_type,
)
from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
from chorus.connectors.linkedin.ads import LinkedInAds
from chorus.connectors.linkedin.client import LinkedInAPI
from chorus.connectors.oauth2 import (
    ConnectForm,
    OAuth2Connector,
    checked_link,
    media_bytes,
    media_size,
    media_type,
    token_credentials,
)
from chorus.connectors.probe import probe

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif"}
VIDEO_TYPES = {"video/mp4"}
MAX_VIDEO_BYTES = 500 * 1024 * 1024
VIDEO_SECONDS = (3.0, 30 * 60.0)
# "little text" format of commentary: these characters must be backslash-escaped or LinkedIn
# reads them as mentions/hashtag templates and drops text (Posts API, "commentary").
RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def _urn(comment: dict[str, Any]) -> str:
    return str(comment.get("commentUrn") or comment.get("$URN") or "")


def _replies(comment: dict[str, Any]) -> int:
    """The replies a comment has, from its commentsSummary (0 when LinkedIn gives none)."""
    summary = comment.get("commentsSummary") or {}
    return int(summary.get("totalFirstLevelComments") or summary.get("aggregatedTotalComments") or 0)


def escape_commentary(text: str) -> str:
    return RESERVED.sub(r"\\\1", text)


class LinkedInConnector(OAuth2Connector):
    kind = "linkedin"
    label = "LinkedIn"
    network = "linkedin"
    api_class = LinkedInAPI
    features = frozenset({Feature.ADS, Feature.METRICS, Feature.VIDEO, Feature.DELETE, Feature.INBOX})
    max_text_length = 3000
    # The feed shows about three lines (~210 characters on a phone), then "… see more".
    preview_fold = 210
    max_images = 20
    idempotent = False
    connect_form: ClassVar[type[Any] | None] = ConnectForm
    setup_steps = _(
        'Create an app at linkedin.com/developers, add the products "Sign In with LinkedIn using '
        'OpenID Connect", "Share on LinkedIn" and (for pages) "Community Management API", add the '
        "redirect URL /channels/oauth/linkedin/callback/, then set LINKEDIN_CLIENT_ID and "
        "LINKEDIN_CLIENT_SECRET."
    )

    # --- connecting -------------------------------------------------------------------
    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.app()
        url = LinkedInAPI.authorize_url(client_id, callback_url, state)
        return ConnectRedirect(url=url, state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectChoice:
        """The member, then each organization page they administer (approved ADMINISTRATOR
        role): a member without pages is connected at once, otherwise the picker asks."""
        code = cls.authorization_code(params, "LinkedIn")
        token = cls.exchange_code(code, callback_url)
        api = LinkedInAPI(token["access_token"])
        member = api.userinfo()
        member_urn = f"urn:li:person:{member['sub']}"
        organizations = api.administered_organizations()
        found = api.organizations([urn.rsplit(":", 1)[-1] for urn in organizations])
        credentials = token_credentials(token)
        config = {"member": member_urn, "organizations": organizations}
        name = str(member.get("name") or member_urn)
        picture = str(member.get("picture") or "")
        options = [
            ConnectOption(
                key=member_urn,
                name=name,
                result=ConnectResult(
                    name=name,
                    config={"author": member_urn, **config},
                    credentials=credentials,
                    account_id=member_urn,
                ),
                detail=gettext("Yourself: posts appear on your member profile"),
                picture=picture if picture.startswith("https://") else "",
            )
        ]
        for urn in organizations:
            organization = found.get(urn.rsplit(":", 1)[-1]) or {}
            page = str(organization.get("localizedName") or "") or gettext("LinkedIn page %(id)s") % {
                "id": urn.rsplit(":", 1)[-1]
            }
            vanity = str(organization.get("vanityName") or "")
            options.append(
                ConnectOption(
                    key=urn,
                    name=page,
                    result=ConnectResult(
                        name=page, config={"author": urn, **config}, credentials=credentials, account_id=urn
                    ),
                    detail=f"linkedin.com/company/{vanity}" if vanity else gettext("Organization page"),
                )
            )
        return ConnectChoice(tuple(options))

    def ads(self, account_id: str, access_token: str | None = None) -> LinkedInAds:
        """Paid reach through the Marketing API (needs the rw_ads scope on the member's grant)."""
        return LinkedInAds(account_id, access_token or self.access_token())

    def api(self) -> LinkedInAPI:
        return LinkedInAPI(self.access_token())

    def check(self) -> str:
        member = self.api().userinfo()
        return gettext("%(account)s on LinkedIn, posting as %(author)s") % {
            "account": member.get("name"),
            "author": self.channel.name,
        }

    @property
    def author(self) -> str:
        return str(self.channel.config["author"])

    # --- validation -------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        types = [media_type(item) for item in target.media]
        link = target.options.get("link")
        if not target.text.strip() and not target.media and not link:
            problems.append(Problem("text", gettext("A LinkedIn post needs text, media or a link."), "empty"))
        if any(kind in VIDEO_TYPES for kind in types) and len(types) > 1:
            problems.append(
                Problem("media", gettext("LinkedIn allows one video, alone, per post."), "too_many")
            )
        if len(types) > self.max_images:
            problems.append(Problem("media", gettext("LinkedIn allows 20 images per post."), "too_many"))
        if link and target.media:
            problems.append(
                Problem("options", gettext("A LinkedIn article link cannot carry media too."), "link")
            )
        for index, (item, kind) in enumerate(zip(target.media, types, strict=True)):
            field = f"media.{index}"
            if kind not in IMAGE_TYPES | VIDEO_TYPES:
                problems.append(Problem(field, unaccepted_type("LinkedIn", kind), "type"))
            elif kind in VIDEO_TYPES:
                size = media_size(item)
                if size is not None and size > MAX_VIDEO_BYTES:
                    problems.append(
                        Problem(field, gettext("LinkedIn videos are at most 500 MB."), "too_large")
                    )
                facts = probe(item["path"])
                if (
                    facts
                    and facts.duration is not None
                    and not VIDEO_SECONDS[0] <= facts.duration <= VIDEO_SECONDS[1]
                ):
                    problems.append(
                        Problem(
                            field, gettext("LinkedIn videos last from 3 seconds to 30 minutes."), "duration"
                        )
                    )
        return problems

    # --- publishing -------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api, options = self.api(), target.options
        payload: dict[str, Any] = {
            "author": self.author,
            "commentary": escape_commentary(target.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = self._content(api, target)
        if content is None and options.get("link"):
            article = {
                "source": checked_link(str(options["link"])),
                "title": options.get("link_title") or options["link"],
            }
            if options.get("link_description"):
                article["description"] = options["link_description"]
            content = {"article": article}
        if content:
            payload["content"] = content
        urn = api.create_post(payload)
        return PublishResult(
            external_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/", published_at=timezone.now()
        )

    def _content(self, api: LinkedInAPI, target: PostTarget) -> dict[str, Any] | None:
        if not target.media:
            return None
        first = target.media[0]
        if media_type(first) in VIDEO_TYPES:
            video = api.upload_video(self.author, media_bytes(first))
            return {"media": {"id": video, "title": target.options.get("video_title") or ""}}
        images = [
            {"id": api.upload_image(self.author, media_bytes(item)), "altText": item.get("alt") or ""}
            for item in target.media
        ]
        if len(images) == 1:
            return {"media": images[0]}
        return {"multiImage": {"images": images}}

    # --- metrics and delete -----------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        api, urn = self.api(), target.external_id
        actions = api.social_actions(urn)
        metrics: dict[str, int | None] = {}
        if "likesSummary" in actions:
            metrics["likes"] = actions["likesSummary"].get("totalLikes")
        if "commentsSummary" in actions:
            metrics["comments"] = actions["commentsSummary"].get("aggregatedTotalComments")
        if self.author.startswith("urn:li:organization:"):
            # Share statistics exist for organization posts only (members' posts have none).
            stats = api.share_statistics(self.author, urn)
            mapping = {
                "impressions": "impressionCount",
                "reach": "uniqueImpressionsCount",
                "clicks": "clickCount",
                "shares": "shareCount",
            }
            metrics |= {ours: int(stats[theirs]) for ours, theirs in mapping.items() if theirs in stats}
        return {key: value for key, value in metrics.items() if value is not None}

    def account_metrics(self) -> dict[str, int | None]:
        if not self.author.startswith("urn:li:organization:"):
            return {}  # a member's follower count is not available to apps
        count = self.api().follower_count(self.author)
        return {} if count is None else {"followers": count}

    def delete(self, target: PostTarget) -> None:
        self.api().delete_post(target.external_id)

    # --- inbox ------------------------------------------------------------------------
    # Comments on an organization's most recent posts (a member's comments need the restricted
    # r_member_social: a member channel reads none), and the replies to those comments (LinkedIn
    # lists a comment's replies apart: socialActions/{comment urn}/comments). The cursor is JSON:
    # {"queue": posts and comment threads this sweep has still to read, "read": {urn: comments
    # read so far}, "roots": {thread comment: its post}}; a sweep lists the posts, then reads each
    # post's comments from where the last sweep stopped (start/count, the API's oldest-first
    # order), one page per fetch. A top-level comment whose commentsSummary counts more replies
    # than were read is queued right after; threads already known are read again every sweep
    # from their offset (a call each), so a later reply on them is found.
    inbox_streams = ("comments",)
    # Every 5 minutes: a sweep is 1 + 10 calls or more, against LinkedIn's daily call limits.
    inbox_poll_seconds = 300

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        state = json.loads(cursor) if cursor else {}
        queue: list[str] = list(state.get("queue") or [])
        read: dict[str, int] = dict(state.get("read") or {})
        roots: dict[str, str] = dict(state.get("roots") or {})
        if not self.author.startswith("urn:li:organization:"):
            return InboxPage([], cursor or "", more=False)
        api = self.api()
        if not queue:
            posts = api.recent_posts(self.author)
            roots = {thread: post for thread, post in roots.items() if post in posts}  # older drop out
            read = {urn: n for urn, n in read.items() if urn in posts or urn in roots}
            queue = [post for post in posts if self._has_unread(api, post, read, roots)]
            if not queue:
                return InboxPage([], json.dumps({"queue": [], "read": read, "roots": roots}), more=False)
        target = queue[0]
        post = roots.get(target, target)
        start = read.get(target, 0)
        answer = api.comments(target, start)
        elements = answer.get("elements") or []
        read[target] = start + len(elements)
        total = int((answer.get("paging") or {}).get("total") or 0)
        rest = queue[1:] if not elements or read[target] >= total else queue
        if target == post:  # top-level comments: a thread with unread replies is read next
            growing = [
                urn
                for urn, comment in ((_urn(c), c) for c in elements)
                if urn
                and urn not in queue
                and not comment.get("parentComment")
                and _replies(comment) > read.get(urn, 0)
            ]
            roots.update({thread: post for thread in growing})
            read.update({thread: read.get(thread, 0) for thread in growing})
            head = 1 if rest and rest[0] == target else 0  # the post's next page first
            rest = [*rest[:head], *growing, *rest[head:]]
        parent = "" if target == post else target
        entries = [e for e in (self._inbox_entry(c, post, parent) for c in elements) if e is not None]
        cursor_state = {"queue": rest, "read": read, "roots": roots}
        return InboxPage(entries, json.dumps(cursor_state), more=bool(rest))

    @staticmethod
    def _has_unread(api: LinkedInAPI, post: str, read: dict[str, int], roots: dict[str, str]) -> bool:
        """From the post's social summary (one call): are there top-level comments or replies
        this channel has not read? More replies than its known threads hold means a reply
        under some comment: the post's comments are read again from the start to find which
        (stored ones are skipped), each comment counting its replies. Without the counts, read."""
        summary = api.social_actions(post).get("commentsSummary") or {}
        if "totalFirstLevelComments" not in summary:
            return True
        first = int(summary.get("totalFirstLevelComments") or 0)
        nested = int(summary.get("aggregatedTotalComments") or 0) - first
        if nested > sum(n for urn, n in read.items() if roots.get(urn) == post):
            read[post] = 0
            return True
        return first > read.get(post, 0)

    def _inbox_entry(self, comment: dict[str, Any], post: str, parent: str = "") -> InboxEntry | None:
        actor = str(comment.get("actor") or "")
        urn = _urn(comment)
        if not urn or actor == self.author:
            return None  # our own comments are replies, not items to answer
        parent = str(comment.get("parentComment") or parent)
        millis = (comment.get("created") or {}).get("time")
        created = dt.datetime.fromtimestamp(millis / 1000, dt.UTC) if millis else timezone.now()
        return InboxEntry(
            network_id=urn,
            kind="reply" if parent else "comment",
            author_id=actor,
            author_handle=actor.rsplit(":", 1)[-1],
            created_at=created,
            text=str((comment.get("message") or {}).get("text") or ""),
            url=f"https://www.linkedin.com/feed/update/{post}/",
            root_id=post,
            parent_id=parent or post,
            extra={"thread": parent or urn},
        )

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        return None  # LinkedIn keeps no "seen" state for comments

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        """A comment on the thread's top-level comment with "parentComment" (LinkedIn nests one
        level). No idempotency key: a lost answer is settled by `inbox_find_reply`."""
        thread = str(parent.extra.get("thread") or parent.network_id)
        payload = {
            "actor": self.author,
            "object": parent.root_id,
            "message": {"text": text},
            "parentComment": thread,
        }
        urn = self.api().create_comment(thread, payload)
        return ReplyResult(urn, f"https://www.linkedin.com/feed/update/{parent.root_id}/")

    # An organization page likes (Reactions API) and deletes comments on its posts; a member
    # channel reads none, so it has nothing to moderate.
    inbox_moderations = ("like", "delete")

    def inbox_item_moderations(self, entry: InboxEntry) -> tuple[str, ...]:
        if not self.author.startswith("urn:li:organization:"):
            return ()
        return ("delete",) if entry.extra.get("moderation") == "like" else self.inbox_moderations

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        api = self.api()
        if action == "like":
            api.react(entry.network_id, self.author)
            return {"liked": True}
        if action == "delete":
            # What the comment is on: the post, or the top-level comment of a nested reply.
            api.delete_comment(entry.parent_id or entry.root_id, entry.network_id, self.author)
            return {}
        raise ContentRejected(gettext("LinkedIn does not allow this from Chorus."))

    def inbox_delete_reply(self, parent: InboxEntry, network_id: str) -> None:
        """Our reply was created on the thread's top-level comment (see inbox_reply)."""
        thread = str(parent.extra.get("thread") or parent.network_id)
        self.api().delete_comment(thread, network_id, self.author)

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        thread = str(parent.extra.get("thread") or parent.network_id)
        since = (key.created_at - dt.timedelta(minutes=5)).timestamp() * 1000
        for comment in self.api().comments(thread).get("elements") or []:
            created = (comment.get("created") or {}).get("time") or 0
            if comment.get("actor") == self.author and created >= since:
                urn = str(comment.get("commentUrn") or comment.get("$URN") or "")
                return ReplyResult(urn, f"https://www.linkedin.com/feed/update/{parent.root_id}/")
        return None
