"""Paid vs organic beyond one post: the analytics dashboard (table and reach chart per boosted
post) and the report (PDF, HTML, CSV) show, for each boosted post of the period, the sums of its
boosts' raw insights beside its organic counters, and totals that are the sums of the rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

from django.urls import reverse
from django.utils import timezone, translation

from chorus.accounts.permissions import Role
from chorus.ads import actions, collect, creating
from chorus.ads.models import AdInsightDay, Boost
from chorus.analytics import figures, reports
from chorus.analytics.collect import store_post_snapshot
from tests.ads.conftest import boost_values, published
from tests.ads.test_approvals_and_results import meta_row
from tests.analytics.test_report_document import pdf_text


def boosted(cast, page, meta, account, external_id: str, text: str, rows: list[dict]) -> Boost:
    """A published post, boosted and created at the Meta fake, with `rows` of daily insights."""
    target = published(cast, page, external_id, text=text)
    now = timezone.now()
    boost = actions.request_boost(
        target,
        actor=cast.owner,
        **boost_values(account, starts_at=now, ends_at=now + dt.timedelta(days=5)),
    )
    creating.run(boost.pk)
    Boost.objects.filter(pk=boost.pk).update(starts_at=now - dt.timedelta(days=3))
    meta.insight_rows_by_ad[boost.created_objects()["ad"]] = rows
    assert collect.collect(boost.pk) == f"{len(rows)} days"
    return boost


def two_boosted_posts(cast, page, meta, meta_account):
    day = timezone.localdate() - dt.timedelta(days=2)
    first = boosted(
        cast,
        page,
        meta,
        meta_account,
        "1111_2222",
        "Reef survey",
        [
            meta_row(day, "12.34", 1000, 800, 20, 55, 30),
            meta_row(day + dt.timedelta(1), "7.66", 500, 450, 5, 21, 4),
        ],
    )
    second = boosted(
        cast,
        page,
        meta,
        meta_account,
        "1111_3333",
        "Beach clean-up",
        [meta_row(day, "3.00", 300, 290, 2, 9, 0)],
    )
    store_post_snapshot(first.target, {"impressions": 4000, "reach": 3100, "likes": 70, "comments": 9})
    store_post_snapshot(second.target, {"impressions": 900, "reach": 700, "likes": 10})
    organic_only = published(cast, page, "1111_4444", text="Not boosted")
    store_post_snapshot(organic_only, {"impressions": 50_000, "reach": 40_000, "likes": 900})
    return first, second, organic_only


def raw(boost: Boost) -> dict[str, int]:
    days = AdInsightDay.objects.filter(boost=boost)
    return {
        "spend": sum(d.spend_minor for d in days),
        "impressions": sum(d.impressions for d in days),
        "reach": sum(d.reach for d in days),
        "engagements": sum(d.engagements for d in days),
        "results": sum(d.results for d in days),
    }


def this_month(cast) -> figures.Filters:
    today = timezone.localdate()
    return figures.Filters(cast.workspace, today - dt.timedelta(days=20), today + dt.timedelta(days=1))


def test_the_dashboard_shows_paid_and_organic_per_boosted_post_and_their_sums(
    cast, page, meta, meta_account, budget
) -> None:
    first, second, organic_only = two_boosted_posts(cast, page, meta, meta_account)
    url = reverse("analytics:dashboard", kwargs={"slug": cast.workspace.slug})
    f = this_month(cast)
    response = cast.client_for(cast.members[Role.VIEWER]).get(
        url, {"start": f.start.isoformat(), "end": f.end.isoformat()}
    )
    html = response.content.decode()
    section = html[html.index('id="paid-vs-organic-posts"') :]
    section = section[: section.index("</section>")]

    def cells(marker: str) -> list[str]:
        row = section[section.index(marker) :]
        row = row[: row.index("</tr>")]
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert all('<span class="cell-label">' in c for c in cells)  # labelled when stacked on a phone
        return [
            re.sub(r"<[^>]+>", "", re.sub(r'<span class="cell-label">.*?</span>', "", c)).strip()
            for c in cells
        ]

    one, two = raw(first), raw(second)
    assert one == {"spend": 2000, "impressions": 1500, "reach": 1250, "engagements": 76, "results": 76}
    # Spent, paid / organic impressions, paid / organic reach, paid / organic engagements, cost per result.
    assert cells(f'data-target="{first.target_id}"') == [
        "20.00 EUR",
        "1,500",
        "4,000",
        "1,250",
        "3,100",
        "76",
        "79",
        f"{round(2000 / 76) / 100:.2f} EUR",
    ]
    assert cells(f'data-target="{second.target_id}"') == [
        "3.00 EUR",
        "300",
        "900",
        "290",
        "700",
        "9",
        "10",
        "0.33 EUR",
    ]
    assert f'data-target="{organic_only.pk}"' not in section  # never boosted: not a row
    total = cells('data-currency="EUR"')
    assert total[:7] == [
        "23.00 EUR",
        f"{one['impressions'] + two['impressions']:,}",
        "4,900",
        f"{one['reach'] + two['reach']:,}",
        "3,800",
        str(one["engagements"] + two["engagements"]),
        "89",
    ]
    chart = json.loads(
        re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert chart["boosted"] == {
        "posts": ["Reef survey", "Beach clean-up"],  # most spent first
        "paid": [1250, 290],
        "organic": [3100, 700],
    }


def test_the_report_has_the_paid_section_with_the_same_sums_in_pdf_and_csv(
    cast, page, meta, meta_account, budget
) -> None:
    two_boosted_posts(cast, page, meta, meta_account)
    f = this_month(cast)
    data = reports.build(cast.workspace, reports.ReportSpec(f.start, f.end, ("paid",)))
    rows = reports.section_rows(data)["paid"]
    assert rows[0] == list(reports.PAID_COLUMNS)
    assert rows[1:] == [
        [
            "Reef survey",
            "Seas Alive",
            "EUR",
            20.0,
            1500,
            4000,
            1250,
            3100,
            76,
            79,
            76,
            round(2000 / 76) / 100,
        ],
        ["Beach clean-up", "Seas Alive", "EUR", 3.0, 300, 900, 290, 700, 9, 10, 9, 0.33],
        ["Total, 2 posts", "", "EUR", 23.0, 1800, 4900, 1540, 3800, 85, 89, 85, 0.27],
    ]
    written = list(csv.reader(io.StringIO(reports.render_csv(data).decode())))
    assert [
        "Beach clean-up",
        "Seas Alive",
        "EUR",
        "3.0",
        "300",
        "900",
        "290",
        "700",
        "9",
        "10",
        "9",
        "0.33",
    ] in written
    with translation.override("en"):
        text = pdf_text(reports.render_pdf(data), "-layout")
    assert "Paid and organic: boosted posts" in text
    assert re.search(
        r"Reef survey\s+Seas Alive\s+EUR\s+20\.00\s+1,500\s+4,000\s+1,250\s+3,100\s+76\s+79\s+76\s+0\.26",
        text,
    )
    assert re.search(r"Total, 2 posts\s+EUR\s+23\.00\s+1,800\s+4,900", text)
    html = reports.render_html(data)
    assert 'alt="Paid and organic reach per boosted post"' in html  # the reach chart


def test_a_period_without_boosts_says_so_and_other_workspaces_never_count(
    cast, page, meta, meta_account, budget
) -> None:
    two_boosted_posts(cast, page, meta, meta_account)
    f = this_month(cast)
    theirs = reports.build(cast.other_workspace, reports.ReportSpec(f.start, f.end, ("paid",)))
    assert reports.section_rows(theirs)["paid"][1][0] == "No post of this period was boosted."
    earlier = reports.build(
        cast.workspace,
        reports.ReportSpec(f.start - dt.timedelta(days=90), f.start - dt.timedelta(days=60), ("paid",)),
    )
    assert len(reports.section_rows(earlier)["paid"]) == 2  # the header and the sentence


def test_the_spend_chart_draws_the_forecast_from_today_to_the_months_end() -> None:
    from chorus.ads import rules
    from chorus.ads.results import MonthSummary
    from chorus.ads.views import spend_chart

    first = dt.date(2026, 11, 1)
    days = [(first + dt.timedelta(days=n)).isoformat() for n in range(30)]
    cumulative = [1000 * min(n + 1, 10) for n in range(30)]  # 10.00 a day until the 10th
    month = MonthSummary(
        month=first,
        currency="EUR",
        limit_minor=50_000,
        reserved_minor=40_000,
        spent_minor=10_000,
        forecast=rules.Forecast(spent_minor=10_000, expected_minor=30_000, upper_minor=35_000),
        days=days,
        spend_per_day=[1000 if n < 10 else 0 for n in range(30)],
        cumulative=cumulative,
    )
    chart = spend_chart(month, dt.date(2026, 11, 10))
    assert chart["spend"][:10] == [10.0 * (n + 1) for n in range(10)]
    assert chart["spend"][10:] == [None] * 20  # the future is not spent yet
    assert chart["expected"][:9] == [None] * 9 and chart["upper"][:9] == [None] * 9
    assert chart["expected"][9] == chart["upper"][9] == 100.0  # both start at today's spend
    assert chart["expected"][-1] == 300.0 and chart["upper"][-1] == 350.0  # the forecast's ends
    assert chart["expected"][19] == 100.0 + 200.0 * 10 / 20
    assert chart["budget"] == [500.0] * 30
    jpy = spend_chart(MonthSummary(**{**month.__dict__, "currency": "JPY"}), dt.date(2026, 11, 10))
    assert jpy["budget"][0] == 50_000 and jpy["expected"][-1] == 30_000  # no minor unit in yen
