"""WordPress comments → inbox entries; the comments stream's cursor.

The cursor is {"after": ISO GMT, "page": n}: comments are read oldest first from `after`; a full
page moves to the next page with the same `after`, a short one ends the pass and moves `after`
to one second before the newest comment read (WordPress compares dates to the second: the
overlap is read again and dropped by the inbox's unique ids, never lost).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

from chorus.connectors.inbox import InboxEntry, InboxPage

PER_PAGE = 100
# Chorus's moderation words → the REST API's comment statuses.
STATUSES = {"approve": "approve", "hold": "hold", "spam": "spam", "trash": "trash"}
_TAGS = re.compile(r"<[^>]+>")


def comment_time(comment: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(comment["date_gmt"])).replace(tzinfo=dt.UTC)


def plain(comment: dict[str, Any]) -> str:
    content = comment.get("content") or {}
    raw = content.get("raw")
    if raw is None:
        raw = _TAGS.sub("", str(content.get("rendered") or ""))
    return html.unescape(str(raw)).strip()


def to_entry(comment: dict[str, Any]) -> InboxEntry:
    post = str(comment.get("post") or "")
    author = int(comment.get("author") or 0)
    author_id = (
        f"user:{author}" if author else f"visitor:{comment.get('author_email') or comment.get('author_name')}"
    )
    return InboxEntry(
        network_id=str(comment["id"]),
        kind="comment",
        author_id=author_id[:300],
        author_name=html.unescape(str(comment.get("author_name") or "")),
        created_at=comment_time(comment),
        text=plain(comment),
        url=str(comment.get("link") or ""),
        root_id=f"post:{post}",
        parent_id=str(comment.get("parent") or ""),
        extra={"post": post, "status": str(comment.get("status") or ""), "subject": post},
    )


def comments_page(comments: list[dict[str, Any]], cursor: str | None, *, own_user: int) -> InboxPage:
    state = json.loads(cursor) if cursor else {}
    after, page = str(state.get("after") or ""), int(state.get("page") or 1)
    # Our own answers (written by the connected user) are not incoming messages.
    entries = [to_entry(c) for c in comments if int(c.get("author") or 0) != own_user]
    if len(comments) >= PER_PAGE:
        return InboxPage(entries, json.dumps({"after": after, "page": page + 1}), more=True)
    if comments:
        newest = max(comment_time(c) for c in comments) - dt.timedelta(seconds=1)
        after = max(after, newest.strftime("%Y-%m-%dT%H:%M:%S"))
    return InboxPage(entries, json.dumps({"after": after, "page": 1}), more=False)


def next_request(cursor: str | None) -> tuple[str, int]:
    state = json.loads(cursor) if cursor else {}
    return str(state.get("after") or ""), int(state.get("page") or 1)
