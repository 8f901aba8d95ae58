"""Boosting in a real browser: an editor boosts a published Facebook post from its page with a
saved audience, an approver approves it seeing its spend, the worker creates it at Meta (the
MetaMarketingFake at the HTTP seam), it shows active, then paid vs organic shows on the post."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.accounts.permissions import Role
from chorus.ads import actions, collect, creating
from chorus.ads.models import Boost
from chorus.analytics.collect import store_post_snapshot
from chorus.channels.actions import connect_channel
from tests.ads.conftest import (
    AUDIENCE,
    meta,  # noqa: F401  (fixture: the Meta fake on the HTTP transport)
    published,
)
from tests.ads.fakes import MetaMarketingFake
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_boost_a_facebook_post_approve_it_and_see_paid_vs_organic(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    meta: MetaMarketingFake,  # noqa: F811
) -> None:
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
        access_token="system-user-token",
    )
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=50_000,
        approval_threshold_minor=2_000,
    )
    actions.save_audience(
        cast.workspace, actor=cast.owner, name="Ocean lovers", network="facebook", audience=AUDIENCE
    )
    target = published(cast, channel, "1111_2222", text="Our reef survey is out")
    errors: list[str] = []

    editor = new_page(timezone_id="Europe/Paris")
    editor.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(editor, cast.members[Role.EDITOR].email)
    editor.goto(f"/w/{cast.workspace.slug}/targets/{target.pk}/")
    editor.locator("#boost-post").click()
    editor.locator("#id_account").select_option(str(account.pk))
    editor.locator("#id_saved_audience").select_option(label="Ocean lovers")
    expect(editor.locator("#id_countries")).to_have_value("US, CA")  # filled from the saved audience
    editor.locator("#id_budget").fill("12.50")
    start = (timezone.now() + dt.timedelta(days=1)).astimezone(dt.UTC).date()
    editor.locator("#id_starts_at").fill(f"{start.isoformat()}T09:00")
    editor.locator("#id_ends_at").fill(f"{(start + dt.timedelta(days=3)).isoformat()}T09:00")
    shot(editor, "boost form")
    editor.get_by_role("button", name="Boost").click()
    expect(editor.locator("h1")).to_contain_text("Awaiting approval")
    boost = Boost.objects.get()
    assert boost.budget_minor == 1250 and boost.audience["countries"] == ["US", "CA"]

    approver = new_page()
    approver.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(approver, cast.members[Role.APPROVER].email)
    approver.goto(f"/w/{cast.workspace.slug}/ads/boosts/{boost.pk}/")
    expect(approver.get_by_text("This boost may spend up to 50.00 EUR.")).to_be_visible()
    shot(approver, "approver sees the spend")
    approver.get_by_role("button", name="Approve").click()
    expect(approver.locator("h1")).to_contain_text("Queued")

    meta.ad_status = "ACTIVE"
    assert creating.run(boost.pk) == "active"  # what the worker's create_boost task runs
    approver.reload()
    expect(approver.locator("h1")).to_contain_text("Active")
    assert len(meta.of("campaign")) == 1 and meta.creates("creative")[0]["object_story_id"] == "1111_2222"

    day = timezone.localdate()
    meta.insight_rows = [
        {
            "date_start": day.isoformat(),
            "date_stop": day.isoformat(),
            "spend": "9.80",
            "impressions": "2400",
            "reach": "1900",
            "frequency": "1.26",
            "clicks": "31",
            "inline_post_engagement": "88",
            "actions": [],
        }
    ]
    Boost.objects.filter(pk=boost.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    collect.collect(boost.pk)
    store_post_snapshot(target, {"impressions": 5100, "reach": 4000, "reactions": 40, "comments": 6})
    editor.goto(f"/w/{cast.workspace.slug}/targets/{target.pk}/")
    table = editor.locator("#paid-vs-organic")
    expect(table.get_by_role("row", name="Impressions")).to_contain_text("2400")
    expect(table.get_by_role("row", name="Impressions")).to_contain_text("5100")
    expect(table.get_by_role("row", name="Reach")).to_contain_text("1900")
    shot(editor, "paid vs organic on the post")
    editor.goto(f"/w/{cast.workspace.slug}/ads/boosts/{boost.pk}/")
    assert editor.evaluate("() => !!Chart.getChart('chart-paid-organic')")
    editor.goto(f"/w/{cast.workspace.slug}/ads/")
    assert editor.evaluate("() => !!Chart.getChart('chart-spend')")
    expect(editor.get_by_text("9.80 EUR").first).to_be_visible()
    datasets = editor.evaluate("() => Chart.getChart('chart-spend').data.datasets.length")
    assert datasets == 4  # spend, forecast, forecast with overspend, budget line
    editor.goto(f"/w/{cast.workspace.slug}/analytics/")
    boosted = editor.locator("#paid-vs-organic-posts")
    expect(boosted.locator(f'tr[data-target="{target.pk}"]')).to_contain_text("9.80 EUR")
    expect(boosted.locator(f'tr[data-target="{target.pk}"]')).to_contain_text("5,100")
    assert editor.evaluate("() => Chart.getChart('chart-paid-organic-reach').data.datasets[0].data") == [1900]
    assert errors == []
    other = published(cast, channel, "1111_3333", text="Seagrass planting day")
    store_post_snapshot(other, {"impressions": 800, "reach": 700, "likes": 30})
    screens = {
        "ads-boost-form": f"/w/{cast.workspace.slug}/ads/boost/{target.pk}/",
        "ads-spend": f"/w/{cast.workspace.slug}/ads/",
        "analytics-paid-vs-organic": f"/w/{cast.workspace.slug}/analytics/",
        "home-boosts": f"/w/{cast.workspace.slug}/",
    }
    for locale, viewport in [("en-US", DESKTOP), ("en-US", PHONE), ("fr-FR", DESKTOP), ("fr-FR", PHONE)]:
        page = new_page(locale=locale, viewport=viewport)
        sign_in(page, cast.owner.email)
        device = "desktop" if viewport == DESKTOP else "phone"
        for name, url in screens.items():
            page.goto(url)
            if name == "analytics-paid-vs-organic":
                page.locator("#paid-vs-organic-posts").scroll_into_view_if_needed()
                if locale.startswith("fr"):
                    expect(page.locator("#paid-vs-organic-posts h2")).to_have_text(
                        "Publications promues : payant et organique"
                    )
            if name == "home-boosts":
                expect(page.locator(f'#boost-candidates li[data-target="{other.pk}"]')).to_be_visible()
            _screen(page, f"{name}-{locale[:2]}-{device}", viewport)


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"


def _screen(page: Page, name: str, viewport: dict[str, int]) -> None:
    """A full-page screenshot in tests/artifacts/screens/, after checking nothing overflows."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, f"{name}: the page overflows ({width} px)"
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"{name}.png", full_page=True)
