"""One validation for every path: the API refuses what the composer refuses (same code, same
message), and attaches library media by id with alt text, post-wide and per channel variant."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chorus.accounts.models import ApiToken
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Post, PostTarget
from chorus.media.actions import upload
from chorus.media.models import MediaAsset, MediaUsage
from chorus.publishing import composer
from tests.conftest import Cast

S = PostTarget.Status
POSTS = "/api/workspaces/campaign/posts"


def _api(client, user):
    _token, raw = ApiToken.issue(user, "test")
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def _channel(cast: Cast, kind: str, name: str, config: dict) -> Channel:
    return connect_channel(
        workspace=cast.workspace, kind=kind, name=name, config=config, credentials={}, actor=cast.owner
    )


@pytest.fixture
def bluesky(cast: Cast) -> Channel:
    return _channel(cast, "bluesky", "NGO on Bluesky", {"handle": "ngo.bsky.social", "did": "did:plc:x"})


@pytest.fixture
def mastodon(cast: Cast) -> Channel:
    config = {"instance": "https://social.example", "username": "ngo", "limits": {"max_characters": 100}}
    return _channel(cast, "mastodon", "NGO on Mastodon", config)


@pytest.fixture
def api(client, cast: Cast):
    return _api(client, cast.members["admin"])


def _image(workspace, user, name: str, colour: str = "green") -> MediaAsset:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    asset, _created = upload(workspace, user, SimpleUploadedFile(name, buffer.getvalue()))
    return asset


def _composer_problem(cast: Cast, channel: Channel, text: str, media: list | None = None):
    """What the composer shows for this text on this channel (its first problem)."""
    draft = composer.Draft(
        title="", text=text, link="", media=media or [], channels=[composer.ChannelDraft(channel, "", {})]
    )
    (check,) = composer.check_draft(draft, cast.workspace)
    assert check.problems, "the composer must refuse this too"
    return check.problems[0]


@pytest.mark.parametrize(
    ("text", "code"),
    [("é" * 350, "too_long"), ("", "empty"), ("   ", "empty")],
    ids=["350 graphemes", "empty", "blank"],
)
@pytest.mark.parametrize("mode", ["now", "review"])
def test_bluesky_rules_refuse_like_the_composer(api, cast: Cast, bluesky: Channel, text, code, mode) -> None:
    response = api("post", POSTS, {"text": text, "channel_ids": [bluesky.pk], "schedule": {"mode": mode}})
    assert response.status_code == 422, response.content
    body = response.json()
    expected = _composer_problem(cast, bluesky, text)
    assert (body["code"], body["message"], body["detail"]) == (code, expected.message, expected.message)
    assert body["fields"] == {f"channels.{bluesky.pk}.text": f"{code}: {expected.message}"}
    assert not Post.objects.filter(workspace=cast.workspace).exists()  # nothing half-created


def test_300_graphemes_fit_bluesky(api, bluesky: Channel) -> None:
    family = "👨‍👩‍👧"  # one grapheme, five code points
    response = api(
        "post", POSTS, {"text": family * 300, "channel_ids": [bluesky.pk], "schedule": {"mode": "now"}}
    )
    assert response.status_code == 201, response.content
    assert response.json()["targets"][0]["status"] == S.SCHEDULED


def test_the_mastodon_instance_limit_refuses_like_the_composer(
    api, cast: Cast, bluesky: Channel, mastodon: Channel
) -> None:
    text = "x" * 101  # fits Bluesky, not this instance's 100
    body = {"text": text, "channel_ids": [bluesky.pk, mastodon.pk], "schedule": {"mode": "queue"}}
    response = api("post", POSTS, body)
    assert response.status_code == 422
    expected = _composer_problem(cast, mastodon, text)
    assert response.json()["code"] == "too_long"
    assert response.json()["message"] == expected.message == "101 characters; this instance allows 100."
    assert list(response.json()["fields"]) == [f"channels.{mastodon.pk}.text"]
    assert not PostTarget.objects.filter(workspace=cast.workspace).exists()


def test_a_per_channel_text_is_checked_on_its_own_channel(api, bluesky: Channel, mastodon: Channel) -> None:
    body = {
        "text": "short",
        "channel_ids": [bluesky.pk, mastodon.pk],
        "per_channel_text": {str(bluesky.pk): "b" * 301},
        "schedule": {"mode": "now"},
    }
    response = api("post", POSTS, body)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [f"channels.{bluesky.pk}.text"]


def test_a_draft_is_kept_with_its_problems_as_warnings(api, bluesky: Channel) -> None:
    response = api("post", POSTS, {"text": "é" * 350, "channel_ids": [bluesky.pk]})
    assert response.status_code == 201
    body = response.json()
    assert body["targets"][0]["status"] == S.DRAFT
    assert body["warnings"] == [
        "NGO on Bluesky: 350 characters; Bluesky allows 300 (or post it as a thread)."
    ]
    target_id = body["targets"][0]["id"]
    # Scheduling or submitting it later gets the same refusal.
    refused = api("post", f"/api/workspaces/campaign/targets/{target_id}/schedule", {"mode": "now"})
    assert (refused.status_code, refused.json()["code"]) == (422, "too_long")
    refused = api("post", f"/api/workspaces/campaign/targets/{target_id}/submit", {})
    assert (refused.status_code, refused.json()["code"]) == (422, "too_long")
    assert PostTarget.objects.get(pk=target_id).status == S.DRAFT
    fixed = api("patch", f"/api/workspaces/campaign/targets/{target_id}", {"text": "Short now"})
    assert fixed.status_code == 200
    scheduled = api("post", f"/api/workspaces/campaign/targets/{target_id}/schedule", {"mode": "now"})
    assert (scheduled.status_code, scheduled.json()["status"]) == (200, S.SCHEDULED)


def test_an_edit_of_a_scheduled_target_keeps_the_rules(api, bluesky: Channel) -> None:
    created = api("post", POSTS, {"text": "Fine", "channel_ids": [bluesky.pk], "schedule": {"mode": "now"}})
    target_id = created.json()["targets"][0]["id"]
    response = api("patch", f"/api/workspaces/campaign/targets/{target_id}", {"text": "é" * 301})
    assert (response.status_code, response.json()["code"]) == (422, "too_long")
    target = PostTarget.objects.get(pk=target_id)
    assert (target.text, target.status) == ("Fine", S.SCHEDULED)  # the edit was rolled back


def test_media_are_attached_by_id_post_wide_and_per_channel_with_alt_text(
    api, cast: Cast, bluesky: Channel, mastodon: Channel
) -> None:
    oak = _image(cast.workspace, cast.owner, "oak.png")
    oak.alt_text = "An oak in the library"
    oak.save(update_fields=["alt_text"])
    beach = _image(cast.workspace, cast.owner, "beach.png", "blue")
    body = {
        "text": "Trees and beaches",
        "channel_ids": [bluesky.pk, mastodon.pk],
        "media": [{"media_id": oak.pk}],  # the library's alt text
        "per_channel_media": {str(mastodon.pk): [{"media_id": beach.pk, "alt": " Volunteers on the beach "}]},
        "schedule": {"mode": "now"},
    }
    response = api("post", POSTS, body)
    assert response.status_code == 201, response.content
    out = {t["channel_id"]: t for t in response.json()["targets"]}
    assert out[bluesky.pk]["media"] == [
        {"media_id": oak.pk, "alt": "An oak in the library", "kind": oak.kind, "mime_type": "image/png"}
    ]
    assert out[mastodon.pk]["media"][0]["media_id"] == beach.pk
    assert out[mastodon.pk]["media"][0]["alt"] == "Volunteers on the beach"
    stored = {t.channel_id: t for t in PostTarget.objects.filter(workspace=cast.workspace)}
    assert stored[bluesky.pk].media[0]["path"] == oak.path
    assert stored[mastodon.pk].media == [
        {**stored[mastodon.pk].media[0], "media_id": beach.pk, "alt": "Volunteers on the beach"}
    ]
    assert stored[bluesky.pk].status == stored[mastodon.pk].status == S.SCHEDULED
    assert MediaUsage.objects.filter(asset=beach, target=stored[mastodon.pk]).exists()

    # The variant's media change by PATCH: replaced, alt text kept as given.
    target_id = out[bluesky.pk]["id"]
    patched = api(
        "patch",
        f"/api/workspaces/campaign/targets/{target_id}",
        {"media": [{"media_id": beach.pk, "alt": "The beach"}, {"media_id": oak.pk, "alt": "The oak"}]},
    )
    assert patched.status_code == 200, patched.content
    assert [(m["media_id"], m["alt"]) for m in patched.json()["media"]] == [
        (beach.pk, "The beach"),
        (oak.pk, "The oak"),
    ]


def test_an_image_without_alt_text_is_refused_like_the_composer(api, cast: Cast, bluesky: Channel) -> None:
    asset = _image(cast.workspace, cast.owner, "no-alt.png")
    body = {"text": "A picture", "channel_ids": [bluesky.pk], "media": [{"media_id": asset.pk}]}
    response = api("post", POSTS, {**body, "schedule": {"mode": "now"}})
    assert response.status_code == 422
    from chorus.media.actions import as_post_media

    expected = _composer_problem(cast, bluesky, "A picture", [as_post_media(asset)])
    assert (response.json()["code"], response.json()["message"]) == ("alt", expected.message)
    assert list(response.json()["fields"]) == [f"channels.{bluesky.pk}.media.0.alt"]


def test_the_draft_check_endpoint_takes_media_too(api, cast: Cast, bluesky: Channel) -> None:
    asset = _image(cast.workspace, cast.owner, "check.png")
    body = {"text": "A picture", "channels": [{"channel_id": bluesky.pk}], "media": [{"media_id": asset.pk}]}
    response = api("post", "/api/workspaces/campaign/compose/validate", body)
    assert response.status_code == 200, response.content
    problems = response.json()["channels"][0]["problems"]
    assert [(p["field"], p["code"]) for p in problems] == [("media.0.alt", "alt")]
    body["media"] = [{"media_id": asset.pk, "alt": "A green square"}]
    assert (
        api("post", "/api/workspaces/campaign/compose/validate", body).json()["channels"][0]["problems"] == []
    )


def test_media_of_another_workspace_are_refused(api, cast: Cast, bluesky: Channel) -> None:
    theirs = _image(cast.other_workspace, cast.outsider, "theirs.png")
    body = {
        "text": "Mine",
        "channel_ids": [bluesky.pk],
        "per_channel_media": {str(bluesky.pk): [{"media_id": theirs.pk, "alt": "x"}]},
    }
    response = api("post", POSTS, body)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_media"
    assert response.json()["fields"] == {f"per_channel_media.{bluesky.pk}.0.media_id": "unknown"}
    assert not Post.objects.filter(workspace=cast.workspace).exists()
    # …and on a PATCH, where the target keeps its media.
    created = api("post", POSTS, {"text": "Mine", "channel_ids": [bluesky.pk]})
    target_id = created.json()["targets"][0]["id"]
    patched = api(
        "patch", f"/api/workspaces/campaign/targets/{target_id}", {"media": [{"media_id": theirs.pk}]}
    )
    assert (patched.status_code, patched.json()["code"]) == (422, "unknown_media")
    assert PostTarget.objects.get(pk=target_id).media == []


def test_media_for_a_channel_the_post_is_not_for_are_refused(api, cast: Cast, bluesky: Channel) -> None:
    mine = _image(cast.workspace, cast.owner, "mine.png")
    body = {
        "text": "Mine",
        "channel_ids": [bluesky.pk],
        "per_channel_media": {"999999": [{"media_id": mine.pk, "alt": "x"}]},
    }
    response = api("post", POSTS, body)
    assert (response.status_code, response.json()["code"]) == (422, "unknown_channel")


def test_a_recurrence_of_a_post_that_breaks_the_rules_is_refused(api, cast: Cast, bluesky: Channel) -> None:
    created = api("post", POSTS, {"text": "é" * 301, "channel_ids": [bluesky.pk]})
    target_id = created.json()["targets"][0]["id"]
    response = api(
        "post",
        f"/api/workspaces/campaign/targets/{target_id}/recurrence",
        {"freq": "daily", "time": "09:00:00"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "too_long")
    assert PostTarget.objects.filter(workspace=cast.workspace).count() == 1


def test_a_recurrence_makes_no_occurrence_of_a_template_that_no_longer_keeps_the_rules(
    cast: Cast, bluesky: Channel, settings
) -> None:
    """The rules are asked again for each occurrence: here the alt-text rule was turned on after
    an image without alt text was approved to repeat."""
    import datetime as dt

    from chorus.content.models import Recurrence
    from chorus.core.models import AuditEvent
    from chorus.media.actions import as_post_media
    from chorus.publishing import actions, recurrence

    settings.CHORUS_REQUIRE_ALT_TEXT = False
    asset = _image(cast.workspace, cast.owner, "weekly.png")
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[bluesky], text="Weekly")
    template = post.targets.get()
    actions.edit(template, actor=cast.owner, media=[as_post_media(asset)])
    actions.approve_for_recurrence(template, actor=cast.owner)
    rec = Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=DAILY",
        timezone="UTC",
        starts_local=Recurrence.wall(dt.datetime(2026, 5, 1, 9, 0)),
    )
    now = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    settings.CHORUS_REQUIRE_ALT_TEXT = True
    assert recurrence.generate(rec, now=now) == []
    skipped = AuditEvent.objects.filter(action="recurrence.invalid", object_id=str(rec.pk))
    assert skipped.count() == 7
    assert skipped.first().data["problems"] == [{"field": "media.0.alt", "code": "alt"}]
    settings.CHORUS_REQUIRE_ALT_TEXT = False
    rec.last_generated_local = None
    assert len(recurrence.generate(rec, now=now)) == 7
