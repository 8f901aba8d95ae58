"""Publish now to a real local WordPress from the browser: upload an image to the media library,
give it alt text, attach it in the composer, publish now, run the engine (no worker runs under
live_server), then see the WordPress permalink on the post's page and follow it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.media.models import MediaAsset
from chorus.publishing import dispatch, engine
from tests.browser.conftest import Shot, sign_in
from tests.conftest import Cast
from tests.connectors.wordpress.conftest import local_urls, wp_channel  # noqa: F401
from tests.media.conftest import image_bytes
from tests.peers.wordpress import WordPressSite, wordpress_site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.peer]
S = PostTarget.Status
ALT = "Volunteers painting the harbour wall"


def test_it_publishes_an_uploaded_image_to_wordpress_and_shows_the_link(
    page: Page,
    shot: Shot,
    cast: Cast,
    wp_channel: Channel,  # noqa: F811
    wordpress_site: WordPressSite,  # noqa: F811
    tmp_path: Path,
    settings,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    photo = tmp_path / "harbour-wall.jpg"
    photo.write_bytes(image_bytes("JPEG", (800, 600), color="teal"))
    slug = cast.workspace.slug

    # 1. The media library: upload, then alt text on the detail page.
    # The owner: an editor may pick "Publish now" but cannot approve their own post, so the
    # composer saves it as a draft with "This post is draft; it cannot be scheduled." (reported).
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{slug}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Media").click()
    page.get_by_label("Images and videos").set_input_files(str(photo))
    tile = page.locator("#media-grid .media-tile", has_text="harbour-wall.jpg")
    expect(tile).to_be_visible()
    shot(page, "uploaded")
    tile.get_by_role("link").click()
    page.get_by_label("Alt text").fill(ALT)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    shot(page, "alt text saved")
    asset = MediaAsset.objects.get(workspace=cast.workspace)
    assert asset.alt_text == ALT

    # 2. The composer: the WordPress channel, the library image, publish now.
    page.goto(f"/w/{slug}/posts/")
    page.get_by_role("link", name="New post").click()
    page.locator(f'#channel-choice input[value="{wp_channel.pk}"]').check()
    page.get_by_label("Main text (all channels)").fill(
        "Harbour wall finished\n\nThank you to the twelve volunteers."
    )
    expect(page.locator(f"#check-c{wp_channel.pk}")).to_contain_text(f"Ready for {wp_channel.name}")
    page.get_by_role("button", name="Add from the media library").click()
    page.locator(f'.media-pick[data-media-id="{asset.pk}"]').click()
    alt_input = page.locator('#media-list input[name="media-asset-alt"]')
    expect(alt_input).to_have_value(ALT)  # the library's alt text comes along
    expect(page.locator(f'#check-c{wp_channel.pk} .net-images img[alt="{ALT}"]')).to_be_visible()
    expect(page.locator(f"#check-c{wp_channel.pk} .problems")).to_have_count(0)
    page.get_by_label("Publish now").check()
    shot(page, "composed with the image")
    page.get_by_role("button", name="Publish now").click()
    expect(page.get_by_role("heading", name="Posts")).to_be_visible()
    shot(page, "saved")

    target = PostTarget.objects.get(channel=wp_channel)
    assert target.status == S.SCHEDULED
    assert [m["alt"] for m in target.media] == [ALT]

    # 3. The engine, in this process.
    attempt_id, claimed = dispatch.claim_due()
    assert claimed == [target.pk]
    assert [engine.publish_one(target_id, attempt_id) for target_id in claimed] == ["published"]
    target.refresh_from_db()
    assert target.status == S.PUBLISHED and target.external_url.startswith(wordpress_site.url)

    # 4. The post's page shows the permalink; following it shows the post.
    page.goto(f"/w/{slug}/targets/{target.pk}/")
    facts = page.locator("#target-facts")
    expect(facts).to_contain_text("Published")
    link = facts.get_by_role("link", name=target.external_url)
    expect(link).to_have_attribute("href", target.external_url)
    shot(page, "published link")
    with page.context.expect_page() as opened:
        link.click()
    wp_page = opened.value
    wp_page.wait_for_load_state()
    assert wp_page.url == target.external_url  # the peer has no theme: its pages render blank
    shot(wp_page, "the permalink opened")
    front = httpx.get(target.external_url, timeout=30)
    assert front.status_code == 200
    missing = httpx.get(f"{wordpress_site.url}/?p=987654", timeout=30)
    assert missing.status_code == 404  # so the 200 above means WordPress found the post

    # The post exists on WordPress, published, with the uploaded image as its featured image.
    with wordpress_site.client() as client:
        post = client.get(wordpress_site.rest(f"/wp/v2/posts/{target.external_id}")).json()
        assert post["status"] == "publish" and post["link"] == target.external_url
        media = client.get(wordpress_site.rest(f"/wp/v2/media/{post['featured_media']}")).json()
    assert media["alt_text"] == ALT
    assert media["mime_type"] == "image/jpeg"
    served = httpx.get(media["source_url"], timeout=30)
    assert served.status_code == 200 and served.content[:3] == b"\xff\xd8\xff"
    assert media["media_details"]["width"] == 800
