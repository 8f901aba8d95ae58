"""The new API operations through a personal token: webhooks, channels, analytics, audit."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.core.models import AuditEvent
from chorus.webhooks.models import Delivery


@pytest.fixture
def api(cast):
    _token, raw = ApiToken.issue(cast.owner, "automation")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    def call(method: str, path: str, body: dict | None = None, **params):
        url = f"/api/workspaces/{cast.workspace.slug}{path}"
        if method == "get":
            return client.get(url, params)
        return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")

    return call


def test_webhook_endpoints_crud_deliveries_and_redelivery(
    api, receiver, run_tasks, django_capture_on_commit_callbacks
):
    created = api("post", "/webhooks", {"url": receiver.url, "event_types": ["post.published"]})
    assert created.status_code == 201, created.content
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["event_types"] == ["post.published"]
    assert "secret" not in api("get", f"/webhooks/{endpoint['id']}").json()
    bad = api("post", "/webhooks", {"url": receiver.url, "event_types": ["post.exploded"]})
    assert bad.status_code == 422 and "post.exploded" in bad.json()["detail"]

    with django_capture_on_commit_callbacks(execute=True):
        assert api("post", f"/webhooks/{endpoint['id']}/test").status_code == 204
    run_tasks()
    Webhook(endpoint["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)

    page = api("get", f"/webhooks/{endpoint['id']}/deliveries", limit=10).json()
    assert page["count"] == 1 and page["items"][0]["status"] == "succeeded"
    assert page["items"][0]["log"][0]["status_code"] == 204
    assert "v1," in page["items"][0]["log"][0]["request_headers"]["webhook-signature"]
    delivery_id = page["items"][0]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api("post", f"/webhooks/{endpoint['id']}/deliveries/{delivery_id}/redeliver").status_code == 200
        )
    run_tasks()
    assert len(receiver.requests) == 2
    assert Delivery.objects.get(pk=delivery_id).attempts == 2

    rotated = api("post", f"/webhooks/{endpoint['id']}/rotate-secret", {"overlap_hours": 1}).json()
    assert rotated["secret"] != endpoint["secret"]
    patched = api("patch", f"/webhooks/{endpoint['id']}", {"active": False, "event_types": ["post.failed"]})
    assert patched.json()["active"] is False and patched.json()["event_types"] == ["post.failed"]
    assert api("delete", f"/webhooks/{endpoint['id']}").status_code == 204
    assert api("get", "/webhooks").json() == []


def test_channels_list_pause_resume_disconnect(api, cast, sink_channel):
    listed = api("get", "/channels").json()
    assert [c["id"] for c in listed] == [sink_channel.pk]
    assert "credentials" not in json.dumps(listed) and "secret-token" not in json.dumps(listed)
    paused = api("post", f"/channels/{sink_channel.pk}/pause", {"reason": "holiday"})
    assert paused.json()["status"] == "paused" and paused.json()["paused_reason"] == "holiday"
    assert api("post", f"/channels/{sink_channel.pk}/pause").status_code == 409
    resumed = api("post", f"/channels/{sink_channel.pk}/resume").json()
    assert resumed["channel"]["status"] == "active" and resumed["released"] == 0
    checked = api("post", f"/channels/{sink_channel.pk}/check")
    assert checked.status_code == 200 and set(checked.json()) == {"ok", "message"}
    disconnected = api("post", f"/channels/{sink_channel.pk}/disconnect").json()
    assert disconnected["status"] == "paused"
    assert Channel.objects.get(pk=sink_channel.pk).credentials_encrypted == ""
    assert api("post", f"/channels/{sink_channel.pk}/resume").status_code == 409
    assert AuditEvent.objects.filter(action="channel.disconnected").count() == 1


def test_analytics_dashboard_breakdown_and_best_time(api, sink_channel):
    data = api("get", "/analytics", start="2026-11-01", end="2026-11-30", channel=[sink_channel.pk]).json()
    assert data["period"] == {"start": "2026-11-01", "end": "2026-11-30", "days": 30}
    assert data["previous"]["period"]["end"] == "2026-10-31"
    assert {"totals", "accounts", "change", "daily", "per_channel", "top"} <= set(data)
    assert len(data["daily"]) == 30
    assert api("get", "/analytics", start="2026-12-01", end="2026-11-01").status_code == 422
    assert api("get", "/analytics/breakdown", by="campaign").status_code == 200
    assert api("get", "/analytics/breakdown", by="weather").status_code == 422
    best = api("get", f"/analytics/best-time/{sink_channel.pk}").json()
    assert best == {"channel_id": sink_channel.pk, "posts": 0, "suggested": [], "heatmap": []}


def test_audit_is_paged_and_filtered(api, cast, sink_channel):
    for n in range(5):
        api("post", f"/channels/{sink_channel.pk}/pause", {"reason": f"r{n}"})
        api("post", f"/channels/{sink_channel.pk}/resume")
    page = api("get", "/audit", action="channel.paused", limit=2, offset=1).json()
    assert page["count"] == 5 and len(page["items"]) == 2
    assert [i["data"]["reason"] for i in page["items"]] == ["r3", "r2"]  # newest first
    assert all(i["actor_email"] == "owner@example.org" for i in page["items"])
    assert api("get", "/audit", actor=cast.members["editor"].pk).json()["count"] == 0
    assert api("get", "/audit", since="2000-01-01", until="2000-01-02").json()["count"] == 0
