"""A contributor withdraws consent through their own link; the team sees it on the workspace home,
and the file's page shows it hidden, with its scheduled post held."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from chorus.approvals import intake
from chorus.channels.actions import connect_channel
from chorus.content.models import PostTarget
from chorus.media import actions as media
from chorus.media.models import MediaConsent
from chorus.publishing import actions as publishing
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast
from tests.safety.files import jpeg_with_location

pytestmark = pytest.mark.browser


def test_a_contributor_withdraws_consent_and_the_team_sees_it(
    new_page: NewPage, shot: Shot, cast: Cast, settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    person, token = intake.invite(cast.workspace, actor=cast.owner, name="Amina Diallo")
    photo = jpeg_with_location(tmp_path / "well.jpg")
    story = intake.submit(
        person, title="The well", text="Water came back.", consent=True,
        photos=[SimpleUploadedFile(photo.name, photo.read_bytes())],
    )  # fmt: skip
    asset = story.photos.get()
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = publishing.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Soon"
    )
    target = post.targets.get()
    publishing.edit(target, actor=cast.owner, media=[media.as_post_media(asset)])
    publishing.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=2))

    contributor = new_page()
    contributor.goto(f"/contribute/{token}/")
    mine = contributor.locator(f'li[data-story="{story.pk}"]')
    mine.get_by_label("Why (optional)").fill("My family asked me to.")
    shot(contributor, "contributor about to withdraw")
    mine.get_by_role("button", name="Withdraw my consent for this story's photos").click()
    expect(contributor.locator(".messages")).to_contain_text("Your consent was withdrawn for 1 photo")
    expect(contributor.locator(f'li[data-story="{story.pk}"]')).to_contain_text("Consent withdrawn")
    shot(contributor, "contributor sees the withdrawal")
    assert MediaConsent.objects.get(story=story).state == "withdrawn"

    team = new_page()
    sign_in(team, cast.members["editor"].email)
    team.goto(f"/w/{cast.workspace.slug}/")
    alerts = team.locator("#consent-alerts")
    expect(alerts).to_contain_text("Consent withdrawn")
    expect(alerts).to_contain_text("well.jpg")
    expect(alerts).to_contain_text("My family asked me to.")
    shot(team, "the team sees it on the home")
    alerts.get_by_role("link", name="well.jpg").click()
    expect(team.locator("#media-withdrawn")).to_be_visible()
    expect(team.locator("#withdrawal-steps")).to_contain_text("Held")
    shot(team, "the file page shows the held post")
    target.refresh_from_db()
    assert (target.status, target.hold_reason) == (PostTarget.Status.SCHEDULED, "consent_withdrawn")
