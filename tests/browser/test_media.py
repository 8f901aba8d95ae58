"""The media library in a real browser: upload an image (with a bad file next to it), add alt
text, see it in the grid."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chorus.media.models import MediaAsset
from tests.browser.conftest import Shot, sign_in
from tests.conftest import Cast
from tests.media.conftest import image_bytes

pytestmark = pytest.mark.browser


def test_it_uploads_an_image_adds_alt_text_and_shows_it_in_the_grid(
    page: Page, shot: Shot, cast: Cast, tmp_path: Path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    good = tmp_path / "harbour.jpg"
    good.write_bytes(image_bytes("JPEG", (800, 600), color="navy"))
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")

    sign_in(page, cast.members["editor"].email)
    page.goto(f"/w/{cast.workspace.slug}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Media").click()
    expect(page.get_by_role("heading", name="Media", exact=True)).to_be_visible()
    expect(page.get_by_text("No media yet")).to_be_visible()
    shot(page, "empty library")

    page.get_by_label("Images and videos").set_input_files([str(good), str(bad)])
    results = page.locator("#media-results")
    expect(results.locator("li.ok")).to_contain_text("harbour.jpg")
    expect(results.locator("li.bad")).to_contain_text("not an image or video we can read")
    tile = page.locator("#media-grid .media-tile", has_text="harbour.jpg")
    expect(tile).to_be_visible()  # the grid refreshed once both uploads finished
    expect(tile.locator("img")).to_have_js_property("complete", True)
    assert tile.locator("img").evaluate("img => img.naturalWidth") == 320  # the thumbnail, served
    shot(page, "uploaded one good and one bad file")

    tile.get_by_role("link").click()
    page.get_by_label("Alt text").fill("A navy-blue harbour at dusk")
    page.get_by_label("Credit").fill("Sam Lee")
    page.get_by_role("combobox", name="Consent").select_option("written")
    page.get_by_label("Tags").fill("harbour, spring")
    shot(page, "editing alt text")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.get_by_role("link", name="← Media").click()
    page.get_by_label("Search").fill("dusk")
    page.get_by_role("button", name="Filter").click()
    tile = page.locator("#media-grid .media-tile", has_text="harbour.jpg")
    expect(tile.locator("img")).to_have_attribute("alt", "A navy-blue harbour at dusk")
    expect(tile).to_contain_text("Used in 0 posts")
    shot(page, "found by its alt text")
    asset = MediaAsset.objects.get(workspace=cast.workspace)
    assert asset.alt_text == "A navy-blue harbour at dusk" and asset.consent == "written"
