from __future__ import annotations

import pytest

from chorus.accounts.models import Membership
from chorus.accounts.permissions import Role
from chorus.approvals import actions
from chorus.approvals.models import Step, Workflow
from tests.conftest import Cast, make_user
from tests.publishing.conftest import make_target, sink_channel  # noqa: F401  (fixtures)

__all__ = ["make_target"]


@pytest.fixture
def second_approver(cast: Cast):
    user = make_user("approver2@example.org", name="Second Approver")
    Membership.objects.create(workspace=cast.workspace, user=user, role=Role.APPROVER)
    return user


@pytest.fixture
def two_step(cast: Cast, second_approver, request: pytest.FixtureRequest) -> Workflow:
    request.getfixturevalue("sink_channel")
    """Step 1: the editor (any); step 2: both approvers (all of them)."""
    return actions.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Two steps",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[
            {"name": "Desk", "users": [cast.members["editor"].pk], "rule": Step.Rule.ANY},
            {"name": "Sign-off", "role": Role.APPROVER, "rule": Step.Rule.ALL, "allow_outside": False},
        ],
    )
