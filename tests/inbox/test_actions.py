"""The inbox actions: stored once, grouped, cursors with their items, replies at most once."""

from __future__ import annotations

import pytest

from chorus.connectors.base import ContentRejected, OutcomeUnknown, Transient
from chorus.connectors.inbox import InboxPage
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Cursor, InboxItem, Reply
from tests.conftest import Cast
from tests.inbox.conftest import RecordingInbox, entry

pytestmark = pytest.mark.django_db


def test_it_stores_an_item_once_when_webhook_and_poll_both_bring_it(cast: Cast, channel) -> None:
    first = actions.ingest(channel=channel, entries=[entry(1)], via="webhook")
    again = actions.ingest(
        channel=channel, entries=[entry(1), entry(1), entry(2)], stream="notifications", cursor="c1"
    )
    assert (first.new_items, again.new_items, again.duplicates) == (1, 1, 2)
    assert InboxItem.objects.filter(channel=channel).count() == 2
    conversation = Conversation.objects.get()
    assert (conversation.items_count, conversation.unread) == (2, 2)
    assert InboxItem.objects.get(network_id=entry(1).network_id).via == "webhook"


def test_it_groups_per_author_and_post_and_keeps_activity_out_of_conversations(cast: Cast, channel) -> None:
    actions.ingest(
        channel=channel,
        entries=[
            entry(1),
            entry(2),
            entry(3, author="did:plc:other"),
            entry(4, root="at://us/post/2"),
            entry(5, kind="like"),
            entry(6, kind="follow", root=""),
        ],
    )
    keys = sorted(Conversation.objects.values_list("key", "items_count"))
    assert keys == [
        ("at://us/post/1|did:plc:fan", 2),
        ("at://us/post/1|did:plc:other", 1),
        ("at://us/post/2|did:plc:fan", 1),
    ]
    assert InboxItem.objects.filter(conversation=None).count() == 2


def test_a_new_item_reopens_a_closed_conversation(cast: Cast, channel) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    actions.set_status(conversation=conversation, status="closed", actor=cast.owner)
    conversation.refresh_from_db()
    assert conversation.closed_at is not None and conversation.resolution_seconds is not None
    actions.ingest(channel=channel, entries=[entry(2)])
    conversation.refresh_from_db()
    assert (conversation.status, conversation.closed_at) == ("open", None)


def test_the_cursor_is_stored_with_its_items_or_not_at_all(cast: Cast, channel, monkeypatch) -> None:
    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(audit, "record_many", crash)
    with pytest.raises(RuntimeError):
        actions.ingest(channel=channel, entries=[entry(1)], stream="notifications", cursor="after-1")
    assert not InboxItem.objects.exists()
    assert not Cursor.objects.exists()
    monkeypatch.undo()
    actions.ingest(channel=channel, entries=[entry(1)], stream="notifications", cursor="after-1")
    assert Cursor.objects.get().value == "after-1"
    assert AuditEvent.objects.filter(action="inbox.ingested").count() == 1


def test_poll_pages_until_caught_up_and_marks_seen_after_storing(
    cast: Cast, channel, network: RecordingInbox
) -> None:
    network.pages = [
        InboxPage([entry(3), entry(2)], "p1", more=True),
        InboxPage([entry(1)], "p2", more=False, seen_at="2026-12-01T09:03:00Z"),
    ]
    seen_counts = []
    original = network.inbox_mark_seen

    def mark(stream, page):
        seen_counts.append(InboxItem.objects.count())
        original(stream, page)

    network.inbox_mark_seen = mark  # type: ignore[method-assign]
    assert actions.poll(channel) == 3
    assert seen_counts == [2, 3]  # each page was stored before the network heard of it
    assert network.seen == ["2026-12-01T09:03:00Z"]
    assert Cursor.objects.get().value == "p2"


def _conversation(channel) -> Conversation:
    actions.ingest(channel=channel, entries=[entry(1)])
    return Conversation.objects.get()


def test_an_editor_reply_is_sent_once_even_when_the_task_runs_twice(
    cast: Cast, channel, network: RecordingInbox, django_capture_on_commit_callbacks
) -> None:
    conversation = _conversation(channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = actions.request_reply(conversation=conversation, actor=cast.members["editor"], text="Thanks!")
    assert len(callbacks) == 1 and reply.status == Reply.Status.QUEUED
    assert actions.send_reply(reply.pk) == "sent"
    assert actions.send_reply(reply.pk) == "skipped"
    assert network.replies == [(entry(1).network_id, "Thanks!", reply.idempotency_key())]
    reply.refresh_from_db()
    conversation.refresh_from_db()
    assert (reply.status, reply.network_id, reply.attempts) == ("sent", "at://us/reply/1", 1)
    assert conversation.status == "waiting" and conversation.first_response_seconds is not None
    assert AuditEvent.objects.filter(action="inbox.reply_sent", object_id=str(reply.pk)).exists()


def test_a_contributor_reply_waits_for_an_approver(cast: Cast, channel, network: RecordingInbox) -> None:
    conversation = _conversation(channel)
    reply = actions.request_reply(conversation=conversation, actor=cast.members["contributor"], text="Merci")
    assert reply.status == Reply.Status.AWAITING_APPROVAL
    assert actions.send_reply(reply.pk) == "skipped" and network.replies == []
    with pytest.raises(actions.InboxRefused):
        actions.approve_reply(reply=reply, actor=cast.members["editor"])  # editors do not approve
    actions.approve_reply(reply=reply, actor=cast.members["approver"])
    reply.refresh_from_db()
    assert (reply.status, reply.approved_by) == ("queued", cast.members["approver"])
    assert actions.send_reply(reply.pk) == "sent"


def test_a_viewer_cannot_answer(cast: Cast, channel) -> None:
    with pytest.raises(actions.InboxRefused) as refused:
        actions.request_reply(conversation=_conversation(channel), actor=cast.members["viewer"], text="hi")
    assert refused.value.code == "forbidden"


def test_a_timeout_is_unknown_and_settled_by_reading_back(
    cast: Cast, channel, network: RecordingInbox
) -> None:
    conversation = _conversation(channel)
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Hello")
    network.fail_with = OutcomeUnknown("read timeout")
    assert actions.send_reply(reply.pk) == "unknown"
    assert actions.send_reply(reply.pk) == "skipped"  # never resent blindly
    assert actions.settle_reply(reply.pk) == "sent"
    reply.refresh_from_db()
    assert reply.status == "sent" and len(network.replies) == 1


def test_an_unknown_reply_that_never_arrived_is_queued_again(
    cast: Cast, channel, network: RecordingInbox
) -> None:
    reply = actions.request_reply(conversation=_conversation(channel), actor=cast.owner, text="Hello")
    network.fail_with = OutcomeUnknown("read timeout")
    actions.send_reply(reply.pk)
    network.published.clear()  # the request never reached the network
    assert actions.settle_reply(reply.pk) == "requeued"
    network.fail_with = None
    assert actions.send_reply(reply.pk) == "sent"


def test_a_transient_failure_is_queued_again_and_a_refusal_fails(
    cast: Cast, channel, network: RecordingInbox
) -> None:
    conversation = _conversation(channel)
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Hello")
    network.fail_with = Transient("connect error")
    assert actions.send_reply(reply.pk) == "retry"
    network.fail_with = ContentRejected("too long")
    assert actions.send_reply(reply.pk) == "failed"
    reply.refresh_from_db()
    assert (reply.status, reply.error, reply.attempts) == ("failed", "too long", 2)


def test_a_send_after_someone_elses_reply_landed_is_stopped(
    cast: Cast, channel, network: RecordingInbox
) -> None:
    conversation = _conversation(channel)
    editor, admin = cast.members["editor"], cast.members["admin"]
    assert actions.start_composing(conversation=conversation, actor=editor) is None
    assert actions.start_composing(conversation=conversation, actor=admin) == editor  # shown live
    first = actions.request_reply(conversation=conversation, actor=editor, text="On it", seen_reply_id=0)
    with pytest.raises(actions.ReplyCollision) as stopped:
        actions.request_reply(conversation=conversation, actor=admin, text="Me too", seen_reply_id=0)
    assert stopped.value.newer == first
    # Having read it, the admin may still add to it.
    actions.request_reply(conversation=conversation, actor=admin, text="And also", seen_reply_id=first.pk)
    assert Reply.objects.count() == 2


def test_triage_actions_write_the_audit_log(cast: Cast, channel) -> None:
    conversation = _conversation(channel)
    actions.assign(conversation=conversation, assignee=cast.members["editor"], actor=cast.owner)
    actions.set_tags(conversation=conversation, tags=["Press ", "press", "volunteer"], actor=cast.owner)
    actions.mark_read(conversation=conversation, actor=cast.owner)
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.tags, conversation.unread) == (
        cast.members["editor"],
        ["press", "volunteer"],
        0,
    )
    with pytest.raises(actions.InboxRefused):
        actions.assign(conversation=conversation, assignee=cast.outsider, actor=cast.owner)
    with pytest.raises(actions.InboxRefused):
        actions.set_status(conversation=conversation, status="gone", actor=cast.owner)
    logged = set(
        AuditEvent.objects.filter(
            object_type="inbox.conversation", object_id=str(conversation.pk)
        ).values_list("action", flat=True)
    )
    assert logged == {"inbox.assigned", "inbox.tagged", "inbox.read"}


def test_like_goes_through_the_connector_and_is_audited(cast: Cast, channel, network: RecordingInbox) -> None:
    _conversation(channel)
    item = InboxItem.objects.get()
    actions.moderate(item=item, action="like", actor=cast.owner)
    item.refresh_from_db()
    assert item.extra["moderation"] == "like" and item.extra["liked"] is True
    with pytest.raises(actions.InboxRefused):
        actions.moderate(item=item, action="trash", actor=cast.owner)
    assert AuditEvent.objects.filter(action="inbox.moderated").count() == 1


def test_a_new_conversation_gets_its_language_and_sentiment(cast: Cast, channel) -> None:
    actions.ingest(
        channel=channel,
        entries=[
            entry(1, text="Merci beaucoup, c'est magnifique et tellement utile !"),
            entry(2, author="did:plc:angry", text="This is terrible, the worst campaign I have ever seen."),
        ],
    )
    french = Conversation.objects.get(author_id="did:plc:fan")
    english = Conversation.objects.get(author_id="did:plc:angry")
    assert french.language == "fr" and french.sentiment is not None and french.sentiment > 0.3
    assert english.language == "en" and english.sentiment is not None and english.sentiment < -0.3


def test_the_assignee_is_told_in_the_app_and_by_email(
    cast: Cast, channel, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    from chorus.core.models import Notification

    conversation = _conversation(channel)
    with django_capture_on_commit_callbacks(execute=True):
        actions.assign(conversation=conversation, assignee=cast.members["editor"], actor=cast.owner)
    note = Notification.objects.get(user=cast.members["editor"])
    assert note.kind == "inbox.assigned" and note.url.endswith(f"/inbox/{conversation.pk}/")
    assert [m.to for m in mailoutbox] == [[cast.members["editor"].email]]


def test_overdue_conversations_are_announced_once_to_the_assignee_or_the_managers(
    cast: Cast, channel, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    import datetime as dt

    from chorus.core.models import Notification
    from tests.inbox.conftest import T0

    actions.ingest(
        channel=channel,
        entries=[entry(1, author="did:plc:a"), entry(2, author="did:plc:b"), entry(3, author="did:plc:c")],
    )
    assigned, unassigned, answered = (Conversation.objects.get(author_id=f"did:plc:{x}") for x in "abc")
    actions.assign(conversation=assigned, assignee=cast.members["editor"], actor=cast.members["editor"])
    Conversation.objects.filter(pk=answered.pk).update(first_response_at=T0 + dt.timedelta(minutes=30))

    assert actions.notify_overdue(at=T0 + dt.timedelta(hours=3)) == 0  # the default target is 4 h
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.notify_overdue(at=T0 + dt.timedelta(hours=5)) == 2
    assert actions.notify_overdue(at=T0 + dt.timedelta(hours=9)) == 0  # once per conversation

    told = {
        (n.user.email, n.url.rsplit("/", 2)[-2]) for n in Notification.objects.filter(kind="inbox.overdue")
    }
    assert told == {
        (cast.members["editor"].email, str(assigned.pk)),
        (cast.members["owner"].email, str(unassigned.pk)),
        (cast.members["admin"].email, str(unassigned.pk)),
    }
    assert sorted(to for m in mailoutbox for to in m.to) == sorted(email for email, _ in told)
    assert AuditEvent.objects.filter(action="inbox.overdue").count() == 2

    # A shorter target applies to the next conversation: 30 minutes.
    actions.set_sla(workspace=cast.workspace, minutes=30, actor=cast.owner)
    actions.ingest(channel=channel, entries=[entry(600, author="did:plc:d")])  # T0 + 10 h
    assert actions.notify_overdue(at=T0 + dt.timedelta(hours=10, minutes=20)) == 0
    assert actions.notify_overdue(at=T0 + dt.timedelta(hours=10, minutes=40)) == 1
