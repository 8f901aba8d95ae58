"""Amplified by: who reposted or quoted a post, collected with its metrics from networks that
list them (connector fakes here; the real Bluesky AppView in test_bluesky_metrics_peer.py)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from chorus.analytics import collect, figures, reports
from chorus.analytics.models import Amplification, AnalyticsSettings, ChannelMetricsState, PostMetrics
from chorus.connectors.base import Amplifier, RateLimited, Transient
from tests.analytics.conftest import published
from tests.analytics.fake import AmplifyingConnector, MetricsConnector

pytestmark = pytest.mark.django_db

OUTLET = Amplifier("did:outlet", "repost", "@outlet.example", "Big Outlet", "https://x.test/outlet", 250_000)
FAN = Amplifier("did:fan", "repost", "@fan.example", "A fan", "https://x.test/fan", 120)
QUOTER = Amplifier(
    "did:quoter", "quote", "@quoter.example", "", "https://x.test/q", 15_000, url="https://x.test/q/post/1"
)
UNKNOWN = Amplifier("did:quiet", "repost", "@quiet.example", "", "", None)  # followers not given


def page(cast, name: str, *args) -> str:
    response = cast.client_for(cast.owner).get(
        reverse(f"analytics:{name}", args=[cast.workspace.slug, *args])
    )
    assert response.status_code == 200
    return response.content.decode()


def test_it_stores_who_reposted_or_quoted_when_the_counts_move(cast, amplifying_channel, fake_connector):
    target = published(cast, amplifying_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"likes": 9, "reposts": 2, "quotes": 1}
    AmplifyingConnector.amplifiers_answer = [OUTLET, FAN, QUOTER]

    assert collect.collect_post(target.pk) == "collected"
    rows = {a.account_id: a for a in Amplification.objects.filter(target=target)}
    assert set(rows) == {"did:outlet", "did:fan", "did:quoter"}
    assert (rows["did:outlet"].kind, rows["did:outlet"].followers) == ("repost", 250_000)
    assert (rows["did:quoter"].kind, rows["did:quoter"].url) == ("quote", "https://x.test/q/post/1")
    assert rows["did:outlet"].workspace_id == cast.workspace.pk
    first_seen = rows["did:outlet"].first_seen_at

    # Same counts at the next poll: the list is not read again (no request spent on it).
    calls = len(MetricsConnector.calls)
    assert collect.collect_post(target.pk) == "collected"
    assert MetricsConnector.calls[calls:] == [f"post:{target.pk}"]

    # One more repost: read again; known accounts keep their first sighting, counts refresh.
    fake_connector.post_answer = {"likes": 9, "reposts": 3, "quotes": 1}
    grown = Amplifier(**{**OUTLET.__dict__, "followers": 251_000})
    AmplifyingConnector.amplifiers_answer = [grown, FAN, QUOTER, UNKNOWN]
    assert collect.collect_post(target.pk) == "collected"
    outlet = Amplification.objects.get(target=target, account_id="did:outlet")
    assert (outlet.followers, outlet.first_seen_at) == (251_000, first_seen)
    assert outlet.last_seen_at > first_seen
    assert Amplification.objects.filter(target=target).count() == 4
    assert PostMetrics.objects.get(target=target).amplified_count == 4


def test_it_spends_no_request_on_a_post_nobody_reposted(cast, amplifying_channel, fake_connector):
    target = published(cast, amplifying_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"likes": 4, "reposts": 0, "quotes": 0}
    assert collect.collect_post(target.pk) == "collected"
    assert MetricsConnector.calls == [f"post:{target.pk}"]
    html = page(cast, "post", target.pk)
    assert 'id="no-amplifiers"' in html  # read (nothing to read), so "nobody" is a fact


def test_a_rate_limit_on_the_list_holds_the_channel_and_keeps_the_metrics(
    cast, amplifying_channel, fake_connector
):
    target = published(cast, amplifying_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"reposts": 5}
    AmplifyingConnector.amplifiers_answer = RateLimited("slow down", retry_after=300)
    before = timezone.now()

    assert collect.collect_post(target.pk) == "collected"
    assert PostMetrics.objects.get(target=target).reposts == 5
    state = ChannelMetricsState.objects.get(channel=amplifying_channel)
    assert state.held_until >= before + dt.timedelta(seconds=299)
    assert PostMetrics.objects.get(target=target).amplified_count is None  # read again later
    calls = len(MetricsConnector.calls)
    assert collect.collect_post(target.pk) == "held"
    assert len(MetricsConnector.calls) == calls

    ChannelMetricsState.objects.filter(pk=state.pk).update(held_until=None)
    AmplifyingConnector.amplifiers_answer = Transient("AppView down")
    assert collect.collect_post(target.pk) == "collected"  # a failed read is tried at the next poll
    assert PostMetrics.objects.get(target=target).amplified_count is None
    AmplifyingConnector.amplifiers_answer = [OUTLET]
    assert collect.collect_post(target.pk) == "collected"
    assert PostMetrics.objects.get(target=target).amplified_count == 5
    assert Amplification.objects.filter(target=target).count() == 1


def test_the_post_page_lists_amplifiers_by_followers_and_highlights_notable_ones(
    cast, amplifying_channel, fake_connector
):
    target = published(cast, amplifying_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"reposts": 3, "quotes": 1}
    AmplifyingConnector.amplifiers_answer = [FAN, UNKNOWN, QUOTER, OUTLET]
    collect.collect_post(target.pk)

    html = page(cast, "post", target.pk)
    order = re.findall(r'<tr data-account="([^"]+)"', html)
    assert order == ["did:outlet", "did:quoter", "did:fan", "did:quiet"]  # unknown counts last
    notable = re.findall(r'<tr data-account="([^"]+)" class="notable"', html)
    assert notable == ["did:outlet", "did:quoter"]  # default threshold 10,000
    assert 'href="https://x.test/q/post/1"' in html  # the quote itself
    assert re.search(r'data-account="did:quiet".*?data-followers><span class="na">', html, re.S)

    AnalyticsSettings.objects.create(workspace=cast.workspace, notable_followers=100_000)
    html = page(cast, "post", target.pk)
    assert re.findall(r'<tr data-account="([^"]+)" class="notable"', html) == ["did:outlet"]


def test_networks_that_do_not_list_amplifiers_say_not_available(cast, metrics_channel, fake_connector):
    target = published(cast, metrics_channel, timezone.now() - dt.timedelta(hours=3))
    fake_connector.post_answer = {"reposts": 7}
    assert collect.collect_post(target.pk) == "collected"
    assert MetricsConnector.calls == [f"post:{target.pk}"]
    html = page(cast, "post", target.pk)
    assert 'id="amplifiers-not-available"' in html and "Metrics fake does not say" in html
    assert 'id="no-amplifiers"' not in html
    dashboard = page(cast, "dashboard")
    assert "do not say who reposted or quoted a post" in dashboard
    assert 'id="no-notable-amplifiers"' not in dashboard  # no empty claim


def test_the_dashboard_and_campaign_show_notable_amplifiers_of_the_period(
    cast, amplifying_channel, metrics_channel, fake_connector
):
    campaign = cast.workspace.campaigns.create(name="Water", slug="water")
    recent = published(cast, amplifying_channel, timezone.now() - dt.timedelta(days=2), campaign=campaign)
    old = published(cast, amplifying_channel, timezone.now() - dt.timedelta(days=90))
    fake_connector.post_answer = {"reposts": 2, "quotes": 1}
    AmplifyingConnector.amplifiers_answer = [OUTLET, FAN, QUOTER]
    collect.collect_post(recent.pk)
    AmplifyingConnector.amplifiers_answer = [Amplifier("did:old", "repost", "@old", "Old News", "", 90_000)]
    collect.collect_post(old.pk)

    f = figures.Filters(cast.workspace, timezone.now().date() - dt.timedelta(days=29), timezone.now().date())
    found = figures.notable_amplifiers(f)
    assert [a.account_id for a in found.rows] == ["did:outlet", "did:quoter"]  # the fan is not notable
    assert [c.pk for c in found.unavailable] == [metrics_channel.pk]

    html = page(cast, "dashboard")
    section = html[html.index('id="notable-amplifiers"') :]
    assert "Big Outlet" in section and "A fan" not in section and "Old News" not in section
    assert 'id="amplifiers-unavailable"' in section and metrics_channel.name in section
    assert "Big Outlet" in page(cast, "campaign", campaign.pk)
    other = cast.workspace.campaigns.create(name="Other", slug="other")
    assert 'id="no-notable-amplifiers"' in page(cast, "campaign", other.pk)


def test_the_report_has_a_notable_amplifiers_section(cast, amplifying_channel, fake_connector):
    target = published(cast, amplifying_channel, timezone.now() - dt.timedelta(days=1))
    fake_connector.post_answer = {"reposts": 2}
    AmplifyingConnector.amplifiers_answer = [OUTLET, FAN]
    collect.collect_post(target.pk)
    today = timezone.now().date()
    data = reports.build(cast.workspace, reports.ReportSpec(today - dt.timedelta(days=7), today))
    book = load_workbook(io.BytesIO(reports.render_xlsx(data)))
    rows = list(book["amplifiers"].iter_rows(values_only=True))
    assert rows[0][:4] == ("account", "handle", "followers", "kind")
    # A cell starting with @ is run as a formula by spreadsheets: written with a leading quote.
    assert [r[:4] for r in rows[1:]] == [("Big Outlet", "'@outlet.example", 250_000, "repost")]
    text = reports.render_csv(data).decode()
    assert "# amplifiers" in text and "Big Outlet,'@outlet.example,250000,repost" in text
    assert "Big Outlet" in reports.render_html(data)
    without = reports.build(
        cast.workspace, reports.ReportSpec(today - dt.timedelta(days=7), today, ("summary",))
    )
    assert "amplifiers" not in reports.section_rows(without)
    earlier = reports.ReportSpec(
        today - dt.timedelta(days=60), today - dt.timedelta(days=30), ("amplifiers",)
    )
    assert (
        reports.section_rows(reports.build(cast.workspace, earlier))["amplifiers"][1][0]
        == "none in this period"
    )


def test_the_report_says_not_available_when_no_channel_lists_amplifiers(cast, metrics_channel):
    today = timezone.now().date()
    spec = reports.ReportSpec(today - dt.timedelta(days=7), today, ("amplifiers",))
    rows = reports.section_rows(reports.build(cast.workspace, spec))["amplifiers"]
    assert rows[0] == ["note"] and rows[1][0].startswith("Not available")


def test_only_report_managers_change_the_notable_threshold(cast):
    url = reverse("analytics:settings", args=[cast.workspace.slug])
    assert cast.client_for(cast.members["viewer"]).post(url, {"notable_followers": 5}).status_code == 403
    editor = cast.client_for(cast.members["editor"])
    assert editor.get(url).status_code == 200
    assert editor.post(url, {"notable_followers": 0}).status_code == 200  # invalid: shown again
    assert editor.post(url, {"notable_followers": 5000}).status_code == 302
    assert AnalyticsSettings.notable_threshold(cast.workspace.pk) == 5000
    assert AnalyticsSettings.notable_threshold(cast.other_workspace.pk) == 10_000
