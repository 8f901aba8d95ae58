"""The scheduler job: one poll per active channel whose network has an inbox, a read-back for
each reply whose outcome is unknown; the tasks take ids and are safe to run twice."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from chorus.channels.actions import connect_channel
from chorus.core import scheduler
from chorus.inbox import actions, tasks
from chorus.inbox.models import Conversation, Reply
from tests.conftest import Cast
from tests.inbox.conftest import entry

pytestmark = pytest.mark.django_db


def test_it_enqueues_polls_for_inbox_channels_and_settles_unknown_replies(cast: Cast, channel) -> None:
    bluesky = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="@ngo.test",
        config={"did": "did:plc:x", "handle": "ngo.test", "service": "https://pds.example", "appview": ""},
        credentials={"accessJwt": "a", "refreshJwt": "r"},
    )
    actions.ingest(channel=channel, entries=[entry(1)])
    reply = Reply.objects.create(
        workspace=cast.workspace,
        conversation=Conversation.objects.get(),
        in_reply_to=Conversation.objects.get().items.get(),
        text="?",
        status=Reply.Status.UNKNOWN,
    )
    assert tasks.enqueue_polls() == 1  # the sink channel has no inbox
    queued = {
        (row.task_path.rsplit(".", 1)[-1], tuple(row.args_kwargs["args"]))
        for row in DBTaskResult.objects.all()
    }
    assert queued == {("poll_channel_task", (bluesky.pk,)), ("settle_reply_task", (reply.pk,))}
    assert "inbox-poll" in {job.name for job in scheduler._all_jobs()}


def test_a_sample_channel_is_not_polled_its_simulated_network_has_no_inbox(cast: Cast) -> None:
    """`chorus demo` channels: the poll failed every minute with "Bluesky has no inbox"."""
    connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="Sample Bluesky",
        config={
            "did": "did:plc:s",
            "handle": "sample.test",
            "service": "https://pds.example",
            "sample": True,
        },
        credentials={},
    )
    real = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="Real Bluesky",
        config={"did": "did:plc:r", "handle": "real.test", "service": "https://pds.example", "appview": ""},
        credentials={"accessJwt": "a", "refreshJwt": "r"},
    )
    assert tasks.enqueue_polls() == 1
    assert [row.args_kwargs["args"] for row in DBTaskResult.objects.all()] == [[real.pk]]
