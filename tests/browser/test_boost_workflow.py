"""A boost through a two-step approval workflow in a real browser: the first step's approver finds
it under Approvals, sees its spend and the steps, approves; the second step's approver finds it
in turn and approves; only then is it queued for creation (nothing sent to the MetaMarketingFake
before). Also the ad accounts page's "expires in N days — reconnect". Screens in English and
French, desktop and phone, without overflow, in tests/artifacts/screens/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chorus.accounts.permissions import Role
from chorus.ads import actions
from chorus.ads.models import Boost
from chorus.approvals import actions as approvals
from chorus.channels.actions import connect_channel
from tests.ads.conftest import (
    boost_values,
    meta,  # noqa: F401  (fixture: the Meta fake on the HTTP transport)
    published,
)
from tests.ads.fakes import MetaMarketingFake
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.browser.test_boost import DESKTOP, PHONE, _screen
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_boost_goes_through_both_steps_of_the_workflow_in_the_browser(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    meta: MetaMarketingFake,  # noqa: F811
) -> None:
    slug = cast.workspace.slug
    channel = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token"},
        actor=cast.owner,
    )
    account = actions.connect_ad_account(
        cast.workspace,
        actor=cast.owner,
        channel=channel,
        external_id="1234",
        access_token="long-user-token",
        token_expires_at=int((timezone.now() + dt.timedelta(days=4, hours=2)).timestamp()),
    )
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=0,
    )
    approver, admin = cast.members[Role.APPROVER], cast.members[Role.ADMIN]
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Spend review",
        applies_to="everyone",
        steps=[
            {"name": "Communications", "users": [approver.pk], "role": "", "rule": "any"},
            {"name": "Finance", "users": [], "role": Role.ADMIN, "rule": "any"},
        ],
    )
    target = published(cast, channel, "1111_2222", text="Our reef survey is out")
    boost = actions.request_boost(
        target, actor=cast.members[Role.EDITOR], **boost_values(account, budget_minor=5000)
    )
    writes_before = [r for r in meta.sent if r.method != "GET"]
    errors: list[str] = []

    first = new_page()
    first.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(first, approver.email)
    first.goto(f"/w/{slug}/approvals/")
    first.locator(f'[data-testid="pending-boosts"] tr[data-boost="{boost.pk}"] a').click()
    section = first.locator("#approval")
    expect(section).to_contain_text("Workflow: Spend review")
    expect(section).to_contain_text("This boost may spend up to 200.00 EUR.")
    expect(section.locator("li.current")).to_contain_text("Communications")
    shot(first, "first step approver sees the steps and the spend")
    first.locator("#decision-comment").fill("Good story to push")
    first.get_by_role("button", name="Approve").click()
    expect(first.get_by_text("Approval recorded: the boost waits for the next step.")).to_be_visible()
    expect(first.locator("#approval li.current")).to_contain_text("Finance")
    assert Boost.objects.get(pk=boost.pk).status == Boost.Status.AWAITING_APPROVAL

    second = new_page()
    second.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(second, admin.email)
    second.goto(f"/w/{slug}/my-work/")
    second.locator(f'li[data-boost="{boost.pk}"] a').click()
    expect(second.locator("#approval")).to_contain_text("Good story to push")
    assert [r for r in meta.sent if r.method != "GET"] == writes_before  # nothing sent yet
    second.get_by_role("button", name="Approve").click()
    expect(second.locator("h1")).to_contain_text("Queued")
    assert Boost.objects.get(pk=boost.pk).status == Boost.Status.QUEUED
    assert errors == []

    # The screens, with a second boost waiting at its first step (the queue's table, the page).
    waiting = actions.request_boost(
        published(cast, channel, "1111_3333", text="Seagrass planting day"),
        actor=cast.members[Role.EDITOR],
        **boost_values(account, budget_minor=3000),
    )
    screens = {
        "approvals-boost-queue": (approver, f"/w/{slug}/approvals/"),
        "ads-boost-approval": (approver, f"/w/{slug}/ads/boosts/{waiting.pk}/"),
        "ads-boost-approved": (admin, f"/w/{slug}/ads/boosts/{boost.pk}/"),
        "my-work-boost": (approver, f"/w/{slug}/my-work/"),
        "ads-accounts-token-expiry": (cast.owner, f"/w/{slug}/ads/accounts/"),
        "home-ad-token-expiry": (cast.owner, f"/w/{slug}/"),
    }
    for locale, viewport in [("en-US", DESKTOP), ("en-US", PHONE), ("fr-FR", DESKTOP), ("fr-FR", PHONE)]:
        device = "desktop" if viewport == DESKTOP else "phone"
        pages = {}
        for name, (user, url) in screens.items():
            if user.pk not in pages:
                pages[user.pk] = new_page(locale=locale, viewport=viewport)
                sign_in(pages[user.pk], user.email)
            page = pages[user.pk]
            page.goto(url)
            page.wait_for_load_state("load")
            if name == "ads-accounts-token-expiry":
                expected = (
                    "expire dans 4 jours — reconnectez-le" if locale == "fr-FR" else "expires in 4 days"
                )
                expect(page.get_by_test_id("token-expiry")).to_contain_text(expected)
            _screen(page, f"{name}-{locale[:2]}-{device}", viewport)
