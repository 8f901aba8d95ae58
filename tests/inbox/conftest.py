from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.base import OutcomeUnknown
from chorus.connectors.inbox import InboxEntry, InboxPage, ReplyKey, ReplyResult
from chorus.inbox import actions
from tests.conftest import Cast
from tests.peers.wordpress import wordpress_site  # noqa: F401

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def entry(
    n: int, kind: str = "reply", author: str = "did:plc:fan", root: str = "at://us/post/1", **kw: Any
) -> InboxEntry:
    return InboxEntry(
        network_id=f"at://{author}/app.bsky.feed.post/{n}",
        kind=kind,
        author_id=author,
        author_handle=author.rsplit(":", 1)[-1] + ".test",
        created_at=T0 + dt.timedelta(minutes=n),
        text=kw.pop("text", f"item {n}"),
        root_id=root,
        parent_id=root,
        **kw,
    )


@dataclass
class RecordingInbox:
    """The inbox side of a connector, in memory: what the inbox actions asked of the network.
    Not a network fake (those live with each connector's tests); it isolates the actions."""

    pages: list[InboxPage] = field(default_factory=list)
    replies: list[tuple[str, str, str]] = field(default_factory=list)  # (parent id, text, key)
    published: dict[str, ReplyResult] = field(default_factory=dict)
    fail_with: Exception | None = None
    seen: list[str] = field(default_factory=list)
    inbox_streams: tuple[str, ...] = ("notifications",)
    inbox_moderations: tuple[str, ...] = ("like",)
    label: str = "Recording"

    def inbox_fetch(self, stream: str, cursor: str | None) -> InboxPage:
        return self.pages.pop(0) if self.pages else InboxPage([], cursor or "", more=False)

    def inbox_mark_seen(self, stream: str, page: InboxPage) -> None:
        if page.seen_at:
            self.seen.append(page.seen_at)

    def inbox_reply(self, parent: InboxEntry, text: str, key: ReplyKey) -> ReplyResult:
        self.replies.append((parent.network_id, text, key.key))
        if self.fail_with is not None:
            if isinstance(self.fail_with, OutcomeUnknown):
                self.published[key.key] = ReplyResult(f"at://us/reply/{len(self.replies)}")
            raise self.fail_with
        result = ReplyResult(f"at://us/reply/{len(self.replies)}", "https://example.org/r")
        self.published[key.key] = result
        return result

    def inbox_find_reply(self, parent: InboxEntry, key: ReplyKey) -> ReplyResult | None:
        return self.published.get(key.key)

    def inbox_moderate(self, entry: InboxEntry, action: str) -> dict[str, Any]:
        return {"liked": True}


@pytest.fixture
def channel(cast: Cast) -> Channel:
    return connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> RecordingInbox:
    recording = RecordingInbox()
    monkeypatch.setattr(actions, "inbox_connector", lambda channel: recording)
    return recording


def run_enqueued_sends() -> list[str]:
    """Runs the send tasks the database backend holds, as the worker would (its task path, its
    arguments), and marks them done."""
    from django_tasks_db.models import DBTaskResult

    outcomes = []
    for row in DBTaskResult.objects.filter(task_path__endswith="send_reply_task", status="READY"):
        outcomes.append(actions.send_reply(*row.args_kwargs["args"]))
        DBTaskResult.objects.filter(pk=row.pk).update(status="SUCCESSFUL")
    return outcomes
