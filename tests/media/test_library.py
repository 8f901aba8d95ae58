"""The library screens, the file serving, the picker, "used in N posts", the API and tenancy."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.media import actions
from chorus.media.models import MediaAsset, MediaFolder, MediaUsage
from chorus.publishing import actions as publishing
from tests.conftest import Cast
from tests.media.conftest import image_bytes, upload_file
from tests.publishing.conftest import make_target


def _asset(cast: Cast, name: str = "a.png", color: str = "red", workspace=None) -> MediaAsset:
    ws = workspace or cast.workspace
    asset, _ = actions.upload(ws, cast.owner, upload_file(name, image_bytes("PNG", color=color)))
    return asset


def _attach(target: PostTarget, *assets: MediaAsset, actor) -> None:
    publishing.edit(target, actor=actor, media=[actions.as_post_media(a) for a in assets])
    actions.sync_usage(target)


def test_it_uploads_several_files_and_reports_each(owner_client: Client, cast: Cast):
    url = reverse("media:upload", args=[cast.workspace.slug])
    response = owner_client.post(
        url,
        {"files": [upload_file("good.png", image_bytes("PNG")), upload_file("bad.png", b"not an image"),
                   upload_file("good2.jpg", image_bytes("JPEG", color="blue"))]},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert "not an image or video" in results[1]["error"]
    assert MediaAsset.objects.filter(workspace=cast.workspace).count() == 2
    again = owner_client.post(
        url, {"files": [upload_file("dup.png", image_bytes("PNG"))]}, headers={"Accept": "application/json"}
    )
    assert again.json()["results"][0]["created"] is False
    assert "Already in the library" in again.json()["results"][0]["message"]


def test_it_uploads_without_javascript_and_says_so(owner_client: Client, cast: Cast):
    response = owner_client.post(
        reverse("media:upload", args=[cast.workspace.slug]),
        {"files": [upload_file("good.png", image_bytes("PNG")), upload_file("bad.png", b"nope")]},
        follow=True,
    )
    text = response.content.decode()
    assert "good.png: Uploaded." in text and "bad.png: This file is not an image" in text


def test_a_viewer_cannot_upload(cast: Cast):
    response = cast.client_for(cast.members["viewer"]).post(
        reverse("media:upload", args=[cast.workspace.slug]), {"files": [upload_file("a.png", image_bytes())]}
    )
    assert response.status_code == 403 and not MediaAsset.objects.exists()


def test_it_searches_name_alt_credit_and_tags_and_filters(owner_client: Client, cast: Cast):
    beach = _asset(cast, "beach.png", "yellow")
    actions.update_asset(beach, actor=cast.owner, alt_text="Volunteers on the shore", tags=["Cleanup"])
    folder = actions.create_folder(cast.workspace, actor=cast.owner, name="2026")
    forest = _asset(cast, "forest.png", "green")
    actions.update_asset(forest, actor=cast.owner, credit="Photo: Ana Pérez", folder=folder)
    url = reverse("media:library", args=[cast.workspace.slug])

    def names(**params: str) -> set[str]:
        page = owner_client.get(url, params).context["page"]
        return {a.original_name for a in page.assets}

    assert names() == {"beach.png", "forest.png"}
    assert names(q="SHORE") == {"beach.png"}
    assert names(q="pérez") == {"forest.png"}
    assert names(q="cleanup") == {"beach.png"}
    assert names(q="beach volunteers") == {"beach.png"}
    assert names(q="nothing-like-this") == set()
    assert names(tag="Cleanup") == {"beach.png"}
    assert names(folder=str(folder.pk)) == {"forest.png"}
    assert names(kind="video") == set()
    assert names(q="pé") == {"forest.png"}  # under 3 characters: LIKE instead of the trigram index
    actions.update_asset(beach, actor=cast.owner, alt_text="Sunset")
    assert names(q="shore") == set() and names(q="sunset") == {"beach.png"}
    actions.delete_asset(beach, actor=cast.owner)
    assert names(q="sunset") == set()


def test_it_pages_newest_first_with_a_cursor(owner_client: Client, cast: Cast, monkeypatch):
    from chorus.media import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    made = [
        _asset(cast, f"{i}.png", color=c) for i, c in enumerate(["red", "blue", "green", "white", "black"])
    ]
    url = reverse("media:library", args=[cast.workspace.slug])
    seen: list[int] = []
    params: dict[str, str] = {}
    while True:
        page = owner_client.get(url, params).context["page"]
        seen += [a.pk for a in page.assets]
        if page.next_before is None:
            break
        params = {"before": str(page.next_before)}
    assert seen == [a.pk for a in reversed(made)]


def test_it_counts_the_posts_using_an_asset(owner_client: Client, cast: Cast, channel: Channel):
    used, unused = _asset(cast, "used.png", "red"), _asset(cast, "unused.png", "blue")
    for text in ("one", "two"):
        _attach(make_target(cast, channel, text=text), used, actor=cast.owner)
    page = owner_client.get(reverse("media:library", args=[cast.workspace.slug])).context["page"]
    assert page.usage == {used.pk: 2}
    html = owner_client.get(reverse("media:library", args=[cast.workspace.slug])).content.decode()
    assert "Used in 2 posts" in html and "Used in 0 posts" in html
    assert unused.pk not in page.usage


def test_the_scheduler_job_catches_media_written_without_sync(cast: Cast, channel: Channel):
    asset = _asset(cast)
    target = make_target(cast, channel)
    publishing.edit(target, actor=cast.owner, media=[actions.as_post_media(asset)])  # no sync_usage call
    actions._usage_watermark["since"] = None
    assert actions.sync_recent_usage() >= 1
    assert actions.usage_counts([asset.pk]) == {asset.pk: 1}
    publishing.edit(target, actor=cast.owner, media=[])
    actions.sync_recent_usage()
    assert actions.usage_counts([asset.pk]) == {}


def test_usage_ignores_another_workspaces_asset_ids(cast: Cast, channel: Channel):
    foreign = _asset(cast, workspace=cast.other_workspace)
    target = make_target(cast, channel)
    publishing.edit(target, actor=cast.owner, media=[{"media_id": foreign.pk, "path": foreign.path}])
    actions.sync_usage(target)
    assert not MediaUsage.objects.exists()


def test_it_refuses_to_delete_media_of_a_scheduled_post(owner_client: Client, cast: Cast, channel: Channel):
    asset = _asset(cast)
    target = make_target(cast, channel)
    _attach(target, asset, actor=cast.owner)
    publishing.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    detail = owner_client.get(reverse("media:detail", args=[cast.workspace.slug, asset.pk])).content.decode()
    assert "waiting to be published" in detail
    response = owner_client.post(reverse("media:delete", args=[cast.workspace.slug, asset.pk]), follow=True)
    assert (
        "used in 1 post waiting to be published; remove it from that post first." in response.content.decode()
    )
    assert MediaAsset.objects.filter(pk=asset.pk).exists()


def test_it_deletes_an_unused_asset(owner_client: Client, cast: Cast):
    asset = _asset(cast)
    response = owner_client.post(reverse("media:delete", args=[cast.workspace.slug, asset.pk]))
    assert response.status_code == 302 and not MediaAsset.objects.filter(pk=asset.pk).exists()


def test_it_edits_alt_text_credit_consent_folder_and_tags(owner_client: Client, cast: Cast):
    asset = _asset(cast)
    folder = MediaFolder.objects.create(workspace=cast.workspace, name="Portraits")
    response = owner_client.post(
        reverse("media:edit", args=[cast.workspace.slug, asset.pk]),
        {"alt_text": "Ana smiling", "credit": "Sam", "consent": "written", "consent_note": "Form #12",
         "folder": str(folder.pk), "tags": "people, Spring , people"},
    )  # fmt: skip
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.alt_text, asset.credit, asset.consent, asset.consent_note) == (
        "Ana smiling",
        "Sam",
        "written",
        "Form #12",
    )
    assert asset.folder == folder
    assert sorted(asset.tags.values_list("name", flat=True), key=str.casefold) == ["people", "Spring"]
    assert "ana smiling" in asset.search_text and "spring" in asset.search_text


def test_it_serves_files_only_to_members(cast: Cast):
    asset = _asset(cast)
    file_url = reverse("media:file", args=[cast.workspace.slug, asset.pk])
    response = cast.client_for(cast.members["viewer"]).get(file_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\x89PNG")
    assert (
        cast.client_for(cast.members["viewer"])
        .get(reverse("media:thumb", args=[cast.workspace.slug, asset.pk]))
        .status_code
        == 200
    )
    assert Client().get(file_url).status_code == 302  # to the login page
    assert cast.client_for(cast.outsider).get(file_url).status_code == 404


def test_another_workspaces_asset_is_404_in_views_files_and_api(cast: Cast):
    foreign = _asset(cast, workspace=cast.other_workspace)
    client = cast.client_for(cast.owner)
    slug = cast.workspace.slug  # the owner's own workspace, the other tenant's asset id
    for name in ("detail", "file", "thumb"):
        assert client.get(reverse(f"media:{name}", args=[slug, foreign.pk])).status_code == 404
    for name in ("edit", "delete"):
        assert client.post(reverse(f"media:{name}", args=[slug, foreign.pk])).status_code == 404
    _token, raw = ApiToken.issue(cast.owner, "t")
    headers = {"Authorization": f"Bearer {raw}"}
    api = f"/api/workspaces/{slug}/media/{foreign.pk}"
    assert client.get(api, headers=headers).status_code == 404
    assert (
        client.patch(
            api, data=json.dumps({"alt_text": "x"}), content_type="application/json", headers=headers
        ).status_code
        == 404
    )
    assert client.delete(api, headers=headers).status_code == 404
    assert MediaAsset.objects.filter(pk=foreign.pk, alt_text="").exists()
    listed = client.get(f"/api/workspaces/{slug}/media", headers=headers).json()
    assert foreign.pk not in [item["id"] for item in listed["items"]]


def test_the_picker_returns_items_for_the_composer(owner_client: Client, cast: Cast):
    asset = _asset(cast)
    actions.update_asset(asset, actor=cast.owner, alt_text="Red")
    response = owner_client.get(
        reverse("media:picker", args=[cast.workspace.slug]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and 'class="media-pick"' in html
    assert f'data-media-id="{asset.pk}"' in html and f'data-path="{asset.path}"' in html


@pytest.mark.parametrize("role", ["owner", "editor", "contributor"])
def test_the_api_uploads_updates_and_deletes(cast: Cast, role: str):
    _token, raw = ApiToken.issue(cast.members[role], "t")
    client, headers = Client(), {"Authorization": f"Bearer {raw}"}
    base = f"/api/workspaces/{cast.workspace.slug}/media"
    created = client.post(base, {"file": upload_file("api.jpg", image_bytes("PNG"))}, headers=headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["created"] is True and body["asset"]["mime_type"] == "image/png"
    asset_id = body["asset"]["id"]
    dup = client.post(base, {"file": upload_file("again.png", image_bytes("PNG"))}, headers=headers)
    assert dup.status_code == 200 and dup.json()["asset"]["id"] == asset_id
    bad = client.post(base, {"file": upload_file("x.png", b"text")}, headers=headers)
    assert bad.status_code == 400 and "not an image" in bad.json()["detail"]
    patched = client.patch(
        f"{base}/{asset_id}",
        data=json.dumps({"alt_text": "Hello", "consent": "verbal", "tags": ["a", "b"]}),
        content_type="application/json",
        headers=headers,
    )
    assert (
        patched.status_code == 200
        and patched.json()["tags"] == ["a", "b"]
        and patched.json()["alt_text"] == "Hello"
    )
    found = client.get(base, {"q": "hello"}, headers=headers).json()
    assert [i["id"] for i in found["items"]] == [asset_id]
    assert client.delete(f"{base}/{asset_id}", headers=headers).status_code == 204
    assert not MediaAsset.objects.filter(pk=asset_id).exists()


def test_the_api_refuses_deleting_media_of_a_scheduled_post(cast: Cast, channel: Channel):
    asset = _asset(cast)
    target = make_target(cast, channel, when=timezone.now() + dt.timedelta(days=1))
    publishing.edit(target, actor=cast.owner, media=[actions.as_post_media(asset)])
    actions.sync_usage(target)
    _token, raw = ApiToken.issue(cast.owner, "t")
    response = Client().delete(
        f"/api/workspaces/{cast.workspace.slug}/media/{asset.pk}", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 409
