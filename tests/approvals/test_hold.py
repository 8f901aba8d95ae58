from __future__ import annotations

import datetime as dt

from django.utils import timezone

from chorus.approvals import actions as approvals
from chorus.approvals.models import Run
from chorus.content.models import PostTarget
from chorus.core import scheduler
from chorus.core.models import AuditEvent, Notification
from chorus.publishing import actions
from chorus.publishing.actions import hold_unapproved
from chorus.publishing.dispatch import claim_due
from tests.approvals.conftest import make_target

S = PostTarget.Status


def test_it_holds_a_scheduled_post_its_workflow_never_approved_and_tells_its_people(
    cast, sink_channel, second_approver
):
    soon = timezone.now() + dt.timedelta(minutes=3)
    target = make_target(cast, sink_channel, when=soon)  # scheduled before any workflow existed
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Sign-off",
        applies_to="everyone",
        steps=[{"name": "Approvers", "users": [second_approver.pk]}],
    )
    assert hold_unapproved() == 1
    target.refresh_from_db()
    assert target.status == S.IN_REVIEW and target.scheduled_at == soon
    run = Run.objects.get(target=target)
    assert run.held_at is not None
    held = Notification.objects.filter(kind="approval_held")
    assert set(held.values_list("user__email", flat=True)) == {"editor@example.org", "approver2@example.org"}
    assert AuditEvent.objects.filter(action="approval.held", object_id=str(target.pk)).count() == 1

    assert hold_unapproved() == 0  # told once
    assert held.count() == 2
    # At its slot the claim finds nothing to publish.
    assert claim_due(now=soon + dt.timedelta(seconds=1))[1] == []

    actions.approve(target, actor=second_approver)  # approved late: back into its slot if still ahead
    target.refresh_from_db()
    assert target.status == S.SCHEDULED


def test_it_holds_an_edited_post_waiting_for_re_approval_near_its_slot(
    cast, sink_channel, two_step, second_approver
):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    for person in (cast.members["editor"], cast.members["approver"], second_approver):
        actions.approve(target, actor=person)
    slot = timezone.now() + dt.timedelta(minutes=4)
    actions.schedule(target, actor=cast.members["editor"], when=slot)
    actions.edit(target, actor=cast.members["editor"], text="Changed at the last minute")
    assert hold_unapproved() == 1
    assert Notification.objects.filter(kind="approval_held", user=cast.members["editor"]).exists()
    assert claim_due(now=slot + dt.timedelta(minutes=1))[1] == []


def test_it_uses_the_workspace_hold_window(cast, sink_channel, two_step, second_approver):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    for person in (cast.members["editor"], cast.members["approver"], second_approver):
        actions.approve(target, actor=person)
    actions.schedule(target, actor=cast.members["editor"], when=timezone.now() + dt.timedelta(minutes=30))
    actions.edit(target, actor=cast.members["editor"], text="New")
    assert hold_unapproved() == 0  # 30 minutes away, default window 5
    approvals.set_hold_minutes(cast.workspace, actor=cast.owner, minutes=60)
    assert hold_unapproved() == 1


def test_it_leaves_a_fully_approved_scheduled_post_alone(cast, sink_channel, two_step, second_approver):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    for person in (cast.members["editor"], cast.members["approver"], second_approver):
        actions.approve(target, actor=person)
    slot = timezone.now() + dt.timedelta(minutes=2)
    actions.schedule(target, actor=cast.members["editor"], when=slot)
    assert hold_unapproved() == 0
    assert claim_due(now=slot + dt.timedelta(seconds=1))[1] == [target.pk]


def test_it_never_claims_an_in_review_target_even_when_due(cast, sink_channel):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    past = timezone.now() - dt.timedelta(minutes=1)
    PostTarget.objects.filter(pk=target.pk).update(scheduled_at=past, due_at=past)  # worst case
    assert claim_due(now=timezone.now())[1] == []
    assert PostTarget.objects.get(pk=target.pk).status == S.IN_REVIEW


def test_it_registers_the_hold_job_with_the_scheduler():
    names = {job.name for job in scheduler._all_jobs()}
    assert "approvals-hold-unapproved" in names


def test_it_lets_an_engine_copy_of_an_approved_post_keep_its_approval(
    cast, sink_channel, two_step, second_approver
):
    """Evergreen requeues and recurrence occurrences are copies of an approved target."""
    target = make_target(cast, sink_channel, text="Evergreen tip")
    actions.submit_for_review(target, actor=cast.members["editor"])
    for person in (cast.members["editor"], cast.members["approver"], second_approver):
        actions.approve(target, actor=person)
    soon = timezone.now() + dt.timedelta(minutes=2)
    copy = PostTarget.objects.create(
        workspace=cast.workspace, post=target.post, channel=sink_channel, text="Evergreen tip",
        status=S.SCHEDULED, scheduled_at=soon, due_at=soon,
    )  # fmt: skip
    changed = PostTarget.objects.create(
        workspace=cast.workspace, post=target.post, channel=sink_channel, text="Not what was approved",
        status=S.SCHEDULED, scheduled_at=soon, due_at=soon,
    )  # fmt: skip
    assert hold_unapproved() == 1
    assert PostTarget.objects.get(pk=copy.pk).status == S.SCHEDULED
    assert PostTarget.objects.get(pk=changed.pk).status == S.IN_REVIEW
