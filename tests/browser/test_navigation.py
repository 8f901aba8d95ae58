"""The main navigation in a real browser (issue 16, "one look"): one row of group menus on a
desktop, opened by keyboard and closed by Escape; behind a "Menu" button on a 390 px phone,
where nothing runs off the screen. Screenshots in English and French, desktop and phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.publishing import actions
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
LABELS = {
    "en": {"plan": "Plan", "posts": "Posts", "menu": "Menu", "members": "Members"},
    "fr": {"plan": "Planifier", "posts": "Publications", "menu": "Menu", "members": "Membres"},
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_on_a_desktop_the_groups_sit_in_one_row_and_open_from_the_keyboard(
    new_page: NewPage, shot: Shot, cast: Cast, language: str
) -> None:
    words = LABELS[language]
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[channel], text="Hello")
    target = post.targets.select_related("workspace", "channel", "post").get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    page = new_page(locale="fr-FR" if language == "fr" else "en-US", viewport={"width": 1280, "height": 800})
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    nav = page.locator("nav.mainnav")
    expect(page.get_by_role("button", name=words["menu"])).to_be_hidden()
    expect(page.get_by_test_id("new-post")).to_have_count(1)
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 70, f"the header wraps: {header}"
    posts = nav.get_by_role("link", name=words["posts"], exact=True)
    expect(posts).to_be_hidden()
    nav.locator("summary", has_text=words["plan"]).focus()
    page.keyboard.press("Enter")
    expect(posts).to_be_visible()
    shot(page, f"plan menu open {language} desktop")
    page.keyboard.press("Escape")
    expect(posts).to_be_hidden()
    nav.locator("summary", has_text=words["plan"]).click()
    posts.click()
    expect(page.locator("nav.mainnav").locator('a[aria-current="page"]')).to_have_text(words["posts"])
    shot(page, f"posts {language} desktop")

    page.goto(f"/w/{cast.workspace.slug}/audit/")
    cells = page.locator("[data-testid=audit] td[data-action]")
    expect(cells.first).to_be_visible()
    texts = cells.all_inner_texts()
    assert ("Programmée" if language == "fr" else "Scheduled") in texts, texts
    for text in texts:  # labels, not keys such as "target.scheduled"
        assert "." not in text and "_" not in text, text
    shot(page, f"audit {language} desktop")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_on_a_phone_the_menu_button_opens_the_navigation_and_nothing_overflows(
    new_page: NewPage, shot: Shot, cast: Cast, language: str
) -> None:
    words = LABELS[language]
    page = new_page(
        locale="fr-FR" if language == "fr" else "en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    nav = page.locator("nav.mainnav")
    menu = page.get_by_role("button", name=words["menu"])
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(page.get_by_test_id("new-post")).to_be_visible()
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 120, f"the header fills the screen: {header}"
    _assert_fits(page)
    shot(page, f"home {language} phone menu closed")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name=words["posts"], exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name=words["members"], exact=True)).to_be_visible()
    _assert_fits(page)
    shot(page, f"home {language} phone menu open")
    nav.get_by_role("link", name=words["members"], exact=True).click()
    expect(page.get_by_role("button", name=words["menu"])).to_have_attribute("aria-expanded", "false")
    _assert_fits(page)


def _assert_fits(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
