"""The Mastodon connector against PyPI `mastodon_mock`, a stateful imitation of the Mastodon API
served on 127.0.0.1 — not a real Mastodon server (none is installable here)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from chorus.connectors.mastodon.connector import MastodonConnector
from chorus.connectors.mastodon.models import MastodonApp
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine
from tests.connectors.mastodon.conftest import CALLBACK, authorize_as, connect_via_oauth
from tests.publishing.conftest import make_target

pytestmark = pytest.mark.peer

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def read_back(imitation, status_id: str) -> dict:
    answer = httpx.get(
        f"{imitation.base_url}/api/v1/statuses/{status_id}", headers={"Authorization": "Bearer bob_token"}
    )
    answer.raise_for_status()
    return answer.json()


def target_with(cast, channel, text="Hello from Chorus", media=(), **options) -> PostTarget:
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def test_it_connects_with_oauth_and_reuses_the_app_registration(cast, mastodon_imitation):
    base = mastodon_imitation.base_url
    redirect = MastodonConnector.begin_connect(
        {"instance": base + "/about"}, callback_url=CALLBACK, state="s1"
    )
    url = httpx.URL(redirect.url)
    assert url.path == "/oauth/authorize"
    assert url.params["state"] == "s1" and url.params["scope"] == "read write"
    assert url.params["redirect_uri"] == CALLBACK and url.params["response_type"] == "code"
    params = authorize_as("alice", redirect)
    assert params["state"] == "s1"
    result = MastodonConnector.finish_connect(params, state_data=redirect.state_data, callback_url=CALLBACK)
    assert result.name == f"@alice@{base.split('://')[1]}"
    assert result.config["username"] == "alice" and result.config["instance"] == base
    assert result.config["limits"]["max_characters"] == 500  # read from /api/v2/instance
    assert result.credentials["access_token"] and result.credentials["client_secret"]

    second = connect_via_oauth(cast, base, username="bob", state="s2")
    assert second.config["username"] == "bob"
    assert second.credentials["client_id"] == result.credentials["client_id"]
    assert MastodonApp.objects.count() == 1
    assert "client_secret" not in MastodonApp.objects.get().client_secret_encrypted


def test_it_publishes_media_with_alt_and_focus_a_content_warning_visibility_and_language(
    cast, imitation_channel, mastodon_imitation
):
    default_storage.save("uploads/cat.png", ContentFile(PNG))
    target = target_with(
        cast,
        imitation_channel,
        media=[{"path": "uploads/cat.png", "alt": "A cat asleep on a keyboard", "focus": [0.5, -0.25]}],
        spoiler_text="cats",
        visibility="unlisted",
        language="fr",
    )
    connector = imitation_channel.connector()
    assert connector.validate(target) == []
    result = connector.publish(target)
    status = read_back(mastodon_imitation, result.external_id)
    assert result.url == status["url"]
    assert (
        status["spoiler_text"] == "cats" and status["visibility"] == "unlisted" and status["language"] == "fr"
    )
    [media] = status["media_attachments"]
    assert media["description"] == "A cat asleep on a keyboard"
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}


def test_it_publishes_a_poll(cast, imitation_channel, mastodon_imitation):
    target = target_with(
        cast,
        imitation_channel,
        text="Tea or coffee?",
        poll={"options": ["Tea", "Coffee"], "expires_in": 3600, "multiple": True},
    )
    result = imitation_channel.connector().publish(target)
    poll = read_back(mastodon_imitation, result.external_id)["poll"]
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"] and poll["multiple"] is True


def test_it_publishes_a_long_text_as_a_thread_of_replies(cast, imitation_channel, mastodon_imitation):
    words = " ".join(f"word{i}" for i in range(250))  # ~1,700 characters, limit 500
    target = target_with(cast, imitation_channel, text=words, thread=True)
    connector = imitation_channel.connector()
    assert connector.validate(target) == []
    parts = connector.parts(target)
    assert len(parts) == 4 and " ".join(parts) == words
    result = connector.publish(target)
    context = httpx.get(
        f"{mastodon_imitation.base_url}/api/v1/statuses/{result.external_id}/context",
        headers={"Authorization": "Bearer bob_token"},
    ).json()
    replies = context["descendants"]
    assert len(replies) == 3
    assert replies[0]["in_reply_to_id"] == result.external_id
    assert [r["in_reply_to_id"] for r in replies[1:]] == [replies[0]["id"], replies[1]["id"]]


def test_a_retried_publish_of_the_same_target_returns_the_same_status(cast, imitation_channel):
    target = target_with(cast, imitation_channel, text="Only once, please")
    connector = imitation_channel.connector()
    first = connector.publish(target)
    again = connector.publish(target)
    assert again.external_id == first.external_id
    other = target_with(cast, imitation_channel, text="Only once, please")
    assert connector.publish(other).external_id != first.external_id


def test_lookup_finds_a_published_target_and_not_an_unpublished_one(cast, imitation_channel):
    connector = imitation_channel.connector()
    target = target_with(cast, imitation_channel, text="Find me: https://example.org/a/b?c=d #tag")
    target.sending_at = timezone.now()
    result = connector.publish(target)
    found = connector.lookup(target)
    assert found is not None and found.external_id == result.external_id
    missing = target_with(cast, imitation_channel, text="Never sent")
    assert connector.lookup(missing) is None


def test_it_reads_metrics_and_deletes(cast, imitation_channel, mastodon_imitation):
    connector = imitation_channel.connector()
    target = target_with(cast, imitation_channel, text="Like me")
    target.external_id = connector.publish(target).external_id
    httpx.post(
        f"{mastodon_imitation.base_url}/api/v1/statuses/{target.external_id}/favourite",
        headers={"Authorization": "Bearer bob_token"},
    ).raise_for_status()
    assert connector.post_metrics(target) == {"likes": 1, "reposts": 0, "replies": 0}
    account = connector.account_metrics()
    assert account["posts"] == 1 and account["followers"] is not None
    assert connector.check().startswith("@alice on ")
    connector.delete(target)
    answer = httpx.get(f"{mastodon_imitation.base_url}/api/v1/statuses/{target.external_id}")
    assert answer.status_code == 404


def test_the_engine_publishes_a_due_target_to_the_imitation(cast, imitation_channel):
    target = make_target(
        cast, imitation_channel, text="Scheduled hello", when=timezone.now() - dt.timedelta(seconds=1)
    )
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED
    assert target.external_id and target.external_url.endswith(f"/@alice/{target.external_id}")
