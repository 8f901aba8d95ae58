"""A failed post's reason is stored as a template and its words and shown in the reader's
language (issue 16, item 4): on the home, the Posts list and the post."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from chorus.channels.actions import connect_channel
from chorus.connectors.base import ContentRejected
from chorus.connectors.mastodon.client import classify
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from chorus.publishing.outcomes import render
from tests.conftest import Cast
from tests.test_i18n import ensure_compiled_catalog, french_client

pytestmark = pytest.mark.django_db
REFUSAL = "Text character limit of 500 exceeded"
FRENCH = f"Mastodon a refusé la publication : {REFUSAL}"


def _rejection() -> ContentRejected:
    response = httpx.Response(
        422,
        json={"error": REFUSAL},
        request=httpx.Request("POST", "https://mastodon.example/api/v1/statuses"),
    )
    error = classify(response)
    assert isinstance(error, ContentRejected)
    return error


def test_a_classified_error_keeps_its_template_and_words() -> None:
    ensure_compiled_catalog()
    with translation.override("fr"):
        error = _rejection()  # built while French is active: the template is still the English one
    assert error.message == FRENCH
    assert error.params is not None and error.params["msgid"] == "%(network)s rejected the post: %(reason)s"
    assert error.params["reason"] == REFUSAL
    assert render(None, error.params, error.message) == f"Mastodon rejected the post: {REFUSAL}"
    with translation.override("fr"):
        assert render(None, error.params, "stored") == FRENCH
        # A connector's plain message, stored in the worker's English, is translated when shown.
        assert render(None, None, "Mastodon does not allow this from Chorus.") != (
            "Mastodon does not allow this from Chorus."
        )
        assert render(None, None, "Something the network said") == "Something the network said"


def test_the_home_and_the_posts_list_show_the_reason_in_french(cast: Cast) -> None:
    ensure_compiled_catalog()
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Bonjour"
    )
    target = post.targets.get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    engine._settle_error(target, _rejection())
    target.refresh_from_db()
    assert target.status == PostTarget.Status.FAILED
    assert target.error_message == f"Mastodon rejected the post: {REFUSAL}"  # English for logs and the API
    client = french_client(cast.owner)
    slug = cast.workspace.slug
    for url in (
        reverse("workspace_home", args=[slug]),
        reverse("publishing:targets", args=[slug]),
        reverse("publishing:target", args=[slug, target.pk]),
    ):
        page = client.get(url).content.decode()
        assert FRENCH in page, url
        assert "rejected the post" not in page, url
