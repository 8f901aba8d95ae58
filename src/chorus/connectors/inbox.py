"""What a connector with Feature.INBOX hands the inbox, and the small method set it implements.

A connector declaring `Feature.INBOX` implements `InboxConnector`'s methods (its raw calls live in
its own client.py, through the one HTTP seam). The inbox app stores what `inbox_fetch` returns
together with the page's cursor, in one transaction, and only then calls `inbox_mark_seen`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

# Kinds of items. Conversations are started by the first three (and comments / messages);
# the others are activity: counted and listed, never answered.
CONVERSATION_KINDS = frozenset({"reply", "mention", "quote", "comment", "message"})
ACTIVITY_KINDS = frozenset({"like", "repost", "follow", "favourite", "reblog", "poll", "update"})
# The channel config key where the outcome of subscribing to the network's webhooks is kept
# (a connector's optional `inbox_webhook_subscribe()`): empty or absent means not done yet.
WEBHOOK_SUBSCRIPTION_KEY = "webhook_subscription"


@dataclass(frozen=True)
class InboxEntry:
    """One notification, comment or message as the network gave it."""

    network_id: str  # unique per channel (an at:// URI, a comment id...)
    kind: str
    author_id: str
    created_at: dt.datetime
    author_handle: str = ""
    author_name: str = ""
    text: str = ""
    url: str = ""
    # The thread: the post the conversation is about (root) and the direct parent of this item.
    root_id: str = ""
    parent_id: str = ""
    # Network specifics the connector needs to answer (a cid, a visibility, a moderation state).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_activity(self) -> bool:
        return self.kind not in CONVERSATION_KINDS

    def conversation_key(self) -> str:
        """Items are grouped per author and post: the thread's root (the item itself when it is
        not part of a thread) and the person who wrote it."""
        return f"{self.root_id or self.network_id}|{self.author_id}"


@dataclass(frozen=True)
class InboxPage:
    """One page of a stream: its entries, and the cursor to store with them — the state the next
    fetch resumes from (opaque to the inbox; a connector may keep JSON in it). `more`: another
    page is waiting now; False when the stream is caught up."""

    entries: list[InboxEntry]
    cursor: str
    more: bool = False
    seen_at: str = ""  # the newest time covered, when the network marks notifications seen
    cost: int = 0  # units the network charged for this page (ReadCost.bucket), 0 when reads are free


@dataclass(frozen=True)
class ReadCost:
    """A network that charges for reading (X: pay-per-use, per post read). The inbox records each
    page's `InboxPage.cost` in the quota ledger under `bucket` and stops polling before a page
    that could carry the workspace past its monthly read budget (`page_units` is the most a
    page can cost)."""

    bucket: str
    usd_per_unit: Decimal
    page_units: int


@dataclass(frozen=True)
class UnitQuota:
    """A network that charges quota units per call against an allowance shared with publishing
    (YouTube: 1 unit per commentThreads.list page, 50 per comments.insert, of 10,000 a day).
    `bucket` names one of the connector's `quotas`: the inbox records each page's
    `InboxPage.cost` in that ledger and stops polling before a page (`page_units`) could pass
    the quota's limit; the poll resumes from its cursor when the window frees."""

    bucket: str
    page_units: int
    reply_units: int


@dataclass(frozen=True)
class ReplyResult:
    network_id: str
    url: str = ""


@dataclass(frozen=True)
class ReplyKey:
    """What makes a reply's retries recognisable: `key` is stable across every retry (an
    Idempotency-Key, the seed of a record key), `created_at` the reply's creation time, `text`
    what was sent (a read-back that has neither key nor marker matches on it: Instagram)."""

    key: str
    created_at: dt.datetime
    text: str = ""


@runtime_checkable
class InboxConnector(Protocol):
    """The methods of Feature.INBOX. `key` is stable across every retry of the same reply: the
    network dedupes with it (a record key, an Idempotency-Key) or `inbox_find_reply` finds it.
    Optional: `inbox_moderations` (actions allowed) with `inbox_moderate(entry, action)`;
    `inbox_item_moderations(entry)` when what is allowed depends on the item (its state, its
    depth); `inbox_delete_reply(parent, network_id)` when our own sent reply can be deleted;
    `inbox_enrich(entry) -> InboxEntry` when a webhook gives only ids (Meta's mentions): the
    entry carries extra["enrich"] = "pending" until the fetch is done;
    `inbox_granted_streams()` (the streams polling may read, when a declined permission forbids
    some: Meta) with `inbox_permission_notes()` (one sentence per declined permission, shown on
    the inbox and channels pages)."""

    inbox_streams: tuple[str, ...]

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage: ...

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None: ...

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult: ...

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None: ...
