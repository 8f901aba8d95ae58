"""Story intake by API: a contributor's link made, the stories listed and read, one returned
with a note, one turned into a draft post with its photo and credit."""

from __future__ import annotations

import io
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chorus.accounts.models import ApiToken
from chorus.approvals import intake
from chorus.approvals.models import Contributor, Story
from chorus.content.models import Post
from chorus.core.models import AuditEvent


def _api(client, user):
    _token, raw = ApiToken.issue(user, "test", scope="write")
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(buffer, "PNG")
    return SimpleUploadedFile("well.png", buffer.getvalue(), content_type="image/png")


def test_a_link_made_by_api_takes_a_story_the_api_then_lists(client, cast, settings):
    settings.CHORUS_BASE_URL = "https://chorus.example"
    api = _api(client, cast.members["editor"])
    made = api("post", "/api/workspaces/campaign/contributors", {"name": "Amina", "days": 7})
    assert made.status_code == 201, made.content
    link = made.json()["link"]
    assert link.startswith("https://chorus.example/contribute/")
    contributor = Contributor.objects.get(pk=made.json()["id"])
    assert link.rstrip("/").endswith(contributor.hint)  # the link's token, only its hash stored
    assert AuditEvent.objects.filter(action="contributor.invited", object_id=str(contributor.pk)).exists()

    sent = Client().post(
        link.removeprefix("https://chorus.example"),
        {"title": "The well", "text": "Water came back.", "language": "fr", "consent": "1"},
    )
    assert sent.status_code == 302
    stories = api("get", "/api/workspaces/campaign/stories").json()
    assert [(s["title"], s["state"], s["contributor"]["name"]) for s in stories] == [
        ("The well", "received", "Amina")
    ]
    assert stories[0]["language"] == "fr" and stories[0]["subject_consent"] is True
    assert api("get", "/api/workspaces/campaign/stories?state=accepted").json() == []


def test_too_long_a_link_or_no_name_is_refused(client, cast):
    api = _api(client, cast.members["editor"])
    refused = api("post", "/api/workspaces/campaign/contributors", {"name": "Amina", "days": 10_000})
    assert refused.status_code == 409 and refused.json()["code"] == "intake_refused"
    nameless = api("post", "/api/workspaces/campaign/contributors", {"name": "  "})
    assert nameless.status_code == 409 and "name" in nameless.json()["message"]
    assert not Contributor.objects.exists()
    viewer = _api(client, cast.members["viewer"])
    assert viewer("get", "/api/workspaces/campaign/stories").status_code == 403


def test_a_story_is_returned_with_a_note_then_turned_into_a_draft_post(
    client, cast, sink_channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    contributor, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
    story = intake.submit(
        contributor, title="Well", text="Water.", consent=True, credit="Ali", photos=[_png()]
    )
    api = _api(client, cast.members["editor"])

    empty = api("post", f"/api/workspaces/campaign/stories/{story.pk}/return", {"note": " "})
    assert empty.status_code == 409
    returned = api("post", f"/api/workspaces/campaign/stories/{story.pk}/return", {"note": "Add a date"})
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    assert returned.json()["note"] == "Add a date"

    made = api(
        "post", f"/api/workspaces/campaign/stories/{story.pk}/post", {"channel_ids": [sink_channel.pk]}
    )
    assert made.status_code == 201, made.content
    post = Post.objects.get(pk=made.json()["post_id"])
    target = post.targets.get()
    assert "Water." in target.text and "Amina" in target.text and "Ali" in target.text
    assert target.media[0]["media_id"] == story.photos.get().pk
    read = api("get", f"/api/workspaces/campaign/stories/{story.pk}").json()
    assert read["state"] == "accepted" and read["post_id"] == post.pk
    assert read["photo_ids"] == [story.photos.get().pk]
    again = api(
        "post", f"/api/workspaces/campaign/stories/{story.pk}/post", {"channel_ids": [sink_channel.pk]}
    )
    assert again.status_code == 409  # already a post
    assert Post.objects.count() == 1


def test_a_story_of_another_workspace_is_not_found(client, cast):
    theirs, _raw = intake.invite(cast.other_workspace, actor=cast.outsider, name="Someone")
    story = intake.submit(theirs, title="Theirs", text="x", consent=True)
    api = _api(client, cast.members["editor"])
    assert api("get", f"/api/workspaces/campaign/stories/{story.pk}").status_code == 404
    assert (
        api("post", f"/api/workspaces/campaign/stories/{story.pk}/return", {"note": "x"}).status_code == 404
    )
    assert Story.objects.get(pk=story.pk).state == Story.State.RECEIVED
