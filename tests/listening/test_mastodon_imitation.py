"""Mastodon hashtag timelines with min_id paging, against PyPI `mastodon_mock` — an imitation of
the Mastodon API served on 127.0.0.1, not a real Mastodon server (none is installable here)."""

from __future__ import annotations

import httpx
import pytest

from chorus.listening import actions, mastodon
from chorus.listening.models import Match, StreamCursor

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _private_urls(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the imitation listens on 127.0.0.1


def toot(imitation, text: str, token: str = "alice_token") -> dict:
    answer = httpx.post(
        f"{imitation.base_url}/api/v1/statuses",
        data={"status": text, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return answer.json()


def test_imitation_hashtag_timeline_paged_with_min_id(cast, mastodon_imitation, monkeypatch):
    monkeypatch.setattr(mastodon, "PAGE", 5)  # several pages with a handful of statuses
    query = actions.create_query(
        cast.workspace,
        actor=None,
        data={
            "name": "Tag",
            "expression": "climat OR climate",
            "hashtags": ["#chorus"],
            "mastodon_instance": mastodon_imitation.base_url,
            "group": "campaign",
        },
    )
    # Hashtags or words: the query matches statuses with #chorus whatever they say.
    first = toot(mastodon_imitation, "Bonjour à tous #chorus")
    assert mastodon.poll(query) == 1
    source = mastodon.source_for(mastodon_imitation.base_url, "chorus")
    assert StreamCursor.objects.get(source=source).cursor == first["id"]

    sent = [
        toot(mastodon_imitation, f"Marche pour le climat numéro {i} #chorus", token="bob_token")
        for i in range(12)
    ]
    toot(mastodon_imitation, "Sans hashtag, sur le climat")  # not on the #chorus timeline
    assert mastodon.poll(query) == 12  # three pages of 5, 5 and 2 after min_id
    assert StreamCursor.objects.get(source=source).cursor == sent[-1]["id"]
    assert mastodon.poll(query) == 0  # nothing new, nothing twice
    match = Match.objects.get(uri=sent[3]["uri"])
    host = mastodon.host_of(mastodon_imitation.base_url)  # the instance names its own "bob"
    assert (match.network, match.language, match.author_handle) == ("mastodon", "fr", f"bob@{host}")
    assert match.url == sent[3]["url"] and match.hashtags == ["chorus"]
    assert Match.objects.filter(query=query).count() == 13


def test_imitation_unsafe_instance_is_refused(cast, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    query = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Tag", "hashtags": ["chorus"], "mastodon_instance": "https://127.0.0.1:9"},
    )
    from chorus.core.http import UnsafeURL

    with pytest.raises(UnsafeURL):
        mastodon.poll(query)
