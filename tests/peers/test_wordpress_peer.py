"""The WordPress peer is real: REST with an application password, media, featured image, scheduling."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image

from tests.peers.wordpress import WordPressSite

pytestmark = pytest.mark.peer


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_rest_needs_the_application_password(wordpress_site: WordPressSite) -> None:
    me = httpx.get(wordpress_site.rest("/wp/v2/users/me"), timeout=30)
    assert me.status_code == 401
    with wordpress_site.client() as client:
        me = client.get(wordpress_site.rest("/wp/v2/users/me"))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == wordpress_site.user_id
        # Pretty permalinks are on too, so /wp-json/ works as well as ?rest_route=.
        pretty = client.get(f"{wordpress_site.url}/wp-json/wp/v2/users/me")
        assert pretty.status_code == 200, pretty.text
        assert pretty.json()["id"] == wordpress_site.user_id


def test_post_with_featured_media_and_scheduled_post(wordpress_site: WordPressSite) -> None:
    with wordpress_site.client() as client:
        png = small_png()
        uploaded = client.post(
            wordpress_site.rest("/wp/v2/media"),
            content=png,
            headers={
                "Content-Type": "image/png",
                "Content-Disposition": 'attachment; filename="chorus-peer.png"',
            },
        )
        assert uploaded.status_code == 201, uploaded.text
        media = uploaded.json()
        assert media["mime_type"] == "image/png"
        served = httpx.get(media["source_url"], timeout=30)
        assert served.status_code == 200
        assert served.content == png

        created = client.post(
            wordpress_site.rest("/wp/v2/posts"),
            json={
                "title": "Hello from Chorus",
                "content": "<p>Published by the peer test.</p>",
                "status": "publish",
                "featured_media": media["id"],
            },
        )
        assert created.status_code == 201, created.text
        post = created.json()

        when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        scheduled = client.post(
            wordpress_site.rest("/wp/v2/posts"),
            json={
                "title": "Later from Chorus",
                "content": "<p>Scheduled.</p>",
                "status": "future",
                "date_gmt": when.strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        future = scheduled.json()

        read = client.get(wordpress_site.rest(f"/wp/v2/posts/{post['id']}")).json()
        assert read["status"] == "publish"
        assert read["title"]["rendered"] == "Hello from Chorus"
        assert read["featured_media"] == media["id"]

        read = client.get(wordpress_site.rest(f"/wp/v2/posts/{future['id']}")).json()
        assert read["status"] == "future"
        assert read["date_gmt"] == when.strftime("%Y-%m-%dT%H:%M:%S")

    # Anonymous readers see the published post but not the scheduled one (the site starts empty).
    public = httpx.get(wordpress_site.rest("/wp/v2/posts"), timeout=30).json()
    assert [p["id"] for p in public] == [post["id"]]
