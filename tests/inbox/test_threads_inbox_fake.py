"""Threads replies in the inbox against a fake of graph.threads.net (payloads in
tests/connectors/threads/fixtures, shaped after Meta's reply-management reference: GET
/{user-id}/threads, GET /{media-id}/conversation with cursors, a reply as a TEXT container with
reply_to_id then threads_publish): the exact requests of a sweep and a reply, the next sweep
resuming after each post's cursor, and a reply arriving twice stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from tests.conftest import Cast
from tests.connectors.graph_fake import GraphFake, fixture, graph, meta_apps  # noqa: F401  (fixtures)
from tests.inbox.conftest import run_enqueued_sends

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent.parent / "connectors" / "threads"
T = "https://graph.threads.net/v1.0"
FIELDS = "id,text,username,permalink,timestamp,replied_to,root_post,is_reply"


@pytest.fixture
def profile(cast: Cast, meta_apps) -> Channel:  # noqa: F811
    return connect_channel(
        workspace=cast.workspace,
        kind="threads",
        name="@seasalive",
        config={"user_id": "2648", "username": "seasalive"},
        credentials={"access_token": "long-threads-token"},
        actor=cast.owner,
    )


def answers(*names: str) -> list[dict]:
    return [fixture(HERE, f"{name}.json") for name in names]


def query(request) -> dict[str, str]:
    return {k: v for k, v in request.url.params.items() if k != "access_token"}


def test_a_sweep_reads_each_posts_conversation_then_resumes_after_its_cursor_and_a_reply_publishes(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    profile: Channel,
    django_capture_on_commit_callbacks,
) -> None:
    graph.on("GET", f"{T}/2648/threads", *answers("inbox_posts"))
    graph.on("GET", f"{T}/1801/conversation", *answers("conversation_1801_page1", "conversation_1801_page2", "conversation_empty"))  # fmt: skip
    graph.on("GET", f"{T}/1802/conversation", *answers("conversation_1802", "conversation_1802_again"))
    # The fan's two replies (one to our answer) and the ally's; our own answer is not an item.
    assert actions.poll(profile) == 3
    # The next sweep asks after each post's last cursor; the ally's reply comes again (stored once).
    assert actions.poll(profile) == 1
    listed = graph.to("GET", f"{T}/2648/threads")
    assert [query(r) for r in listed] == [{"fields": "id", "limit": "10"}] * 2
    page = {"fields": FIELDS, "reverse": "false", "limit": "100"}
    assert [query(r) for r in graph.to("GET", f"{T}/1801/conversation")] == [
        page,
        {**page, "after": "QVFIUa2"},
        {**page, "after": "QVFIUa3"},
    ]
    assert [query(r) for r in graph.to("GET", f"{T}/1802/conversation")] == [
        page,
        {**page, "after": "QVFIUb1"},
    ]
    assert InboxItem.objects.count() == 4
    fan = Conversation.objects.get(author_id="fan", root_id="1801")
    assert fan.items_count == 2
    item = InboxItem.objects.get(network_id="2903")
    assert (item.kind, item.parent_id, item.url) == (
        "reply",
        "2902",
        "https://www.threads.net/@fan/post/2903",
    )

    graph.on("POST", f"{T}/2648/threads", fixture(HERE, "container.json"))
    graph.on("POST", f"{T}/2648/threads_publish", fixture(HERE, "publish.json"))
    graph.on("GET", f"{T}/1234567890", fixture(HERE, "post_info.json"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_reply(conversation=fan, actor=cast.members["editor"], text="At noon")
    assert run_enqueued_sends() == ["sent"]
    [container] = graph.to("POST", f"{T}/2648/threads")
    form = {k: v for k, v in graph.form(container).items() if k != "access_token"}
    # To the newest item of the conversation.
    assert form == {"media_type": "TEXT", "text": "At noon", "reply_to_id": "2903"}
    [published] = graph.to("POST", f"{T}/2648/threads_publish")
    assert graph.form(published)["creation_id"] == "1234567"
    reply = Reply.objects.get()
    assert (reply.status, reply.network_id, reply.url) == (
        "sent",
        "1234567890",
        "https://www.threads.net/@seasalive/post/abC",
    )
