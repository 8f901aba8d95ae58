"""Accounts: sign-in throttled and locked per account and per address, reset requests
throttled, API tokens that die with a password change/reset, a removal or their expiry,
invitations only for their address, and no `testserver` in the default ALLOWED_HOSTS."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from chorus.accounts import actions
from chorus.accounts.models import ApiToken, Invitation, Membership
from chorus.accounts.permissions import Role
from chorus.core.models import AuditEvent
from tests.conftest import PASSWORD, Cast, make_user
from tests.security.budget import REPO

LOGIN = "/accounts/login/"


def _login(client: Client, email: str, password: str, address: str = "198.51.100.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_fifty_wrong_passwords_lock_the_account_even_for_the_right_one(cast: Cast):
    client = Client()
    email = cast.owner.email
    for attempt in range(50):
        response = _login(client, email, f"wrong {attempt}", address=f"198.51.100.{attempt + 1}")
        assert response.status_code == 200
    response = _login(client, email, PASSWORD, address="203.0.113.99")
    assert response.status_code == 200, "the right password must not sign in while locked"
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="accounts.login_locked").exists()


def test_one_address_trying_many_accounts_is_locked(cast: Cast):
    client = Client()
    for n in range(20):
        _login(client, f"guess{n}@example.org", "nope", address="198.51.100.50")
    response = _login(client, cast.owner.email, PASSWORD, address="198.51.100.50")
    assert "Too many failed sign-ins" in response.content.decode()
    # Another address still signs the same account in.
    response = _login(Client(), cast.owner.email, PASSWORD, address="198.51.100.51")
    assert response.status_code == 302


def test_a_success_clears_the_account_count(cast: Cast):
    client = Client()
    for n in range(4):
        _login(client, cast.owner.email, f"wrong {n}")
    assert _login(client, cast.owner.email, PASSWORD).status_code == 302
    for n in range(4):
        _login(Client(), cast.owner.email, f"wrong again {n}")
    assert _login(Client(), cast.owner.email, PASSWORD).status_code == 302


def test_password_reset_requests_are_throttled(cast: Cast):
    client = Client()
    url = reverse("password_reset")
    for _ in range(8):
        response = client.post(url, {"email": cast.owner.email}, REMOTE_ADDR="198.51.100.9")
    assert len(mail.outbox) == 5
    assert response.status_code == 200
    assert "Too many reset requests. Try again in" in response.content.decode()


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_a_password_reset_revokes_api_tokens(cast: Cast):
    user = cast.owner
    _token, raw = ApiToken.issue(user, "ci")
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 200
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    client = Client()
    url = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    form_url = client.get(url).url  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "a new long passphrase 42", "new_password2": "a new long passphrase 42"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 401
    assert AuditEvent.objects.filter(action="api_tokens.revoked", data__reason="password_reset").exists()


def test_a_password_change_revokes_api_tokens(cast: Cast):
    _token, raw = ApiToken.issue(cast.owner, "ci")
    client = cast.client_for(cast.owner)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert response.status_code == 302
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 401


def test_removal_from_the_organization_revokes_api_tokens(cast: Cast):
    editor = cast.members[Role.EDITOR]
    _token, raw = ApiToken.issue(editor, "ci")
    membership = Membership.objects.get(user=editor, workspace=cast.workspace)
    response = cast.client_for(cast.owner).post(
        reverse("member_remove", kwargs={"slug": cast.workspace.slug, "member_id": membership.pk})
    )
    assert response.status_code == 302
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 401


def test_an_expired_token_is_refused(cast: Cast):
    _token, raw = ApiToken.issue(cast.owner, "short", timezone.now() - dt.timedelta(seconds=1))
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 401
    _token, raw = ApiToken.issue(cast.owner, "long", timezone.now() + dt.timedelta(days=30))
    assert Client().get("/api/me", headers=_bearer(raw)).status_code == 200


def test_the_token_page_sets_an_expiry(cast: Cast):
    response = cast.client_for(cast.owner).post(
        reverse("api_tokens"), {"name": "ci", "expires_in_days": "30"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=cast.owner, name="ci")
    assert token.expires_at is not None
    assert 29 <= (token.expires_at - timezone.now()).days <= 30


def test_an_invitation_cannot_be_accepted_by_another_signed_in_user(cast: Cast):
    _invitation, raw = actions.invite_member(
        workspace=cast.workspace,
        email="x@example.org",
        role=Role.EDITOR,
        actor_membership=Membership.objects.get(user=cast.owner, workspace=cast.workspace),
    )
    intruder = cast.client_for(cast.outsider)
    url = reverse("accept_invitation", args=[raw])
    assert intruder.get(url).status_code == 403
    response = intruder.post(url)
    assert response.status_code == 403
    assert "sign in as x@example.org" in response.content.decode()
    assert not Membership.objects.filter(user=cast.outsider, workspace=cast.workspace).exists()
    assert Invitation.objects.get(email="x@example.org").accepted_at is None
    # The invited address itself still can.
    invited = make_user("x@example.org")
    client = Client()
    client.force_login(invited)
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(user=invited, workspace=cast.workspace).exists()


def test_allowed_hosts_default_has_no_testserver():
    env = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    env["PYTHONPATH"] = str(REPO / "src")
    out = subprocess.run(
        [sys.executable, "-c", "import chorus.settings as s; print(s.ALLOWED_HOSTS)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert out.strip() == "['127.0.0.1', 'localhost']"
