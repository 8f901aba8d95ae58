"""A month's report of the sample workspace: PDF, XLSX and CSV sums equal the raw snapshots."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from chorus.analytics import reports
from chorus.analytics.demo import load_demo
from chorus.analytics.models import ENGAGEMENT_METRICS, AccountSnapshot, PostSnapshot, ScheduledReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(cast):
    return load_demo(days=70, posts_per_day=2, owner=cast.owner)


def last_full_month(workspace) -> tuple[dt.date, dt.date]:
    today = timezone.now().astimezone(ZoneInfo(workspace.timezone)).date()
    return reports.previous_period("monthly", today)


def raw_month_sums(workspace, start: dt.date, end: dt.date) -> dict[str, int]:
    """Straight from the snapshots: each target published in the month, its latest snapshot."""
    tz = ZoneInfo(workspace.timezone)
    latest: dict[int, tuple[dt.datetime, dict]] = {}
    for snap in PostSnapshot.objects.filter(workspace=workspace).select_related("target"):
        local_day = snap.target.published_at.astimezone(tz).date()
        if start <= local_day <= end and (
            snap.target_id not in latest or snap.taken_at > latest[snap.target_id][0]
        ):
            latest[snap.target_id] = (snap.taken_at, snap.metrics)
    sums: dict[str, int] = defaultdict(int)
    for _at, metrics in latest.values():
        for key, value in metrics.items():
            sums[key] += value
        sums["engagement"] += sum(metrics.get(k, 0) for k in ENGAGEMENT_METRICS)
    sums["posts"] = len(latest)
    return dict(sums)


def raw_followers(workspace, before: dt.datetime) -> int:
    total = 0
    for channel in workspace.channels.all():
        snap = (
            AccountSnapshot.objects.filter(channel=channel, taken_at__lt=before, metrics__has_key="followers")
            .order_by("-taken_at")
            .first()
        )
        total += snap.metrics["followers"] if snap else 0
    return total


def test_it_renders_the_month_report_as_xlsx_with_the_sums_of_the_raw_snapshots(sample):
    start, end = last_full_month(sample)
    data = reports.build(sample, reports.ReportSpec(start, end))
    book = load_workbook(io.BytesIO(reports.render_xlsx(data)))
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    raw = raw_month_sums(sample, start, end)
    assert raw["posts"] > 20
    for key in ("posts", "likes", "reposts", "replies", "quotes", "comments", "impressions", "engagement"):
        assert summary[key] == raw[key], key
    assert summary["saves"] is None  # no sample network gives saves: an empty cell, not 0
    tz = ZoneInfo(sample.timezone)
    end_bound = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)
    assert summary["account_followers_end"] == raw_followers(sample, end_bound)
    per_channel = {row[0]: row[4] for row in book["channels"].iter_rows(min_row=2, values_only=True)}
    assert sum(per_channel.values()) == raw["engagement"]


def test_it_renders_the_month_report_as_pdf_with_the_same_numbers(sample):
    start, end = last_full_month(sample)
    data = reports.build(sample, reports.ReportSpec(start, end))
    pdf = reports.render_pdf(data)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000  # with the two chart images
    raw = raw_month_sums(sample, start, end)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
    else:  # the HTML the PDF is rendered from
        text = reports.render_html(data, for_pdf=True)
    # The PDF shows people's labels (the XLSX and CSV keep the keys as column names).
    summary_lines: dict[str, list[str]] = {}
    for line in text.splitlines():  # the summary table comes first ("Engagement per channel" later)
        if line.split():
            summary_lines.setdefault(line.split()[0], line.split())
    for key, label in (("posts", "Posts"), ("likes", "Likes"), ("reposts", "Reposts"), ("engagement", "Engagement"), ("impressions", "Impressions")):  # fmt: skip
        assert summary_lines[label][1].replace(",", "") == str(raw[key]), key
    assert "Saves" in summary_lines and summary_lines["Saves"][1:3] == ["not", "available"]
    assert "Sample data" in text


def test_it_exports_csv_with_an_empty_cell_for_what_is_not_available(sample):
    start, end = last_full_month(sample)
    text = reports.render_csv(reports.build(sample, reports.ReportSpec(start, end, ("summary",)))).decode()
    rows = {line.split(",")[0]: line.split(",") for line in text.splitlines()}
    assert rows["engagement"][1] == str(raw_month_sums(sample, start, end)["engagement"])
    assert rows["saves"][1] == ""


def test_it_emails_a_scheduled_report_once_per_period(sample, cast, mailoutbox):
    from chorus.analytics.actions import schedule_report

    report = schedule_report(
        workspace=sample,
        name="Monthly partners",
        frequency="monthly",
        sections=["summary", "channels"],
        channel_ids=[],
        recipients="a@example.org\nb@example.org",
        actor=cast.owner,
    )
    assert report.next_run_at.astimezone(ZoneInfo(sample.timezone)).day == 1
    ScheduledReport.objects.filter(pk=report.pk).update(next_run_at=timezone.now() - dt.timedelta(minutes=1))
    assert reports.enqueue_due_reports() == 1
    assert reports.enqueue_due_reports() == 0  # claimed: a second scheduler sends nothing
    assert reports.send_report(report.pk) == "sent"
    [message] = mailoutbox
    assert message.to == ["a@example.org", "b@example.org"]
    assert sorted(name.rsplit(".", 1)[1] for name, _content, _type in message.attachments) == ["pdf", "xlsx"]


def test_it_sets_weekly_and_monthly_periods_to_the_previous_full_week_and_month():
    assert reports.previous_period("weekly", dt.date(2026, 3, 18)) == (
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 15),
    )
    assert reports.previous_period("monthly", dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )
