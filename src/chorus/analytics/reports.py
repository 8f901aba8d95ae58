"""Reports: a spec (sections, channels, period) → the data → PDF (WeasyPrint, matplotlib charts
as PNG), CSV or XLSX. Scheduled reports are sent by email; share links show the HTML version.

Every export is rendered from the same `ReportData`, so the numbers agree across formats (the
tests read them back from the PDF text and the XLSX cells).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus import webhooks
from chorus.accounts.models import Workspace
from chorus.analytics import figures
from chorus.analytics.models import ScheduledReport
from chorus.core.spreadsheet import safe_row

log = logging.getLogger(__name__)

SECTIONS = {
    "summary": gettext_lazy("Summary and comparison with the previous period"),
    "growth": gettext_lazy("Audience growth per channel"),
    "channels": gettext_lazy("Engagement per channel"),
    "campaigns": gettext_lazy("Engagement per campaign"),
    "tags": gettext_lazy("Engagement per tag"),
    "authors": gettext_lazy("Engagement per author"),
    "top_posts": gettext_lazy("Top and bottom posts"),
    "amplifiers": gettext_lazy("Notable amplifiers (accounts that reposted or quoted a post)"),
}
AMPLIFIER_COLUMNS = ("account", "handle", "followers", "kind", "post", "channel", "first_seen", "url")
AMPLIFIERS_IN_REPORT = 100
POST_COLUMNS = (
    "posts",
    "impressions",
    "reach",
    "engagement",
    "engagement_rate",
    "likes",
    "comments",
    "replies",
    "reposts",
    "shares",
    "quotes",
    "saves",
    "link_clicks",
    "video_views",
)
GROWTH_COLUMNS = (
    "followers_start",
    "followers_end",
    "follower_growth",
    "follower_growth_pct",
    "impressions",
    "reach",
    "profile_visits",
)
NOT_AVAILABLE = gettext_lazy("not available")


@dataclass(frozen=True)
class ReportSpec:
    start: dt.date
    end: dt.date
    sections: tuple[str, ...] = tuple(SECTIONS)
    channel_ids: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sections": list(self.sections),
            "channel_ids": list(self.channel_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportSpec:
        return cls(
            dt.date.fromisoformat(data["start"]),
            dt.date.fromisoformat(data["end"]),
            tuple(s for s in data.get("sections", SECTIONS) if s in SECTIONS),
            tuple(int(c) for c in data.get("channel_ids", ())),
        )


@dataclass
class ReportData:
    workspace: Workspace
    spec: ReportSpec
    dashboard: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    amplifiers: figures.Amplifiers | None = None

    @property
    def title(self) -> str:
        return _("%(workspace)s — results %(start)s to %(end)s") % {
            "workspace": self.workspace.name,
            "start": self.spec.start.isoformat(),
            "end": self.spec.end.isoformat(),
        }


def build(workspace: Workspace, spec: ReportSpec) -> ReportData:
    f = figures.Filters(workspace, spec.start, spec.end, spec.channel_ids)
    data = ReportData(workspace, spec, figures.dashboard(f, compare="summary" in spec.sections))
    for section, by in (
        ("channels", "channel"),
        ("campaigns", "campaign"),
        ("tags", "tag"),
        ("authors", "author"),
    ):
        if section in spec.sections:
            data.tables[section] = figures.breakdown(f, by)
    if "amplifiers" in spec.sections:
        data.amplifiers = figures.notable_amplifiers(f, limit=AMPLIFIERS_IN_REPORT)
    return data


def fmt(value: Any) -> str:
    if value is None:
        return str(NOT_AVAILABLE)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# --- rows: what CSV and XLSX write, section by section ----------------------------------------


def section_rows(data: ReportData) -> dict[str, list[list[Any]]]:
    """Each section as a header row plus data rows; None stays None ("not available")."""
    out: dict[str, list[list[Any]]] = {}
    d = data.dashboard
    if "summary" in data.spec.sections:
        rows: list[list[Any]] = [["metric", "value", "previous", "change_pct"]]
        prev = d.get("previous", {})
        for key in POST_COLUMNS:
            rows.append(
                [
                    key,
                    d["totals"][key],
                    prev.get("totals", {}).get(key),
                    figures.pct_change(d["totals"][key], prev.get("totals", {}).get(key)),
                ]
            )
        for key in GROWTH_COLUMNS:
            rows.append([f"account_{key}", d["accounts"][key], prev.get("accounts", {}).get(key), None])
        out["summary"] = rows
    if "growth" in data.spec.sections:
        out["growth"] = [["channel", *GROWTH_COLUMNS]] + [
            [r["name"], *[r[k] for k in GROWTH_COLUMNS]] for r in d["per_channel_accounts"]
        ]
    for section in ("channels", "campaigns", "tags", "authors"):
        if section in data.tables:
            out[section] = [["name", *POST_COLUMNS]] + [
                [r["name"], *[r[k] for k in POST_COLUMNS]] for r in data.tables[section]
            ]
    if "top_posts" in data.spec.sections:
        rows = [["rank", "post", "channel", "published_at", "engagement", "impressions"]]
        for label, posts in (("top", d["top"]), ("bottom", d["bottom"])):
            for i, pm in enumerate(posts, 1):
                rows.append(
                    [
                        f"{label} {i}",
                        str(pm.target.post),
                        pm.channel.name,
                        pm.published_at.isoformat(),
                        pm.engagement,
                        pm.impressions,
                    ]
                )
        out["top_posts"] = rows
    if data.amplifiers is not None:
        out["amplifiers"] = amplifier_rows(data.amplifiers)
    return out


def amplifier_rows(amplifiers: figures.Amplifiers) -> list[list[Any]]:
    """Notable amplifiers, most followed first; a channel whose network does not say who
    amplified a post is named in a last row instead of being counted as "nobody"."""
    if not amplifiers.available:
        return [
            ["note"],
            [_("Not available: the networks of these channels do not say who reposted or quoted a post.")],
        ]
    rows: list[list[Any]] = [list(AMPLIFIER_COLUMNS)]
    for a in amplifiers.rows:
        rows.append(
            [
                a.display_name or a.handle,
                a.handle,
                a.followers,
                a.kind,
                str(a.target.post),
                a.channel.name,
                a.first_seen_at.isoformat(),
                a.url or a.profile_url,
            ]
        )
    blank = [""] * (len(AMPLIFIER_COLUMNS) - 1)  # not "not available" in every cell
    if not amplifiers.rows:
        rows.append([_("none in this period"), *blank])
    if amplifiers.unavailable:
        names = ", ".join(c.name for c in amplifiers.unavailable)
        note = _("not available for %(channels)s") % {"channels": names}
        rows.append([note, *blank])
    return rows


def render_csv(data: ReportData) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for section, rows in section_rows(data).items():
        writer.writerow(safe_row([f"# {section}"]))
        for row in rows:
            writer.writerow(safe_row("" if v is None else v for v in row))
        writer.writerow([])
    return buffer.getvalue().encode("utf-8")


def render_xlsx(data: ReportData) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for section, rows in section_rows(data).items():
        sheet = book.create_sheet(section[:31])
        for row in rows:
            # An empty cell is "not available"; a 0 is a real zero.
            sheet.append(safe_row(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- PDF ------------------------------------------------------------------------------------


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def charts(data: ReportData) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    daily = data.dashboard["daily"]
    days = [r["day"] for r in daily]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.bar(days, [r["engagement"] or 0 for r in daily], color="#3b4fd8")
    ax.set_title(_("Engagement per day (posts published that day)"), fontsize=10)
    fig.autofmt_xdate()
    out["engagement"] = _png(fig)
    series = figures.followers_series(
        figures.Filters(data.workspace, data.spec.start, data.spec.end, data.spec.channel_ids)
    )
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    xs: Any = [dt.date.fromisoformat(d) for d in series["days"]]  # matplotlib plots dates
    for name, values in series.items():
        if name != "days" and any(v is not None for v in values):
            ax.plot(xs, [v if v is not None else float("nan") for v in values], label=name)
    ax.set_title(_("Followers"), fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=7, ncol=3)
    fig.autofmt_xdate()
    out["followers"] = _png(fig)
    return out


def render_html(data: ReportData, *, for_pdf: bool = False) -> str:
    return render_to_string(
        "analytics/report_document.html",
        {
            "data": data,
            "d": data.dashboard,
            "sections": data.spec.sections,
            "section_titles": SECTIONS,
            "rows": section_rows(data),
            "charts": charts(data) if for_pdf else {},
            "for_pdf": for_pdf,
            "generated_at": timezone.now(),
        },
    )


def render_pdf(data: ReportData) -> bytes:
    from weasyprint import HTML

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one INFO line per step
    pdf: bytes = HTML(string=render_html(data, for_pdf=True)).write_pdf()
    return pdf


# --- scheduled reports ------------------------------------------------------------------------


def previous_period(frequency: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if frequency == ScheduledReport.Frequency.WEEKLY:
        end = today - dt.timedelta(days=today.weekday() + 1)  # last Sunday
        return end - dt.timedelta(days=6), end
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def next_run(frequency: str, tz: str, after: dt.datetime) -> dt.datetime:
    """07:00 local on the next Monday (weekly) or the 1st of the next month (monthly)."""
    local = after.astimezone(ZoneInfo(tz)).date()
    if frequency == ScheduledReport.Frequency.WEEKLY:
        day = local + dt.timedelta(days=7 - local.weekday())
    else:
        day = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime.combine(day, dt.time(7), ZoneInfo(tz)).astimezone(dt.UTC)


def enqueue_due_reports(now: dt.datetime | None = None) -> int:
    from chorus.analytics.tasks import send_scheduled_report

    now = now or timezone.now()
    sent = 0
    for report in ScheduledReport.objects.filter(next_run_at__lte=now).select_related("workspace")[:100]:
        # Claim by moving next_run_at: a concurrent scheduler's UPDATE then matches no row.
        following = next_run(report.frequency, report.workspace.timezone, now)
        if ScheduledReport.objects.filter(pk=report.pk, next_run_at=report.next_run_at).update(
            next_run_at=following
        ):
            send_scheduled_report.enqueue(report.pk)
            sent += 1
    return sent


def send_report(report_id: int) -> str:
    from django.core.mail import EmailMessage

    report = ScheduledReport.objects.select_related("workspace").filter(pk=report_id).first()
    if report is None:
        return "gone"
    today = timezone.now().astimezone(ZoneInfo(report.workspace.timezone)).date()
    start, end = previous_period(report.frequency, today)
    spec = ReportSpec(start, end, tuple(report.sections) or tuple(SECTIONS), tuple(report.channel_ids))
    data = build(report.workspace, spec)
    message = EmailMessage(
        subject=data.title,
        body=_("The %(name)s report for %(start)s to %(end)s is attached (PDF and XLSX).")
        % {"name": report.name, "start": start, "end": end},
        to=report.recipient_list,
    )
    stem = f"{report.workspace.slug}-{start}-{end}"
    message.attach(f"{stem}.pdf", render_pdf(data), "application/pdf")
    message.attach(
        f"{stem}.xlsx", render_xlsx(data), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    message.send()
    ScheduledReport.objects.filter(pk=report.pk).update(last_sent_at=timezone.now())
    webhooks.emit(report.workspace_id, "report.ready", {"report_id": report.pk, "name": report.name, "start": start, "end": end, "sent_to": len(report.recipient_list)})  # fmt: skip
    return "sent"
