"""Who may take each workflow action, by role (the tenancy walker covers the pages' permissions;
this covers the workflow's own rule: only a step's approvers decide it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chorus.accounts.permissions import Role
from chorus.approvals import actions as approvals
from chorus.approvals.models import Decision
from chorus.content.models import PostTarget
from chorus.publishing import actions
from tests.approvals.conftest import make_target


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_it_lets_only_the_steps_role_approve(cast, sink_channel, role):
    approvals.save_workflow(
        cast.workspace, actor=cast.owner, name="Editors sign off", applies_to="everyone",
        steps=[{"name": "Editors", "role": Role.EDITOR}],
    )  # fmt: skip
    # Written and submitted by the contributor: nobody approves their own post (issue 16).
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["contributor"], channels=[sink_channel], text="Hello"
    )
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(post=post)
    actions.submit_for_review(target, actor=cast.members["contributor"])
    client = cast.client_for(cast.members[role])
    client.post(
        reverse("approvals:decide", kwargs={"slug": "campaign", "target_id": target.pk}),
        {"decision": "approve"},
    )
    status = PostTarget.objects.get(pk=target.pk).status
    assert status == ("approved" if role == Role.EDITOR else "in_review")
    assert Decision.objects.filter(verdict="approve").exists() == (role == Role.EDITOR)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.EDITOR, True), (Role.CONTRIBUTOR, False), (Role.APPROVER, False),
     (Role.VIEWER, False)],
)  # fmt: skip
def test_it_lets_editors_and_managers_issue_review_links(cast, sink_channel, role, allowed):
    target = make_target(cast, sink_channel)
    response = cast.client_for(cast.members[role]).post(
        reverse("approvals:link_issue", kwargs={"slug": "campaign", "target_id": target.pk}),
        {"name": "Client"},
    )
    assert response.status_code == (302 if allowed else 403)
    assert target.review_links.exists() == allowed


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_it_lets_only_managers_change_workflows(cast, role):
    response = cast.client_for(cast.members[role]).post(
        reverse("approvals:workflow_new", kwargs={"slug": "campaign"}),
        {"name": "W", "applies_to": "everyone", "rows": "1", "step-0-name": "S", "step-0-role": "admin"},
    )
    manager = role in (Role.OWNER, Role.ADMIN)
    assert response.status_code == (302 if manager else 403)
