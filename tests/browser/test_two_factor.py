"""Two-factor sign-in in a real browser: set it up from the profile (QR code and key), keep the
recovery codes, then sign in on another device with the password and a code from the app."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from chorus.accounts import totp
from chorus.accounts.models import User
from chorus.accounts.permissions import Role
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.browser


def next_code(user: User, secret: str) -> str:
    """The app's code for the step after the last one used (within the accepted drift)."""
    user.refresh_from_db()
    return totp.hotp(totp.key_of(secret), user.totp_last_step + 1)


def test_a_member_sets_up_two_factor_and_signs_in_with_a_code(
    page: Page, new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    editor = cast.members[Role.EDITOR]
    sign_in(page, editor.email)
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Two-factor sign-in").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    shot(page, "qr code and key")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_text("Setup link").click()  # the link a phone's browser can open instead
    uri = page.locator("#otpauth-uri")
    expect(uri).to_be_visible()
    assert uri.inner_text().endswith(f"secret={secret}&issuer=Chorus&digits=6&period=30")
    page.get_by_label("Code from the app").fill(totp.totp(totp.key_of(secret), time.time()))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    shot(page, "recovery codes shown once")
    first_code = codes.first.inner_text()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", first_code)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()

    # Another device: the password is not enough.
    phone = new_page()
    phone.goto("/accounts/login/")
    phone.locator("#id_username").fill(editor.email)
    phone.locator("#id_password").fill(PASSWORD)
    phone.locator("main form button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/accounts/login/code/$"))
    phone.get_by_label("Code").fill("000000")
    phone.get_by_role("button", name="Verify").click()
    expect(phone.get_by_text("This code is not valid.", exact=False)).to_be_visible()
    shot(phone, "wrong code refused")
    phone.get_by_label("Code").fill(next_code(editor, secret))
    phone.get_by_role("button", name="Verify").click()
    expect(phone.locator("#id_code")).to_have_count(0)
    expect(phone).to_have_url(re.compile(r"/$"))
    shot(phone, "signed in with a code")

    # A third device signs in with a recovery code, once.
    laptop = new_page(locale="fr-FR")
    sign_in_url = "/accounts/login/"
    laptop.goto(sign_in_url)
    laptop.locator("#id_username").fill(editor.email)
    laptop.locator("#id_password").fill(PASSWORD)
    laptop.locator("main form button[type=submit]").click()
    laptop.locator("#id_code").fill(first_code)
    shot(laptop, "recovery code in french")
    laptop.locator("main form button[type=submit]").click()
    expect(
        laptop.get_by_text("Vous vous êtes connecté avec un code de secours : il en reste 9.")
    ).to_be_visible()
    shot(laptop, "signed in with a recovery code")
