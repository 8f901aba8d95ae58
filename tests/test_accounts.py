"""Accounts: invitations, roles and members, the audit log, API tokens, password reset, language,
time zones and who may create workspaces. Driven through the web views, as people use them."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.accounts import actions
from chorus.accounts.models import ApiToken, Invitation, Membership, Organization, User, Workspace
from chorus.accounts.permissions import Role
from chorus.core.models import AuditEvent
from tests.conftest import PASSWORD, Cast, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long pass phrase 42"


def _audit(workspace: Workspace | None, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(workspace=workspace, action=action).order_by("at", "pk"))


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- invitations ------------------------------------------------------------------------------


def _invite(
    cast: Cast, capture, email: str = "newcomer@example.org", role: str = Role.EDITOR, by=None
) -> str:  # type: ignore[no-untyped-def]
    """Invites through the members page; returns the link path from the email that was sent."""
    client = cast.client_for(by or cast.owner)
    sent_before = len(mail.outbox)
    with capture(execute=True):  # the email goes out on commit
        response = client.post(
            reverse("member_invite", args=[cast.workspace.slug]), {"email": email, "role": role}, follow=True
        )
    assert response.status_code == 200
    assert len(mail.outbox) == sent_before + 1, _messages(response)
    message = mail.outbox[-1]
    assert message.to == [email.lower()]
    assert cast.workspace.name in message.subject
    links = re.findall(r"https?://\S+/invite/\S+/", message.body)
    assert len(links) == 1, message.body
    return "/" + links[0].split("/", 3)[3]


def test_it_emails_an_invitation_link_and_stores_only_its_hash(
    cast: Cast, django_capture_on_commit_callbacks
):
    path = _invite(cast, django_capture_on_commit_callbacks, email="Newcomer@Example.org")

    invitation = Invitation.objects.get(workspace=cast.workspace)
    raw = path.rstrip("/").rsplit("/", 1)[1]
    assert invitation.email == "newcomer@example.org"
    assert invitation.role == Role.EDITOR
    assert invitation.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(Invitation.objects.values().get())
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=13)
    assert mail.outbox[-1].body.startswith(f"{cast.owner.display_name} invites you")
    [event] = _audit(cast.workspace, "member.invited")
    assert event.actor == cast.owner
    assert event.data == {"email": "newcomer@example.org", "role": "editor"}


def test_it_lets_a_new_person_create_an_account_from_the_link(cast: Cast, django_capture_on_commit_callbacks):
    path = _invite(cast, django_capture_on_commit_callbacks, role=Role.APPROVER)
    client = Client()

    page = client.get(path)
    assert page.status_code == 200
    assert "Create my account and join" in page.content.decode()

    response = client.post(path, {"name": "Nina Newcomer", "password": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("workspace_home", args=[cast.workspace.slug])
    user = User.objects.get(email="newcomer@example.org")
    assert user.name == "Nina Newcomer"
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(workspace=cast.workspace, user=user).role == Role.APPROVER
    home = client.get(response["Location"])  # signed in as the new user
    assert home.status_code == 200
    assert home.wsgi_request.user == user
    [joined] = _audit(cast.workspace, "member.joined")
    assert joined.actor == user
    assert joined.data == {"role": "approver", "via": "invitation"}
    assert Invitation.objects.get().accepted_at is not None


def test_it_refuses_a_weak_password_when_signing_up_from_a_link(
    cast: Cast, django_capture_on_commit_callbacks
):
    path = _invite(cast, django_capture_on_commit_callbacks)

    response = Client().post(path, {"name": "Nina", "password": "1234567890"})

    assert response.status_code == 200
    assert response.context["signup_form"].errors["password"]
    assert not User.objects.filter(email="newcomer@example.org").exists()
    assert Invitation.objects.get().is_pending


def test_it_makes_an_existing_user_sign_in_before_joining(cast: Cast, django_capture_on_commit_callbacks):
    existing = make_user("known@example.org", name="Known")
    path = _invite(cast, django_capture_on_commit_callbacks, email="known@example.org", role=Role.VIEWER)
    client = Client()

    page = client.get(path).content.decode()
    assert "Sign in to accept" in page
    assert "Create my account" not in page
    # Posting without signing in neither creates an account nor joins.
    client.post(path, {"name": "Impostor", "password": NEW_PASSWORD})
    assert not Membership.objects.filter(user=existing, workspace=cast.workspace).exists()
    assert existing.name == User.objects.get(pk=existing.pk).name

    signed_in = client.post(
        f"{reverse('login')}?next={path}", {"username": "known@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == path
    assert "Accept the invitation" in client.get(path).content.decode()
    joined = client.post(path)

    assert joined.status_code == 302
    assert Membership.objects.get(user=existing, workspace=cast.workspace).role == Role.VIEWER
    assert _audit(cast.workspace, "member.joined")[0].actor == existing


def _assert_refused(path: str) -> None:
    for client in (Client(), Client()):
        response = client.get(path)
        assert response.status_code == 404
        assert "This invitation cannot be used" in response.content.decode()
    assert Client().post(path, {"name": "X", "password": NEW_PASSWORD}).status_code == 404


def test_it_refuses_an_expired_link(cast: Cast, django_capture_on_commit_callbacks):
    path = _invite(cast, django_capture_on_commit_callbacks)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    _assert_refused(path)
    assert not User.objects.filter(email="newcomer@example.org").exists()


def test_it_refuses_a_revoked_link(cast: Cast, django_capture_on_commit_callbacks):
    path = _invite(cast, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()

    response = cast.client_for(cast.members[Role.ADMIN]).post(
        reverse("invitation_revoke", args=[cast.workspace.slug, invitation.pk])
    )

    assert response.status_code == 302
    _assert_refused(path)
    [event] = _audit(cast.workspace, "member.invitation_revoked")
    assert event.actor == cast.members[Role.ADMIN]
    assert event.object_id == str(invitation.pk)


def test_it_refuses_a_link_that_was_already_used(cast: Cast, django_capture_on_commit_callbacks):
    path = _invite(cast, django_capture_on_commit_callbacks)
    assert Client().post(path, {"name": "First", "password": NEW_PASSWORD}).status_code == 302

    _assert_refused(path)
    # Even a signed-in user cannot reuse it.
    assert cast.client_for(cast.outsider).post(path).status_code == 404
    assert not Membership.objects.filter(user=cast.outsider, workspace=cast.workspace).exists()
    assert len(_audit(cast.workspace, "member.joined")) == 1


def test_it_revokes_the_first_invitation_when_a_second_is_sent(
    cast: Cast, django_capture_on_commit_callbacks
):
    first = _invite(cast, django_capture_on_commit_callbacks, role=Role.VIEWER)
    second = _invite(cast, django_capture_on_commit_callbacks, role=Role.EDITOR)

    _assert_refused(first)
    assert Client().post(second, {"name": "Nina", "password": NEW_PASSWORD}).status_code == 302
    assert Membership.objects.get(user__email="newcomer@example.org").role == Role.EDITOR
    assert Invitation.objects.filter(revoked_at__isnull=False).count() == 1


def test_it_refuses_to_invite_an_existing_member(cast: Cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client_for(cast.owner).post(
            reverse("member_invite", args=[cast.workspace.slug]),
            {"email": "VIEWER@example.org", "role": Role.EDITOR},
            follow=True,
        )

    assert "viewer@example.org is already a member of this workspace." in _messages(response)
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_lets_an_admin_invite_anyone_but_an_owner(cast: Cast, django_capture_on_commit_callbacks):
    admin = cast.members[Role.ADMIN]
    _invite(cast, django_capture_on_commit_callbacks, role=Role.ADMIN, by=admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client_for(admin).post(
            reverse("member_invite", args=[cast.workspace.slug]),
            {"email": "boss@example.org", "role": Role.OWNER},
            follow=True,
        )

    assert any("You cannot give the role" in m for m in _messages(response))
    assert not Invitation.objects.filter(email="boss@example.org").exists()
    assert len(mail.outbox) == 1


# --- roles and members --------------------------------------------------------------------------


def _change_role(cast: Cast, actor: User, target: User, role: str):  # type: ignore[no-untyped-def]
    member = Membership.objects.get(workspace=cast.workspace, user=target)
    return cast.client_for(actor).post(
        reverse("member_role", args=[cast.workspace.slug, member.pk]), {"role": role}, follow=True
    )


def _role_of(cast: Cast, user: User) -> str:
    return Membership.objects.get(workspace=cast.workspace, user=user).role


def test_it_changes_a_role_and_audits_it(cast: Cast):
    editor = cast.members[Role.EDITOR]

    response = _change_role(cast, cast.members[Role.ADMIN], editor, Role.APPROVER)

    assert "Role changed." in _messages(response)
    assert _role_of(cast, editor) == Role.APPROVER
    [event] = _audit(cast.workspace, "member.role_changed")
    assert event.actor == cast.members[Role.ADMIN]
    assert event.data == {"user": editor.email, "old": "editor", "new": "approver"}


def test_it_does_not_let_an_admin_make_an_owner(cast: Cast):
    editor = cast.members[Role.EDITOR]

    response = _change_role(cast, cast.members[Role.ADMIN], editor, Role.OWNER)

    assert any("You cannot give the role" in m for m in _messages(response))
    assert _role_of(cast, editor) == Role.EDITOR
    assert _audit(cast.workspace, "member.role_changed") == []


def test_it_does_not_let_an_admin_touch_an_owner(cast: Cast):
    admin = cast.members[Role.ADMIN]

    demoted = _change_role(cast, admin, cast.owner, Role.VIEWER)
    removed = cast.client_for(admin).post(
        reverse(
            "member_remove",
            args=[cast.workspace.slug, Membership.objects.get(workspace=cast.workspace, user=cast.owner).pk],
        ),
        follow=True,
    )

    assert "Only an owner can change another owner's role." in _messages(demoted)
    assert "Only an owner can remove an owner." in _messages(removed)
    assert _role_of(cast, cast.owner) == Role.OWNER
    assert _audit(cast.workspace, "member.role_changed") == []
    assert _audit(cast.workspace, "member.removed") == []


def test_it_lets_an_owner_make_another_owner_then_step_down(cast: Cast):
    admin = cast.members[Role.ADMIN]
    _change_role(cast, cast.owner, admin, Role.OWNER)
    assert _role_of(cast, admin) == Role.OWNER

    response = _change_role(cast, cast.owner, cast.owner, Role.EDITOR)

    assert "Role changed." in _messages(response)
    assert _role_of(cast, cast.owner) == Role.EDITOR


def test_it_keeps_the_last_owner(cast: Cast):
    owner = cast.owner
    membership = Membership.objects.get(workspace=cast.workspace, user=owner)

    demoted = _change_role(cast, owner, owner, Role.ADMIN)
    removed = cast.client_for(owner).post(
        reverse("member_remove", args=[cast.workspace.slug, membership.pk]), follow=True
    )

    assert "A workspace needs at least one owner." in _messages(demoted)
    assert "A workspace needs at least one owner." in _messages(removed)
    assert _role_of(cast, owner) == Role.OWNER
    with pytest.raises(ValidationError):
        actions.remove_member(membership=membership, actor_membership=membership)


def test_it_removes_a_member_and_audits_it(cast: Cast):
    editor = cast.members[Role.EDITOR]
    membership = Membership.objects.get(workspace=cast.workspace, user=editor)

    response = cast.client_for(cast.members[Role.ADMIN]).post(
        reverse("member_remove", args=[cast.workspace.slug, membership.pk]), follow=True
    )

    assert f"{editor.display_name} was removed." in _messages(response)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=editor.pk).exists()  # the account stays; only the membership goes
    [event] = _audit(cast.workspace, "member.removed")
    assert event.actor == cast.members[Role.ADMIN]
    assert event.data == {"user": editor.email, "role": "editor"}
    # The removed person is now an outsider: the workspace is a 404 for them.
    assert (
        cast.client_for(editor).get(reverse("workspace_home", args=[cast.workspace.slug])).status_code == 404
    )


def test_it_lets_a_member_leave_and_sends_them_home(cast: Cast):
    admin = cast.members[Role.ADMIN]
    membership = Membership.objects.get(workspace=cast.workspace, user=admin)

    response = cast.client_for(admin).post(
        reverse("member_remove", args=[cast.workspace.slug, membership.pk])
    )

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_it_does_not_let_an_editor_manage_members(cast: Cast):
    viewer = cast.members[Role.VIEWER]
    client = cast.client_for(cast.members[Role.EDITOR])
    member_id = Membership.objects.get(workspace=cast.workspace, user=viewer).pk

    assert (
        client.post(
            reverse("member_role", args=[cast.workspace.slug, member_id]), {"role": "admin"}
        ).status_code
        == 403
    )
    assert client.post(reverse("member_remove", args=[cast.workspace.slug, member_id])).status_code == 403
    assert _role_of(cast, viewer) == Role.VIEWER


def test_it_cannot_reach_a_member_of_another_workspace(cast: Cast):
    outsider_membership = Membership.objects.get(user=cast.outsider)

    response = cast.client_for(cast.owner).post(
        reverse("member_remove", args=[cast.workspace.slug, outsider_membership.pk])
    )

    assert response.status_code == 404
    assert Membership.objects.filter(pk=outsider_membership.pk).exists()


# --- API tokens -------------------------------------------------------------------------------


def test_it_shows_a_new_api_token_once_and_stores_only_its_sha256(cast: Cast):
    client = cast.client_for(cast.owner)

    created = client.post(reverse("api_tokens"), {"name": "reporting"})

    raw = re.search(r'<code id="new-token">([^<]+)</code>', created.content.decode()).group(1)  # type: ignore[union-attr]
    assert raw.startswith("chorus_")
    token = ApiToken.objects.get(user=cast.owner)
    assert token.name == "reporting"
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.hint == raw[-6:]
    assert raw not in str(ApiToken.objects.values().get())
    later = client.get(reverse("api_tokens")).content.decode()
    assert raw not in later
    assert f"…{token.hint}" in later
    me = Client().get("/api/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.json()["email"] == cast.owner.email
    assert ApiToken.objects.get().last_used_at is not None


def test_it_refuses_a_revoked_api_token(cast: Cast):
    token, raw = ApiToken.issue(cast.owner, "ci")
    bearer = {"Authorization": f"Bearer {raw}"}
    assert Client().get("/api/me", headers=bearer).status_code == 200

    response = cast.client_for(cast.owner).post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 302
    assert Client().get("/api/me", headers=bearer).status_code == 401
    assert Client().get("/api/workspaces", headers=bearer).status_code == 401
    # Revoking twice is a 404, not a second write.
    assert cast.client_for(cast.owner).post(reverse("api_token_revoke", args=[token.pk])).status_code == 404


def test_it_refuses_an_unknown_api_token(db):
    assert Client().get("/api/me", headers={"Authorization": "Bearer chorus_nope"}).status_code == 401


def test_it_does_not_let_a_user_revoke_another_users_token(cast: Cast):
    token, raw = ApiToken.issue(cast.owner, "mine")

    response = cast.client_for(cast.outsider).post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert Client().get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


# --- password reset ---------------------------------------------------------------------------


def test_it_resets_a_password_through_the_emailed_link(cast: Cast):
    client = Client()

    response = client.post(reverse("password_reset"), {"email": cast.owner.email})

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == [cast.owner.email]
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/\S+/)", message.body).group(1)  # type: ignore[union-attr]
    set_password_page = client.get(link, follow=True)
    assert set_password_page.status_code == 200
    assert set_password_page.context["validlink"] is True
    done = client.post(
        set_password_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert User.objects.get(pk=cast.owner.pk).check_password(NEW_PASSWORD)
    assert Client().login(username=cast.owner.email, password=NEW_PASSWORD)
    # The link works once.
    assert client.get(link, follow=True).context["validlink"] is False


def test_it_sends_no_reset_email_for_an_unknown_address_without_saying_so(db):
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.org"})

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# --- language ---------------------------------------------------------------------------------

# Strings Django itself translates (django.contrib.auth's password change form), so these tests
# do not depend on our own French catalog being complete.
OLD_PASSWORD_EN, OLD_PASSWORD_FR = "Old password", "Ancien mot de passe"


def test_it_saves_the_chosen_language_and_renders_pages_in_it(cast: Cast):
    editor = cast.members[Role.EDITOR]
    client = cast.client_for(editor)
    assert OLD_PASSWORD_EN in client.get(reverse("password_change")).content.decode()

    response = client.post(reverse("switch_language"), {"language": "fr", "next": reverse("password_change")})

    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    assert User.objects.get(pk=editor.pk).language == "fr"
    page = client.get(reverse("password_change")).content.decode()
    assert '<html lang="fr">' in page
    assert OLD_PASSWORD_FR in page
    # Another browser, no language cookie: the saved choice still wins over Accept-Language.
    fresh = cast.client_for(editor).get(reverse("password_change"), headers={"Accept-Language": "en"})
    assert OLD_PASSWORD_FR in fresh.content.decode()


def test_it_ignores_an_unknown_language(cast: Cast):
    client = cast.client_for(cast.owner)

    client.post(reverse("switch_language"), {"language": "xx"})

    assert User.objects.get(pk=cast.owner.pk).language == ""
    assert OLD_PASSWORD_EN in client.get(reverse("password_change")).content.decode()


def test_it_renders_the_login_page_in_the_browsers_language(db):
    page = Client().get(reverse("login"), headers={"Accept-Language": "fr"}).content.decode()

    assert '<html lang="fr">' in page
    assert "Mot de passe" in page  # the password field label, translated by Django


# --- time zones -------------------------------------------------------------------------------


def test_it_saves_a_workspace_time_zone_and_refuses_a_non_iana_one(cast: Cast):
    client = cast.client_for(cast.owner)
    url = reverse("workspace_settings", args=[cast.workspace.slug])
    form = {"name": "Campaign", "late_tolerance_minutes": 15}

    refused = client.post(url, {**form, "timezone": "Mars/Olympus_Mons"})
    saved = client.post(url, {**form, "timezone": "America/Sao_Paulo"})

    assert refused.status_code == 200 and "timezone" in refused.context["form"].errors
    assert saved.status_code == 302
    assert Workspace.objects.get(pk=cast.workspace.pk).timezone == "America/Sao_Paulo"
    [event] = _audit(cast.workspace, "workspace.updated")
    assert event.data == {"changed": ["timezone"]}
    with pytest.raises(ValidationError):
        actions.update_workspace(workspace=cast.workspace, actor=cast.owner, timezone="Mars/Olympus_Mons")
    assert Workspace.objects.get(pk=cast.workspace.pk).timezone == "America/Sao_Paulo"


def test_it_saves_a_user_time_zone_and_refuses_a_non_iana_one(cast: Cast):
    user = cast.members[Role.VIEWER]
    client = cast.client_for(user)
    form = {"name": "Vi", "language": ""}

    refused = client.post(reverse("profile"), {**form, "timezone": "GMT+25"})
    saved = client.post(reverse("profile"), {**form, "timezone": "Asia/Kolkata"})

    assert refused.status_code == 200 and "timezone" in refused.context["form"].errors
    assert saved.status_code == 302
    assert User.objects.get(pk=user.pk).timezone == "Asia/Kolkata"
    with pytest.raises(ValidationError):
        actions.update_profile(user=user, name="Vi", language="", timezone_name="Nowhere/Special")


# --- creating workspaces ----------------------------------------------------------------------


def test_it_lets_staff_create_a_workspace_in_a_new_organization(db):
    staff = make_user("staff@example.org", is_staff=True)
    client = Client()
    client.force_login(staff)

    response = client.post(
        reverse("workspace_create"),
        {"new_organization": "Fresh NGO", "name": "Launch", "timezone": "Africa/Nairobi"},
    )

    workspace = Workspace.objects.get(name="Launch")
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace_home", args=[workspace.slug])
    assert workspace.organization.name == "Fresh NGO"
    assert workspace.timezone == "Africa/Nairobi"
    assert Membership.objects.get(workspace=workspace).user == staff
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert [e.actor for e in _audit(None, "organization.created")] == [staff]
    assert [e.actor for e in _audit(workspace, "workspace.created")] == [staff]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_it_refuses_workspace_creation_to_a_user_who_owns_no_workspace(cast: Cast, role: Role):
    client = cast.client_for(cast.members[role])
    form = {"organization": cast.workspace.organization.pk, "name": "Mine", "timezone": "UTC"}

    assert client.get(reverse("workspace_create")).status_code == 403
    assert client.post(reverse("workspace_create"), form).status_code == 403
    assert not Workspace.objects.filter(name="Mine").exists()


def test_it_lets_an_organization_owner_add_a_workspace_there_only(cast: Cast):
    client = cast.client_for(cast.owner)
    url = reverse("workspace_create")
    org = cast.workspace.organization

    page = client.get(url).content.decode()
    other_org = client.post(
        url, {"organization": cast.other_workspace.organization.pk, "name": "Theirs", "timezone": "UTC"}
    )
    new_org = client.post(url, {"new_organization": "My own NGO", "name": "Rogue", "timezone": "UTC"})
    mine = client.post(url, {"organization": org.pk, "name": "Second campaign", "timezone": "Europe/Paris"})

    assert "new_organization" not in page
    assert other_org.status_code == 200 and "organization" in other_org.context["form"].errors
    assert new_org.status_code == 403
    assert mine.status_code == 302
    assert not Workspace.objects.filter(name__in=["Theirs", "Rogue"]).exists()
    assert not Organization.objects.filter(name="My own NGO").exists()
    created = Workspace.objects.get(name="Second campaign")
    assert created.organization == org
    assert Membership.objects.get(workspace=created).user == cast.owner
