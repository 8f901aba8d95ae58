"""Facebook Page and Instagram inbox: webhook deliveries → inbox entries, the signature check,
and the messaging window rules.

Webhooks (Meta's documented shapes): a GET with `hub.mode=subscribe`, `hub.verify_token` and
`hub.challenge` to subscribe; then POSTs of {"object": "page"|"instagram", "entry": [...]} signed
with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`. Page
comments arrive as `changes` of field "feed" (item "comment", verb "add"); Instagram comments as
field "comments"; Messenger and Instagram direct messages as `messaging` events.

Mentions (kind "mention"), each keyed by the id the polling backstop reads too, so the same
mention arriving both ways is stored once:
- Facebook: a visitor's post on or tagging the Page arrives as a "feed" change with item "post",
  "status" or "photo" (verb "add", with its message); the "mention" field carries
  {post_id, sender_id, sender_name, item "post"|"comment", verb, comment_id} and no text, so it
  is enriched (GET /{post-id} or /{comment-id}). Backstop: GET /{page-id}/tagged.
- Instagram: the "mentions" field carries only {media_id, comment_id}; the text and author come
  from GET /{ig-user-id}?fields=mentioned_media.media_id({id}){...} or
  mentioned_comment.comment_id({id}){...}. Backstop: GET /{ig-user-id}/tags.
An entry that needs that fetch carries extra["enrich"] = "pending" until it is done; a failed
fetch stores it bare (nothing is lost) and the next poll completes it.

Rules: a message may be answered within 24 hours of the person's last message, or within 7 days
with the HUMAN_AGENT tag (a person answering); a comment may get one private reply, within 7
days; Instagram answers only top-level comments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import ContentRejected, PublishError, Transient
from chorus.connectors.inbox import WEBHOOK_SUBSCRIPTION_KEY, InboxEntry, InboxPage


@dataclass(frozen=True)
class InboxPermission:
    """A permission the inbox asks Meta for, the streams that cannot be read without it, and
    what the team is told (with %(permission)s) when the person logging in declined it."""

    permission: str
    streams: tuple[str, ...]
    note: Any  # a lazy translated sentence


class InboxPermissionsMixin:
    """What a Meta connector's inbox may read, from the permissions declined at login
    (`config["missing_permissions"]`) and its table of `inbox_permissions`."""

    inbox_permissions: ClassVar[tuple[InboxPermission, ...]] = ()
    inbox_streams: ClassVar[tuple[str, ...]]
    channel: Any

    def _missing(self) -> list[str]:
        return [str(p) for p in self.channel.config.get("missing_permissions") or []]

    def inbox_granted_streams(self) -> tuple[str, ...]:
        return granted_streams(self.inbox_streams, self.inbox_permissions, self._missing())

    def inbox_permission_notes(self) -> list[str]:
        return [
            *permission_notes(self.inbox_permissions, self._missing()),
            *subscription_notes(self.channel.config),
        ]


def missing_permissions(table: tuple[InboxPermission, ...], granted: set[str] | None) -> list[str]:
    """The inbox permissions of `table` not granted (GET /me/permissions); [] when the grants
    could not be read (unknown: everything is tried, as before)."""
    if granted is None:
        return []
    return [row.permission for row in table if row.permission not in granted]


def granted_streams(
    streams: tuple[str, ...], table: tuple[InboxPermission, ...], missing: list[str]
) -> tuple[str, ...]:
    """The streams polling may read: a stream whose permission was declined is skipped (its read
    would fail each sweep with Meta's permission error and pause the channel)."""
    blocked = {stream for row in table if row.permission in missing for stream in row.streams}
    return tuple(stream for stream in streams if stream not in blocked)


def permission_notes(table: tuple[InboxPermission, ...], missing: list[str]) -> list[str]:
    return [str(row.note) % {"permission": row.permission} for row in table if row.permission in missing]


# Page webhook subscription ("install the app on the Page"): Meta delivers a Page's webhooks
# only for fields subscribed both at the app level (the app dashboard) and at the Page level,
# POST /{page-id}/subscribed_apps with the Page token and pages_manage_metadata. The outcome is
# kept in the channel's public config under this key: {"fields": [...], "at": ...} or
# {"refused": <Meta's reason>, "at": ...}; absent or empty: not tried yet (the inbox sweep does).
SUBSCRIPTION_KEY = WEBHOOK_SUBSCRIPTION_KEY
SUBSCRIBE_PERMISSION = "pages_manage_metadata"
MAX_REASON = 500  # Meta's reason is kept (and shown) up to this many characters
REALTIME_OFF = _("Real-time updates are off (new items arrive with the next poll): %(reason)s")


def subscribe_page(api: Any, page_id: str, fields: tuple[str, ...], app_id: str) -> dict[str, Any]:
    """Subscribes the Page to the app's webhooks for `fields` and reads the subscription back
    (GET /{page-id}/subscribed_apps: the app's own entry, by its id, says which fields hold).
    Returns the record to keep; a refusal is a record too (polling stays the backstop). A
    `Transient` failure is raised: nothing is recorded, the next sweep tries again."""
    at = timezone.now().isoformat()
    try:
        api.post(f"{page_id}/subscribed_apps", {"subscribed_fields": ",".join(fields)})
        listed = api.get(f"{page_id}/subscribed_apps")
    except Transient:
        raise
    except PublishError as exc:  # Meta's own words (its error message), not our sentence around them
        reason = str((exc.params or {}).get("reason") or exc.message)
        return {"refused": reason[:MAX_REASON], "code": exc.detail.get("code"), "at": at}
    apps = listed.get("data") if isinstance(listed, dict) else None
    ours = next((app for app in apps or [] if str(app.get("id") or "") == app_id), None)
    held = [str(field) for field in (ours or {}).get("subscribed_fields") or []] if ours else list(fields)
    return {"fields": held, "at": at}


def subscription_notes(config: dict[str, Any]) -> list[str]:
    """ "Real-time updates are off: <Meta's reason>" when Meta refused the Page subscription."""
    record = config.get(SUBSCRIPTION_KEY) or {}
    if isinstance(record, dict) and record.get("refused"):
        return [str(REALTIME_OFF) % {"reason": str(record["refused"])}]
    return []


STANDARD_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
PRIVATE_REPLY_WINDOW = dt.timedelta(days=7)


def signature_valid(secret: str, raw_body: bytes, header: str) -> bool:
    """X-Hub-Signature-256 over the raw body, compared in constant time."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def messaging_window(last_message_at: dt.datetime, at: dt.datetime) -> str:
    """ "standard" within 24 h of the person's last message, "human_agent" within 7 days (tag
    HUMAN_AGENT), else "closed"."""
    age = at - last_message_at
    if age <= STANDARD_WINDOW:
        return "standard"
    if age <= HUMAN_AGENT_WINDOW:
        return "human_agent"
    return "closed"


def message_payload(
    recipient: str, text: str, last_message_at: dt.datetime, at: dt.datetime
) -> dict[str, Any]:
    """The Send API body for an answer, or ContentRejected when the window is closed."""
    window = messaging_window(last_message_at, at)
    if window == "closed":
        raise ContentRejected(
            gettext("The person wrote more than 7 days ago: Meta no longer allows an answer."),
            detail={"code": "window_closed"},
        )
    payload: dict[str, Any] = {"recipient": {"id": recipient}, "message": {"text": text}}
    if window == "standard":
        payload["messaging_type"] = "RESPONSE"
    else:
        payload |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return payload


def private_reply_payload(
    comment_id: str, commented_at: dt.datetime, at: dt.datetime, text: str
) -> dict[str, Any]:
    if at - commented_at > PRIVATE_REPLY_WINDOW:
        raise ContentRejected(
            gettext("A private reply is possible only within 7 days of the comment."),
            detail={"code": "private_reply_window"},
        )
    return {"recipient": {"comment_id": comment_id}, "message": {"text": text}}


def _time(value: Any) -> dt.datetime:
    if isinstance(value, int | float):  # Unix seconds (feed) or milliseconds (messaging)
        seconds = value / 1000 if value > 10**11 else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # 2026-12-01T10:00:00+0000
        text = f"{text[:-2]}:{text[-2:]}"
    return dt.datetime.fromisoformat(text)


def feed_comment(value: dict[str, Any]) -> InboxEntry | None:
    """A Page "feed" change for a new comment (item "comment", verb "add")."""
    if value.get("item") != "comment" or value.get("verb") != "add":
        return None
    sender = value.get("from") or {}
    post_id = str(value.get("post_id") or "")
    parent = str(value.get("parent_id") or "")
    return InboxEntry(
        network_id=str(value["comment_id"]),
        kind="comment",
        author_id=str(sender.get("id") or ""),
        author_name=str(sender.get("name") or ""),
        created_at=_time(value.get("created_time") or 0),
        text=str(value.get("message") or ""),
        root_id=post_id,
        parent_id="" if parent == post_id else parent,
        extra={"post_id": post_id, "subject": post_id},
    )


def instagram_comment(value: dict[str, Any], at: Any) -> InboxEntry:
    sender = value.get("from") or {}
    media = value.get("media") or {}
    return InboxEntry(
        network_id=str(value["id"]),
        kind="comment",
        author_id=str(sender.get("id") or ""),
        author_handle=str(sender.get("username") or ""),
        created_at=_time(value.get("timestamp") or at),
        text=str(value.get("text") or ""),
        root_id=str(media.get("id") or ""),
        parent_id=str(value.get("parent_id") or ""),
        extra={"media_id": str(media.get("id") or ""), "subject": str(media.get("id") or "")},
    )


def message(event: dict[str, Any]) -> InboxEntry | None:
    body = event.get("message") or {}
    if not body or body.get("is_echo"):  # our own answers come back as echoes
        return None
    sender = str((event.get("sender") or {}).get("id") or "")
    return InboxEntry(
        network_id=str(body["mid"]),
        kind="message",
        author_id=sender,
        created_at=_time(event.get("timestamp") or 0),
        text=str(body.get("text") or ""),
        root_id="direct",
        extra={"sender": sender},
    )


PENDING = "pending"  # extra["enrich"]: the text and author are still to be fetched
FEED_POST_ITEMS = frozenset({"post", "status", "photo"})


def feed_post(value: dict[str, Any], page_id: str, at: Any) -> InboxEntry | None:
    """A Page "feed" change for a visitor's post (item "post", "status" or "photo", verb "add"):
    someone wrote on or tagged the Page. The Page's own posts come back the same way: skipped."""
    if value.get("item") not in FEED_POST_ITEMS or value.get("verb") != "add":
        return None
    sender = value.get("from") or {}
    author = str(sender.get("id") or "")
    post_id = str(value.get("post_id") or "")
    if not post_id or author == page_id:
        return None
    return InboxEntry(
        network_id=post_id,
        kind="mention",
        author_id=author,
        author_name=str(sender.get("name") or ""),
        created_at=_time(value.get("created_time") or at or 0),
        text=str(value.get("message") or ""),
        root_id=post_id,
        url=str(value.get("link") or "") if str(value.get("link") or "").startswith("https://") else "",
        extra={"post_id": post_id},
    )


def page_mention(value: dict[str, Any], page_id: str, at: Any) -> InboxEntry | None:
    """The Page "mention" field: the Page @mentioned in a post (item "post") or a comment (item
    "comment", with comment_id). Carries no text: stored pending enrichment."""
    if value.get("verb") != "add":
        return None
    post_id = str(value.get("post_id") or "")
    comment_id = str(value.get("comment_id") or "") if value.get("item") == "comment" else ""
    sender = value.get("from") or {}  # a `from` replaced sender_* for some subscribers (v2.12)
    author = str(value.get("sender_id") or sender.get("id") or "")
    if not (comment_id or post_id) or author == page_id:
        return None
    return InboxEntry(
        network_id=comment_id or post_id,
        kind="mention",
        author_id=author,
        author_name=str(value.get("sender_name") or sender.get("name") or ""),
        created_at=_time(value.get("created_time") or at or 0),
        text=str(value.get("message") or ""),
        root_id=post_id or comment_id,
        extra={"post_id": post_id, "comment_id": comment_id, "enrich": PENDING},
    )


def instagram_mention(value: dict[str, Any], at: Any) -> InboxEntry | None:
    """The Instagram "mentions" field: {media_id} for a caption, {media_id, comment_id} for a
    comment that @mentions the account. Only ids: stored pending enrichment."""
    media_id = str(value.get("media_id") or "")
    comment_id = str(value.get("comment_id") or "")
    if not (media_id or comment_id):
        return None
    return InboxEntry(
        network_id=comment_id or media_id,
        kind="mention",
        author_id="",
        created_at=_time(at or 0),
        root_id=media_id or comment_id,
        extra={"media_id": media_id, "comment_id": comment_id, "enrich": PENDING},
    )


def tagged_media(media: dict[str, Any]) -> InboxEntry:
    """An IG Media the account is tagged or @mentioned in (GET /{ig-user-id}/tags, or the
    mentioned_media enrichment): the media id is the mention's id either way."""
    username = str(media.get("username") or "")
    permalink = str(media.get("permalink") or "")
    return InboxEntry(
        network_id=str(media["id"]),
        kind="mention",
        author_id=username,
        author_handle=username,
        created_at=_time(media.get("timestamp") or 0),
        text=str(media.get("caption") or ""),
        url=permalink if permalink.startswith("https://") else "",
        root_id=str(media["id"]),
        extra={
            "media_id": str(media["id"]),
            "comment_id": "",
            "media_type": str(media.get("media_type") or ""),
        },
    )


def mentioned_comment(comment: dict[str, Any], media_id: str) -> InboxEntry:
    """A comment that @mentions the account (the mentioned_comment enrichment)."""
    username = str(comment.get("username") or "")
    media = comment.get("media") or {}
    media_id = str(media.get("id") or media_id)
    return InboxEntry(
        network_id=str(comment["id"]),
        kind="mention",
        author_id=username,
        author_handle=username,
        created_at=_time(comment.get("timestamp") or 0),
        text=str(comment.get("text") or ""),
        root_id=media_id or str(comment["id"]),
        extra={"media_id": media_id, "comment_id": str(comment["id"])},
    )


def tagged_post(post: dict[str, Any], page_id: str) -> InboxEntry | None:
    """A public post the Page is tagged in (GET /{page-id}/tagged). Its `from` is returned only
    when the reader wrote it, so the author may be empty."""
    sender = post.get("from") or {}
    author = str(sender.get("id") or "")
    if author == page_id:
        return None
    permalink = str(post.get("permalink_url") or "")
    return InboxEntry(
        network_id=str(post["id"]),
        kind="mention",
        author_id=author,
        author_name=str(sender.get("name") or ""),
        created_at=_time(post.get("created_time") or 0),
        text=str(post.get("message") or ""),
        url=permalink if permalink.startswith("https://") else "",
        root_id=str(post["id"]),
        extra={"post_id": str(post["id"])},
    )


# The polling backstop of direct messages (Conversations API): each conversation with its newest
# messages, in one read of the Page's conversations (field expansion).
CONVERSATION_FIELDS = "id,updated_time,messages.limit(25){id,created_time,from,message}"


def poll_conversations(api: Any, page_id: str, platform: str, own_id: str, cursor: str | None) -> InboxPage:
    """The backstop of the messaging webhook: one page of the Page's conversations on
    `platform` ("messenger", or "instagram" for the account linked to the Page)."""
    data = api.get(f"{page_id}/conversations", platform=platform, fields=CONVERSATION_FIELDS, limit=25)
    entries, newest = conversation_messages(data, own_id, int(cursor or 0))
    return InboxPage(entries, str(newest), more=False)


def conversation_messages(data: dict[str, Any], own_id: str, since: int) -> tuple[list[InboxEntry], int]:
    """The people's messages newer than `since` (Unix seconds) in a page of GET
    /{page-id}/conversations, keyed by the message id, which is the webhook's `mid`: a message
    arriving both ways is stored once. Ours (from the Page or the account) are left out."""
    entries, newest = [], since
    for conversation in data.get("data") or []:
        for found in (conversation.get("messages") or {}).get("data") or []:
            sender = str((found.get("from") or {}).get("id") or "")
            created = _time(found.get("created_time") or 0)
            stamp = int(created.timestamp())
            if not sender or sender == own_id or stamp < since:
                continue
            entries.append(
                InboxEntry(
                    network_id=str(found["id"]),
                    kind="message",
                    author_id=sender,
                    author_handle=str((found.get("from") or {}).get("username") or ""),
                    author_name=str((found.get("from") or {}).get("name") or ""),
                    created_at=created,
                    text=str(found.get("message") or ""),
                    root_id="direct",
                    extra={"sender": sender},
                )
            )
            newest = max(newest, stamp)
    return entries, newest


def webhook_entries(payload: dict[str, Any]) -> dict[str, list[InboxEntry]]:
    """Entries of one delivery, by the account id they were sent for (a Page id or an Instagram
    account id). Unknown fields and item kinds are left out."""
    found: dict[str, list[InboxEntry]] = {}
    for entry in payload.get("entry") or []:
        account = str(entry.get("id") or "")
        items = found.setdefault(account, [])
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            field = change.get("field")
            parsed: InboxEntry | None = None
            if field == "feed":
                parsed = feed_comment(value) or feed_post(value, account, entry.get("time"))
            elif field == "mention":
                parsed = page_mention(value, account, entry.get("time"))
            elif field == "mentions":
                parsed = instagram_mention(value, entry.get("time"))
            elif field == "comments" and value.get("id"):
                parsed = instagram_comment(value, entry.get("time"))
            if parsed is not None:
                items.append(parsed)
        for event in entry.get("messaging") or []:
            answer = message(event)
            if answer is not None:
                items.append(answer)
    return found


def graph_time(value: str) -> dt.datetime:
    return _time(value)
