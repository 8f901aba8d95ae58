"""Mastodon notifications → inbox entries, read forward with `min_id`.

The cursor is the id of the newest notification stored. A page asks for the notifications just
above it (`min_id`), oldest of them first: each page moves the cursor forward, so a crash
between pages resumes exactly there. Mentions (replies when they answer a status) and direct
messages start conversations; boosts, favourites, follows, polls and edits are activity.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from chorus.connectors.inbox import InboxEntry, InboxPage

PAGE_SIZE = 40
KINDS = {"reblog": "reblog", "favourite": "favourite", "follow": "follow", "poll": "poll", "update": "update"}
_TAGS = re.compile(r"<[^>]+>")


def plain(content: str) -> str:
    return html.unescape(_TAGS.sub(" ", content.replace("</p><p>", "\n\n"))).strip()


def to_entry(note: dict[str, Any]) -> InboxEntry:
    account = note.get("account") or {}
    status = note.get("status") or {}
    kind = str(note.get("type") or "")
    visibility = str(status.get("visibility") or "")
    if kind == "mention":
        kind = (
            "message" if visibility == "direct" else ("reply" if status.get("in_reply_to_id") else "mention")
        )
    else:
        kind = KINDS.get(kind, kind[:20] or "other")
    author = str(account.get("id") or "")
    if kind == "message":
        root = "direct"  # one conversation per person for direct messages
    elif kind in ("reply", "mention"):
        root = str(status.get("in_reply_to_id") or status.get("id") or "")
    else:
        root = str(status.get("id") or "")
    created = str(status.get("created_at") or note.get("created_at"))
    return InboxEntry(
        # A status is the thing answered: its id is the item (one status, one item).
        network_id=f"status:{status['id']}"
        if status and kind in ("reply", "mention", "message")
        else f"n:{note['id']}",
        kind=kind,
        author_id=author,
        author_handle=str(account.get("acct") or ""),
        author_name=str(account.get("display_name") or ""),
        created_at=dt.datetime.fromisoformat(created.replace("Z", "+00:00")),
        text=plain(str(status.get("content") or "")),
        url=str(status.get("url") or account.get("url") or ""),
        root_id=root,
        parent_id=str(status.get("in_reply_to_id") or ""),
        extra={
            "status_id": str(status.get("id") or ""),
            "visibility": visibility,
            "acct": str(account.get("acct") or ""),
            "notification_id": str(note.get("id") or ""),
            "subject": str(status.get("in_reply_to_id") or status.get("id") or ""),
        },
    )


def forward_page(notes: list[dict[str, Any]], cursor: str | None, *, limit: int) -> InboxPage:
    newest = max((int(n["id"]) for n in notes), default=0)
    following = str(max(newest, int(cursor or 0)))
    return InboxPage([to_entry(n) for n in notes], following, more=len(notes) >= limit)


def reply_text(text: str, acct: str) -> str:
    """A reply names the person it answers (a direct message reaches only those it mentions)."""
    mention = f"@{acct}"
    return text if not acct or mention.lower() in text.lower() else f"{mention} {text}"


# Replies never widen the audience of what they answer.
VISIBILITY_ORDER = ("direct", "private", "unlisted", "public")


def reply_visibility(parent_visibility: str) -> str:
    return parent_visibility if parent_visibility in VISIBILITY_ORDER else "public"
