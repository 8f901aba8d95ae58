"""Numbers and the API permission gap: negative offsets/limits, ids beyond int64 in paths,
queries and bodies, and an unbounded workspace tolerance are 400/422 naming the field, never a
500; a contributor cannot submit the owner's draft through the API."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from chorus.accounts.models import ApiToken
from chorus.accounts.permissions import Role
from chorus.content.models import Post, PostTarget

BIG = 2**63  # one past int64


@pytest.fixture
def api(cast):
    _token, raw = ApiToken.issue(cast.owner, "test")
    client = Client(raise_request_exception=False)

    def call(method: str, url: str, body=None):
        return getattr(client, method)(
            url,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    return call


@pytest.mark.parametrize(
    ("query", "field"),
    [("offset=-1", "offset"), ("limit=-5", "limit"), ("limit=0", "limit"), (f"offset={BIG}", "offset")],
)
def test_list_paging_numbers_are_checked(api, query, field):
    response = api("get", f"/api/workspaces/campaign/targets?{query}")
    assert response.status_code == 422, response.content
    assert field in json.dumps(response.json())


@pytest.mark.parametrize(
    "url",
    [
        f"/api/workspaces/campaign/targets/{BIG}",
        f"/api/workspaces/campaign/media/{BIG}",
        f"/api/workspaces/campaign/media?folder={BIG}",
        f"/api/workspaces/campaign/media?before={BIG}",
    ],
)
def test_api_ids_beyond_int64_are_a_422_naming_the_field(api, url):
    response = api("get", url)
    # A keyset cursor past every id is simply an empty page; nothing may be a 500.
    assert response.status_code in (200, 404, 422), (response.status_code, response.content[:300])
    if response.status_code == 422:
        body = json.dumps(response.json())
        assert any(name in body for name in ("target_id", "asset_id", "folder", "before")), body


def test_a_path_id_beyond_int64_answers_in_the_refusal_shape(api):
    response = api("post", f"/api/workspaces/campaign/boosts/{BIG}/pause")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "out_of_range"
    assert set(body["fields"]) == {"boost_id"}
    assert "out of range" in body["message"]


def test_a_body_that_does_not_fit_the_schema_answers_in_the_refusal_shape(api):
    response = api("post", "/api/workspaces/campaign/posts", {"text": 5})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert "channel_ids" in body["fields"] and "channel_ids" in body["message"]
    assert body["detail"] and body["detail"][0]["loc"]


def test_a_body_id_beyond_int64_is_a_422_naming_the_field(api):
    response = api("post", "/api/workspaces/campaign/posts", {"text": "x", "channel_ids": [BIG]})
    assert response.status_code == 422, response.content
    assert "channel_ids" in json.dumps(response.json())


@pytest.mark.parametrize(
    "name",
    ["publishing:targets", "media:library", "planning:calendar", "analytics:dashboard"],
)
def test_page_query_numbers_beyond_int64_are_not_a_500(cast, name):
    client = cast.client_for(cast.owner)
    client.raise_request_exception = False
    url = reverse(name, kwargs={"slug": cast.workspace.slug})
    for query in (f"page={BIG}", f"folder={BIG}", f"campaign={BIG}", f"channel={BIG}", "page=-1"):
        response = client.get(f"{url}?{query}")
        assert response.status_code < 500, (url, query, response.status_code)


def test_a_page_path_id_beyond_int64_is_a_400_naming_it(cast):
    client = cast.client_for(cast.owner)
    client.raise_request_exception = False
    response = client.get(f"/w/{cast.workspace.slug}/media/{BIG}/")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "asset_id" in response.content.decode() or "out of range" in response.content.decode()


def test_the_workspace_tolerance_is_bounded(cast):
    client = cast.client_for(cast.owner)
    response = client.post(
        reverse("workspace_settings", kwargs={"slug": cast.workspace.slug}),
        {"name": "Campaign", "timezone": "Europe/Paris", "late_tolerance_minutes": str(2**63 - 1)},
    )
    assert response.status_code == 200
    assert "10080" in response.content.decode() or "10 080" in response.content.decode()
    cast.workspace.refresh_from_db()
    assert cast.workspace.late_tolerance_minutes == 15


def test_a_contributor_cannot_submit_the_owners_draft_through_the_api(cast, sink_channel):
    post = Post.objects.create(workspace=cast.workspace, author=cast.owner)
    target = PostTarget.objects.create(
        workspace=cast.workspace, post=post, channel=sink_channel, text="owner's"
    )
    _token, raw = ApiToken.issue(cast.members[Role.CONTRIBUTOR], "c")
    response = Client().post(
        f"/api/workspaces/campaign/targets/{target.pk}/submit",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.status == PostTarget.Status.DRAFT


def test_a_negative_workflow_position_is_a_422_naming_it(api):
    response = api(
        "post",
        "/api/workspaces/campaign/approvals/workflows",
        {"name": "W", "position": -1, "steps": [{"role": "admin"}]},
    )
    assert response.status_code == 422, response.content
    assert "position" in json.dumps(response.json())


def test_an_overflow_in_a_multipart_upload_is_named_not_a_raw_post_data_error(rf):
    """The overflow handler reads what a multipart request sent from what Django already parsed:
    reading `request.body` after the upload was read raises RawPostDataException (a 500)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chorus.core.middleware import _fields

    request = rf.post("/w/x/media/upload/", {"folder": str(BIG), "file": SimpleUploadedFile("a.txt", b"hi")})
    assert request.POST["folder"] == str(BIG)  # the view read the upload first
    assert ("body", "folder", str(BIG)) in list(_fields(request, {}))
