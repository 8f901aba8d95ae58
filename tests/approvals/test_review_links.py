from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.approvals import actions as approvals
from chorus.approvals.models import Decision, ReviewLink, Step
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent, Notification
from chorus.publishing import actions
from tests.approvals.conftest import make_target

S = PostTarget.Status


@pytest.fixture
def submitted(cast, sink_channel):
    target = make_target(cast, sink_channel, text="Story of Amina")
    actions.submit_for_review(target, actor=cast.members["editor"])
    return target


def _url(raw: str) -> str:
    return reverse("approvals:outside_review", kwargs={"token": raw})


def test_it_shows_the_post_to_a_valid_link_and_audits_the_view(cast, submitted):
    link, raw = approvals.issue_link(submitted, actor=cast.members["editor"], name="Partner NGO")
    assert link.token_hash != raw and raw not in str(ReviewLink.objects.values_list().get())
    response = Client().get(_url(raw))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Story of Amina" in body and "Sink" in body and "Partner NGO" in body
    assert response["Referrer-Policy"] == "same-origin"
    event = AuditEvent.objects.get(action="review_link.viewed")
    assert event.workspace == cast.workspace and event.data["link"] == link.pk and event.data["ip"]


def test_it_refuses_a_tampered_link(cast, submitted):
    _link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    response = Client().get(_url(tampered))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert Client().post(_url(tampered), {"decision": "approve"}).status_code == 404
    assert PostTarget.objects.get(pk=submitted.pk).status == S.IN_REVIEW


def test_it_refuses_an_expired_link_and_audits_the_refusal(cast, submitted):
    link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client", days=1)
    ReviewLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().post(_url(raw), {"decision": "approve"})
    assert response.status_code == 404 and "expired" in response.content.decode()
    assert AuditEvent.objects.filter(action="review_link.refused", data__why="expired").count() == 1
    assert not Decision.objects.exists()


def test_it_refuses_a_revoked_link_and_audits_both(cast, submitted, owner_client):
    link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    response = owner_client.post(
        reverse("approvals:link_revoke", kwargs={"slug": "campaign", "link_id": link.pk})
    )
    assert response.status_code == 302
    response = Client().get(_url(raw))
    assert response.status_code == 404 and "withdrawn" in response.content.decode()
    actions_logged = list(
        AuditEvent.objects.filter(action__startswith="review_link").values_list("action", flat=True)
    )
    assert actions_logged == ["review_link.issued", "review_link.revoked", "review_link.refused"]


def test_it_lets_an_outside_reviewer_send_the_post_back_with_a_note(cast, submitted):
    _link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    client = Client()
    response = client.post(_url(raw), {"decision": "reject", "comment": "Not her real name"})
    assert response.status_code == 200
    target = PostTarget.objects.get(pk=submitted.pk)
    assert target.status == S.DRAFT and "Not her real name" in target.error_message
    decision = Decision.objects.get(verdict="reject")
    assert decision.actor is None and decision.outside_name == "Client"
    assert Notification.objects.filter(user=cast.members["editor"], kind="approval_rejected").exists()
    assert AuditEvent.objects.filter(action="review_link.reject", data__comment="Not her real name").exists()


def test_it_completes_a_step_that_accepts_outside_approval(cast, sink_channel):
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Client sign-off",
        applies_to="everyone",
        steps=[{"name": "Client", "role": "admin", "rule": Step.Rule.ALL, "allow_outside": True}],
    )
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    _link, raw = approvals.issue_link(target, actor=cast.owner, name="Client")
    Client().post(_url(raw), {"decision": "approve", "comment": "Lovely"})
    assert PostTarget.objects.get(pk=target.pk).status == S.APPROVED
    assert Decision.objects.get(verdict="approve").outside_name == "Client"


def test_it_records_an_outside_approval_as_advice_when_the_step_needs_the_team(cast, sink_channel, two_step):
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.members["editor"])
    _link, raw = approvals.issue_link(target, actor=cast.owner, name="Client")
    Client().post(_url(raw), {"decision": "approve"})
    assert PostTarget.objects.get(pk=target.pk).status == S.IN_REVIEW
    assert Decision.objects.filter(verdict="approve", outside_name="Client").count() == 1


def test_it_requires_a_note_for_comments(cast, submitted):
    _link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    response = Client().post(_url(raw), {"decision": "comment", "comment": ""})
    assert "a few words" in response.content.decode()
    Client().post(_url(raw), {"decision": "comment", "comment": "Add the photographer"})
    assert Decision.objects.get().verdict == "comment"
    assert Notification.objects.filter(kind="outside_comment", user=cast.members["editor"]).exists()


def test_it_issues_a_link_from_the_approval_page_and_shows_it_once(cast, submitted, owner_client):
    page = reverse("approvals:target", kwargs={"slug": "campaign", "target_id": submitted.pk})
    response = owner_client.post(
        reverse("approvals:link_issue", kwargs={"slug": "campaign", "target_id": submitted.pk}),
        {"name": "Partner", "days": "3"},
    )
    assert response.status_code == 302
    first = owner_client.get(page).content.decode()
    assert "/review/chr_" in first
    assert "/review/chr_" not in owner_client.get(page).content.decode()


def test_it_refuses_another_workspaces_link_id(cast, submitted):
    link, _raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    outsider = cast.client_for(cast.outsider)
    response = outsider.post(
        reverse("approvals:link_revoke", kwargs={"slug": "elsewhere", "link_id": link.pk})
    )
    assert response.status_code == 404
    assert ReviewLink.objects.get(pk=link.pk).revoked_at is None


def test_it_serves_the_posts_own_media_to_the_link_and_nothing_outside_media_root(
    cast, submitted, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "ws").mkdir(parents=True)
    (tmp_path / "media" / "ws" / "photo.png").write_bytes(b"\x89PNG-bytes")
    (tmp_path / "secret.txt").write_text("nope")
    PostTarget.objects.filter(pk=submitted.pk).update(
        media=[{"path": "ws/photo.png", "alt": "Amina at the well"}, {"path": "../secret.txt", "alt": ""}]
    )
    _link, raw = approvals.issue_link(submitted, actor=cast.owner, name="Client")
    page = Client().get(_url(raw)).content.decode()
    assert 'alt="Amina at the well"' in page
    photo = Client().get(reverse("approvals:outside_media", kwargs={"token": raw, "index": 0}))
    assert photo.status_code == 200 and b"".join(photo.streaming_content) == b"\x89PNG-bytes"
    assert (
        Client().get(reverse("approvals:outside_media", kwargs={"token": raw, "index": 1})).status_code == 404
    )
    assert (
        Client().get(reverse("approvals:outside_media", kwargs={"token": raw + "x", "index": 0})).status_code
        == 404
    )
