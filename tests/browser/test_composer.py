"""The composer and the review queue in a real browser: two channels with different text, a
validation error that appears and clears while typing, a scheduled post in the list; and a post
rejected, edited and approved through the review queue."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import Page, expect

from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, PostTarget
from chorus.media.actions import upload
from chorus.publishing import actions
from tests.browser.conftest import NewPage, Shot, go_to, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
S = PostTarget.Status


def test_an_editor_composes_for_two_channels_and_schedules(page: Page, shot: Shot, cast: Cast) -> None:
    first = connect_channel(workspace=cast.workspace, kind="sink", name="Sink A", config={}, credentials={})
    second = connect_channel(workspace=cast.workspace, kind="sink", name="Sink B", config={}, credentials={})
    buffer = BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "PNG")
    photo, _created = upload(cast.workspace, cast.owner, SimpleUploadedFile("fair.png", buffer.getvalue()))
    sign_in(page, cast.owner.email)
    page.goto("/w/campaign/posts/")
    page.get_by_role("link", name="New post").click()
    expect(page.get_by_role("heading", name="New post")).to_be_visible()

    page.locator(f'#channel-choice input[value="{first.pk}"]').check()
    page.locator(f'#channel-choice input[value="{second.pk}"]').check()
    page.get_by_label("Main text (all channels)").fill("Spring fair this Saturday")
    expect(page.get_by_role("tab", name="Sink A")).to_be_visible()
    expect(page.locator(f"#check-c{first.pk}")).to_contain_text("Ready for Sink A")
    expect(page.locator(f"#check-c{first.pk} .net-text")).to_have_text("Spring fair this Saturday")
    shot(page, "two channels")
    # An unticked channel has no tab (every button's display:inline-block used to beat `hidden`).
    page.locator(f'#channel-choice input[value="{second.pk}"]').uncheck()
    expect(page.locator(f"#tab-c{second.pk}")).to_be_hidden()
    expect(page.locator(f"#panel-c{first.pk}")).to_be_visible()
    page.locator(f'#channel-choice input[value="{second.pk}"]').check()
    expect(page.locator(f"#tab-c{second.pk}")).to_be_visible()

    page.get_by_role("tab", name="Sink B").click()
    own_text = page.get_by_label("Text for Sink B")
    own_text.fill("B" * 501)
    problem = page.locator(f"#check-c{second.pk} .problems")
    expect(problem).to_contain_text("501 characters; Local sink (tests) allows 500.")
    expect(page.locator(f"#badge-c{second.pk}")).to_have_text("1")
    shot(page, "too long for sink B")
    own_text.fill("")
    own_text.press_sequentially("Only on B: the fair opens at 10")
    expect(problem).to_have_count(0)
    expect(page.locator(f"#check-c{second.pk}")).to_contain_text("Ready for Sink B")
    shot(page, "error cleared")

    # A link to a private address gets no preview: the server refuses to fetch it (SSRF guard).
    page.get_by_label("Link", exact=True).fill("http://127.0.0.1:9/internal")
    page.get_by_label("Link", exact=True).press("Tab")
    expect(page.locator("#link-preview")).to_contain_text("This link cannot be previewed")
    page.get_by_label("Link", exact=True).fill("")
    page.get_by_label("Link", exact=True).press("Tab")

    # A photo from the media library, with the alt text the workspace requires.
    page.get_by_role("button", name="Add from the media library").click()
    page.locator(f'.media-pick[data-media-id="{photo.pk}"]').click()
    expect(page.locator(f"#check-c{second.pk} .problems")).to_contain_text("requires alt text")
    page.locator('#media-list input[name="media-asset-alt"]').fill("Volunteers at the fair")
    expect(page.locator(f"#check-c{second.pk} .problems")).to_have_count(0)
    expect(page.locator(f'#check-c{second.pk} .net-images img[alt="Volunteers at the fair"]')).to_be_visible()
    shot(page, "photo attached")

    day = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=10)
    page.get_by_label("At a date and time").check()
    page.get_by_label("Date and time (workspace time zone)").fill(f"{day.isoformat()}T10:00")
    expect(page.locator("#schedule-feedback")).to_contain_text("10:00 (Europe/Paris)")
    shot(page, "scheduled time")
    page.get_by_role("button", name="Schedule for").click()

    expect(page.get_by_role("heading", name="Posts")).to_be_visible()
    rows = page.locator("#targets tbody tr")
    expect(rows).to_have_count(1)  # one row per post, its two channel copies as chips
    expect(page.locator("#targets")).to_contain_text("Spring fair this Saturday")
    expect(rows.locator(".chip")).to_have_text(["SI Sink A · Scheduled", "SI Sink B · Scheduled"])
    shot(page, "in the posts list")
    texts = dict(PostTarget.objects.values_list("channel__name", "text"))
    assert texts == {"Sink A": "Spring fair this Saturday", "Sink B": "Only on B: the fair opens at 10"}
    local = PostTarget.objects.first().scheduled_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))  # type: ignore[union-attr]
    assert (local.date(), local.hour) == (day, 10)
    assert [m["alt"] for m in PostTarget.objects.first().media] == ["Volunteers at the fair"]  # type: ignore[union-attr]


def test_a_post_is_rejected_edited_and_approved(
    page: Page, new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    author = cast.members["contributor"]
    post = actions.create_post(
        workspace=cast.workspace, author=author, channels=[channel], text="Come to the fair"
    )
    target = post.targets.get()
    actions.submit_for_review(target, actor=author)

    sign_in(page, cast.members["approver"].email)
    page.goto("/w/campaign/")
    go_to(page, "Plan", "Review")
    item = page.locator(f"#review-{target.pk}")
    expect(item).to_contain_text("Come to the fair")
    shot(page, "review queue")
    item.get_by_label("Comment").fill("Say when and where")
    item.get_by_role("button", name="Reject").click()
    expect(page.locator(f"#review-{target.pk}")).to_contain_text(
        "Returned to the author: “Say when and where”"
    )
    shot(page, "rejected in place")

    writer = new_page()
    sign_in(writer, author.email)
    writer.goto("/w/campaign/review/")
    returned = writer.locator("#review-returned")
    expect(returned).to_contain_text("Say when and where")
    shot(writer, "returned to the author")
    returned.get_by_role("link", name="Edit").click()
    writer.get_by_label("Main text (all channels)").fill("Come to the fair, Saturday 10:00, city park")
    expect(writer.locator(f"#check-c{channel.pk} .net-text")).to_contain_text("city park")
    expect(writer.get_by_label("Publish now")).to_have_count(0)  # a contributor cannot schedule
    writer.get_by_label("Submit for review").check()
    shot(writer, "edited")
    writer.get_by_role("button", name="Submit for review").click()
    expect(writer.get_by_text("Post saved.")).to_be_visible()

    page.reload()
    item = page.locator(f"#review-{target.pk}")
    expect(item).to_contain_text("Saturday 10:00, city park")
    item.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#review-{target.pk}")).to_contain_text("Approved")
    page.reload()
    history = page.locator("#review-history")
    expect(history.locator('tr[data-action="target.rejected"]')).to_contain_text("Say when and where")
    expect(history.locator('tr[data-action="target.approved"]')).to_have_count(1)
    shot(page, "decisions history")
    target.refresh_from_db()
    assert target.status == S.APPROVED


@pytest.mark.parametrize("locale", ["en-US", "fr-FR"])
def test_the_main_button_follows_the_time_as_it_is_set(
    new_page: NewPage, shot: Shot, cast: Cast, locale: str
) -> None:
    sink = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    fair = Campaign.objects.create(workspace=cast.workspace, name="Spring fair", slug="spring-fair")
    page = new_page(locale=locale)
    sign_in(page, cast.owner.email)
    french = locale.startswith("fr")
    page.goto("/w/campaign/posts/new/")
    page.locator(f'#channel-choice input[value="{sink.pk}"]').check()
    page.locator("#id_text").fill("Open day at the library" if not french else "Portes ouvertes")
    page.locator("#id_campaign").select_option(str(fair.pk))
    page.locator("#id_tags").fill("volunteers, library")
    submit = page.get_by_test_id("composer-submit")
    expect(submit).to_have_text("Enregistrer comme brouillon" if french else "Save as draft")
    page.locator('input[name="when"][value="now"]').check()
    expect(submit).to_have_text("Publier maintenant" if french else "Publish now")
    page.locator('input[name="when"][value="at"]').check()
    expect(submit).to_have_text("Programmer" if french else "Schedule")
    day = dt.date(dt.date.today().year + 1, 12, 16)
    page.locator('input[name="local_time"]').fill(f"{day.isoformat()}T10:00")
    weekday = (
        ["Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim"]
        if french
        else ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    )[day.weekday()]
    expected = (
        f"Programmer pour {weekday} 16 déc, 10:00 (Paris)"
        if french
        else f"Schedule for {weekday} 16 Dec, 10:00 (Paris)"
    )
    expect(submit).to_have_text(expected)
    shot(page, f"button says when {locale}")
    page.locator('input[name="local_time"]').fill(f"{day.isoformat()}T18:45")
    expect(submit).to_have_text(expected.replace("10:00", "18:45"))

    # A time already passed is refused, with "Publish now" as the explicit alternative.
    page.locator('input[name="local_time"]').fill("2001-01-01T09:00")
    submit.click()
    refusal = "est déjà passé" if french else "has already passed: choose a later time, or publish now."
    expect(page.locator("#composer")).to_contain_text(refusal)
    expect(page.get_by_test_id("composer-publish-now")).to_be_visible()
    assert not PostTarget.objects.exists()
    shot(page, f"past time refused {locale}")
    page.get_by_test_id("composer-publish-now").click()
    expect(page.locator("#targets")).to_contain_text("Sink")
    target = PostTarget.objects.select_related("post").get()
    assert target.status in {S.SCHEDULED, S.PUBLISHING, S.PUBLISHED}
    assert target.post.campaign == fair
    assert sorted(target.post.tags.values_list("name", flat=True)) == ["library", "volunteers"]
