"""The dashboard in a real browser: Chart.js draws the charts from the page's data."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chorus.analytics.demo import load_demo
from tests.browser.conftest import Shot
from tests.conftest import PASSWORD, Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_draws_the_sample_dashboard_charts(page: Page, shot: Shot, cast: Cast) -> None:
    workspace = load_demo(days=60, posts_per_day=2, owner=cast.owner)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(cast.owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_password")).to_have_count(0)

    page.goto(f"/w/{workspace.slug}/analytics/")
    expect(page.locator("#sample-banner")).to_be_visible()
    expect(page.locator("#kpis")).to_be_visible()
    drawn = page.evaluate("() => ['chart-engagement', 'chart-followers'].map(id => !!Chart.getChart(id))")
    assert drawn == [True, True]
    points = page.evaluate("() => Chart.getChart('chart-engagement').data.datasets.length")
    assert points == 2  # this period and the previous one
    shot(page, "sample dashboard")
    page.get_by_role("link", name="Bluesky · English").first.click()
    expect(page.locator("#best-times")).to_be_visible()
    shot(page, "channel page with best times")
    assert errors == []
