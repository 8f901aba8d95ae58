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
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from chorus import webhooks
from chorus.accounts.models import Workspace
from chorus.analytics import figures
from chorus.analytics.models import Amplification, AnalyticsSettings, ScheduledReport
from chorus.core import formatting
from chorus.core.spreadsheet import safe_row
from chorus.inbox import actions as inbox_actions
from chorus.inbox import report as inbox_report
from chorus.inbox.report import InboxFigures
from chorus.listening import insights as listening_insights

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
    "inbox": gettext_lazy("Inbox: volume, response times and sentiment"),
    "listening": gettext_lazy("Listening: mentions and sentiment"),
    "paid": gettext_lazy("Paid and organic: boosted posts"),
}
# Tables a section adds under its own (the inbox section's breakdowns): not choosable alone.
SUB_SECTIONS = {
    "inbox_channels": gettext_lazy("Inbox per channel"),
    "inbox_people": gettext_lazy("Inbox per person"),
    "listening_queries": gettext_lazy("Listening per query"),
    "listening_sources": gettext_lazy("Listening: top sources per query"),
    "listening_terms": gettext_lazy("Listening: top terms and hashtags per query"),
}
LISTENING_COUNTS = (
    "listening_mentions",
    "listening_positive",
    "listening_neutral",
    "listening_negative",
    "listening_unknown",
)
AMPLIFIER_COLUMNS = ("account", "handle", "followers", "kind", "post", "channel", "first_seen", "url")
AMPLIFIERS_IN_REPORT = 100
PAID_COLUMNS = (
    "post",
    "channel",
    "currency",
    "spend",
    "paid_impressions",
    "organic_impressions",
    "paid_reach",
    "organic_reach",
    "paid_engagements",
    "organic_engagement",
    "paid_results",
    "cost_per_result",
)
MONEY_KEYS = {"spend", "cost_per_result"}  # major units of the row's currency
PAID_IN_CHART = 12  # boosted posts in the report's reach chart (the most spent on)
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

# What people read instead of the keys CSV and XLSX keep as column names (stable for formulas
# and scripts): the PDF and HTML report show these, in the reader's language.
LABELS = {
    "metric": gettext_lazy("Metric"),
    "value": gettext_lazy("This period"),
    "previous": gettext_lazy("Previous period"),
    "change_pct": pgettext_lazy("report column: change from the previous period", "Change"),
    "channel": gettext_lazy("Channel"),
    "name": gettext_lazy("Name"),
    "rank": gettext_lazy("Rank"),
    "post": gettext_lazy("Post"),
    "published_at": gettext_lazy("Published"),
    "account": gettext_lazy("Account"),
    "handle": gettext_lazy("Handle"),
    "followers": gettext_lazy("Followers"),
    "kind": gettext_lazy("Kind"),
    "first_seen": gettext_lazy("First seen"),
    "url": gettext_lazy("Link"),
    "note": gettext_lazy("Note"),
    "posts": gettext_lazy("Posts"),
    "impressions": gettext_lazy("Impressions"),
    "reach": gettext_lazy("Reach"),
    "engagement": gettext_lazy("Engagement"),
    "engagement_rate": gettext_lazy("Engagement rate"),
    "likes": gettext_lazy("Likes"),
    "comments": gettext_lazy("Comments"),
    "replies": gettext_lazy("Replies"),
    "reposts": gettext_lazy("Reposts"),
    "shares": gettext_lazy("Shares"),
    "quotes": gettext_lazy("Quotes"),
    "saves": gettext_lazy("Saves"),
    "link_clicks": gettext_lazy("Link clicks"),
    "video_views": gettext_lazy("Video views"),
    "currency": gettext_lazy("Currency"),
    "spend": gettext_lazy("Spent"),
    "paid_impressions": gettext_lazy("Paid impressions"),
    "organic_impressions": gettext_lazy("Organic impressions"),
    "paid_reach": gettext_lazy("Paid reach"),
    "organic_reach": gettext_lazy("Organic reach"),
    "paid_engagements": gettext_lazy("Paid engagements"),
    "organic_engagement": gettext_lazy("Organic engagements"),
    "paid_results": gettext_lazy("Results"),
    "cost_per_result": gettext_lazy("Cost per result"),
    "followers_start": gettext_lazy("Followers at start"),
    "followers_end": gettext_lazy("Followers at end"),
    "follower_growth": gettext_lazy("Follower growth"),
    "follower_growth_pct": gettext_lazy("Follower growth (%)"),
    "profile_visits": gettext_lazy("Profile visits"),
    "account_impressions": gettext_lazy("Account impressions"),
    "account_reach": gettext_lazy("Account reach"),
    "inbox_conversations": gettext_lazy("Conversations opened"),
    "inbox_items": gettext_lazy("Messages received"),
    "inbox_activity": gettext_lazy("Likes, reposts and follows received"),
    "inbox_replies_sent": gettext_lazy("Replies sent"),
    "inbox_answered": gettext_lazy("Conversations answered"),
    "inbox_first_response_median": gettext_lazy("First response, median (minutes)"),
    "inbox_within_target_pct": gettext_lazy("Answered within the target (%)"),
    "inbox_resolution_median": gettext_lazy("Resolution, median (minutes)"),
    "inbox_overdue": gettext_lazy("Overdue now"),
    "inbox_positive": gettext_lazy("Positive conversations"),
    "inbox_neutral": gettext_lazy("Neutral conversations"),
    "inbox_negative": gettext_lazy("Negative conversations"),
    "inbox_sentiment_mean": gettext_lazy("Mean sentiment (−1 to 1)"),
    "listening_mentions": gettext_lazy("Mentions"),
    "listening_positive": gettext_lazy("Positive"),
    "listening_neutral": gettext_lazy("Neutral"),
    "listening_negative": gettext_lazy("Negative"),
    "listening_unknown": gettext_lazy("Sentiment unknown"),
    "query": gettext_lazy("Query"),
    "source": gettext_lazy("Source"),
    "term": gettext_lazy("Term or hashtag"),
}
PERCENT_KEYS = {"engagement_rate", "follower_growth_pct", "inbox_within_target_pct"}
TEXT_KEYS = {
    "metric",
    "channel",
    "name",
    "rank",
    "post",
    "account",
    "handle",
    "kind",
    "url",
    "note",
    "query",
    "source",
    "term",
    "currency",
}
DATE_KEYS = {"published_at", "first_seen"}
# Tables of figures per channel, campaign, tag or author: a column no channel gives is left out.
FIGURE_TABLES = ("growth", "channels", "campaigns", "tags", "authors")
# Tables with more columns than fit across a portrait A4 page get a landscape page.
PORTRAIT_COLUMNS = 8


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
class Table:
    """A section as people read it: translated headers, cells already formatted for the reader's
    language (None is "not available"). `kinds[i]`: "num" (right-aligned figures), "url" (may
    break anywhere) or "text"."""

    key: str
    title: str
    headers: list[str]
    kinds: list[str]
    rows: list[list[str | None]]
    note: str = ""

    @property
    def wide(self) -> bool:
        return len(self.headers) > PORTRAIT_COLUMNS


@dataclass
class ReportData:
    workspace: Workspace
    spec: ReportSpec
    dashboard: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    amplifiers: figures.Amplifiers | None = None
    inbox: InboxFigures | None = None
    listening: listening_insights.ReportFigures | None = None
    boosted: list[Any] | None = None  # chorus.ads.results.BoostedPost

    @property
    def title(self) -> str:
        return _("%(workspace)s — results %(start)s to %(end)s") % {
            "workspace": self.workspace.name,
            "start": formatting.format_date(self.spec.start),
            "end": formatting.format_date(self.spec.end),
        }

    @property
    def period(self) -> str:
        return formatting.format_period(self.spec.start, self.spec.end)

    @property
    def zone_note(self) -> str:
        tz = self.workspace.timezone
        return _("Days and times are in the workspace's time zone: %(zone)s (%(tz)s).") % {
            "zone": formatting.zone_label(tz),
            "tz": tz,
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
    if "inbox" in spec.sections:
        start, end = f.utc_bounds()
        data.inbox = inbox_report.figures(
            workspace,
            start,
            end,
            spec.channel_ids,
            target_minutes=inbox_actions.sla_minutes(workspace),
            at=timezone.now(),
        )
    if "listening" in spec.sections:
        # Listening is per workspace, not per channel: a channel filter does not narrow it.
        start, end = f.utc_bounds()
        data.listening = listening_insights.report_figures(workspace.pk, start, end)
    if "paid" in spec.sections:
        from chorus.ads import results as ads_results

        data.boosted = ads_results.boosted_posts(f)
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
    if data.inbox is not None:
        out["inbox"] = [["metric", "value"]] + [[k, v] for k, v in data.inbox.summary.items()]
        for key, groups in (
            ("inbox_channels", data.inbox.by_channel),
            ("inbox_people", data.inbox.by_person),
        ):
            out[key] = [["name", *inbox_report.GROUP_KEYS]] + [
                [g["name"], *[g[k] for k in inbox_report.GROUP_KEYS]] for g in groups
            ]
    if data.listening is not None:
        figures_ = data.listening
        out["listening"] = [["metric", "value"]] + [[k, v] for k, v in figures_.summary.items()]
        out["listening_queries"] = [["query", *LISTENING_COUNTS]] + [
            [q["name"], *[q[k] for k in LISTENING_COUNTS]] for q in figures_.queries
        ]
        out["listening_sources"] = [["query", "rank", "source", "posts"]] + [
            list(r) for r in figures_.sources
        ]
        out["listening_terms"] = [["query", "rank", "term", "posts"]] + [list(r) for r in figures_.terms]
    if data.boosted is not None:
        out["paid"] = paid_rows(data.boosted)
    return out


def paid_rows(boosted: list[Any]) -> list[list[Any]]:
    """One row per boosted post, then one total per currency: paid from the ad insights, organic
    from the post's latest counters (None: the network does not give it)."""
    from chorus.ads import results as ads_results
    from chorus.connectors.ads import minor_per_major

    def major(minor: int | None, currency: str) -> float | int | None:
        if minor is None:
            return None
        per = minor_per_major(currency)
        return minor if per == 1 else minor / per

    rows: list[list[Any]] = [list(PAID_COLUMNS)]
    for b in boosted:
        paid, organic = b.paid, b.organic
        rows.append(
            [
                b.label,
                b.metrics.channel.name,
                b.currency,
                major(paid["spend_minor"], b.currency),
                paid["impressions"],
                organic["impressions"],
                paid["reach"],
                organic["reach"],
                paid["engagements"],
                organic["engagement"],
                paid["results"],
                major(paid["cost_per_result_minor"], b.currency),
            ]
        )
    for total in ads_results.boosted_totals(boosted):
        currency, organic = total["currency"], total["organic"]
        rows.append(
            [
                ngettext("Total, %(posts)s post", "Total, %(posts)s posts", total["posts"])
                % {"posts": total["posts"]},
                "",
                currency,
                major(total["spend_minor"], currency),
                total["impressions"],
                organic["impressions"],
                total["reach"],
                organic["reach"],
                total["engagements"],
                organic["engagement"],
                total["results"],
                major(total["cost_per_result_minor"], currency),
            ]
        )
    if not boosted:
        rows.append([_("No post of this period was boosted."), *[""] * (len(PAID_COLUMNS) - 1)])
    return rows


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


def title(section: str) -> str:
    return str(SECTIONS.get(section) or SUB_SECTIONS[section])


def label(key: str) -> str:
    """The reader's words for a column or metric key (`account_followers_end` → "Followers at end")."""
    if key in LABELS:
        return str(LABELS[key])
    if key.startswith("account_") and key[8:] in LABELS:
        return str(LABELS[key[8:]])
    return key


def _cell(key: str, value: Any, tz_name: str) -> str | None:
    if value is None:
        return None
    if key == "change_pct":
        return formatting.format_percent(value, signed=True)
    if key in PERCENT_KEYS:
        return formatting.format_percent(value)
    if key in MONEY_KEYS and isinstance(value, (int, float)):
        return formatting.format_number(value, 2 if isinstance(value, float) else 0)
    if key in DATE_KEYS and isinstance(value, str) and value:
        return formatting.format_datetime(dt.datetime.fromisoformat(value), tz_name, zone=False)
    if key == "kind" and value in Amplification.Kind.values:
        return str(Amplification.Kind(value).label)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return formatting.format_number(value)
    return str(value)


def _kind(key: str) -> str:
    return "url" if key == "url" else "text" if key in TEXT_KEYS | DATE_KEYS else "num"


def _rank(value: str) -> str:
    place, number = value.split()
    words = {"top": _("Top %(n)s"), "bottom": _("Bottom %(n)s")}
    return words[place] % {"n": number}


def display_tables(data: ReportData) -> list[Table]:
    """The rows CSV and XLSX write, as people read them in the PDF and the HTML view: the same
    numbers (one source), translated labels, the reader's number and date formats. In tables of
    figures, columns that no channel in scope gives ("not available" in every row) are left out
    and named in a note; a table still wider than a portrait page gets a landscape page."""
    tz = data.workspace.timezone
    out = []
    for section, rows in section_rows(data).items():
        keys, body = [str(k) for k in rows[0]], rows[1:]
        if section == "summary":
            cells = []
            for row in body:
                metric = str(row[0])
                value_key = (
                    metric.removeprefix("account_")
                    if metric.removeprefix("account_") in PERCENT_KEYS
                    else "value"
                )
                cells.append(
                    [
                        label(metric),
                        _cell(value_key, row[1], tz),
                        _cell(value_key, row[2], tz),
                        _cell("change_pct", row[3], tz),
                    ]
                )
            out.append(
                Table(
                    section,
                    str(SECTIONS[section]),
                    [label(k) for k in keys],
                    ["text", "num", "num", "num"],
                    cells,
                )
            )
            continue
        if keys == ["note"]:
            out.append(Table(section, str(SECTIONS[section]), [], [], [], note=str(body[0][0])))
            continue
        if section in ("inbox", "listening"):
            if section == "inbox":
                target = data.inbox.target_minutes if data.inbox else 0
                note = _("The first-response target is %(minutes)s minutes.") % {
                    "minutes": formatting.format_number(target)
                }
            else:
                note = _(
                    "Mentions are the posts the listening queries matched in the period; a post two"
                    " queries match counts once here and once for each query below. Sentiment:"
                    " %(method)s; unknown for languages other than English and French."
                ) % {"method": _("VADER compound score, -1 (negative) to +1 (positive)")}
            out.append(
                Table(
                    section,
                    title(section),
                    [label("metric"), label("value")],
                    ["text", "num"],
                    [[label(str(k)), _cell(str(k), v, tz)] for k, v in body],
                    note,
                )
            )
            continue
        note = ""
        keep = list(range(len(keys)))
        if section in FIGURE_TABLES and body:
            empty = [i for i in keep if i > 0 and all(row[i] is None for row in body)]
            keep = [i for i in keep if i not in empty]
            if empty:
                note = _("Not given by the networks of these channels: %(metrics)s.") % {
                    "metrics": ", ".join(label(keys[i]) for i in empty)
                }
        table_rows = []
        notes = [note] if note else []
        if section == "paid":
            notes.append(
                _(
                    "Posts of the period that were boosted. Paid: every day of their boosts, from the"
                    " networks' ad insights; organic: the posts' latest counters. Amounts in the ad"
                    " account's currency."
                )
            )
        for row in body:
            if len(row) > 1 and all(v == "" for v in row[1:]):  # a sentence, not a row of figures
                notes.append(str(row[0]))
                continue
            shown = [_cell(keys[i], row[i], tz) for i in keep]
            if section == "top_posts":
                shown[0] = _rank(str(row[0]))
            table_rows.append(shown)
        out.append(
            Table(
                section,
                title(section),
                [label(keys[i]) for i in keep],
                [_kind(keys[i]) for i in keep],
                table_rows,
                " ".join(notes),
            )
        )
    return out


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


def _axes(ax: Any, days: list[dt.date]) -> None:
    """Day ticks and figures in the reader's language (5 mars, 8 284), a light grid."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=8))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _pos: formatting.format_day_month(mdates.num2date(x).date()))
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: formatting.format_number(int(y))))
    ax.grid(axis="y", color="#e6e8ee")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)


def charts(data: ReportData) -> dict[str, str]:
    """Two PNG charts with legends; labels, days and numbers in the reader's language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    out = {}
    daily = data.dashboard["daily"]
    days: Any = [dt.date.fromisoformat(str(r["day"])) for r in daily]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.bar(days, [r["engagement"] or 0 for r in daily], color="#3b4fd8", label=_("Engagement"))
    ax.set_title(_("Engagement per day (posts published that day)"), fontsize=10)
    _axes(ax, days)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    out["engagement"] = _png(fig)
    series = figures.followers_series(
        figures.Filters(data.workspace, data.spec.start, data.spec.end, data.spec.channel_ids)
    )
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    xs: Any = [dt.date.fromisoformat(d) for d in series["days"]]  # matplotlib plots dates
    for name, values in series.items():
        if name != "days" and any(v is not None for v in values):
            ax.plot(xs, [v if v is not None else float("nan") for v in values], label=name)
    ax.set_title(_("Followers"), fontsize=10)
    _axes(ax, xs)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    out["followers"] = _png(fig)
    if data.boosted:
        shown = data.boosted[:PAID_IN_CHART]
        names = [b.label[:40] for b in shown]
        fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.35 * len(shown)))
        positions = list(range(len(shown)))
        ax.barh(
            [p - 0.2 for p in positions],
            [b.paid["reach"] or 0 for b in shown],
            0.4,
            color="#3b4fd8",
            label=_("Paid reach"),
        )
        ax.barh(
            [p + 0.2 for p in positions],
            [b.organic["reach"] or 0 for b in shown],
            0.4,
            color="#1a7f37",
            label=_("Organic reach"),
        )
        ax.set_yticks(positions, names, fontsize=7)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: formatting.format_number(int(x))))
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(_("Paid and organic reach per boosted post"), fontsize=10)
        ax.legend(fontsize=7, loc="lower right", frameon=False)
        out["paid"] = _png(fig)
    return out


def logo_data_uri(workspace: Workspace) -> str:
    """The workspace's report logo as a data URI ("" when none): an image of the media library,
    read from storage (it entered through chorus.media.actions.upload)."""
    settings_row = AnalyticsSettings.objects.filter(workspace=workspace).select_related("report_logo").first()
    asset = settings_row.report_logo if settings_row else None
    if asset is None or asset.kind != asset.Kind.IMAGE or asset.workspace_id != workspace.pk:
        return ""
    if not _may_appear_in_reports(asset):
        return ""
    try:
        with asset.file.open("rb") as fh:
            content = fh.read()
    except OSError:
        log.warning("report logo %s is missing from storage", asset.pk)
        return ""
    return f"data:{asset.mime_type};base64," + base64.b64encode(content).decode()


def _may_appear_in_reports(asset: Any) -> bool:
    """Not withdrawn, and, when people consented for this image, one consent in force covers
    reports (an image without consent records is the team's own)."""
    from chorus.media.consent import active_uses
    from chorus.media.models import MediaConsent

    if asset.withdrawn_at is not None:
        return False
    return not asset.consents.exists() or MediaConsent.Use.REPORTS in active_uses(asset)


def render_html(data: ReportData, *, for_pdf: bool = False) -> str:
    """The report document. The web view (`for_pdf=False`) is the body only, to sit inside a
    page; the PDF gets the whole document with its A4 page rules."""
    context = {
        "data": data,
        "organization": data.workspace.organization.name,
        "logo": logo_data_uri(data.workspace),
        "tables": display_tables(data),
        "charts": charts(data),
        "for_pdf": for_pdf,
        "generated_at": timezone.now(),
        "tz": data.workspace.timezone,
    }
    template = "analytics/report_document.html" if for_pdf else "analytics/_report_body.html"
    return render_to_string(template, context)


def _weasyprint_html() -> Any:
    """WeasyPrint's HTML class. Importing WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on for
    the whole process (weasyprint/images.py), and from then on a truncated upload would pass the
    media checks (media/sniff.py decodes every pixel to refuse damaged images): the flag is put
    back as it was. The report's own images come from the media library, already checked."""
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return HTML


def render_pdf(data: ReportData) -> bytes:
    HTML = _weasyprint_html()
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
        % {"name": report.name, "start": formatting.format_date(start), "end": formatting.format_date(end)},
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
