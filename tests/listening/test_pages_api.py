"""Listening pages and API: queries with validation and preview, insights, settings, retention."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from chorus.accounts.models import ApiToken
from chorus.core.models import AuditEvent
from chorus.listening import actions, insights
from chorus.listening.models import Match, Query
from tests.test_i18n import ensure_compiled_catalog

pytestmark = pytest.mark.django_db


def add_match(
    query: Query, text: str, *, uri: str, hours_ago: float = 1, sentiment="neutral", **extra
) -> Match:
    return Match.objects.create(
        workspace=query.workspace,
        query=query,
        network=extra.pop("network", "bluesky"),
        uri=uri,
        url=f"https://bsky.app/profile/did:plc:a/post/{uri[-4:]}",
        author_id=extra.pop("author_id", "did:plc:a"),
        text=text,
        sentiment=sentiment,
        posted_at=timezone.now() - dt.timedelta(hours=hours_ago),
        **extra,
    )


def test_create_query_from_the_page_and_a_clear_error(cast):
    client = cast.client_for(cast.members["editor"])
    url = f"/w/{cast.workspace.slug}/listening/queries/new/"
    bad = client.post(url, {"name": "Broken", "expression": "(climat OR vote"})
    assert bad.status_code == 200  # the form again, with the reason
    assert "A parenthesis is not closed." in bad.content.decode()
    assert not Query.objects.exists()
    ok = client.post(
        url,
        {
            "name": "Climate",
            "group": "campaign",
            "expression": '"plan climat" OR climate',
            "hashtags": "#climat, vote",
            "networks": ["bluesky"],
            "active": "on",
        },
    )
    assert ok.status_code == 302
    query = Query.objects.get()
    assert (query.group, query.hashtags, query.networks, query.workspace) == (
        "campaign",
        ["#climat", "vote"],
        ["bluesky"],
        cast.workspace,
    )
    assert AuditEvent.objects.filter(action="listening.query_created", object_id=str(query.pk)).exists()
    # A viewer sees the page but may not create.
    viewer = cast.client_for(cast.members["viewer"])
    assert viewer.get(f"/w/{cast.workspace.slug}/listening/").status_code == 200
    assert viewer.post(url, {"name": "X", "expression": "x"}).status_code == 403


def test_preview_runs_against_stored_matches_without_saving(cast):
    stored = actions.create_query(cast.workspace, actor=None, data={"name": "All", "expression": "chorus"})
    add_match(stored, "Chorus on the climate march", uri="at://a/app.bsky.feed.post/0001")
    add_match(stored, "Chorus at the budget vote", uri="at://a/app.bsky.feed.post/0002")
    elsewhere = actions.create_query(
        cast.other_workspace, actor=None, data={"name": "X", "expression": "chorus"}
    )
    add_match(elsewhere, "Chorus climate, other workspace", uri="at://b/app.bsky.feed.post/0003")
    client = cast.client_for(cast.owner)
    response = client.post(
        f"/w/{cast.workspace.slug}/listening/queries/new/",
        {"name": "New", "expression": "climate", "preview": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Chorus on the climate march" in page
    assert "budget vote" not in page and "other workspace" not in page
    assert Query.objects.filter(workspace=cast.workspace).count() == 1


def test_deleting_a_query_deletes_its_matches_and_other_workspaces_get_404(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "chorus"})
    keep = actions.create_query(cast.workspace, actor=None, data={"name": "K", "expression": "vote"})
    add_match(query, "chorus", uri="at://a/app.bsky.feed.post/0001")
    add_match(keep, "vote", uri="at://a/app.bsky.feed.post/0002")
    outsider = cast.client_for(cast.outsider)
    assert (
        outsider.post(f"/w/{cast.other_workspace.slug}/listening/queries/{query.pk}/delete/").status_code
        == 404
    )
    response = cast.client_for(cast.owner).post(
        f"/w/{cast.workspace.slug}/listening/queries/{query.pk}/delete/"
    )
    assert response.status_code == 302
    assert not Query.objects.filter(pk=query.pk).exists()
    assert list(Match.objects.values_list("text", flat=True)) == ["vote"]


def test_insights_volume_sentiment_share_of_voice_and_terms(cast):
    brand = actions.create_query(
        cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus", "group": "brand"}
    )
    peer = actions.create_query(
        cast.workspace, actor=None, data={"name": "Peer", "expression": "other", "group": "competitor"}
    )
    add_match(
        brand, "Chorus climate march #climat", uri="at://a/p/0001", sentiment="positive", hashtags=["climat"]
    )
    add_match(brand, "Chorus climate vote", uri="at://a/p/0002", sentiment="negative", author_id="did:plc:b")
    add_match(brand, "Chorus climate again", uri="at://a/p/0003", sentiment="positive", hours_ago=30)
    add_match(peer, "Other group climate", uri="at://a/p/0004", sentiment="neutral", network="mastodon")
    add_match(brand, "Old post", uri="at://a/p/0005", hours_ago=24 * 10)
    result = insights.compute(cast.workspace.pk, days=7)
    assert result.total == 4 and result.previous_total == 1
    assert result.volume_by_query == {"Brand": 3, "Peer": 1}
    assert result.volume_by_network == {"bluesky": 3, "mastodon": 1}
    assert result.sentiment == {"negative": 1, "neutral": 1, "positive": 2}
    assert result.share_of_voice == {"brand": 0.75, "competitor": 0.25}
    assert result.top_terms[0] == ("climate", 4)
    assert result.top_hashtags == [("climat", 1)]
    assert result.top_authors[0] == ("did:plc:a", 3)
    page = cast.client_for(cast.members["viewer"]).get(f"/w/{cast.workspace.slug}/listening/insights/?days=7")
    assert page.status_code == 200 and "Chorus climate march" in page.content.decode()
    ensure_compiled_catalog()
    french = cast.client_for(cast.members["viewer"]).get(
        f"/w/{cast.workspace.slug}/listening/insights/", headers={"accept-language": "fr"}
    )
    assert "Part de voix" in french.content.decode()


def test_a_match_can_be_replied_to_or_quoted_in_a_new_post_by_those_who_may_post(cast):
    from chorus.channels.actions import connect_channel

    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    uri = "at://did:plc:a/app.bsky.feed.post/3kab0001"
    match = add_match(query, "Chorus climate march", uri=uri, author_followers=12800)
    add_match(query, "Chorus elsewhere", uri="at://did:plc:b/app.bsky.feed.post/3kab0002")  # unknown
    url = f"/w/{cast.workspace.slug}/listening/insights/?days=7"
    answer = f"/w/{cast.workspace.slug}/listening/matches/{match.pk}/answer/"
    viewer = cast.client_for(cast.members["viewer"]).get(url).content.decode()
    assert "Chorus climate march" in viewer and 'data-testid="reply"' not in viewer
    assert cast.client_for(cast.members["viewer"]).get(answer).status_code == 403
    owner = cast.client_for(cast.owner)
    page = owner.get(url).content.decode()
    assert (
        f'href="{answer}" data-testid="reply"' in page
        and f'href="{answer}?as=quote" data-testid="quote"' in page
    )
    assert "12,800 followers" in page and "followers: unknown" in page

    # No Bluesky channel in the workspace: said so, nothing opened.
    refused = owner.get(answer, follow=True)
    assert refused.redirect_chain[-1][0] == url.split("?")[0]
    assert "This workspace has no Bluesky channel: connect one to reply to or quote this post." in (
        refused.content.decode()
    )
    connect_channel(workspace=cast.other_workspace, kind="bluesky", name="Theirs", config={}, credentials={})
    assert "no Bluesky channel" in owner.get(answer, follow=True).content.decode()  # not another's
    ours = connect_channel(workspace=cast.workspace, kind="bluesky", name="Ours", config={}, credentials={})
    opened = owner.get(answer)
    quoted = owner.get(f"{answer}?as=quote")
    assert opened["Location"] == (
        f"/w/{cast.workspace.slug}/posts/new/?channel={ours.pk}&opt_reply_to=at%3A%2F%2Fdid%3Aplc%3Aa%2Fapp.bsky.feed.post%2F3kab0001"
    )
    assert quoted["Location"].endswith(
        f"?channel={ours.pk}&opt_quote=at%3A%2F%2Fdid%3Aplc%3Aa%2Fapp.bsky.feed.post%2F3kab0001"
    )
    composer = owner.get(opened["Location"]).content.decode()
    assert f'name="c{ours.pk}-reply_to"' in composer and f'value="{uri}"' in composer
    assert f'value="{ours.pk}" data-channel="{ours.pk}" checked' in composer
    other_match = add_match(
        actions.create_query(cast.other_workspace, actor=None, data={"name": "Q", "expression": "chorus"}),
        "theirs",
        uri="at://did:plc:c/app.bsky.feed.post/3kab0003",
    )
    assert (
        owner.get(f"/w/{cast.workspace.slug}/listening/matches/{other_match.pk}/answer/").status_code == 404
    )
    ensure_compiled_catalog()
    french = owner.get(url, headers={"accept-language": "fr"}).content.decode()
    assert ">Répondre</a>" in french and ">Citer</a>" in french
    assert re.search(r"12\s800 abonnés<", french) and "abonnés : inconnu" in french  # French digit groups


def test_a_mastodon_match_is_answered_from_a_channel_on_its_own_instance(cast):
    from chorus.channels.actions import connect_channel

    query = actions.create_query(cast.workspace, actor=None, data={"name": "Brand", "expression": "chorus"})
    match = add_match(
        query,
        "Chorus on Mastodon",
        uri="https://b.example/users/ann/statuses/1090",
        network="mastodon",
        author_id="https://b.example/@ann",
    )
    Match.objects.filter(pk=match.pk).update(url="https://b.example/@ann/1090")
    connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="A",
        config={"instance": "https://a.example"},
        credentials={},
    )
    on_b = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="B",
        config={"instance": "https://b.example"},
        credentials={},
    )
    opened = cast.client_for(cast.owner).get(f"/w/{cast.workspace.slug}/listening/matches/{match.pk}/answer/")
    assert opened["Location"].endswith(
        f"?channel={on_b.pk}&opt_in_reply_to=https%3A%2F%2Fb.example%2F%40ann%2F1090"
    )


def test_settings_and_retention(cast):
    client = cast.client_for(cast.owner)
    url = f"/w/{cast.workspace.slug}/listening/settings/"
    bad = client.post(url, {"languages": "en klingon", "retention_days": "30"})
    assert bad.status_code == 200 and "Unknown language code: klingon" in bad.content.decode()
    assert (
        client.post(url, {"languages": "en fr de", "retention_days": "30", "spike_factor": "4"}).status_code
        == 302
    )
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "chorus"})
    add_match(query, "recent", uri="at://a/p/0001", hours_ago=24 * 29)
    add_match(query, "expired", uri="at://a/p/0002", hours_ago=24 * 31)
    other = actions.create_query(cast.other_workspace, actor=None, data={"name": "Q", "expression": "chorus"})
    add_match(other, "default keeps 90 days", uri="at://a/p/0003", hours_ago=24 * 31)
    assert actions.purge_expired() == 1
    assert sorted(Match.objects.values_list("text", flat=True)) == ["default keeps 90 days", "recent"]
    assert actions.purge_expired() == 0


def _api(cast, role="owner"):
    from django.test import Client

    user = cast.owner if role == "owner" else cast.members[role]
    _token, raw = ApiToken.issue(user, "t")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_api_queries_crud_matches_and_insights(cast):
    client = _api(cast)
    base = f"/api/workspaces/{cast.workspace.slug}/listening"
    bad = client.post(
        f"{base}/queries",
        json.dumps({"name": "Bad", "expression": "NOT vote"}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "at least one word" in bad.json()["detail"]
    created = client.post(
        f"{base}/queries",
        json.dumps({"name": "Climate", "expression": "climat OR climate", "languages": ["fr"]}),
        content_type="application/json",
    )
    assert created.status_code == 201
    query_id = created.json()["id"]
    changed = client.put(
        f"{base}/queries/{query_id}",
        json.dumps({"name": "Climate 2", "expression": "climat"}),
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Climate 2"
    query = Query.objects.get(pk=query_id)
    add_match(query, "le climat", uri="at://a/p/0001", sentiment="negative")
    add_match(query, "climat encore", uri="at://a/p/0002", sentiment="positive", hours_ago=2)
    listed = client.get(f"{base}/matches?sentiment=negative").json()
    assert [m["text"] for m in listed] == ["le climat"]
    assert client.get(f"{base}/insights?days=1").json()["sentiment"] == {"negative": 1, "positive": 1}
    assert (
        client.get(f"/api/workspaces/{cast.other_workspace.slug}/listening/queries/{query_id}").status_code
        == 404
    )
    assert _api(cast, "viewer").delete(f"{base}/queries/{query_id}").status_code == 403
    assert client.delete(f"{base}/queries/{query_id}").status_code == 204
    assert not Match.objects.exists()
