"""Bulk import and export through the API with a personal token: upload (multipart) → dry run
with per-row errors → commit → the posts exist; the size budget; another workspace's job."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.test import Client

from chorus.accounts.models import ApiToken
from chorus.bulk import parsing
from chorus.bulk.models import ImportJob
from chorus.channels.actions import connect_channel
from chorus.content.models import PostTarget
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
YEAR = dt.date.today().year + 1


@pytest.fixture
def api(cast: Cast) -> Client:
    _token, raw = ApiToken.issue(cast.owner, "automation")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def channels(cast: Cast):
    return [
        connect_channel(workspace=cast.workspace, kind="sink", name=name, config={}, credentials={})
        for name in ("Sink A", "Sink B")
    ]


def upload(api: Client, slug: str, data: bytes, name: str = "posts.csv", **form):
    return api.post(f"/api/workspaces/{slug}/imports", {"file": _named(data, name), **form})


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


CSV = (
    "date,channels,text,tags\n"
    f"{YEAR}-05-01 09:00,Sink A|Sink B,Hello from the API,launch\n"
    f"2001-01-01 09:00,Sink A,In the past,\n"
    f"{YEAR}-05-02 09:00,Nowhere,Unknown channel,\n"
    f"{YEAR}-05-03 09:00,,No channel: the default one,\n"
).encode()


def test_upload_dry_run_with_row_errors_commit_and_the_posts_exist(cast: Cast, api: Client, channels):
    slug = cast.workspace.slug
    created = upload(api, slug, CSV, channels=[channels[1].pk])
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "checked" and job["total"] == 4
    assert (job["ok"], job["bad"], job["duplicates"]) == (2, 2, 0)
    assert job["default_channels"] == [channels[1].pk]
    assert not PostTarget.objects.filter(workspace=cast.workspace).exists()  # a dry run creates nothing

    errors = api.get(f"/api/workspaces/{slug}/imports/{job['id']}/rows", {"status": "error"}).json()
    assert errors["count"] == 2
    by_row = {r["row"]: r for r in errors["items"]}
    assert by_row[3]["errors"][0]["column"] == "date" and "already passed" in by_row[3]["errors"][0]["reason"]
    assert by_row[4]["errors"][0]["column"] == "channels" and "Nowhere" in by_row[4]["errors"][0]["reason"]
    page = api.get(f"/api/workspaces/{slug}/imports/{job['id']}/rows", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 4 and [r["row"] for r in page["items"]] == [3]
    bad_csv = api.get(f"/api/workspaces/{slug}/imports/{job['id']}/errors.csv")
    assert (
        bad_csv.status_code == 200 and b"In the past" in bad_csv.content and b"Hello" not in bad_csv.content
    )

    committed = api.post(f"/api/workspaces/{slug}/imports/{job['id']}/commit")
    assert committed.status_code == 202, committed.content
    assert committed.json()["status"] == "done" and committed.json()["imported"] == 2
    targets = PostTarget.objects.filter(workspace=cast.workspace)
    assert sorted((t.channel.name, t.text) for t in targets) == [
        ("Sink A", "Hello from the API"),
        ("Sink B", "Hello from the API"),
        ("Sink B", "No channel: the default one"),
    ]
    assert all(t.post.author == cast.owner for t in targets)
    imported = api.get(f"/api/workspaces/{slug}/imports/{job['id']}/rows", {"status": "imported"}).json()
    assert imported["count"] == 2

    again = api.post(f"/api/workspaces/{slug}/imports/{job['id']}/commit")
    assert again.status_code == 409 and again.json()["code"] == "import_not_ready"
    listed = api.get(f"/api/workspaces/{slug}/imports").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == job["id"]

    exported = api.get(f"/api/workspaces/{slug}/export").json()
    assert [(i["text"], sorted(i["channels"])) for i in exported] == [
        ("Hello from the API", ["Sink A", "Sink B"]),
        ("No channel: the default one", ["Sink B"]),
    ]
    as_csv = api.get(f"/api/workspaces/{slug}/export", {"format": "csv", "channel": channels[0].pk})
    assert as_csv["Content-Type"].startswith("text/csv")
    assert b"Hello from the API" in as_csv.content and b"default one" not in as_csv.content
    # What the export wrote imports again as duplicates: nothing twice.
    reimport = upload(api, slug, json.dumps(exported).encode(), name="posts.json").json()
    assert reimport["duplicates"] == 2 and reimport["ok"] == 0


def test_an_oversize_upload_is_refused_with_the_limit_named(cast: Cast, api: Client, channels):
    data = b"date,channels,text\n" + b"x" * parsing.MAX_UPLOAD_BYTES
    response = upload(api, cast.workspace.slug, data)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large" and "20 MB" in body["message"] and "file" in body["fields"]
    assert not ImportJob.objects.exists()


def test_an_unreadable_file_and_an_unknown_channel_are_422(cast: Cast, api: Client, channels):
    slug = cast.workspace.slug
    broken = upload(api, slug, b"PK\x03\x04 not a zip", name="posts.xlsx")
    assert broken.status_code == 422 and "could not be opened" in broken.json()["message"]
    other = connect_channel(
        workspace=cast.other_workspace, kind="sink", name="Other", config={}, credentials={}
    )
    unknown = upload(api, slug, CSV, channels=[other.pk])
    assert unknown.status_code == 422 and unknown.json()["fields"] == {"channels": str(other.pk)}
    assert not ImportJob.objects.exists()


def test_another_workspace_job_is_404(cast: Cast, api: Client, channels):
    theirs = ImportJob.objects.create(workspace=cast.other_workspace, filename="theirs.csv", status="checked")
    slug = cast.workspace.slug
    for path in ("", "/rows", "/errors.csv"):
        response = api.get(f"/api/workspaces/{slug}/imports/{theirs.pk}{path}")
        assert response.status_code == 404 and response.json()["code"] == "not_found", path
    assert api.post(f"/api/workspaces/{slug}/imports/{theirs.pk}/commit").status_code == 404
    assert ImportJob.objects.get(pk=theirs.pk).status == "checked"
    # ...and through its own workspace's path, a member of this one is not a member there.
    assert api.get(f"/api/workspaces/{cast.other_workspace.slug}/imports/{theirs.pk}").status_code == 404


def test_a_viewer_may_export_but_not_import(cast: Cast, channels):
    _token, raw = ApiToken.issue(cast.members["viewer"], "viewer")
    viewer = Client(headers={"Authorization": f"Bearer {raw}"})
    refused = upload(viewer, cast.workspace.slug, CSV)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert viewer.get(f"/api/workspaces/{cast.workspace.slug}/export").status_code == 200
