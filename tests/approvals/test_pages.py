from __future__ import annotations

import csv
import datetime as dt
import io

from django.urls import reverse
from django.utils import timezone

from chorus.approvals.models import Step, Workflow
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.publishing import actions
from tests.approvals.conftest import make_target


def _u(name: str, **kwargs) -> str:
    return reverse(f"approvals:{name}", kwargs={"slug": "campaign", **kwargs})


def test_it_creates_a_three_step_workflow_from_the_form(cast, owner_client, second_approver):
    data = {
        "name": "Stories",
        "applies_to": "everyone",
        "position": "5",
        "active": "1",
        "rows": "3",
        "step-0-name": "Desk",
        "step-0-users": [str(cast.members["editor"].pk)],
        "step-0-rule": "any",
        "step-1-name": "Legal",
        "step-1-role": "admin",
        "step-1-rule": "all",
        "step-2-name": "Sign-off",
        "step-2-users": [str(cast.members["approver"].pk), str(second_approver.pk)],
        "step-2-rule": "all",
        "step-2-outside": "1",
    }
    response = owner_client.post(_u("workflow_new"), {**data, "add_step": "1"})
    assert response.status_code == 200 and 'name="step-3-name"' in response.content.decode()  # one more row
    response = owner_client.post(_u("workflow_new"), data)
    assert response.status_code == 302
    wf = Workflow.objects.get()
    steps = list(wf.steps.values_list("name", "rule", "role", "allow_outside"))
    assert steps == [
        ("Desk", "any", "", False),
        ("Legal", "all", "admin", False),
        ("Sign-off", "all", "", True),
    ]
    assert set(wf.steps.get(name="Sign-off").users.values_list("email", flat=True)) == {
        "approver@example.org",
        "approver2@example.org",
    }
    assert AuditEvent.objects.filter(action="workflow.created", actor=cast.owner).exists()
    assert "Stories" in owner_client.get(_u("workflows")).content.decode()


def test_it_refuses_a_step_without_approvers(cast, owner_client):
    response = owner_client.post(
        _u("workflow_new"), {"name": "Bad", "applies_to": "everyone", "rows": "1", "step-0-name": "Nobody"}
    )
    assert response.status_code == 200 and "needs approvers" in response.content.decode()
    assert not Workflow.objects.exists()


def test_it_ignores_an_outsiders_user_ids_in_steps(cast, owner_client):
    owner_client.post(
        _u("workflow_new"),
        {
            "name": "X",
            "applies_to": "everyone",
            "rows": "1",
            "step-0-name": "S",
            "step-0-users": [str(cast.outsider.pk), str(cast.members["admin"].pk)],
        },
    )
    assert list(Step.objects.get().users.values_list("email", flat=True)) == ["admin@example.org"]


def test_it_saves_the_hold_window(cast, owner_client):
    assert owner_client.post(_u("workflows"), {"hold_minutes": "15"}).status_code == 302
    assert cast.workspace.approval_settings.hold_minutes == 15


def test_it_lists_pending_steps_for_their_approver_and_decides_from_the_page(
    cast, sink_channel, two_step, second_approver
):
    target = make_target(cast, sink_channel, text="Pending story")
    actions.submit_for_review(target, actor=cast.members["editor"])
    editor = cast.client_for(cast.members["editor"])
    approver = cast.client_for(cast.members["approver"])
    assert "Pending story" not in approver.get(_u("pending")).content.decode()
    page = editor.get(_u("pending")).content.decode()
    assert f'data-target="{target.pk}"' in page and "Desk" in page

    response = editor.post(_u("decide", target_id=target.pk), {"decision": "approve", "comment": "ok"})
    assert response.status_code == 302
    assert f'data-target="{target.pk}"' in approver.get(_u("pending")).content.decode()
    detail = approver.get(_u("target", target_id=target.pk)).content.decode()
    assert "Sign-off" in detail and "“ok”" in detail

    refused = approver.post(_u("decide", target_id=target.pk), {"decision": "reject", "comment": ""})
    assert refused.status_code == 302
    assert PostTarget.objects.get(pk=target.pk).status == "in_review"  # a reason is required
    approver.post(_u("decide", target_id=target.pk), {"decision": "reject", "comment": "Needs a source"})
    assert PostTarget.objects.get(pk=target.pk).status == "draft"


def _events(cast):
    audit.record("post.created", workspace=cast.workspace, actor=cast.members["editor"], obj=cast.workspace)
    old = audit.record(
        "target.approved", workspace=cast.workspace, actor=cast.owner, obj=cast.workspace, comment="=1+1"
    )
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=10))
    audit.record(
        "target.approved", workspace=cast.other_workspace, actor=cast.outsider, obj=cast.other_workspace
    )


def _shown(client, **params) -> list[str]:
    return [e.action for e in client.get(_u("audit"), params).context["events"]]


def test_it_filters_the_audit_log_by_person_action_object_and_date(cast, owner_client):
    _events(cast)
    assert _shown(owner_client, actor=cast.members["editor"].pk) == ["post.created"]
    assert _shown(owner_client, action="target.") == ["target.approved"]
    assert len(_shown(owner_client, object_type="accounts.workspace", object_id=str(cast.workspace.pk))) == 2
    assert _shown(owner_client, object_id="999999") == []
    since = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
    assert _shown(owner_client, since=since) == ["post.created"]
    until = (timezone.now() - dt.timedelta(days=5)).date().isoformat()
    assert _shown(owner_client, until=until) == ["target.approved"]
    bad = owner_client.get(_u("audit"), {"since": "yesterday"}).content.decode()
    assert "not understood" in bad


def test_it_exports_the_filtered_audit_log_as_csv_of_this_workspace_only(cast, owner_client):
    _events(cast)
    response = owner_client.get(_u("audit"), {"action": "target.", "format": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "actor", "action", "object_type", "object_id", "data", "ip"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("owner@example.org", "target.approved")]
    assert rows[1][5] == '{"comment": "=1+1"}'


def test_it_keeps_formula_like_cells_as_text_in_the_csv(cast, owner_client):
    audit.record("=HYPERLINK(1)", workspace=cast.workspace, actor=cast.owner)
    response = owner_client.get(_u("audit"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_it_keeps_the_audit_log_from_other_roles(cast):
    for role, code in (("editor", 403), ("viewer", 403), ("admin", 200)):
        assert cast.client_for(cast.members[role]).get(_u("audit")).status_code == code
