"""Facebook Page and Instagram inbox: webhook deliveries → inbox entries, the signature check,
and the messaging window rules.

Webhooks (Meta's documented shapes): a GET with `hub.mode=subscribe`, `hub.verify_token` and
`hub.challenge` to subscribe; then POSTs of {"object": "page"|"instagram", "entry": [...]} signed
with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`. Page
comments arrive as `changes` of field "feed" (item "comment", verb "add"); Instagram comments as
field "comments"; Messenger and Instagram direct messages as `messaging` events.

Rules: a message may be answered within 24 hours of the person's last message, or within 7 days
with the HUMAN_AGENT tag (a person answering); a comment may get one private reply, within 7
days; Instagram answers only top-level comments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from django.utils.translation import gettext

from chorus.connectors.base import ContentRejected
from chorus.connectors.inbox import InboxEntry

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


def webhook_entries(payload: dict[str, Any]) -> dict[str, list[InboxEntry]]:
    """Entries of one delivery, by the account id they were sent for (a Page id or an Instagram
    account id). Unknown fields and item kinds are left out."""
    found: dict[str, list[InboxEntry]] = {}
    for entry in payload.get("entry") or []:
        account = str(entry.get("id") or "")
        items = found.setdefault(account, [])
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") == "feed":
                comment = feed_comment(value)
                if comment is not None:
                    items.append(comment)
            elif change.get("field") == "comments" and value.get("id"):
                items.append(instagram_comment(value, entry.get("time")))
        for event in entry.get("messaging") or []:
            answer = message(event)
            if answer is not None:
                items.append(answer)
    return found


def graph_time(value: str) -> dt.datetime:
    return _time(value)
