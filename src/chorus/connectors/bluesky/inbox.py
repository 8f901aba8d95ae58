"""Bluesky notifications → inbox entries, and the sweep cursor that makes polling lossless.

listNotifications pages from the newest notification to older ones. A poll is a *sweep*: from
the top down to the newest notification of the previous complete sweep (`done`). The cursor
stored with each page is {"done", "top", "next"}: a sweep interrupted after any page resumes
at `next` and still stops at `done`; only a finished sweep moves `done` up to its `top`. Items
seen twice (a page boundary, a timestamp tie) are dropped by the inbox's unique network id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from chorus.connectors.inbox import InboxEntry, InboxPage

from .client import BLUESKY_WEB, LIKE_COLLECTION, TID_ALPHABET_REPLY

__all__ = ["LIKE_COLLECTION"]

ENTRY_KINDS = {"reply": "reply", "mention": "mention", "quote": "quote"}
OVERLAP = dt.timedelta(minutes=2)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def post_url(uri: str, handle: str, web: str = BLUESKY_WEB) -> str:
    # at://did/app.bsky.feed.post/rkey → <web>/profile/handle/post/rkey; without a web client
    # where the channel's network is seen, the at:// URI itself.
    parts = uri.removeprefix("at://").split("/")
    if not web:
        return uri if uri.startswith("at://") else ""
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return f"{web}/profile/{handle}" if handle else ""
    return f"{web}/profile/{handle or parts[0]}/post/{parts[2]}"


def to_entry(note: dict[str, Any], web: str = BLUESKY_WEB) -> InboxEntry:
    author = note.get("author") or {}
    record = note.get("record") or {}
    reason = str(note.get("reason") or "")
    reply = record.get("reply") or {}
    root, parent = reply.get("root") or {}, reply.get("parent") or {}
    extra: dict[str, Any] = {"cid": note.get("cid", "")}
    if root:
        extra["root_cid"] = root.get("cid", "")
    subject = note.get("reasonSubject") or ""
    if reason == "quote":
        embed = record.get("embed") or {}
        quoted = embed.get("record") or {}
        subject = quoted.get("uri") or (quoted.get("record") or {}).get("uri") or subject
    if subject:
        extra["subject"] = subject
    handle = str(author.get("handle") or "")
    return InboxEntry(
        network_id=str(note["uri"]),
        kind=ENTRY_KINDS.get(reason, reason[:20] or "other"),
        author_id=str(author.get("did") or ""),
        author_handle=handle,
        author_name=str(author.get("displayName") or ""),
        created_at=parse_time(str(note.get("indexedAt") or record.get("createdAt"))),
        text=str(record.get("text") or ""),
        url=post_url(str(note["uri"]), handle, web),
        root_id=str(root.get("uri") or ""),
        parent_id=str(parent.get("uri") or ""),
        extra=extra,
    )


def next_cursor(cursor: str | None) -> str:
    """The listNotifications page cursor an interrupted sweep resumes at ("" starts from the top)."""
    return str(json.loads(cursor).get("next") or "") if cursor else ""


def _when(note: dict[str, Any]) -> dt.datetime:
    return parse_time(str(note.get("indexedAt") or "1970-01-01T00:00:00Z"))


def sweep_page(
    data: dict[str, Any], cursor: str | None, *, web: str = BLUESKY_WEB, own_did: str = ""
) -> InboxPage:
    """One page of listNotifications, read against the stored sweep state. Our own posts (a
    thread's continuation replying to its first part) are never inbox entries."""
    state = json.loads(cursor) if cursor else {}
    done = str(state.get("done") or "")
    notes = list(data.get("notifications") or [])
    newest = max(notes, key=_when)["indexedAt"] if notes else ""
    top = str(state.get("top") or "") or str(newest)
    # The list is ordered by the AppView's own sort time, which may differ a little from the
    # indexedAt it shows (a record's createdAt counts too): the sweep reads OVERLAP further down
    # than the previous sweep's newest. What it reads again is dropped by the unique network id.
    floor = parse_time(done) - OVERLAP if done else None
    fresh = [n for n in notes if floor is None or _when(n) >= floor]
    reached_done = len(fresh) < len(notes)
    entries = [
        to_entry(n, web) for n in fresh if not own_did or (n.get("author") or {}).get("did") != own_did
    ]
    following = str(data.get("cursor") or "")
    if reached_done or not following or not notes:
        finished = max((t for t in (top, done) if t), key=parse_time, default="")
        return InboxPage(
            entries,
            json.dumps({"done": finished, "top": "", "next": ""}),
            more=False,
            seen_at=_just_after(finished) if finished else "",
        )
    return InboxPage(entries, json.dumps({"done": done, "top": top, "next": following}), more=True)


def _just_after(stamp: str) -> str:
    """One millisecond after the newest stored notification: the AppView reads a notification
    as read when it is older than seenAt, so the newest one itself must fall before it."""
    moment = parse_time(stamp) + dt.timedelta(milliseconds=1)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reply_record_key(key: str, created_at: dt.datetime) -> str:
    """A TID only this reply produces (its creation second plus bits of its key's hash): a retry
    of the same reply collides with the first create instead of posting twice."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    micros = int(created_at.timestamp()) * 1_000_000 + digest % 1_000_000
    value = micros << 10 | (digest >> 24) % 1024
    return "".join(TID_ALPHABET_REPLY[(value >> shift) & 31] for shift in range(60, -1, -5))


def thread_entries(thread: dict[str, Any]) -> list[dict[str, Any]]:
    """The posts of a getPostThread answer, depth first: [{uri, cid, author, text, parent}]."""
    out: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], parent: str) -> None:
        post = node.get("post")
        if not post:
            return
        record = post.get("record") or {}
        out.append(
            {
                "uri": post["uri"],
                "cid": post.get("cid", ""),
                "author": (post.get("author") or {}).get("did", ""),
                "text": record.get("text", ""),
                "parent": parent,
                "root": ((record.get("reply") or {}).get("root") or {}).get("uri", ""),
            }
        )
        for child in node.get("replies") or []:
            walk(child, post["uri"])

    walk(thread.get("thread") or {}, "")
    return out
