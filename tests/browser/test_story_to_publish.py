"""Issue 7's whole path in a real browser, published to a real local WordPress: a contributor
invited by magic link sends a story with a photo; an editor turns it into a post for the
WordPress channel and submits it; two approvers, each signed in on their own, approve the two
steps of the workflow; the publishing engine sends it and the post page links to WordPress."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from chorus.accounts.models import Membership
from chorus.accounts.permissions import Role
from chorus.approvals import actions as approvals
from chorus.approvals import intake
from chorus.approvals.models import Step, Story, Workflow
from chorus.channels.actions import connect_channel
from chorus.connectors.wordpress.connector import WordPressConnector
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast, make_user
from tests.peers.wordpress import WordPressSite, wordpress_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.peer]
S = PostTarget.Status


def _photo(directory: Path) -> Path:
    path = directory / "river-cleanup.png"
    Image.new("RGB", (120, 80), (20, 140, 90)).save(path, format="PNG")
    return path


def _wp(site: WordPressSite, route: str) -> str:
    return f"{site.url}/wp-json{route}"


def test_it_takes_a_contributed_story_through_two_approvals_to_wordpress(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    settings,
    tmp_path: Path,
    wordpress_site: WordPressSite,  # noqa: F811
) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the local WordPress lives on 127.0.0.1
    settings.MEDIA_ROOT = tmp_path / "media"
    workspace = cast.workspace
    editor = cast.members["editor"]
    approver_a = cast.members["approver"]
    approver_b = make_user("approver-b@example.org", name="Approver B")
    Membership.objects.create(workspace=workspace, user=approver_b, role=Role.APPROVER)

    # Setup through the actions layer: the WordPress channel, the two-step workflow, the invitation.
    result = WordPressConnector.begin_connect(
        {
            "site_url": wordpress_site.url,
            "username": wordpress_site.username,
            "application_password": wordpress_site.application_password,
        },
        callback_url="",
        state="",
    )
    channel = connect_channel(
        workspace=workspace,
        kind="wordpress",
        name=result.name,  # type: ignore[union-attr]
        config=result.config,  # type: ignore[union-attr]
        credentials=result.credentials,  # type: ignore[union-attr]
        actor=cast.owner,
    )
    approvals.save_workflow(
        workspace,
        actor=cast.owner,
        name="Stories",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[
            {"name": "Desk", "users": [approver_a.pk], "rule": Step.Rule.ANY},
            {"name": "Sign-off", "users": [approver_b.pk], "rule": Step.Rule.ANY},
        ],
    )
    _contributor, token = intake.invite(
        workspace, actor=editor, name="Amina Diallo", email="amina@example.org"
    )
    photo = _photo(tmp_path)

    # 1. The contributor, with no account, opens the magic link and sends the story with a photo.
    contributor = new_page()
    contributor.goto(f"/contribute/{token}/")
    expect(contributor.get_by_role("heading", name="Hello Amina Diallo, send us a story")).to_be_visible()
    form = contributor.locator("form.card")  # not the site's language switcher
    form.get_by_label("Title").fill("River clean-up in Lyon")
    form.get_by_label("The story").fill("Forty volunteers pulled 300 kg of rubbish out of the Saône.")
    form.get_by_label("Photos").set_input_files(str(photo))
    form.get_by_label("Language").fill("en")
    form.get_by_label("Location").fill("Lyon")
    form.get_by_label("Photo credit").fill("Amina Diallo")
    form.get_by_label("The person in this story agreed to its publication.").check()
    shot(contributor, "contributor fills the story")
    form.get_by_role("button", name="Send the story").click()
    expect(contributor.locator("li[data-story]")).to_contain_text("River clean-up in Lyon")
    shot(contributor, "contributor sees the submission")
    story = Story.objects.get(workspace=workspace)
    assert story.photos.count() == 1

    # 2. The editor finds it in the intake queue and turns it into a post for the WordPress channel.
    desk = new_page()
    sign_in(desk, editor.email)
    desk.goto("/w/campaign/intake/")
    desk.get_by_role("link", name="River clean-up in Lyon").click()
    expect(desk.get_by_role("heading", name="River clean-up in Lyon")).to_be_visible()
    expect(desk.locator("article")).to_contain_text("river-cleanup.png")
    shot(desk, "editor opens the story")
    desk.get_by_label(channel.name).check()
    desk.get_by_role("button", name="Create the draft post").click()
    target = PostTarget.objects.get(post__workspace=workspace, channel=channel)
    expect(desk).to_have_url(re.compile(rf"/approvals/targets/{target.pk}/$"))
    shot(desk, "draft post from the story")
    assert target.media and target.media[0]["path"].endswith(".png")
    assert "Amina Diallo" in target.text  # the credit is kept

    # The editor submits it for review: the workflow starts at step 1.
    desk.get_by_role("link", name="Post details").click()
    desk.get_by_role("button", name="Submit for review").click()
    expect(desk.locator("#target-facts .status")).to_have_text("In review")
    shot(desk, "submitted for review")

    # 3. Approver A (step 1) approves in their own session; B cannot decide yet.
    first = new_page()
    sign_in(first, approver_a.email)
    first.goto(f"/w/campaign/approvals/targets/{target.pk}/")
    expect(first.locator("#workflow li.current")).to_contain_text("Desk")
    first.get_by_label("Comment (required to reject)").fill("Good story, photo checked.")
    shot(first, "approver A about to approve step 1")
    first.get_by_role("button", name="Approve").click()
    expect(first.locator("#decisions")).to_contain_text("Good story, photo checked.")
    expect(first.locator("#workflow li.current")).to_contain_text("Sign-off")
    shot(first, "step 1 approved")
    target.refresh_from_db()
    assert target.status == S.IN_REVIEW

    # 4. Approver B (step 2) approves in another session.
    second = new_page()
    sign_in(second, approver_b.email)
    second.goto(f"/w/campaign/approvals/targets/{target.pk}/")
    expect(second.locator("#workflow li.current")).to_contain_text("Sign-off")
    second.get_by_role("button", name="Approve").click()
    expect(second.locator(".page-head .badge")).to_have_text("Approved")
    shot(second, "step 2 approved")

    # 5. The editor sends it out now; no worker runs beside live_server, so the engine runs here.
    desk.goto(f"/w/campaign/targets/{target.pk}/")
    desk.get_by_role("button", name="Publish now").click()
    expect(desk.locator("#target-facts .status")).to_have_text("Scheduled")
    shot(desk, "scheduled to publish now")
    attempt_id, ids = dispatch.claim_due(now=timezone.now() + dt.timedelta(seconds=1))
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"

    target.refresh_from_db()
    assert target.status == S.PUBLISHED and target.external_url.startswith(wordpress_site.url)
    desk.reload()
    expect(desk.locator("#target-facts .status")).to_have_text("Published")
    link = desk.locator("#target-facts a", has_text=target.external_url)
    expect(link).to_have_attribute("href", target.external_url)
    shot(desk, "published with the WordPress link")

    # 6. WordPress really has it, with the contributor's photo as its image.
    with wordpress_site.client() as client:
        post = client.get(
            _wp(wordpress_site, f"/wp/v2/posts/{target.external_id}"), params={"context": "edit"}
        )
        assert post.status_code == 200, post.text
        wp_post = post.json()
        assert wp_post["status"] == "publish"
        assert wp_post["link"] == target.external_url
        assert wp_post["title"]["raw"] == "River clean-up in Lyon"
        assert "Forty volunteers" in wp_post["content"]["raw"]
        assert wp_post["featured_media"]
        media = client.get(_wp(wordpress_site, f"/wp/v2/media/{wp_post['featured_media']}")).json()
    assert media["mime_type"] == "image/png"
    assert httpx.get(media["source_url"], timeout=30).content == photo.read_bytes()
    page_of_post = new_page()
    page_of_post.goto(target.external_url)
    shot(page_of_post, "the post on WordPress")
