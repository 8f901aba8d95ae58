"""Publishing to a real WordPress: featured image, terms, native scheduling, lookup, metrics, delete."""

from __future__ import annotations

import datetime as dt
import html

import httpx
import pytest
from django.utils import timezone

from chorus.connectors.base import ContentRejected
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.wordpress.conftest import make_target, png_file
from tests.peers.wordpress import WordPressSite

pytestmark = pytest.mark.peer


def rest(site: WordPressSite, route: str) -> str:
    # The pretty form, so that `params=` can add to the query (?rest_route= would be replaced).
    return f"{site.url}/wp-json{route}"


def read_post(site: WordPressSite, post_id: str | int) -> dict:
    with site.client() as client:
        response = client.get(rest(site, f"/wp/v2/posts/{post_id}"), params={"context": "edit"})
        assert response.status_code == 200, response.text
        return response.json()


def term_names(site: WordPressSite, taxonomy: str, ids: list[int]) -> set[str]:
    with site.client() as client:
        terms = client.get(
            rest(site, f"/wp/v2/{taxonomy}"), params={"include": ",".join(map(str, ids))}
        ).json()
    return {html.unescape(term["name"]) for term in terms}


def test_it_publishes_a_post_with_featured_image_and_terms(cast, wp_channel, wordpress_site, tmp_path):
    cover = png_file(tmp_path)
    target = make_target(
        cast,
        wp_channel,
        "Our spring campaign starts today.\n\nJoin us & bring <friends>.",
        title="Spring campaign",
        media=[{"path": str(cover), "alt": "A blue square"}],
        options={"categories": ["News", "Campaigns"], "tags": ["spring", "volunteers"], "excerpt": "Spring!"},
    )
    connector = wp_channel.connector()
    assert connector.validate(target) == []

    result = connector.publish(target)

    post = read_post(wordpress_site, result.external_id)
    assert result.url == post["link"]
    assert post["status"] == "publish"
    assert post["slug"] == f"chorus-{target.uid}"
    assert post["title"]["raw"] == "Spring campaign"
    assert post["content"]["raw"] == (
        "<p>Our spring campaign starts today.</p>\n<p>Join us &amp; bring &lt;friends&gt;.</p>"
    )
    assert post["excerpt"]["raw"] == "Spring!"
    assert term_names(wordpress_site, "categories", post["categories"]) == {"News", "Campaigns"}
    assert term_names(wordpress_site, "tags", post["tags"]) == {"spring", "volunteers"}
    with wordpress_site.client() as client:
        media = client.get(rest(wordpress_site, f"/wp/v2/media/{post['featured_media']}")).json()
    assert media["mime_type"] == "image/png"
    assert media["alt_text"] == "A blue square"
    assert httpx.get(media["source_url"], timeout=30).content == cover.read_bytes()

    # A second post reuses the existing terms instead of creating duplicates.
    again = make_target(cast, wp_channel, "More news", title="Again", options={"categories": ["news"]})
    second = read_post(wordpress_site, connector.publish(again).external_id)
    assert second["categories"] == [c for c in post["categories"] if c in second["categories"]]
    assert len(second["categories"]) == 1


def test_it_takes_the_title_from_the_first_line_and_raw_html(cast, wp_channel, wordpress_site):
    target = make_target(
        cast, wp_channel, "Headline here\nignored body", options={"html": "<h2>Raw</h2><p>HTML body</p>"}
    )
    post = read_post(wordpress_site, wp_channel.connector().publish(target).external_id)
    assert post["title"]["raw"] == "Headline here"
    assert post["content"]["raw"] == "<h2>Raw</h2><p>HTML body</p>"


def test_it_schedules_natively(cast, wp_channel, wordpress_site):
    when = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    target = make_target(cast, wp_channel, "Later", title="Scheduled post", options={"native_schedule": True})
    target.scheduled_at = when

    result = wp_channel.connector().publish(target)

    post = read_post(wordpress_site, result.external_id)
    assert post["status"] == "future"
    assert post["date_gmt"] == when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert result.published_at is None


def test_lookup_finds_a_publish_whose_answer_was_lost(cast, wp_channel, wordpress_site):
    target = make_target(cast, wp_channel, "Body", title="Lost answer")
    connector = wp_channel.connector()
    assert connector.lookup(target) is None

    published = connector.publish(target)  # the engine never heard this answer...
    found = connector.lookup(target)  # ...so reconciliation reads back by the marker slug

    assert found is not None
    assert (found.external_id, found.url) == (published.external_id, published.url)
    # A retry of the same target returns the existing post instead of writing a second one.
    assert connector.publish(target).external_id == published.external_id
    with wordpress_site.client() as client:
        same_title = client.get(rest(wordpress_site, "/wp/v2/posts"), params={"search": "Lost answer"}).json()
    assert len(same_title) == 1


def test_it_counts_comments_and_posts_then_deletes(cast, wp_channel, wordpress_site):
    connector = wp_channel.connector()
    posts_before = connector.account_metrics()["posts"]
    target = make_target(cast, wp_channel, "Comment on me", title="Metrics")
    result = connector.publish(target)
    target.external_id = result.external_id
    assert connector.post_metrics(target) == {"comments": 0}
    assert connector.account_metrics() == {"posts": (posts_before or 0) + 1}

    with wordpress_site.client() as client:
        comment = client.post(
            rest(wordpress_site, "/wp/v2/comments"),
            json={"post": int(result.external_id), "content": "Nice!"},
        )
        assert comment.status_code == 201, comment.text
    assert connector.post_metrics(target) == {"comments": 1}

    connector.delete(target)
    with wordpress_site.client() as client:
        assert client.get(rest(wordpress_site, f"/wp/v2/posts/{result.external_id}")).status_code == 404
    connector.delete(target)  # already gone: nothing to do


def test_validation_wants_a_title_and_a_real_image(cast, wp_channel, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("just text")
    target = make_target(cast, wp_channel, "", media=[{"path": str(not_an_image)}])
    problems = {(p.field, p.code) for p in wp_channel.connector().validate(target)}
    assert problems == {("title", "required"), ("media", "invalid")}


def test_a_refused_post_carries_wordpress_reason(wp_channel):
    with pytest.raises(ContentRejected, match=r"Invalid parameter\(s\): status.*status is not one of"):
        wp_channel.connector().api().create_post({"title": "x", "status": "not-a-status"})


def test_the_engine_publishes_to_wordpress(cast, wp_channel, wordpress_site):
    target = make_target(cast, wp_channel, "Through the engine", title="Engine post")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))

    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"

    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED
    post = read_post(wordpress_site, target.external_id)
    assert target.external_url == post["link"]
    assert post["link"].startswith(wordpress_site.url)
    assert post["title"]["raw"] == "Engine post"
