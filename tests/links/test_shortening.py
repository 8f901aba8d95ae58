from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.links import actions
from chorus.links.models import ShortLink
from chorus.links.shortening import shorten_link, shorten_links_in, with_utm
from chorus.publishing.composer import shorten_link as composer_hook
from tests.conftest import Cast
from tests.publishing.conftest import make_target


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_it_keeps_existing_query_parameters_and_adds_utm():
    url = with_utm("https://example.org/a?x=1&utm_source=news#top", {"source": "bluesky", "medium": "social"})
    query = _query(url)
    assert query["x"] == ["1"]
    assert query["utm_source"] == ["news"]  # an existing utm value is the author's: kept
    assert query["utm_medium"] == ["social"]
    assert url.endswith("#top")


def test_it_tags_links_with_network_campaign_and_post(cast: Cast, channel: Channel):
    campaign = actions.create_campaign(cast.workspace, actor=cast.owner, data={"name": "Spring Drive"})
    target = make_target(cast, channel, text="Read https://example.org/story?id=4. Thanks")
    target.post.campaign = campaign
    target.post.save()
    text = shorten_links_in(PostTarget.objects.select_related("post__campaign", "channel").get(pk=target.pk))
    url = text.split()[1].rstrip(".")
    assert text.endswith(". Thanks")
    assert _query(url) == {
        "id": ["4"],
        "utm_source": ["sink"],
        "utm_medium": ["social"],
        "utm_campaign": ["spring-drive"],
        "utm_content": [str(target.post_id)],
    }


def test_it_lets_a_post_override_utm_values(cast: Cast, channel: Channel):
    target = make_target(cast, channel, text="https://example.org/")
    target.options = {"utm": {"medium": "organic", "content": "hero"}}
    query = _query(shorten_links_in(target))
    assert query["utm_medium"] == ["organic"]
    assert query["utm_content"] == ["hero"]
    assert query["utm_source"] == ["sink"]


def test_it_uses_workspace_presets_under_campaign_defaults(cast: Cast, channel: Channel):
    actions.save_link_settings(
        cast.workspace,
        actor=cast.owner,
        shorten=False,
        utm_source="chorus",
        utm_medium="soc",
        utm_campaign="",
    )
    campaign = actions.create_campaign(
        cast.workspace, actor=cast.owner, data={"name": "Gala", "utm_medium": "paid"}
    )
    target = make_target(cast, channel, text="https://example.org/")
    target.post.campaign = campaign
    query = _query(shorten_links_in(target))
    assert query["utm_source"] == ["chorus"]
    assert query["utm_medium"] == ["paid"]
    assert query["utm_campaign"] == ["gala"]


def test_it_shortens_idempotently_when_the_workspace_wants_it(cast: Cast, channel: Channel, settings):
    settings.CHORUS_SHORT_LINK_BASE = "https://go.example.net"
    actions.save_link_settings(
        cast.workspace, actor=cast.owner, shorten=True, utm_source="", utm_medium="", utm_campaign=""
    )
    target = make_target(cast, channel, text="See https://example.org/a and https://example.org/a")
    first = shorten_links_in(target)
    assert first.count("https://go.example.net/l/") == 2
    assert ShortLink.objects.filter(target=target).count() == 1  # the same URL twice: one code
    again = shorten_links_in(target)
    assert again == first
    target.text = first
    assert shorten_links_in(target) == first  # our own short links are left alone
    assert ShortLink.objects.count() == 1


def test_it_edits_the_target_through_the_action_with_an_audit_row(cast: Cast, channel: Channel):
    from chorus.core.models import AuditEvent

    actions.save_link_settings(
        cast.workspace, actor=cast.owner, shorten=True, utm_source="", utm_medium="", utm_campaign=""
    )
    target = make_target(cast, channel, text="Go https://example.org/x")
    actions.shorten_target_links(target, actor=cast.owner)
    target.refresh_from_db()
    link = ShortLink.objects.get(target=target)
    assert target.text == f"Go http://testserver/l/{link.code}" or target.text.endswith(f"/l/{link.code}")
    assert AuditEvent.objects.filter(action="links.shortened", object_id=str(target.pk)).exists()


def test_it_wires_the_composer_hook_and_leaves_unsaved_drafts_alone(cast: Cast, channel: Channel):
    assert composer_hook("https://example.org/") == "https://example.org/"  # a draft: no target yet
    target = make_target(cast, channel, text="x")
    assert "utm_source=sink" in composer_hook("https://example.org/", target)
    assert shorten_link("ftp://example.org/", target) == "ftp://example.org/"
