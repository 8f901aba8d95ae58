"""The home and the Posts list in a real browser (issue 16): a failed post fixed from the home in
one click; posts approved in bulk from the Posts list; both pages in English and French, on a
desktop and on a 390 px phone without sideways scrolling."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget, Tag
from chorus.publishing import actions, dispatch
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
S = PostTarget.Status
PHONE = {"width": 390, "height": 844}


def _channel(cast: Cast, name: str) -> Channel:
    return connect_channel(workspace=cast.workspace, kind="sink", name=name, config={}, credentials={})


def _failed(cast: Cast, channel: Channel, text: str) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text
    )
    target = post.targets.get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    actions.mark_failed(target, code="rejected", message="The network refused the text: too long")
    return target


def test_a_failed_post_is_fixed_from_the_home_in_one_click(page: Page, shot: Shot, cast: Cast) -> None:
    channel = _channel(cast, "Bluesky desk")
    target = _failed(cast, channel, "Clinic opens on Monday")
    sign_in(page, cast.owner.email)
    page.goto("/w/campaign/")
    box = page.locator("#needs-attention")
    expect(box).to_contain_text("Clinic opens on Monday")
    expect(box).to_contain_text("The network refused the text: too long")
    shot(page, "home with a failed post")

    box.get_by_role("button", name="Retry now").click()  # the one click
    expect(page.get_by_text("Bluesky desk: sent again now.")).to_be_visible()
    expect(page.locator("#needs-attention")).to_have_count(0)
    shot(page, "fixed")
    row = PostTarget.objects.get(pk=target.pk)
    assert row.status == S.SCHEDULED and row.due_at is not None and row.due_at <= timezone.now()


def test_posts_are_approved_in_bulk_from_the_posts_list(page: Page, shot: Shot, cast: Cast) -> None:
    first, second = _channel(cast, "Mastodon"), _channel(cast, "Website")
    editor = cast.members["editor"]
    waiting = []
    for text in ("Water point repaired", "Volunteers wanted"):
        post = actions.create_post(
            workspace=cast.workspace, author=editor, channels=[first, second], text=text
        )
        for target in post.targets.select_related("workspace", "channel", "post"):
            actions.submit_for_review(target, actor=editor)
        waiting.append(post)
    actions.create_post(workspace=cast.workspace, author=editor, channels=[first], text="Still a draft")

    sign_in(page, cast.members["approver"].email)
    page.goto("/w/campaign/")
    go_to(page, "Plan", "Posts")
    page.get_by_label("Status").select_option("in_review")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#targets tbody tr")
    expect(rows).to_have_count(2)  # one row per post, not per channel
    expect(rows.first.locator(".chip")).to_have_count(2)
    shot(page, "posts in review")

    page.get_by_label("Select every post on this page").check()
    page.get_by_label("Action").select_option("approve")
    shot(page, "bulk approve chosen")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("4 changes made.")).to_be_visible()
    expect(page.get_by_label("Status")).to_have_value("in_review")  # the filters are kept
    expect(page.locator("#targets")).to_contain_text("No post matches these filters.")
    shot(page, "approved")
    statuses = set(PostTarget.objects.filter(post__in=waiting).values_list("status", flat=True))
    assert statuses == {S.APPROVED}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_home_and_the_posts_list_read_well_in_both_languages_and_on_a_phone(
    new_page: NewPage, shot: Shot, cast: Cast, language: str, device: str
) -> None:
    channel, other = _channel(cast, "Instagram of the association"), _channel(cast, "LinkedIn")
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Clean water 2027", slug="water")
    tag = Tag.objects.create(workspace=cast.workspace, name="wells")
    _failed(cast, channel, "A very long first line about the new water point in the northern district " * 2)
    for day in range(1, 4):
        post = actions.create_post(
            workspace=cast.workspace,
            author=cast.members["editor"],
            channels=[channel, other],
            text=f"Story {day}: the well that changed the village",
        )
        post.campaign = campaign
        post.save()
        post.tags.add(tag)
        for target in post.targets.select_related("workspace", "channel", "post"):
            actions.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=day))
    options: dict[str, object] = {"locale": "fr-FR" if language == "fr" else "en-US"}
    if device == "phone":
        options.update(viewport=PHONE, is_mobile=True, has_touch=True)
    page = new_page(**options)
    sign_in(page, cast.owner.email)
    page.goto("/w/campaign/")
    expect(page.locator("#next-7-days")).to_contain_text("Story 1")
    heading = "À traiter" if language == "fr" else "Needs your attention"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_test_id("new-post")).to_have_count(1)
    shot(page, f"home {language} {device}")
    _assert_no_sideways_scroll(page, device)

    page.goto("/w/campaign/posts/")
    expect(page.locator("#targets tbody tr")).to_have_count(4)
    shot(page, f"posts {language} {device}")
    _assert_no_sideways_scroll(page, device)


def _assert_no_sideways_scroll(page: Page, device: str) -> None:
    if device != "phone":
        return
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
