"""Templates and snippets in a real browser: a snippet and a template saved through their
screens, a post started from the template with the snippet inserted at the cursor, saved with
the template's campaign, tags and network option. Then the screens in English and French, on a
desktop and a phone, into tests/artifacts/screens/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, PostTarget, PostTemplate
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def test_a_team_saves_a_template_and_a_snippet_and_writes_a_post_with_them(
    new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    mastodon = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="NGO on Mastodon",
        config={"instance": "https://social.example", "username": "ngo"},
        credentials={},
    )
    Campaign.objects.create(workspace=cast.workspace, name="Open day", slug="open-day")
    page = new_page()
    sign_in(page, cast.owner.email)
    page.goto(f"/w/{cast.workspace.slug}/")
    go_to(page, "Plan", "Templates")
    expect(page.get_by_role("heading", name="Templates and snippets", level=1)).to_be_visible()

    page.get_by_role("link", name="New snippet").click()
    page.get_by_label("Name").fill("Sign-off")
    page.get_by_label("Text").fill("— The harbour team")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#snippet-list")).to_contain_text("— The harbour team")

    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Open day")
    page.get_by_label("Text", exact=True).fill("Open day at the harbour, Saturday 10:00.")
    page.get_by_label("Campaign").select_option(label="Open day")
    page.get_by_label("Tags").fill("events, harbour")
    page.get_by_label("Visibility").select_option("unlisted")  # Mastodon's own option
    shot(page, "template form")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#template-list")).to_contain_text("Open day at the harbour")
    shot(page, "templates list")

    page.get_by_role("link", name="Use Open day").click()
    expect(page.locator("#template-used")).to_contain_text("Open day")
    expect(page.get_by_label("Main text (all channels)")).to_have_value(
        "Open day at the harbour, Saturday 10:00."
    )
    page.locator(f'#channel-choice input[value="{mastodon.pk}"]').check()
    expect(page.locator(f"#c{mastodon.pk}-visibility")).to_have_value("unlisted")
    main = page.get_by_label("Main text (all channels)")
    main.press("End")
    page.get_by_role("button", name="Sign-off").click()
    expect(main).to_have_value("Open day at the harbour, Saturday 10:00. — The harbour team")
    expect(page.locator(f"#check-c{mastodon.pk} .net-text")).to_contain_text("The harbour team")
    shot(page, "composer with template and snippet")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("Post saved.")).to_be_visible()

    target = PostTarget.objects.select_related("post__campaign").get()
    assert target.text == "Open day at the harbour, Saturday 10:00. — The harbour team"
    assert target.options.get("visibility") == "unlisted"
    assert target.post.campaign is not None and target.post.campaign.name == "Open day"
    assert sorted(target.post.tags.values_list("name", flat=True)) == ["events", "harbour"]

    # The template's own text for one channel, edited on its form with the composer's counter.
    go_to(page, "Plan", "Templates")
    page.get_by_role("link", name="Edit Open day").click()
    own = page.get_by_label("Text for NGO on Mastodon")
    expect(own).to_have_value("")
    counter = page.locator(f"#count-ct-{mastodon.pk}")
    expect(counter).to_have_text("40 characters / 500")  # the template's text
    own.fill("Doors open at 10:00 on Saturday.")
    expect(counter).to_have_text("32 characters / 500")  # counted again while typing
    shot(page, "template form with a channel's own text")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    assert PostTemplate.objects.get(name="Open day").channel_texts == {
        str(mastodon.pk): "Doors open at 10:00 on Saturday."
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_template_screens_in_each_language_on_desktop_and_phone(
    new_page: NewPage, cast: Cast, live_server, language: str
) -> None:
    sink = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    mastodon = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="NGO on Mastodon",
        config={"instance": "https://social.example", "username": "ngo"},
        credentials={},
    )
    template = PostTemplate.objects.create(
        workspace=cast.workspace,
        name="Open day",
        text="Open day at the harbour",
        tags="events",
        channel_texts={str(mastodon.pk): "Open day at the harbour, doors at 10:00. #harbour #openday"},
    )
    PostTemplate.objects.create(
        workspace=cast.workspace, kind="snippet", name="Hashtags", text="#harbour #openday"
    )
    heading = {"en": "Templates and snippets", "fr": "Modèles et extraits"}[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, options in VIEWPORTS.items():
        page = new_page(**options)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/templates/")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= page.viewport_size["width"] + 1, (device, wide)  # type: ignore[index]
        page.screenshot(path=SCREENS / f"templates-{language}-{device}.png", full_page=True)
        page.goto(f"/w/{cast.workspace.slug}/posts/new/?template={template.pk}")
        expect(page.locator("#template-used")).to_be_visible()
        page.screenshot(path=SCREENS / f"composer-template-{language}-{device}.png", full_page=True)
        page.goto(f"/w/{cast.workspace.slug}/templates/{template.pk}/edit/")
        expect(page.locator(f"#ct-{mastodon.pk}")).to_have_value(template.channel_texts[str(mastodon.pk)])
        expect(page.locator(f"#count-ct-{sink.pk}")).to_contain_text("23")
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= page.viewport_size["width"] + 1, (device, wide)  # type: ignore[index]
        page.screenshot(path=SCREENS / f"template-form-{language}-{device}.png", full_page=True)
