"""Posts as a whole by API: created with campaign and tags, read with each copy's status, listed
with the Posts page's filters."""

from __future__ import annotations

import json

from chorus.accounts.models import ApiToken
from chorus.channels.actions import connect_channel
from chorus.content.models import Campaign, Post, PostTarget, Tag
from chorus.core.models import AuditEvent


def _api(client, user):
    _token, raw = ApiToken.issue(user, "test")
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def _second_channel(cast):
    return connect_channel(
        workspace=cast.workspace,
        kind="sink",
        name="Website",
        config={},
        credentials={"t": "x"},
        actor=cast.owner,
    )


def test_a_post_is_created_with_its_campaign_and_tags_and_read_whole(client, cast, sink_channel):
    website = _second_channel(cast)
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Water", slug="water")
    api = _api(client, cast.members["admin"])
    created = api(
        "post",
        "/api/workspaces/campaign/posts",
        {
            "text": "Clean water for Kakuma",
            "title": "Water week",
            "channel_ids": [sink_channel.pk, website.pk],
            "per_channel_text": {str(website.pk): "A longer story for the website"},
            "campaign_id": campaign.pk,
            "tags": ["water", "Kenya"],
            "schedule": {"mode": "draft"},
        },
    )
    assert created.status_code == 201, created.content
    post_id = created.json()["id"]
    post = Post.objects.get(pk=post_id)
    assert post.campaign_id == campaign.pk
    assert sorted(post.tags.values_list("name", flat=True)) == ["Kenya", "water"]
    assert AuditEvent.objects.filter(action="post.filed", object_id=str(post_id)).exists()

    got = api("get", f"/api/workspaces/campaign/posts/{post_id}")
    assert got.status_code == 200
    body = got.json()
    assert body["title"] == body["first_line"] == "Water week"
    assert body["campaign_id"] == campaign.pk and body["tags"] == ["Kenya", "water"]
    by_channel = {t["channel_id"]: t for t in body["targets"]}
    assert by_channel[sink_channel.pk]["text"] == "Clean water for Kakuma"
    assert by_channel[website.pk]["text"] == "A longer story for the website"
    assert {t["status"] for t in body["targets"]} == {"draft"}
    assert body["needs_attention"] is False


def test_an_unknown_campaign_or_too_many_tags_create_nothing(client, cast, sink_channel):
    other = Campaign.objects.create(workspace=cast.other_workspace, name="Theirs", slug="theirs")
    api = _api(client, cast.members["admin"])
    base = {"text": "Hi", "channel_ids": [sink_channel.pk]}
    refused = api("post", "/api/workspaces/campaign/posts", {**base, "campaign_id": other.pk})
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_campaign" and refused.json()["fields"] == {
        "campaign_id": "unknown"
    }
    too_many = api("post", "/api/workspaces/campaign/posts", {**base, "tags": [f"t{n}" for n in range(21)]})
    assert too_many.status_code == 422 and too_many.json()["fields"] == {"tags": "size"}
    assert not Post.objects.filter(workspace=cast.workspace).exists()
    assert not Tag.objects.filter(workspace=cast.workspace).exists()


def test_the_list_filters_as_the_posts_page_does(client, cast, sink_channel):
    website = _second_channel(cast)
    api = _api(client, cast.members["admin"])

    def make(text, channels, **extra):
        answer = api(
            "post", "/api/workspaces/campaign/posts", {"text": text, "channel_ids": channels, **extra}
        )
        assert answer.status_code == 201, answer.content
        return answer.json()["id"]

    tagged = make("Tagged one", [sink_channel.pk], tags=["water"])
    failed = make("Failed on the website", [sink_channel.pk, website.pk])
    PostTarget.objects.filter(post_id=failed, channel=website).update(status=PostTarget.Status.FAILED)
    plain = make("Plain", [website.pk])

    def ids(query=""):
        answer = api("get", f"/api/workspaces/campaign/posts{query}")
        assert answer.status_code == 200, answer.content
        return [row["id"] for row in answer.json()]

    assert sorted(ids()) == sorted([tagged, failed, plain])
    water = Tag.objects.get(workspace=cast.workspace, name="water")
    assert ids(f"?tag={water.pk}") == [tagged]
    assert ids(f"?status=failed&channel={website.pk}") == [failed]
    assert ids(f"?status=failed&channel={sink_channel.pk}") == []  # one copy meets both, as on the page
    assert ids("?q=plain") == [plain]
    assert len(ids("?limit=2")) == 2 and len(ids("?limit=2&offset=2")) == 1
    row = next(r for r in api("get", "/api/workspaces/campaign/posts").json() if r["id"] == failed)
    assert row["needs_attention"] is True


def test_a_bad_filter_is_named_not_ignored(client, cast, sink_channel):
    api = _api(client, cast.members["viewer"])
    answer = api("get", "/api/workspaces/campaign/posts?status=bogus")
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid" and "status" in answer.json()["fields"]
    foreign = connect_channel(
        workspace=cast.other_workspace,
        kind="sink",
        name="Theirs",
        config={},
        credentials={},
        actor=cast.outsider,
    )
    answer = api("get", f"/api/workspaces/campaign/posts?channel={foreign.pk}")
    assert answer.status_code == 422 and "channel" in answer.json()["fields"]


def test_a_post_of_another_workspace_is_not_found(client, cast):
    theirs = Post.objects.create(workspace=cast.other_workspace, title="Theirs")
    api = _api(client, cast.members["admin"])
    assert api("get", f"/api/workspaces/campaign/posts/{theirs.pk}").status_code == 404
