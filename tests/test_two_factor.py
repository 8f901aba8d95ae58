"""Two-factor sign-in: TOTP against RFC 6238's vectors, enrolment, the code step (app code,
recovery code used once, wrong codes throttled), and an organization that requires it."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from chorus.accounts import actions, totp
from chorus.accounts.models import Organization, RecoveryCode, User
from chorus.accounts.permissions import Role
from chorus.core import vault
from chorus.core.models import AuditEvent
from tests.conftest import PASSWORD, Cast

# RFC 6238 appendix B: the seeds are ASCII digits repeated to the hash's block of key bytes.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "sha1", "94287082"),
    (59, "sha256", "46119246"),
    (59, "sha512", "90693936"),
    (1111111109, "sha1", "07081804"),
    (1111111109, "sha256", "68084774"),
    (1111111109, "sha512", "25091201"),
    (1111111111, "sha1", "14050471"),
    (1111111111, "sha256", "67062674"),
    (1111111111, "sha512", "99943326"),
    (1234567890, "sha1", "89005924"),
    (1234567890, "sha256", "91819424"),
    (1234567890, "sha512", "93441116"),
    (2000000000, "sha1", "69279037"),
    (2000000000, "sha256", "90698825"),
    (2000000000, "sha512", "38618901"),
    (20000000000, "sha1", "65353130"),
    (20000000000, "sha256", "77737706"),
    (20000000000, "sha512", "47863826"),
]


@pytest.mark.parametrize(("at", "digest", "expected"), VECTORS)
def test_totp_matches_the_rfc_6238_vectors(at: int, digest: str, expected: str):
    assert totp.totp(SEEDS[digest], at, digits=8, digest=digest) == expected


def test_a_code_matches_within_one_step_of_drift_and_only_after_the_last_used_step():
    secret = totp.new_secret()
    key = totp.key_of(secret)
    now = 1_800_000_000.0
    step = totp.step_at(now)
    assert totp.matching_step(secret, totp.hotp(key, step), at=now) == step
    assert totp.matching_step(secret, totp.hotp(key, step - 1), at=now) == step - 1
    assert totp.matching_step(secret, totp.hotp(key, step + 1), at=now) == step + 1
    assert totp.matching_step(secret, totp.hotp(key, step - 2), at=now) is None
    assert totp.matching_step(secret, totp.hotp(key, step), at=now, after=step) is None
    assert totp.matching_step(secret, "12345", at=now) is None
    assert totp.matching_step(secret, "abcdef", at=now) is None


def test_the_otpauth_uri_names_the_issuer_account_and_secret():
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXP", "ana@example.org", "Chorus")
    assert uri == (
        "otpauth://totp/Chorus:ana@example.org?secret=JBSWY3DPEHPK3PXP&issuer=Chorus&digits=6&period=30"
    )


# --- helpers ---------------------------------------------------------------------------------


def _code(secret: str, offset: int = 0) -> str:
    return totp.hotp(totp.key_of(secret), totp.step_at(time.time()) + offset)


def _enable(user: User) -> tuple[str, list[str]]:
    """Two-factor on for `user`, the current step used; sign-ins then use the next step's code."""
    secret = totp.new_secret()
    codes = actions.enable_two_factor(user=user, secret=secret, code=_code(secret))
    assert codes is not None
    return secret, codes


def _password_step(client: Client, user: User, next_url: str = "") -> str:
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("login"), data, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 302
    return response["Location"]


def _code_step(client: Client, code: str):
    return client.post(reverse("login_code"), {"code": code}, REMOTE_ADDR="198.51.100.20")


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_key_then_turns_on_with_a_code_and_shows_recovery_codes(
    cast: Cast,
):
    user = cast.members[Role.EDITOR]
    client = cast.client_for(user)
    page = client.get(reverse("two_factor")).content.decode()
    assert "<svg" in page and "otpauth://totp/Chorus:editor@example.org?secret=" in page
    secret = client.session["chorus_2fa_setup_secret"]
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    # A wrong code leaves it off.
    response = client.post(reverse("two_factor"), {"action": "enable", "code": "000000"})
    assert "This code does not match" in response.content.decode()
    user.refresh_from_db()
    assert not user.two_factor_enabled
    response = client.post(reverse("two_factor"), {"action": "enable", "code": _code(secret)})
    assert response.status_code == 200
    page = response.content.decode()
    user.refresh_from_db()
    assert user.two_factor_enabled
    assert vault.decrypt(user.totp_secret_encrypted) == {"secret": secret}
    assert secret not in user.totp_secret_encrypted
    stored = list(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(stored) == 10
    shown = [c.split("</code>")[0] for c in page.split("<code>")[1:]]
    assert len(shown) == 10
    for code in shown:
        assert code not in stored
        assert RecoveryCode.hash_for(user.pk, code) in stored
    assert AuditEvent.objects.filter(action="two_factor.enabled", actor=user).exists()
    # Shown once: the page now says how many are left, not which.
    page = client.get(reverse("two_factor")).content.decode()
    assert "You have 10 unused recovery codes." in page
    assert shown[0] not in page


# --- the code step ---------------------------------------------------------------------------


def test_sign_in_asks_for_a_code_after_the_password_and_a_code_works_once(cast: Cast):
    user = cast.members[Role.EDITOR]
    secret, _codes = _enable(user)
    client = Client()
    location = _password_step(client, user, next_url="/accounts/profile/")
    assert location == reverse("login_code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("profile")).status_code == 302  # not signed in yet
    code = _code(secret, offset=1)
    response = _code_step(client, code)
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("profile")).status_code == 200
    # The same code a second time (a replay, another device) is refused.
    other = Client()
    _password_step(other, user)
    response = _code_step(other, code)
    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert "_auth_user_id" not in other.session


def test_a_user_without_two_factor_signs_in_with_the_password_only(cast: Cast):
    client = Client()
    assert _password_step(client, cast.owner) == reverse(settings.LOGIN_REDIRECT_URL)
    assert client.session["_auth_user_id"] == str(cast.owner.pk)


def test_a_recovery_code_signs_in_once(cast: Cast):
    user = cast.members[Role.EDITOR]
    _secret, codes = _enable(user)
    client = Client()
    _password_step(client, user)
    response = _code_step(client, codes[3].upper().replace("-", " "))  # as read off paper
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert "You signed in with a recovery code: 9 are left." in messages
    event = AuditEvent.objects.get(action="two_factor.recovery_code_used")
    assert event.actor == user and event.data["left"] == 9
    again = Client()
    _password_step(again, user)
    response = _code_step(again, codes[3])
    assert "This code is not valid" in response.content.decode()
    assert "_auth_user_id" not in again.session


def test_wrong_codes_are_refused_and_lock_the_code_step_even_for_the_right_code(cast: Cast):
    user = cast.members[Role.EDITOR]
    secret, _codes = _enable(user)
    client = Client()
    _password_step(client, user)
    for n in range(4):
        response = _code_step(client, f"{n:06d}")
        assert "This code is not valid" in response.content.decode()
    # A right password again does not clear the code count.
    _password_step(client, user)
    response = _code_step(client, "999999")
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    response = _code_step(client, _code(secret, offset=1))
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="accounts.login_locked", data__step="code").exists()


def test_the_code_step_needs_a_recent_password_step(cast: Cast):
    user = cast.members[Role.EDITOR]
    secret, _codes = _enable(user)
    client = Client()
    response = _code_step(client, _code(secret, offset=1))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    _password_step(client, user)
    session = client.session
    session["chorus_2fa_pending"]["at"] -= 301
    session.save()
    response = _code_step(client, _code(secret, offset=1))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


# --- managing it -----------------------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones_and_turning_off_needs_the_password(cast: Cast):
    user = cast.members[Role.EDITOR]
    _secret, old_codes = _enable(user)
    client = cast.client_for(user)
    response = client.post(reverse("two_factor"), {"action": "regenerate", "r-password": PASSWORD})
    assert response.status_code == 200
    assert old_codes[0] not in response.content.decode()
    assert actions.verify_second_factor(user=user, code=old_codes[0]) is None
    response = client.post(reverse("two_factor"), {"action": "disable", "d-password": "not it"})
    assert "This is not your password." in response.content.decode()
    user.refresh_from_db()
    assert user.two_factor_enabled
    response = client.post(reverse("two_factor"), {"action": "disable", "d-password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.two_factor_enabled and user.totp_secret_encrypted == ""
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="two_factor.disabled", actor=user).exists()


# --- an organization that requires it --------------------------------------------------------


def _security_url(cast: Cast) -> str:
    return reverse("organization_security", kwargs={"slug": cast.workspace.slug})


def test_an_owner_requires_two_factor_and_members_without_it_are_sent_to_set_it_up(cast: Cast):
    owner_client = cast.client_for(cast.owner)
    # Not before the owner has it.
    response = owner_client.post(_security_url(cast), {"require": "on"}, follow=True)
    assert "Turn on two-factor sign-in for yourself first." in response.content.decode()
    assert not Organization.objects.get(pk=cast.workspace.organization_id).require_two_factor
    _enable(cast.owner)
    owner_client = cast.client_for(cast.owner)
    response = owner_client.post(_security_url(cast), {"require": "on"})
    assert response.status_code == 302
    assert Organization.objects.get(pk=cast.workspace.organization_id).require_two_factor
    assert AuditEvent.objects.filter(action="organization.two_factor_required", actor=cast.owner).exists()
    page = owner_client.get(_security_url(cast)).content.decode()
    assert "editor@example.org" in page and "owner@example.org" not in page

    editor = cast.members[Role.EDITOR]
    client = cast.client_for(editor)
    workspace_home = reverse("workspace_home", kwargs={"slug": cast.workspace.slug})
    for url in (workspace_home, reverse("home"), reverse("api_tokens")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("two_factor"), url
    assert client.post(reverse("profile"), {"name": "x"})["Location"] == reverse("two_factor")
    page = client.get(reverse("two_factor")).content.decode()
    assert "Your organization requires two-factor sign-in." in page
    secret = client.session["chorus_2fa_setup_secret"]
    client.post(reverse("two_factor"), {"action": "enable", "code": _code(secret)})
    assert client.get(workspace_home).status_code == 200
    # Required: it cannot be turned off.
    client.post(reverse("two_factor"), {"action": "disable", "d-password": PASSWORD})
    editor.refresh_from_db()
    assert editor.two_factor_enabled
    # Another organization's members are not concerned.
    assert cast.client_for(cast.outsider).get(reverse("home")).status_code == 200


def test_only_an_owner_may_require_it(cast: Cast):
    for role in (Role.ADMIN, Role.EDITOR):
        response = cast.client_for(cast.members[role]).post(_security_url(cast), {"require": "on"})
        assert response.status_code == 403
    assert not Organization.objects.get(pk=cast.workspace.organization_id).require_two_factor


def test_the_requirement_costs_no_query_of_its_own(cast: Cast):
    org = cast.workspace.organization
    org.require_two_factor = True
    org.save()
    _enable(cast.owner)
    client = cast.client_for(cast.owner)
    url = reverse("workspace_home", kwargs={"slug": cast.workspace.slug})
    client.get(url)
    with CaptureQueriesContext(connection) as with_it:
        assert client.get(url).status_code == 200
    without = [m for m in settings.MIDDLEWARE if not m.endswith("TwoFactorRequiredMiddleware")]
    with override_settings(MIDDLEWARE=without), CaptureQueriesContext(connection) as without_it:
        assert client.get(url).status_code == 200
    assert len(with_it.captured_queries) == len(without_it.captured_queries)
    # The user is loaded with the requirement in one query.
    user_queries = [q["sql"] for q in with_it.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(user_queries) == 1 and "EXISTS" in user_queries[0]


def test_key_rotation_keeps_two_factor_secrets(cast: Cast, monkeypatch: pytest.MonkeyPatch):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("CHORUS_FERNET_KEYS", old_key)
    vault.reset_cache()
    try:
        secret, _codes = _enable(cast.owner)
        monkeypatch.setenv("CHORUS_FERNET_KEYS", f"{new_key},{old_key}")
        vault.reset_cache()
        assert vault.rotate_all().rotated["users"] == 1
        monkeypatch.setenv("CHORUS_FERNET_KEYS", new_key)
        vault.reset_cache()
        user = User.objects.get(pk=cast.owner.pk)
        assert actions.verify_second_factor(user=user, code=_code(secret, offset=1)) == "totp"
    finally:
        vault.reset_cache()


# --- API tokens of members without the required two-factor ------------------------------------


def test_a_token_of_a_member_without_the_required_two_factor_is_refused_until_they_enrol(cast: Cast):
    """The pages send such a member to set it up; a personal token must not be the way around it.
    Refused with a coded 403 that says what to do, not revoked: it works again once enrolled."""
    from chorus.accounts.models import ApiToken

    editor = cast.members[Role.EDITOR]
    _token, raw = ApiToken.issue(editor, "ci")
    _outsider_token, outsider_raw = ApiToken.issue(cast.outsider, "ci")
    bearer = {"Authorization": f"Bearer {raw}"}
    channels = f"/api/workspaces/{cast.workspace.slug}/channels"
    assert Client().get("/api/me", headers=bearer).status_code == 200
    assert Client().get(channels, headers=bearer).status_code == 200

    _enable(cast.owner)
    actions.set_two_factor_required(organization=cast.workspace.organization, required=True, actor=cast.owner)

    for url in ("/api/me", channels):
        response = Client().get(url, headers=bearer)
        assert response.status_code == 403, url
        body = response.json()
        assert body["code"] == "two_factor_required"
        assert "requires two-factor sign-in" in body["message"]
        assert "/accounts/two-factor/" in body["message"]
        assert body["fields"] == {}
    response = Client().post(
        channels.removesuffix("/channels") + "/posts", "{}", "application/json", headers=bearer
    )
    assert response.status_code == 403 and response.json()["code"] == "two_factor_required"
    french = Client().get("/api/me", headers=bearer, HTTP_ACCEPT_LANGUAGE="fr").json()["message"]
    assert "double authentification" in french.lower() or "deux facteurs" in french.lower(), french

    # Whoever has it, and members of other organizations, are not concerned.
    _owner_token, owner_raw = ApiToken.issue(cast.owner, "ci")
    assert Client().get("/api/me", headers={"Authorization": f"Bearer {owner_raw}"}).status_code == 200
    assert Client().get("/api/me", headers={"Authorization": f"Bearer {outsider_raw}"}).status_code == 200

    # Once the member enrols, the same token works again.
    _enable(editor)
    assert Client().get("/api/me", headers=bearer).status_code == 200
    assert Client().get(channels, headers=bearer).status_code == 200
