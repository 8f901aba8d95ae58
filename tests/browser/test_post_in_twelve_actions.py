"""The issue's measure of a complete composer: from the home page, a post for three channels
with a campaign, tags, a template, a short link and an uploaded image, in at most 12 actions.
Every click, tick, choice, fill and file choice counts as one action (`Actions.do`); waiting
for the page to answer does not."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, PostTarget, PostTemplate
from chorus.links.models import ShortLink
from chorus.links.shortening import short_base
from tests.browser.conftest import Shot, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser

MAX_ACTIONS = 12


class Actions:
    """Counts what the person does."""

    def __init__(self) -> None:
        self.count = 0

    def do(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.count += 1
        action(*args, **kwargs)


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (120, 80), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_post_for_three_channels_with_everything_takes_at_most_twelve_actions(
    page: Page, shot: Shot, cast: Cast, settings: Any
) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the link's host is not resolved (no network here)
    channels = [
        connect_channel(workspace=cast.workspace, kind="sink", name=name, config={}, credentials={})
        for name in ("Harbour news", "Harbour events", "Harbour volunteers")
    ]
    for channel in channels:  # weekly queue slots, so "Next free queue slot" can place the post
        channel.posting_slots = [{"weekday": day, "time": "10:00"} for day in range(7)]
        channel.save()
    Campaign.objects.create(workspace=cast.workspace, name="Open day", slug="open-day")
    PostTemplate.objects.create(
        workspace=cast.workspace,
        name="Open day invitation",
        text="Open day at the harbour on Saturday: come and meet the team!",
        link="https://harbour.example/open-day",
    )
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    expect(page.get_by_test_id("new-post")).to_be_visible()
    act = Actions()

    act.do(page.get_by_test_id("new-post").click)
    act.do(page.get_by_role("link", name="Open day invitation").click)
    expect(page.locator("#template-used")).to_be_visible()
    for channel in channels:
        act.do(page.locator(f'#channel-choice input[value="{channel.pk}"]').check)
    act.do(page.locator("#id_campaign").select_option, label="Open day")
    act.do(page.locator("#id_tags").fill, "open day, volunteers")
    act.do(page.get_by_label("Add UTM and shorten links").check)
    act.do(
        page.get_by_label("Upload images or videos").set_input_files,
        {"name": "harbour.png", "mimeType": "image/png", "buffer": _png()},
    )
    alt = page.locator('#media-list input[name="media-asset-alt"]')
    expect(alt).to_have_count(1)
    act.do(alt.fill, "The harbour wall at sunrise")
    act.do(page.get_by_label("Next free queue slot").check)
    for channel in channels:
        expect(page.locator(f"#check-c{channel.pk}")).to_contain_text(f"Ready for {channel.name}")
    # The preview says what the link becomes (the short link itself is made when it is saved).
    expect(page.locator(f"#check-c{channels[0].pk} [data-short-note]")).to_contain_text("/l/")
    shot(page, "everything in place")
    act.do(page.get_by_role("button", name="Add to the queue").click)
    expect(page.get_by_text("Post saved.")).to_be_visible()
    shot(page, "saved")

    assert act.count <= MAX_ACTIONS, f"{act.count} actions"
    targets = list(PostTarget.objects.select_related("post__campaign", "channel").order_by("channel__name"))
    assert [t.channel.name for t in targets] == sorted(c.name for c in channels)
    post = targets[0].post
    assert {t.post_id for t in targets} == {post.pk}
    assert post.campaign is not None and post.campaign.name == "Open day"
    assert sorted(post.tags.values_list("name", flat=True)) == ["open day", "volunteers"]
    links = {link.target_id: link for link in ShortLink.objects.all()}
    for target in targets:
        assert target.status == PostTarget.Status.SCHEDULED
        assert target.text.startswith("Open day at the harbour on Saturday")
        link = links[target.pk]  # one short link per channel, tagged for its network and campaign
        assert f"{short_base()}/l/{link.code}" in target.text
        assert "harbour.example" not in target.text
        assert link.target_url.startswith("https://harbour.example/open-day?")
        assert "utm_source=sink" in link.target_url and "utm_campaign=open-day" in link.target_url
        assert [(m["alt"], m.get("media_id") is not None) for m in target.media] == [
            ("The harbour wall at sunrise", True)
        ]
