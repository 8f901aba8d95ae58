from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.accounts.models import Membership
from chorus.accounts.permissions import Role
from chorus.analytics.demo import WORKSPACE_NAME, load_demo
from chorus.analytics.models import ShareLink
from tests.analytics.conftest import published, snap_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(cast):
    workspace = load_demo(days=40, posts_per_day=2, owner=cast.owner)
    Membership.objects.create(workspace=workspace, user=cast.members["viewer"], role=Role.VIEWER)
    Membership.objects.create(workspace=workspace, user=cast.members["contributor"], role=Role.CONTRIBUTOR)
    return workspace


def test_it_shows_the_sample_dashboard_with_charts_and_a_sample_banner(cast, sample):
    client = cast.client_for(cast.members["viewer"])
    response = client.get(reverse("analytics:dashboard", args=[sample.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sample-banner"' in html and WORKSPACE_NAME.startswith("Sample:")
    assert 'id="chart-engagement"' in html and "vendor/chartjs/chart.umd.min.js" in html
    assert 'id="chart-data"' in html
    assert "not available" in html  # Bluesky and Mastodon give no impressions


def test_it_filters_the_dashboard_by_channel_and_period(cast, sample):
    channel = sample.channels.get(name="Website · News")
    client = cast.client_for(cast.owner)
    today = timezone.now().date()
    url = reverse("analytics:dashboard", args=[sample.slug])
    response = client.get(url, {"channel": channel.pk, "start": today - dt.timedelta(days=20), "end": today})
    assert response.status_code == 200
    assert response.context["d"]["per_channel"] and {
        r["name"] for r in response.context["d"]["per_channel"]
    } == {"Website · News"}


def test_it_refuses_analytics_to_a_contributor_and_hides_another_workspace(cast, sample):
    assert (
        cast.client_for(cast.members["contributor"])
        .get(reverse("analytics:dashboard", args=[sample.slug]))
        .status_code
        == 403
    )
    channel = sample.channels.first()
    outsider = cast.client_for(cast.members["editor"])  # not a member of the sample workspace
    assert outsider.get(reverse("analytics:channel", args=[sample.slug, channel.pk])).status_code == 404
    # A channel of the sample workspace through the cast workspace's URL is a 404 too.
    own = cast.client_for(cast.owner)
    assert own.get(reverse("analytics:channel", args=[cast.workspace.slug, channel.pk])).status_code == 404


def test_it_shows_best_times_on_the_channel_page(cast, sample):
    channel = sample.channels.get(name="Bluesky · English")
    response = cast.client_for(cast.owner).get(reverse("analytics:channel", args=[sample.slug, channel.pk]))
    assert response.status_code == 200
    assert 'id="best-times"' in response.content.decode()
    assert response.context["heat"].posts > 0


def test_it_shows_latest_metrics_on_the_post_page_and_the_target_detail(cast, metrics_channel):
    target = published(cast, metrics_channel, timezone.now() - dt.timedelta(hours=5))
    snap_post(target, {"likes": 4, "replies": 0}, timezone.now())
    client = cast.client_for(cast.owner)
    html = client.get(reverse("analytics:post", args=[cast.workspace.slug, target.pk])).content.decode()
    assert re.search(r'data-metric="likes">4<', html)
    assert re.search(r'data-metric="replies">0<', html)  # a real zero
    assert re.search(r'data-metric="impressions"><span class="na">not available', html)
    detail = client.get(reverse("publishing:target", args=[cast.workspace.slug, target.pk])).content.decode()
    assert 'id="target-metrics"' in detail


def test_it_shows_campaign_results(cast, sample):
    campaign = sample.campaigns.get(slug="global-campaign")
    response = cast.client_for(cast.owner).get(reverse("analytics:campaign", args=[sample.slug, campaign.pk]))
    assert response.status_code == 200
    assert response.context["d"]["totals"]["posts"] > 0


def test_it_exports_from_the_builder(cast, sample):
    client = cast.client_for(cast.members["viewer"])
    today = timezone.now().date()
    params = {
        "start": today - dt.timedelta(days=30),
        "end": today,
        "sections": ["summary", "channels"],
        "format": "xlsx",
    }
    response = client.get(reverse("analytics:export", args=[sample.slug]), params)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert response.content[:2] == b"PK"


def test_it_shares_a_read_only_link_until_it_expires_or_is_revoked(cast, sample, client):
    editor = cast.client_for(cast.owner)
    today = timezone.now().date()
    response = editor.post(
        reverse("analytics:reports_manage", args=[sample.slug]),
        {
            "action": "share",
            "start": today - dt.timedelta(days=7),
            "end": today,
            "sections": ["summary"],
            "days": 3,
        },
    )
    assert response.status_code == 200
    url = re.search(r'id="new-share-link">([^<]+)<', response.content.decode()).group(1)
    path = url.replace("http://testserver", "")
    shared = client.get(path)  # anonymous
    assert shared.status_code == 200 and "Sample data" in shared.content.decode()
    link = ShareLink.objects.get(workspace=sample)
    assert path.rstrip("/").rsplit("/", 1)[1] not in link.token_hash  # only a hash is stored

    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(path).status_code == 404
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + dt.timedelta(days=1))
    assert client.get(path).status_code == 200
    editor.post(reverse("analytics:reports_manage", args=[sample.slug]), {"action": "revoke", "id": link.pk})
    assert client.get(path).status_code == 404
    assert client.get("/shared/reports/not-a-token/").status_code == 404


def test_it_lets_only_report_managers_share_or_schedule(cast, sample):
    viewer = cast.client_for(cast.members["viewer"])
    response = viewer.post(
        reverse("analytics:reports_manage", args=[sample.slug]), {"action": "share", "days": 3}
    )
    assert response.status_code == 403
    assert not ShareLink.objects.exists()


def test_it_schedules_a_report_with_valid_recipients_only(cast, sample):
    client = cast.client_for(cast.owner)
    url = reverse("analytics:reports_manage", args=[sample.slug])
    bad = client.post(
        url,
        {
            "action": "schedule",
            "name": "M",
            "frequency": "monthly",
            "recipients": "nope",
            "sections": ["summary"],
        },
    )
    assert bad.status_code == 200 and "nope is not an email address" in bad.content.decode()
    good = client.post(
        url,
        {
            "action": "schedule",
            "name": "M",
            "frequency": "monthly",
            "recipients": "a@example.org",
            "sections": ["summary"],
        },
    )
    assert good.status_code == 302
    assert "a@example.org" in client.get(reverse("analytics:reports", args=[sample.slug])).content.decode()


def test_it_loads_the_sample_workspace_from_the_demo_command(cast):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo", "--days", "15", "--owner", cast.owner.email, stdout=out)
    assert "invented" in out.getvalue()
    call_command("demo", "--days", "15", "--owner", cast.owner.email, stdout=out)  # reloads, no duplicate
    from chorus.accounts.models import Workspace

    [workspace] = Workspace.objects.filter(name__startswith="Sample:")
    assert workspace.channels.count() == 6 and {c.kind for c in workspace.channels.all()} == {
        "bluesky",
        "mastodon",
        "wordpress",
    }
    assert all(c.config["sample"] for c in workspace.channels.all())
    assert workspace.memberships.get(user=cast.owner).role == "owner"


def test_the_channel_page_names_the_weekday_of_each_suggested_time(cast, metrics_channel):
    from zoneinfo import ZoneInfo

    paris = ZoneInfo(cast.workspace.timezone)
    today = timezone.now().astimezone(paris).date()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    for week in range(3):  # three Mondays at 09:00: enough history for a suggestion
        local = dt.datetime.combine(monday - dt.timedelta(weeks=week), dt.time(9, 10), paris)
        snap_post(published(cast, metrics_channel, local.astimezone(dt.UTC)), {"likes": 5}, timezone.now())
    response = cast.client_for(cast.owner).get(
        reverse("analytics:channel", args=[cast.workspace.slug, metrics_channel.pk])
    )
    assert response.status_code == 200
    assert re.search(r'<ol id="suggestions"><li>Mon 09:00', response.content.decode())
