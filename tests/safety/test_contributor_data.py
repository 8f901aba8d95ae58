"""A contributor's personal data: the export holds everything, the erasure leaves nothing personal
in the database or the files, and the audit log still reads coherently."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.approvals import intake, privacy
from chorus.approvals.models import Contributor, Story
from chorus.channels.actions import connect_channel
from chorus.core.models import AuditEvent
from chorus.media import actions as media
from chorus.media import consent
from chorus.media.models import MediaAsset, MediaConsent
from chorus.publishing import actions as publishing
from tests.conftest import Cast
from tests.safety.files import jpeg_with_location

NAME, EMAIL = "Amina Khalil", "amina.k@example.org"
MARKERS = [NAME, "Amina", EMAIL, "UNIQUESTORYTEXT", "Camp-Street-9", "family-asked", "Pseudo-Rose", "Khalil"]


def _setup(cast: Cast, tmp_path: Path) -> tuple[Contributor, str, Story, MediaAsset]:
    consent.set_rules(cast.workspace, actor=cast.owner, keep_private_originals=True)
    person, raw = intake.invite(cast.workspace, actor=cast.owner, name=NAME, email=EMAIL)
    photo = jpeg_with_location(tmp_path / "amina-khalil.jpg")
    response = Client(REMOTE_ADDR="203.0.113.7").post(
        f"/contribute/{raw}/",
        {"title": "Amina's well", "text": "UNIQUESTORYTEXT about the well.", "location": "Camp-Street-9",
         "credit": "Pseudo-Rose", "credit_is_pseudonym": "1", "consent": "1",
         "photos": [SimpleUploadedFile(photo.name, photo.read_bytes())]},
    )  # fmt: skip
    assert response.status_code == 302
    story = Story.objects.get(contributor=person)
    asset = story.photos.get()
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = publishing.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Campaign"
    )
    publishing.edit(post.targets.get(), actor=cast.owner, media=[media.as_post_media(asset)])
    return person, raw, story, asset


def test_the_export_contains_everything_about_the_person(cast: Cast, tmp_path):
    person, _raw, _story, asset = _setup(cast, tmp_path)
    response = cast.client_for(cast.owner).get(
        reverse("approvals:contributor", args=[cast.workspace.slug, person.pk]), {"export": "zip"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["contributor"]["name"] == NAME and data["contributor"]["email"] == EMAIL
    [exported_story] = data["stories"]
    assert exported_story["text"] == "UNIQUESTORYTEXT about the well."
    assert (exported_story["location"], exported_story["credit"]) == ("Camp-Street-9", "Pseudo-Rose")
    [given] = data["consents"]
    assert (given["file"], given["credit_is_pseudonym"], given["state"]) == (asset.pk, True, "active")
    [file] = data["files"]
    assert [u["channel"] for u in file["used_in"]] == ["Sink"]
    stored = media.default_storage.open(asset.path).read()
    assert archive.read(f"files/{asset.pk}-amina-khalil.jpg") == stored
    assert (
        archive.read(f"originals/{asset.pk}-amina-khalil.jpg") == (tmp_path / "amina-khalil.jpg").read_bytes()
    )
    assert AuditEvent.objects.filter(action="contributor.exported", object_id=str(person.pk)).exists()
    # Only managers may export: an editor is refused.
    editor = cast.client_for(cast.members["editor"]).get(
        reverse("approvals:contributor", args=[cast.workspace.slug, person.pk]), {"export": "zip"}
    )
    assert editor.status_code == 403


def _database_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith(("media_search", "sqlite_")) or table == "django_migrations":
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks += [repr(row) for row in cursor.fetchall()]
    return "\n".join(chunks)


def _files_bytes(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]


def test_erasure_leaves_nothing_personal_and_the_audit_reads_coherently(cast: Cast, tmp_path, settings):
    from chorus.webhooks import actions as webhooks
    from chorus.webhooks.models import Delivery

    # A webhook told another system about the story (its title and the person's name), and the
    # team made a draft post from it (the story's text with "Story: <name>" and the photo).
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # nothing listens there: the delivery stays in the log
    webhooks.create_endpoint(
        workspace=cast.workspace, actor=cast.owner, url="http://127.0.0.1:9/chorus",
        event_types=["story.received"],
    )  # fmt: skip
    person, raw, story, asset = _setup(cast, tmp_path)
    draft = intake.to_post(
        story,
        actor=cast.owner,
        channels=[
            connect_channel(workspace=cast.workspace, kind="sink", name="Site", config={}, credentials={})
        ],
    )
    assert NAME in draft.targets.get().text and Delivery.objects.filter(body__contains=NAME).exists()
    intake.withdraw_story(person, story, reason="family-asked")  # the person withdrew before asking to erase
    original = (tmp_path / "amina-khalil.jpg").read_bytes()
    stored = media.default_storage.open(asset.path).read()
    text_before = _database_text()
    assert all(marker in text_before for marker in [NAME, EMAIL, "UNIQUESTORYTEXT", "Camp-Street-9"])
    assert "203.0.113.7" in text_before  # the contributor's address on their own audit rows
    events_before = list(
        AuditEvent.objects.order_by("pk").values_list("pk", "action", "object_type", "object_id")
    )

    response = cast.client_for(cast.owner).post(
        reverse("approvals:contributor", args=[cast.workspace.slug, person.pk]),
        {"action": "erase", "confirm": NAME, "reason": "request by email"},
    )
    assert response.status_code == 302

    text_after = _database_text()
    left = [m for m in MARKERS if m in text_after]
    assert left == [], left
    assert "203.0.113.7" not in text_after
    every_file = _files_bytes(Path(settings.MEDIA_ROOT)) + _files_bytes(Path(settings.CHORUS_PRIVATE_ROOT))
    assert stored not in every_file and original not in every_file
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()
    assert Client().get(f"/contribute/{raw}/").status_code == 404  # the link no longer works

    # The audit log: every earlier row still there, same action and object, in the same order,
    # then one row that says who erased what.
    events_after = list(
        AuditEvent.objects.order_by("pk").values_list("pk", "action", "object_type", "object_id")
    )
    assert events_after[: len(events_before)] == events_before
    erased = AuditEvent.objects.get(action="contributor.erased")
    assert erased.actor == cast.owner and erased.object_id == str(person.pk)
    assert (
        erased.data["files"] == 1
        and erased.data["stories"] == 1
        and erased.data["audit_rows_pseudonymised"] > 0
        and erased.data["post_targets_pseudonymised"] == 2  # the draft and the team's campaign post
        and erased.data["webhook_deliveries_pseudonymised"] == 1
    )
    target = draft.targets.get()
    assert target.text == "[erased]\n\nStory: [erased] · Photo: [erased]" and target.media == []
    assert json.loads(Delivery.objects.get().body)["data"]["contributor"] == "[erased]"
    invited = AuditEvent.objects.get(action="contributor.invited", object_id=str(person.pk))
    assert invited.data["name"] == privacy.ERASED
    person.refresh_from_db()
    assert person.name == f"Erased contributor {person.pk}" and person.email == ""
    assert MediaConsent.objects.filter(contributor=person).count() == 0  # went with the file


@pytest.mark.parametrize("used", [False, True])
def test_retention_erases_stories_never_used(cast: Cast, tmp_path, used):
    consent.set_rules(cast.workspace, actor=cast.owner, unused_story_days=30)
    person, _raw = intake.invite(cast.workspace, actor=cast.owner, name=NAME)
    photo = jpeg_with_location(tmp_path / "old.jpg")
    story = intake.submit(
        person, title="Old", text="UNIQUESTORYTEXT", consent=True,
        photos=[SimpleUploadedFile(photo.name, photo.read_bytes())],
    )  # fmt: skip
    Story.objects.filter(pk=story.pk).update(created_at=timezone.now() - timezone.timedelta(days=31))
    if used:
        channel = connect_channel(
            workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={}
        )
        intake.to_post(story, actor=cast.owner, channels=[channel])
    assert privacy.apply_retention() == (0 if used else 1)
    story.refresh_from_db()
    assert (story.text == "") is not used
    assert MediaAsset.objects.exists() is used
