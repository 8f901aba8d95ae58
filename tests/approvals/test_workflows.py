from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from chorus.accounts.permissions import Role
from chorus.approvals import actions as approvals
from chorus.approvals.models import Decision, Run, Step, Workflow
from chorus.approvals.policy import workflow_for
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent, Notification
from chorus.publishing import actions
from chorus.publishing.actions import TransitionRefused
from tests.approvals.conftest import make_target

S = PostTarget.Status


def _status(target: PostTarget) -> str:
    return PostTarget.objects.get(pk=target.pk).status


def test_it_moves_through_two_steps_and_needs_all_of_the_second(
    cast, sink_channel, two_step, second_approver
):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    run = Run.objects.get(target=target)
    assert run.step.name == "Desk"
    assert Notification.objects.filter(user=cast.members["editor"], kind="approval_requested").exists()

    actions.approve(target, actor=cast.members["editor"], comment="desk ok")
    assert _status(target) == S.IN_REVIEW
    run.refresh_from_db()
    assert run.step.name == "Sign-off"
    assert Notification.objects.filter(user=second_approver, kind="approval_requested").exists()

    actions.approve(target, actor=cast.members["approver"], comment="one of two")
    assert _status(target) == S.IN_REVIEW  # all-of: still waiting for the second approver
    actions.approve(target, actor=second_approver, comment="two of two")
    assert _status(target) == S.APPROVED
    run.refresh_from_db()
    assert run.state == Run.State.APPROVED

    decisions = list(
        Decision.objects.filter(target=target).values_list("actor__email", "step__name", "comment")
    )
    assert decisions == [
        ("editor@example.org", "Desk", "desk ok"),
        ("approver@example.org", "Sign-off", "one of two"),
        ("approver2@example.org", "Sign-off", "two of two"),
    ]
    assert AuditEvent.objects.filter(action="approval.approved", object_id=str(target.pk)).count() == 3


def test_it_completes_an_any_one_step_with_a_single_approval(cast, sink_channel, second_approver):
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Any",
        applies_to="everyone",
        steps=[{"name": "Approvers", "role": Role.APPROVER, "rule": Step.Rule.ANY}],
    )
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    actions.approve(target, actor=second_approver)
    assert _status(target) == S.APPROVED


def test_it_refuses_an_approval_from_someone_outside_the_step(cast, sink_channel, two_step):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    with pytest.raises(TransitionRefused, match="not an approver"):
        actions.approve(target, actor=cast.members["approver"])  # step 1 is the editor's
    assert _status(target) == S.IN_REVIEW
    assert not Decision.objects.filter(target=target).exists()


def test_it_returns_a_rejected_post_to_its_author_with_the_reason(cast, sink_channel, two_step):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    mail.outbox.clear()
    actions.approve(target, actor=cast.members["editor"])
    actions.reject(target, actor=cast.members["approver"], reason="Wrong photo credit")
    target.refresh_from_db()
    assert target.status == S.DRAFT
    assert target.error_message == "Wrong photo credit"
    assert Run.objects.get(target=target).state == Run.State.REJECTED
    decision = Decision.objects.get(target=target, verdict="reject")
    assert (decision.actor, decision.step.name, decision.comment) == (
        cast.members["approver"],
        "Sign-off",
        "Wrong photo credit",
    )
    note = Notification.objects.get(user=cast.members["editor"], kind="approval_rejected")
    assert note.body == "Wrong photo credit"


@pytest.mark.django_db(transaction=True)
def test_it_emails_the_author_on_rejection(cast, sink_channel, two_step):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    mail.outbox.clear()
    actions.reject(target, actor=cast.members["editor"], reason="Too long")
    assert [m.to for m in mail.outbox] == [["editor@example.org"]]
    assert "Too long" in mail.outbox[0].body


def _approve_all(cast, target, second_approver):
    actions.submit_for_review(target, actor=cast.members["editor"])
    actions.approve(target, actor=cast.members["editor"])
    actions.approve(target, actor=cast.members["approver"])
    actions.approve(target, actor=second_approver)


def test_it_sends_an_edited_approved_post_back_with_what_changed(
    cast, sink_channel, two_step, second_approver
):
    target = make_target(cast, sink_channel, text="Before")
    _approve_all(cast, target, second_approver)
    when = timezone.now() + dt.timedelta(days=2)
    actions.schedule(target, actor=cast.members["editor"], when=when)
    assert _status(target) == S.SCHEDULED

    actions.edit(target, actor=cast.members["editor"], text="After")
    target.refresh_from_db()
    assert target.status == S.IN_REVIEW
    assert target.scheduled_at == when  # the slot is kept, to be restored on approval
    run = Run.objects.filter(target=target).latest("pk")
    assert run.changes == {"text": {"before": "Before", "after": "After"}}
    assert run.step.name == "Desk"
    assert AuditEvent.objects.filter(action="target.sent_back", object_id=str(target.pk)).exists()
    note = Notification.objects.filter(user=cast.members["editor"], kind="approval_requested").latest("pk")
    assert "text" in note.body

    _approve_all_again = [cast.members["editor"], cast.members["approver"], second_approver]
    for person in _approve_all_again:
        actions.approve(target, actor=person)
    target.refresh_from_db()
    assert target.status == S.SCHEDULED and target.scheduled_at == when


def test_it_sends_a_rescheduled_post_back_saying_the_time_changed(
    cast, sink_channel, two_step, second_approver
):
    target = make_target(cast, sink_channel)
    _approve_all(cast, target, second_approver)
    first = timezone.now() + dt.timedelta(days=2)
    actions.schedule(target, actor=cast.members["editor"], when=first)
    actions.reschedule(target, actor=cast.members["editor"], when=first + dt.timedelta(hours=3))
    assert _status(target) == S.IN_REVIEW
    run = Run.objects.filter(target=target).latest("pk")
    assert set(run.changes) == {"time"}


def test_it_refuses_to_schedule_a_post_its_workflow_has_not_approved(cast, sink_channel, two_step):
    target = make_target(cast, sink_channel)
    with pytest.raises(TransitionRefused, match="approval workflow"):
        actions.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(hours=1))
    assert _status(target) == S.DRAFT


def test_it_keeps_single_step_review_without_a_workflow(cast, sink_channel):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    actions.approve(target, actor=cast.members["approver"])
    assert _status(target) == S.APPROVED
    assert not Run.objects.exists()


def test_it_picks_the_workflow_by_channel_campaign_or_author_role(cast, sink_channel):
    target = make_target(cast, sink_channel)  # author: the editor
    other_steps = [{"name": "x", "role": Role.ADMIN}]
    below_editor = approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Juniors",
        applies_to="role_below",
        role=Role.EDITOR,
        steps=other_steps,
        position=1,
    )
    assert workflow_for(target) is None  # the editor is not below editor
    below_admin = approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Non-admins",
        applies_to="role_below",
        role=Role.ADMIN,
        steps=other_steps,
        position=2,
    )
    assert workflow_for(target) == below_admin
    campaign = cast.workspace.campaigns.create(name="Stories", slug="stories")
    by_campaign = approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Stories",
        applies_to="campaign",
        campaign_id=campaign.pk,
        steps=other_steps,
        position=0,
    )
    assert workflow_for(target) == below_admin
    target.post.campaign = campaign
    target.post.save()
    assert workflow_for(target) == by_campaign
    by_channel = approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Sink",
        applies_to="channel",
        channel_id=sink_channel.pk,
        steps=other_steps,
        position=0,
    )
    assert workflow_for(target) in (by_campaign, by_channel)
    by_campaign.active = False
    by_campaign.save()
    assert workflow_for(target) == by_channel
    assert below_editor.steps.count() == 1


def test_it_refuses_a_channel_of_another_workspace(cast):
    from chorus.channels.actions import connect_channel

    foreign = connect_channel(
        workspace=cast.other_workspace, kind="sink", name="X", config={}, credentials={}
    )
    with pytest.raises(ValueError):
        approvals.save_workflow(
            cast.workspace,
            actor=cast.owner,
            name="Bad",
            applies_to="channel",
            channel_id=foreign.pk,
            steps=[{"name": "x", "role": Role.ADMIN}],
        )
    assert not Workflow.objects.exists()
