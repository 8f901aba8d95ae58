from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from chorus.approvals import intake
from chorus.approvals.models import Story
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.media.models import MediaAsset


def _png(name: str = "well.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _u(name: str, **kwargs) -> str:
    return reverse(f"approvals:{name}", kwargs={"slug": "campaign", **kwargs})


def test_it_takes_a_story_with_a_photo_into_the_library_with_consent_and_credit(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    editor = cast.client_for(cast.members["editor"])
    editor.post(_u("intake_invite"), {"name": "Amina"})
    link = editor.get(_u("intake")).context["new_link"]
    path = link.split("testserver")[1]
    response = Client().post(
        path,
        {"title": "The well", "text": "Water came back.", "language": "fr", "location": "Dakar",
         "credit": "Photo: Amina", "consent": "1", "photos": [_png()]},
    )  # fmt: skip
    assert response.status_code == 302
    story = Story.objects.get()
    assert (story.language, story.location, story.subject_consent) == ("fr", "Dakar", True)
    asset = story.photos.get()
    assert asset.workspace == cast.workspace and asset.credit == "Photo: Amina"
    assert asset.consent == MediaAsset.Consent.WRITTEN
    assert "The well" in Client().get(path).content.decode()  # the contributor sees their own
    assert AuditEvent.objects.filter(action="story.submitted").exists()


def test_it_refuses_a_story_without_consent(cast):
    _contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="A")
    response = Client().post(f"/contribute/{raw}/", {"title": "T", "text": "S"})
    assert response.status_code == 400 and "agreed" in response.content.decode()
    assert not Story.objects.exists()


def test_it_shows_a_contributor_only_their_own_stories(cast):
    mine, raw = intake.invite(cast.workspace, actor=cast.owner, name="Mine")
    theirs, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Theirs")
    intake.submit(theirs, title="Secret story", text="x", consent=True)
    intake.submit(mine, title="My story", text="x", consent=True)
    page = Client().get(f"/contribute/{raw}/").content.decode()
    assert "My story" in page and "Secret story" not in page
    assert Client().get(f"/contribute/{raw}x/").status_code == 404
    intake.revoke(mine, actor=cast.owner)
    assert Client().get(f"/contribute/{raw}/").status_code == 404


def test_it_turns_a_story_into_a_draft_post_with_photos_and_credit(cast, sink_channel, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contributor, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
    story = intake.submit(
        contributor, title="Well", text="Water.", consent=True, credit="Ali", photos=[_png()]
    )
    editor = cast.client_for(cast.members["editor"])
    response = editor.post(
        _u("story", story_id=story.pk), {"action": "to_post", "channels": [sink_channel.pk]}
    )
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert (
        target.status == "draft"
        and "Water." in target.text
        and "Amina" in target.text
        and "Ali" in target.text
    )
    assert target.media[0]["media_id"] == story.photos.get().pk
    story.refresh_from_db()
    assert story.state == Story.State.ACCEPTED and story.post == target.post
    assert "1 story received" in editor.get(_u("intake")).content.decode()


def test_it_returns_a_story_with_a_note_and_filters_the_queue(cast):
    contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
    story = intake.submit(contributor, title="Well", text="x", consent=True, language="fr")
    intake.submit(contributor, title="Other", text="x", consent=True, language="en")
    editor = cast.client_for(cast.members["editor"])
    editor.post(_u("story", story_id=story.pk), {"action": "return", "note": "Add a date"})
    assert Story.objects.get(pk=story.pk).state == Story.State.RETURNED
    assert "Add a date" in Client().get(f"/contribute/{raw}/").content.decode()
    shown = [s.title for s in editor.get(_u("intake"), {"language": "fr"}).context["stories"]]
    assert shown == ["Well"]
    shown = [s.title for s in editor.get(_u("intake"), {"state": "received"}).context["stories"]]
    assert shown == ["Other"]
