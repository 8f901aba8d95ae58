"""The composer's "Add UTM and shorten links": ticked, each channel's copy gets its own tagged
short link when the post is saved, whatever the workspace's default; unticked, a draft keeps
the link as typed. The upload field is offered to those who may add media."""

from __future__ import annotations

from typing import Any

from django.test import Client

from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from chorus.core.models import AuditEvent
from chorus.links.models import ShortLink
from chorus.links.shortening import short_url
from tests.conftest import Cast


def _post(sink: Channel, **extra: str) -> dict[str, Any]:
    return {
        "channels": [str(sink.pk)],
        "text": "Open day",
        "link": "https://harbour.example/day",
        "when": "draft",
        **extra,
    }


def test_ticked_the_links_are_tagged_and_shortened_for_each_channel(
    owner_client: Client, cast: Cast, sink: Channel, bluesky: Channel, settings: Any
) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the host is not resolved (no network in tests)
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Open day", slug="open-day")
    data = _post(sink, shorten_links="on", campaign=str(campaign.pk))
    data["channels"] = [str(sink.pk), str(bluesky.pk)]
    assert owner_client.post("/w/campaign/posts/new/", data).status_code == 302
    for target in PostTarget.objects.select_related("channel"):
        link = ShortLink.objects.get(target=target)
        assert target.text == f"Open day\n\n{short_url(link.code)}"
        assert f"utm_source={target.channel.kind}" in link.target_url
        assert "utm_campaign=open-day" in link.target_url
    assert AuditEvent.objects.filter(action="links.shortened").count() == 2


def test_unticked_a_draft_keeps_the_link_as_typed(owner_client: Client, sink: Channel) -> None:
    assert owner_client.post("/w/campaign/posts/new/", _post(sink)).status_code == 302
    assert PostTarget.objects.get().text == "Open day\n\nhttps://harbour.example/day"
    assert not ShortLink.objects.exists()


def test_the_upload_field_is_offered_to_those_who_may_add_media(cast: Cast, sink: Channel) -> None:
    for role in ("owner", "contributor"):
        page = cast.client_for(cast.members[role]).get("/w/campaign/posts/new/").content.decode()
        assert 'id="composer-upload"' in page and 'data-upload-url="/w/campaign/media/upload/"' in page


def test_the_live_preview_says_the_links_will_be_shortened_only_when_ticked(
    owner_client: Client, sink: Channel
) -> None:
    note = "When saved, its links become short links"
    ticked = owner_client.post("/w/campaign/compose/check/", _post(sink, shorten_links="on"))
    assert note in ticked.content.decode()
    assert note not in owner_client.post("/w/campaign/compose/check/", _post(sink)).content.decode()
    no_link = _post(sink, shorten_links="on")
    no_link["link"] = ""
    assert note not in owner_client.post("/w/campaign/compose/check/", no_link).content.decode()
