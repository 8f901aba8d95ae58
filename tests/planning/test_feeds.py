"""Secret iCal feeds: per workspace and per campaign, shown once, regenerated and revoked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from icalendar import Calendar

from chorus.channels.models import Channel
from chorus.content.models import Campaign
from chorus.planning.models import FeedToken
from tests.conftest import Cast
from tests.planning.conftest import paris, scheduled

pytestmark = pytest.mark.django_db


def issue(cast: Cast, campaign: Campaign | None = None, role: str = "owner") -> str:
    url = reverse("planning:feed_issue", kwargs={"slug": cast.workspace.slug})
    response = cast.client_for(cast.members[role]).post(url, {"campaign": campaign.pk if campaign else ""})
    assert response.status_code == 200
    match = re.search(r'value="(http://testserver/ical/[^"]+\.ics)"', response.content.decode())
    assert match, response.content
    return match.group(1).removeprefix("http://testserver")


def test_a_workspace_feed_lists_the_scheduled_posts(cast: Cast, sink_channel: Channel, future_year: int):
    target = scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0), text="Spring launch\nmore")
    scheduled(cast, sink_channel, paris(future_year, 3, 11, 9, 0), text="Second")
    response = cast.client_for(None).get(issue(cast))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["[Sink] Spring launch", "[Sink] Second"]
    assert events[0]["uid"] == f"{target.uid}@chorus"
    assert events[0].decoded("dtstart") == paris(future_year, 3, 10, 9, 0)
    assert str(calendar["x-wr-timezone"]) == "Europe/Paris"


def test_a_campaign_feed_lists_only_that_campaign(cast: Cast, sink_channel: Channel, future_year: int):
    spring = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    scheduled(cast, sink_channel, paris(future_year, 3, 10, 9, 0), text="in", campaign=spring)
    scheduled(cast, sink_channel, paris(future_year, 3, 11, 9, 0), text="out")
    response = cast.client_for(None).get(issue(cast, spring))
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["[Sink] in"]


def test_a_wrong_or_revoked_token_is_a_404(cast: Cast, sink_channel: Channel):
    anonymous = cast.client_for(None)
    url = issue(cast)
    assert anonymous.get(url).status_code == 200
    assert anonymous.get(url.replace(".ics", "x.ics")).status_code == 404
    assert anonymous.get("/ical/chf_nothing.ics").status_code == 404
    feed = FeedToken.objects.get(workspace=cast.workspace, revoked_at__isnull=True)
    revoke = reverse("planning:feed_revoke", kwargs={"slug": cast.workspace.slug, "feed_id": feed.pk})
    assert cast.client_for(cast.owner).post(revoke).status_code == 302
    assert anonymous.get(url).status_code == 404


def test_regenerating_replaces_the_old_address(cast: Cast, sink_channel: Channel):
    anonymous = cast.client_for(None)
    first = issue(cast)
    second = issue(cast)
    assert first != second
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    assert FeedToken.objects.filter(workspace=cast.workspace, revoked_at__isnull=True).count() == 1


def test_the_address_is_shown_once_and_only_its_hash_is_stored(cast: Cast, sink_channel: Channel):
    url = issue(cast)
    raw = url.removeprefix("/ical/").removesuffix(".ics")
    feed = FeedToken.objects.get(revoked_at__isnull=True)
    assert raw not in (feed.token_hash, feed.hint) and feed.hint == raw[-6:]
    page = cast.client_for(cast.owner).get(reverse("planning:calendar", kwargs={"slug": cast.workspace.slug}))
    html = page.content.decode()
    assert f"…{feed.hint}" in html and raw not in html


def test_only_managers_make_or_revoke_feeds(cast: Cast, sink_channel: Channel):
    issue(cast)
    feed = FeedToken.objects.get(revoked_at__isnull=True)
    new = reverse("planning:feed_issue", kwargs={"slug": cast.workspace.slug})
    revoke = reverse("planning:feed_revoke", kwargs={"slug": cast.workspace.slug, "feed_id": feed.pk})
    editor = cast.client_for(cast.members["editor"])
    assert editor.post(new).status_code == 403
    assert editor.post(revoke).status_code == 403
    # Another workspace's feed is a 404 to its owner, not a revocation.
    other = reverse("planning:feed_revoke", kwargs={"slug": cast.other_workspace.slug, "feed_id": feed.pk})
    assert cast.client_for(cast.outsider).post(other).status_code == 404
    assert FeedToken.objects.get(pk=feed.pk).revoked_at is None
