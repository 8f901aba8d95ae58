"""Workspaces by API: created where the New workspace page allows, settings changed with the
Settings page's checks, both audited."""

from __future__ import annotations

import json

from chorus.accounts.models import ApiToken, Membership, Workspace
from chorus.accounts.permissions import Role
from chorus.core.models import AuditEvent


def _api(client, user, scope="write"):
    _token, raw = ApiToken.issue(user, "test", scope=scope)
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_an_owner_creates_a_workspace_in_their_organization_and_owns_it(client, cast):
    api = _api(client, cast.owner)
    answer = api(
        "post",
        "/api/workspaces",
        {"name": "Press", "timezone": "Africa/Nairobi", "organization": "reference-ngo"},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["name"] == "Press" and body["timezone"] == "Africa/Nairobi" and body["role"] == "owner"
    assert body["organization"] == "Reference NGO"
    workspace = Workspace.objects.get(slug=body["slug"])
    assert Membership.objects.get(workspace=workspace, user=cast.owner).role == Role.OWNER
    assert AuditEvent.objects.filter(
        workspace=workspace, action="workspace.created", actor=cast.owner
    ).exists()
    listed = [w["slug"] for w in api("get", "/api/workspaces").json()]
    assert body["slug"] in listed


def test_who_may_not_create_is_refused_and_bad_fields_are_named(client, cast):
    editor = _api(client, cast.members["editor"])
    refused = editor("post", "/api/workspaces", {"name": "Mine", "organization": "reference-ngo"})
    assert refused.status_code == 422 and refused.json()["fields"] == {"organization": "unknown"}
    alone = editor("post", "/api/workspaces", {"name": "Mine"})
    assert alone.status_code == 403
    new_org = _api(client, cast.owner)(
        "post", "/api/workspaces", {"name": "X", "new_organization": "Mine Inc"}
    )
    assert new_org.status_code == 403  # staff only, as on the page
    other_org = _api(client, cast.owner)(
        "post", "/api/workspaces", {"name": "X", "organization": "other-ngo"}
    )
    assert other_org.status_code == 422  # the owner owns nothing there
    bad_zone = _api(client, cast.owner)(
        "post", "/api/workspaces", {"name": "X", "organization": "reference-ngo", "timezone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.json()["fields"]
    assert Workspace.objects.count() == 2  # the cast's two, nothing more


def test_settings_change_only_what_is_given_with_the_pages_checks(client, cast):
    admin = _api(client, cast.members["admin"], scope="admin")
    answer = admin("patch", "/api/workspaces/campaign", {"late_tolerance_minutes": 45})
    assert answer.status_code == 200, answer.content
    assert answer.json()["late_tolerance_minutes"] == 45 and answer.json()["timezone"] == "Europe/Paris"
    workspace = Workspace.objects.get(slug="campaign")
    assert workspace.late_tolerance_minutes == 45 and workspace.name == "Campaign"
    event = AuditEvent.objects.filter(workspace=workspace, action="workspace.updated").latest("at")
    assert event.data["changed"] == ["late_tolerance_minutes"]

    too_late = admin("patch", "/api/workspaces/campaign", {"late_tolerance_minutes": 7 * 24 * 60 + 1})
    assert too_late.status_code == 422 and "late_tolerance_minutes" in too_late.json()["fields"]
    bad_zone = admin("patch", "/api/workspaces/campaign", {"timezone": "Nowhere"})
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.json()["fields"]
    assert Workspace.objects.get(slug="campaign").timezone == "Europe/Paris"
    editor = _api(client, cast.members["editor"], scope="admin")
    assert editor("patch", "/api/workspaces/campaign", {"name": "Mine"}).status_code == 403
    write_only = _api(client, cast.members["admin"], scope="write")
    refused = write_only("patch", "/api/workspaces/campaign", {"name": "Mine"})
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
