"""The "Foundation" flows in a real browser: sign in, create a workspace, invite someone who joins,
change their role, switch to French and keep it, the stopped-worker banner, keyboard sign-in."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.accounts.models import Membership, User
from chorus.accounts.permissions import Role
from chorus.core.models import Heartbeat
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import PASSWORD, Cast, make_user

pytestmark = pytest.mark.browser


def members_row(page: Page, email: str) -> Any:
    return page.locator(f'#members tr[data-member="{email}"]')


def test_an_admin_creates_a_workspace_and_invites_someone_who_joins(
    page: Page, new_page: NewPage, shot: Shot, mailoutbox: list[Any]
) -> None:
    make_user("ada@example.org", name="Ada Admin", is_staff=True)
    sign_in(page, "ada@example.org")
    expect(page.get_by_role("heading", name="Your workspaces")).to_be_visible()
    shot(page, "signed in")

    page.get_by_role("link", name="New workspace").click()
    page.get_by_label("…or a new organization").fill("Reference NGO")
    page.get_by_label("Workspace name").fill("Spring campaign")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    shot(page, "new workspace form")
    page.get_by_role("button", name="Create the workspace").click()
    expect(page.get_by_role("heading", name="Spring campaign")).to_be_visible()
    expect(page.get_by_text("Workspace “Spring campaign” created.")).to_be_visible()
    shot(page, "workspace created")

    go_to(page, "Manage", "Members")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Role").select_option(Role.EDITOR.value)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Invitation sent to sam@example.org.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"sam@example\.org · Editor · expires"))).to_be_visible()
    shot(page, "invitation sent")

    # The live server runs in a thread of this process: its locmem outbox is this one.
    (email,) = mailoutbox
    assert email.to == ["sam@example.org"]
    link = re.search(r"https?://\S+/invite/\S+/", email.body)
    assert link, email.body

    invitee = new_page()
    invitee.goto(urlsplit(link.group(0)).path)
    expect(invitee.get_by_role("heading", name="Join Spring campaign")).to_be_visible()
    invitee.get_by_label("Your name").fill("Sam Lee")
    invitee.get_by_label("Choose a password").fill(PASSWORD)
    shot(invitee, "invitee signs up")
    invitee.get_by_role("button", name="Create my account and join").click()
    expect(invitee.get_by_role("heading", name="Spring campaign")).to_be_visible()
    expect(invitee.locator("dl.facts")).to_contain_text("Editor")
    shot(invitee, "invitee lands in the workspace")

    page.reload()
    expect(members_row(page, "sam@example.org")).to_contain_text("Sam Lee")
    expect(page.get_by_text("Pending invitations")).to_have_count(0)
    shot(page, "member listed")


def test_an_admin_changes_a_member_role(page: Page, shot: Shot, cast: Cast) -> None:
    editor = cast.members[Role.EDITOR]
    sign_in(page, cast.members[Role.ADMIN].email)
    page.goto(f"/w/{cast.workspace.slug}/members/")
    row = members_row(page, editor.email)
    row.get_by_label("Role").select_option(Role.APPROVER.value)
    shot(page, "approver chosen")
    row.get_by_role("button", name="Change role").click()

    expect(page.get_by_text("Role changed.")).to_be_visible()
    expect(members_row(page, editor.email).get_by_label("Role")).to_have_value(Role.APPROVER.value)
    shot(page, "role changed")
    assert Membership.objects.get(workspace=cast.workspace, user=editor).role == Role.APPROVER


def test_the_french_choice_is_kept_after_reload_and_signing_in_again(
    page: Page, new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    admin = cast.members[Role.ADMIN]
    sign_in(page, admin.email)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("fr")  # submits on change
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Vos espaces de travail")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    shot(page, "switched to French")

    page.reload()
    expect(page.get_by_role("heading", name="Vos espaces de travail")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Connexion à Chorus")).to_be_visible()
    shot(page, "signed out, still French")
    sign_in(page, admin.email)
    expect(page.get_by_role("heading", name="Vos espaces de travail")).to_be_visible()

    # Another device, no cookie: the choice was saved on the profile.
    other_device = new_page()
    sign_in(other_device, admin.email)
    expect(other_device.locator("html")).to_have_attribute("lang", "fr")
    expect(other_device.get_by_role("heading", name="Vos espaces de travail")).to_be_visible()
    shot(other_device, "French on another device")
    assert User.objects.get(pk=admin.pk).language == "fr"


def test_admins_see_a_loud_banner_when_background_processing_stops(
    page: Page, new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    Heartbeat.objects.all().delete()  # the browser fixture's stand-in beats: nothing is running
    sign_in(page, cast.members[Role.ADMIN].email)
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("Background processing has stopped.")
    expect(banner).to_contain_text("scheduled posts will not go out")
    expect(banner.get_by_role("link", name="See system health")).to_be_visible()
    shot(page, "banner")

    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("alert")).to_contain_text("Le traitement en arrière-plan est arrêté.")
    shot(page, "banner in French")

    viewer_page = new_page()
    sign_in(viewer_page, cast.members[Role.VIEWER].email)
    expect(viewer_page.get_by_role("heading", name="Your workspaces")).to_be_visible()
    expect(viewer_page.get_by_role("alert")).to_have_count(0)  # nothing a viewer can fix

    for role in ("worker", "scheduler"):
        Heartbeat.objects.create(name=role, beat_at=timezone.now() - dt.timedelta(seconds=5))
    page.reload()
    expect(page.get_by_role("heading", name="Vos espaces de travail")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_the_login_form_works_with_the_keyboard_only(page: Page, shot: Shot, cast: Cast) -> None:
    page.goto("/accounts/login/")
    email_field = page.get_by_label("Email address")
    expect(email_field).to_be_focused()  # autofocus: typing can start at once
    page.keyboard.type(cast.owner.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    shot(page, "filled with the keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your workspaces")).to_be_visible()
    shot(page, "signed in with the keyboard")


def test_the_first_tab_stop_skips_to_the_content(page: Page) -> None:
    page.goto("/accounts/password/reset/")  # no autofocus here
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
