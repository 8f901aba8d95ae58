from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.content.models import Campaign
from chorus.core.models import AuditEvent
from chorus.links import actions
from chorus.links.campaigns import progress
from chorus.links.models import CampaignSettings
from tests.conftest import Cast
from tests.publishing.conftest import make_target


def _client(cast: Cast, role: str) -> Client:
    client = Client()
    client.force_login(cast.members[role] if role != "owner" else cast.owner)
    return client


def test_it_creates_and_edits_a_campaign_from_the_pages(cast: Cast, channel: Channel):
    client = _client(cast, "editor")
    slug = cast.workspace.slug
    response = client.post(
        f"/w/{slug}/campaigns/new/",
        {
            "name": "Winter Appeal",
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-31",
            "goal": "Raise funds",
            "color": "#aa3300",
            "utm_source": "",
            "utm_medium": "social-paid",
            "utm_campaign": "",
            "channels": [str(channel.pk)],
        },
    )
    campaign = Campaign.objects.get(workspace=cast.workspace)
    assert response.status_code == 302
    assert (campaign.slug, campaign.color, campaign.starts_on) == (
        "winter-appeal",
        "#aa3300",
        dt.date(2026, 12, 1),
    )
    camp_settings = CampaignSettings.objects.get(campaign=campaign)
    assert camp_settings.utm_medium == "social-paid"
    assert list(camp_settings.channels.all()) == [channel]
    assert AuditEvent.objects.filter(action="campaign.created", object_id=str(campaign.pk)).exists()

    response = client.post(
        f"/w/{slug}/campaigns/{campaign.pk}/edit/",
        {"name": "Winter Appeal 2026", "slug": "winter26", "color": "#000000"},
    )
    campaign.refresh_from_db()
    assert response.status_code == 302
    assert (campaign.name, campaign.slug) == ("Winter Appeal 2026", "winter26")
    assert client.get(f"/w/{slug}/campaigns/").status_code == 200
    assert b"Winter Appeal 2026" in client.get(f"/w/{slug}/campaigns/{campaign.pk}/").content


def test_it_refuses_bad_dates_and_taken_slugs(cast: Cast):
    actions.create_campaign(cast.workspace, actor=cast.owner, data={"name": "Gala"})
    client = _client(cast, "editor")
    slug = cast.workspace.slug
    taken = client.post(f"/w/{slug}/campaigns/new/", {"name": "Gala"})
    assert b"already uses the slug" in taken.content
    bad = client.post(
        f"/w/{slug}/campaigns/new/", {"name": "X", "starts_on": "2026-05-02", "ends_on": "2026-05-01"}
    )
    assert b"ends before it starts" in bad.content
    assert Campaign.objects.filter(workspace=cast.workspace).count() == 1


def test_it_counts_progress_of_scheduled_and_published_posts(cast: Cast, channel: Channel):
    campaign = actions.create_campaign(cast.workspace, actor=cast.owner, data={"name": "Drive"})
    later = timezone.now() + dt.timedelta(days=2)
    for when in (later, later, None):
        target = make_target(cast, channel, text="t", when=when)
        target.post.campaign = campaign
        target.post.save()
    make_target(cast, channel, text="outside the campaign", when=later)
    result = progress(campaign)
    assert (result.total, result.scheduled, result.published) == (3, 2, 0)
    page = _client(cast, "viewer").get(f"/w/{cast.workspace.slug}/campaigns/{campaign.pk}/")
    assert b"0 published, 2 scheduled, of 3 posts." in page.content


def test_it_offers_campaign_crud_in_the_api(cast: Cast):
    client = _client(cast, "editor")
    base = f"/api/workspaces/{cast.workspace.slug}/campaigns"
    created = client.post(
        base, {"name": "Api Camp", "utm_source": "newsletter"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["utm_source"] == "newsletter"
    updated = client.put(f"{base}/{campaign_id}", {"name": "Api Camp 2"}, content_type="application/json")
    assert updated.json()["slug"] == "api-camp-2"
    assert client.delete(f"{base}/{campaign_id}").status_code == 403  # deleting is for managers
    assert _client(cast, "owner").delete(f"{base}/{campaign_id}").status_code == 204
    assert not Campaign.objects.filter(pk=campaign_id).exists()


def test_it_hides_another_workspaces_campaign(cast: Cast):
    other = Campaign.objects.create(
        workspace=cast.outsider.memberships.get().workspace, name="Theirs", slug="theirs"
    )
    client = _client(cast, "owner")
    assert client.get(f"/w/{cast.workspace.slug}/campaigns/{other.pk}/").status_code == 404
    assert client.get(f"/api/workspaces/{cast.workspace.slug}/campaigns/{other.pk}").status_code == 404


def test_the_campaign_list_speaks_the_readers_numbers_and_dates_and_scrolls_on_a_phone(
    cast: Cast, monkeypatch, settings
):
    from django.utils import translation

    from chorus.core.formatting import format_date, format_number
    from chorus.links import campaigns

    Campaign.objects.create(
        workspace=cast.workspace, name="Global", slug="global", starts_on=dt.date(2025, 12, 8)
    )
    # The demo's size: its counts are what this test is about, not how they are counted.
    monkeypatch.setattr(
        campaigns, "progress", lambda c: campaigns.Progress(total=2004, scheduled=0, published=2004)
    )
    client = _client(cast, "owner")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(f"/w/{cast.workspace.slug}/campaigns/").content.decode()
    with translation.override("fr"):
        assert f"<td>{format_number(2004)}</td>" in page and format_number(2004) != "2004"
        assert format_date(dt.date(2025, 12, 8)) in page
    assert (
        '<div class="scroll-x"><table id="campaign-list">' in page
    )  # a phone scrolls the table, not the page
