"""Contributor magic links expire (default and maximum from settings), are listed and revoked
in the UI and the API, and every use is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.accounts.models import ApiToken
from chorus.approvals import intake
from chorus.approvals.models import Contributor
from chorus.core.models import AuditEvent


def _page(raw: str):
    return Client().get(f"/contribute/{raw}/")


def test_a_link_expires_after_the_default_lifetime(cast, settings):
    settings.CHORUS_CONTRIBUTOR_LINK_DAYS = 7
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Ana")
    assert 6 <= (contributor.expires_at - timezone.now()).days <= 7
    assert _page(raw).status_code == 200
    Contributor.objects.filter(pk=contributor.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = _page(raw)
    assert response.status_code == 404
    assert "not valid any more" in response.content.decode()
    assert AuditEvent.objects.filter(action="contributor.link_refused", data__why="expired").exists()


def test_a_link_made_before_expiry_existed_ends_too(cast):
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Old")
    Contributor.objects.filter(pk=contributor.pk).update(
        expires_at=None, created_at=timezone.now() - dt.timedelta(days=365)
    )
    assert _page(raw).status_code == 404


def test_the_lifetime_cannot_exceed_the_maximum(cast, settings):
    settings.CHORUS_CONTRIBUTOR_LINK_MAX_DAYS = 30
    with pytest.raises(intake.IntakeRefused, match="from 1 to 30 days"):
        intake.invite(cast.workspace, actor=cast.owner, name="Ana", days=31)


def test_every_use_is_audited(cast):
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Ana")
    Client().get(f"/contribute/{raw}/", REMOTE_ADDR="198.51.100.20")
    Client().post(
        f"/contribute/{raw}/", {"title": "T", "text": "A story", "consent": "on"}, REMOTE_ADDR="198.51.100.21"
    )
    uses = AuditEvent.objects.filter(action="contributor.link_used", object_id=str(contributor.pk))
    assert sorted(e.data["use"] for e in uses) == ["submit", "view"]
    assert {e.ip for e in uses} == {"198.51.100.20", "198.51.100.21"}


def test_links_are_listed_and_revoked_in_the_ui(cast):
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Ana")
    client = cast.client_for(cast.owner)
    page = client.get(reverse("approvals:intake", kwargs={"slug": cast.workspace.slug})).content.decode()
    assert f'data-contributor="{contributor.pk}"' in page and contributor.hint in page
    response = client.post(
        reverse(
            "approvals:contributor_revoke",
            kwargs={"slug": cast.workspace.slug, "contributor_id": contributor.pk},
        )
    )
    assert response.status_code == 302
    assert _page(raw).status_code == 404
    assert AuditEvent.objects.filter(action="contributor.revoked", object_id=str(contributor.pk)).exists()


def test_links_are_listed_and_revoked_in_the_api(cast):
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Ana")
    _token, token = ApiToken.issue(cast.owner, "t")
    headers = {"Authorization": f"Bearer {token}"}
    listed = Client().get("/api/workspaces/campaign/contributors", headers=headers)
    assert listed.status_code == 200
    assert [(c["id"], c["active"]) for c in listed.json()] == [(contributor.pk, True)]
    revoked = Client().post(f"/api/workspaces/campaign/contributors/{contributor.pk}/revoke", headers=headers)
    assert revoked.status_code == 204
    assert _page(raw).status_code == 404
    assert Client().get("/api/workspaces/campaign/contributors", headers=headers).json()[0]["active"] is False
    # Another workspace's link is a 404.
    other, _raw = intake.invite(cast.other_workspace, actor=None, name="Elsewhere")
    assert (
        Client().post(f"/api/workspaces/campaign/contributors/{other.pk}/revoke", headers=headers).status_code
        == 404
    )
