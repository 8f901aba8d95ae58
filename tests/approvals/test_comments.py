from __future__ import annotations

import pytest
from django.urls import reverse

from chorus.approvals import actions as approvals
from chorus.approvals.models import Assignment, Comment
from chorus.core.models import AuditEvent, Notification
from tests.approvals.conftest import make_target


def _u(name: str, **kwargs) -> str:
    return reverse(f"approvals:{name}", kwargs={"slug": "campaign", **kwargs})


def test_it_notifies_the_members_a_comment_mentions(cast, sink_channel):
    target = make_target(cast, sink_channel)
    comment = approvals.add_comment(
        target,
        actor=cast.members["editor"],
        body="@approver can you check? cc @admin@example.org and @outsider",
    )
    assert set(comment.mentions.values_list("email", flat=True)) == {
        "approver@example.org",
        "admin@example.org",
    }
    notes = Notification.objects.filter(kind="mention")
    assert set(notes.values_list("user__email", flat=True)) == {"approver@example.org", "admin@example.org"}
    assert not Notification.objects.filter(user=cast.outsider).exists()  # not a member: never told
    assert AuditEvent.objects.filter(action="comment.added", object_id=str(target.pk)).count() == 1


def test_it_threads_replies_and_refuses_a_reply_to_another_post(cast, sink_channel):
    first = make_target(cast, sink_channel)
    second = make_target(cast, sink_channel)
    root = approvals.add_comment(first, actor=cast.owner, body="Photo credit?")
    reply = approvals.add_comment(first, actor=cast.members["editor"], body="Added", parent=root)
    assert list(root.replies.all()) == [reply]
    with pytest.raises(ValueError):
        approvals.add_comment(second, actor=cast.owner, body="x", parent=root)


def test_it_comments_from_the_page_and_shows_the_thread(cast, sink_channel):
    target = make_target(cast, sink_channel)
    client = cast.client_for(cast.members["approver"])
    response = client.post(_u("comment_add", target_id=target.pk), {"body": "Looks good @editor"})
    assert response.status_code == 302
    page = client.get(_u("target", target_id=target.pk)).content.decode()
    assert "Looks good @editor" in page
    assert Notification.objects.filter(user=cast.members["editor"], kind="mention").exists()
    editor_page = cast.client_for(cast.members["editor"]).get(_u("my_work")).content.decode()
    assert "Looks good @editor" in editor_page


def test_it_assigns_a_post_and_lists_it_in_my_work(cast, sink_channel):
    target = make_target(cast, sink_channel, text="Assigned story")
    editor = cast.client_for(cast.members["editor"])
    response = editor.post(_u("assign", target_id=target.pk), {"assignee": cast.members["contributor"].pk})
    assert response.status_code == 302
    assert Assignment.objects.get(target=target).assignee == cast.members["contributor"]
    assert Notification.objects.filter(user=cast.members["contributor"], kind="assigned").exists()
    page = cast.client_for(cast.members["contributor"]).get(_u("my_work")).content.decode()
    assert f'data-target="{target.pk}"' in page
    assert AuditEvent.objects.filter(action="target.assigned", data__after="contributor@example.org").exists()


def test_it_refuses_to_assign_to_a_non_member(cast, sink_channel):
    target = make_target(cast, sink_channel)
    editor = cast.client_for(cast.members["editor"])
    editor.post(_u("assign", target_id=target.pk), {"assignee": cast.outsider.pk})
    assert not Assignment.objects.exists()
    assert (
        cast.client_for(cast.members["viewer"])
        .post(_u("assign", target_id=target.pk), {"assignee": cast.members["viewer"].pk})
        .status_code
        == 403
    )


def test_it_refuses_an_empty_comment(cast, sink_channel):
    target = make_target(cast, sink_channel)
    cast.client_for(cast.owner).post(_u("comment_add", target_id=target.pk), {"body": "  "})
    assert not Comment.objects.exists()
