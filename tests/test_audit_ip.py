"""The audit trail records the client IP of web actions (issue 7: actor, action, object, time, IP)."""

from __future__ import annotations

import csv
import io

from django.contrib import admin
from django.test import RequestFactory, override_settings
from django.urls import reverse

from chorus.core import audit
from chorus.core.models import AuditEvent

SETTINGS_URL = "/w/campaign/approvals/workflows/"
FORWARDED = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "198.51.100.9, 203.0.113.50"}


def _last_settings_change() -> AuditEvent:
    return AuditEvent.objects.filter(action="approvals.settings_changed").latest("pk")


def test_it_records_the_client_ip_of_a_web_action(cast, owner_client):
    response = owner_client.post(SETTINGS_URL, {"hold_minutes": "15"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    assert _last_settings_change().ip == "203.0.113.7"


def test_it_ignores_x_forwarded_for_by_default(cast, owner_client):
    owner_client.post(SETTINGS_URL, {"hold_minutes": "20"}, **FORWARDED)
    assert _last_settings_change().ip == "10.0.0.5"


@override_settings(CHORUS_TRUSTED_PROXY_COUNT=1)
def test_it_honours_x_forwarded_for_behind_a_trusted_proxy(cast, owner_client):
    owner_client.post(SETTINGS_URL, {"hold_minutes": "25"}, **FORWARDED)
    # One trusted proxy: the address it saw is the right-most entry; the left ones are forgeable.
    assert _last_settings_change().ip == "203.0.113.50"


@override_settings(CHORUS_TRUSTED_PROXY_COUNT=1)
def test_it_falls_back_to_remote_addr_when_the_forwarded_header_is_garbage(cast, owner_client):
    owner_client.post(
        SETTINGS_URL, {"hold_minutes": "30"}, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="nope"
    )
    assert _last_settings_change().ip == "10.0.0.5"


def test_it_records_no_ip_outside_a_request(cast):
    event = audit.record("test.engine", workspace=cast.workspace)
    raw = audit.record_raw("test.raw", workspace_id=cast.workspace.pk, object_type="x", object_id="1")
    assert event.ip is None and raw.ip is None


def test_it_shows_the_ip_on_the_audit_page_and_in_the_csv(cast, owner_client):
    owner_client.post(SETTINGS_URL, {"hold_minutes": "15"}, REMOTE_ADDR="203.0.113.7")
    url = reverse("approvals:audit", kwargs={"slug": "campaign"})
    assert "203.0.113.7" in owner_client.get(url).content.decode()
    response = owner_client.get(url, {"action": "approvals.settings_changed", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "ip"
    assert rows[1][-1] == "203.0.113.7"


def test_it_keeps_audit_events_read_only_in_the_admin(cast):
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = cast.owner
    event = audit.record("test.x", workspace=cast.workspace)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
