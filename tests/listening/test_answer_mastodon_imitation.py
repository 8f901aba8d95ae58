"""From a Mastodon listening match to a reply or a quote, against PyPI `mastodon_mock` (an imitation
of the Mastodon API on 127.0.0.1, not a real Mastodon server), and the request shape when the post
is on another instance (a fake at Chorus's one HTTP seam: search with resolve=true)."""

from __future__ import annotations

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.connectors.base import ContentRejected
from chorus.inbox import actions as inbox_actions
from chorus.listening import actions, mastodon
from chorus.listening.models import Match
from tests.connectors.mastodon import conftest as mastodon_conftest
from tests.connectors.mastodon.conftest import Fake, connect_via_oauth, status_json
from tests.publishing.conftest import make_target

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _private_urls(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the imitation listens on 127.0.0.1


def toot(imitation, text: str, token: str = "bob_token") -> dict:
    answer = httpx.post(
        f"{imitation.base_url}/api/v1/statuses",
        data={"status": text, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return answer.json()


def read_back(imitation, status_id: str) -> dict:
    answer = httpx.get(f"{imitation.base_url}/api/v1/statuses/{status_id}")
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def bob_match(cast, mastodon_imitation) -> tuple[Match, dict]:
    query = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Tag", "hashtags": ["chorus"], "mastodon_instance": mastodon_imitation.base_url},
    )
    status = toot(mastodon_imitation, "La marche pour le climat samedi #chorus")
    assert mastodon.poll(query) == 1
    return Match.objects.get(query=query), status


def test_imitation_reply_and_quote_from_a_match_name_the_status_on_our_instance(
    cast, mastodon_imitation, bob_match
):
    match, status = bob_match
    channel = connect_via_oauth(cast, mastodon_imitation.base_url)  # alice, on the same instance
    for mode, option in (("reply", "in_reply_to"), ("quote", "quote")):
        chosen, options = actions.answer_post(match, mode)
        assert chosen == channel and options == {option: status["url"]}
        target = make_target(cast, channel, text=f"Nous y serons ({mode})")
        target.options = options
        target.save()
        assert channel.connector().validate(target) == []
        result = channel.connector().publish(target)
        sent = read_back(mastodon_imitation, result.external_id)
        if mode == "reply":
            assert sent["in_reply_to_id"] == status["id"]
        else:  # the imitation lists the statuses quoting bob's (Mastodon 4.5's quotes endpoint)
            quotes = httpx.get(
                f"{mastodon_imitation.base_url}/api/v1/statuses/{status['id']}/quotes",
                headers={"Authorization": "Bearer bob_token"},
            ).json()
            assert [q["id"] for q in quotes] == [sent["id"]] and not sent["in_reply_to_id"]


def test_imitation_a_match_sent_to_the_inbox_is_answered_with_in_reply_to_id(
    cast, mastodon_imitation, bob_match
):
    match, status = bob_match
    channel = connect_via_oauth(cast, mastodon_imitation.base_url)
    conversation = actions.send_to_inbox(match, actor=cast.owner)
    assert conversation.channel == channel
    reply = inbox_actions.request_reply(conversation=conversation, actor=cast.owner, text="Merci, à samedi !")
    assert inbox_actions.send_reply(reply.pk) == "sent"
    reply.refresh_from_db()
    sent = read_back(mastodon_imitation, reply.network_id)
    assert sent["in_reply_to_id"] == status["id"]
    assert sent["account"]["username"] == "alice" and "@bob" in sent["content"]
    # Sent once: asking again finds the reply already there and sends nothing more.
    assert inbox_actions.send_reply(reply.pk) != "sent" or reply.network_id == sent["id"]


fake = mastodon_conftest.fake  # the recorder at Chorus's one HTTP seam


def test_fake_a_post_on_another_instance_is_found_with_search_resolve(cast, fake: Fake):
    channel = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="@alice@a.example",
        config={"instance": "https://a.example", "username": "alice", "account_id": "1"},
        credentials={"access_token": "tok"},
    )
    remote = "https://b.example/@ann/1090"
    fake.on(
        "GET", "/api/v2/search", httpx.Response(200, json={"statuses": [status_json("555")], "accounts": []})
    )
    fake.on("POST", "/api/v1/statuses", httpx.Response(200, json=status_json("777", "Oui")))
    target = make_target(cast, channel, text="Oui")
    target.options = {"in_reply_to": remote}
    target.save()
    channel.connector().publish(target)
    (search,) = fake.requests_to("GET", "/api/v2/search")
    assert dict(search.url.params) == {"q": remote, "type": "statuses", "limit": "1", "resolve": "true"}
    assert search.headers["Authorization"] == "Bearer tok"
    (post,) = fake.requests_to("POST", "/api/v1/statuses")
    assert Fake.body(post)["in_reply_to_id"] == "555"

    fake.routes[("GET", "/api/v2/search")] = [httpx.Response(200, json={"statuses": [], "accounts": []})]
    with pytest.raises(ContentRejected, match=r"could not find the post https://b\.example/@ann/1090"):
        channel.connector().publish(target)
    assert len(fake.requests_to("POST", "/api/v1/statuses")) == 1  # nothing sent without the parent
