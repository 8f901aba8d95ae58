from __future__ import annotations

import json

from django.test import Client

from chorus.accounts.models import ApiToken
from chorus.approvals.models import ReviewLink, Workflow
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.publishing import actions
from tests.approvals.conftest import make_target


def _client(user) -> tuple[Client, dict[str, str]]:
    _token, raw = ApiToken.issue(user, "test")
    return Client(), {"Authorization": f"Bearer {raw}"}


def _post(user, path: str, body: dict):
    client, headers = _client(user)
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def _get(user, path: str):
    client, headers = _client(user)
    return client.get(path, headers=headers)


def test_it_creates_a_workflow_and_decides_through_the_api(cast, sink_channel, second_approver):
    response = _post(
        cast.owner,
        "/api/workspaces/campaign/approvals/workflows",
        {
            "name": "API",
            "steps": [
                {"name": "One", "users": [cast.members["approver"].pk]},
                {"name": "Two", "role": "admin"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    assert [s["name"] for s in response.json()["steps"]] == ["One", "Two"]
    assert Workflow.objects.get().steps.count() == 2

    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    assert [
        p["target"]
        for p in _get(cast.members["approver"], "/api/workspaces/campaign/approvals/pending").json()
    ] == [target.pk]
    path = f"/api/workspaces/campaign/targets/{target.pk}/decisions"
    refused = _post(cast.members["admin"], path, {"decision": "approve"})
    assert refused.status_code == 409 and "not an approver" in refused.json()["detail"]
    assert _post(cast.members["approver"], path, {"decision": "approve"}).json() == {
        "status": "in_review",
        "step": "Two",
    }
    assert (
        _post(cast.members["admin"], path, {"decision": "approve", "comment": "go"}).json()["status"]
        == "approved"
    )
    decisions = _get(cast.members["viewer"], path).json()
    assert [(d["step"], d["verdict"]) for d in decisions] == [("One", "approve"), ("Two", "approve")]


def test_it_refuses_a_rejection_without_a_reason(cast, sink_channel):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    path = f"/api/workspaces/campaign/targets/{target.pk}/decisions"
    assert _post(cast.members["approver"], path, {"decision": "reject"}).status_code == 400
    assert (
        _post(cast.members["approver"], path, {"decision": "reject", "comment": "no"}).json()["status"]
        == "draft"
    )
    assert PostTarget.objects.get(pk=target.pk).error_message == "no"


def test_it_issues_and_revokes_review_links_through_the_api(cast, sink_channel):
    target = make_target(cast, sink_channel)
    response = _post(
        cast.members["editor"],
        f"/api/workspaces/campaign/targets/{target.pk}/review-links",
        {"name": "Client"},
    )
    assert response.status_code == 201
    url = response.json()["url"]
    assert "/review/chr_" in url
    assert Client().get(url.split("testserver")[1]).status_code == 200
    link_id = response.json()["id"]
    assert (
        _post(
            cast.members["editor"], f"/api/workspaces/campaign/review-links/{link_id}/revoke", {}
        ).status_code
        == 204
    )
    assert ReviewLink.objects.get(pk=link_id).revoked_at is not None
    assert Client().get(url.split("testserver")[1]).status_code == 404


def test_it_exports_the_audit_log_through_the_api_with_filters(cast):
    audit.record("thing.done", workspace=cast.workspace, actor=cast.members["editor"])
    audit.record("other.done", workspace=cast.workspace, actor=cast.owner)
    response = _get(cast.owner, "/api/workspaces/campaign/audit.csv?action=thing.")
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200 and "thing.done" in body and "other.done" not in body
    assert _get(cast.members["editor"], "/api/workspaces/campaign/audit.csv").status_code == 403
