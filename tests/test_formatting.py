"""The one formatter for what people read (chorus.core.formatting and its template filters), in
English and in French."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from chorus.core import formatting
from tests.test_i18n import ensure_compiled_catalog

AT = dt.datetime(2026, 3, 5, 13, 30, tzinfo=dt.UTC)  # 14:30 in Paris (CET)
NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _catalog() -> None:
    ensure_compiled_catalog()


def test_english_dates_times_numbers_and_percentages() -> None:
    with translation.override("en"):
        assert formatting.format_date(dt.date(2026, 3, 5)) == "March 5, 2026"
        assert formatting.format_date(dt.date(2026, 3, 5), short=True) == "03/05/2026"
        assert formatting.format_datetime(AT, "Europe/Paris") == "March 5, 2026, 2:30 p.m. (Paris)"
        assert formatting.format_datetime(AT, "UTC") == "March 5, 2026, 1:30 p.m. (UTC)"
        assert formatting.format_datetime(AT, "America/New_York", zone=False) == "March 5, 2026, 8:30 a.m."
        assert formatting.format_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == (
            "Nov. 1, 2026 to Nov. 30, 2026"
        )
        assert formatting.format_day_month(dt.date(2026, 12, 7)) == "Dec. 7"
        assert formatting.format_number(8284) == "8,284"
        assert formatting.format_number(0.8333) == "0.83"
        assert formatting.format_percent(5.8, signed=True) == "+5.8%"
        assert formatting.format_percent(-2.66, signed=True) == "−2.7%"
        assert formatting.format_percent(0.83) == "0.8%"


def test_french_dates_times_numbers_and_percentages() -> None:
    with translation.override("fr"):
        assert formatting.format_date(dt.date(2026, 3, 5)) == "5 mars 2026"
        assert formatting.format_date(dt.date(2026, 3, 5), short=True) == "05/03/2026"
        assert formatting.format_datetime(AT, "Europe/Paris") == "5 mars 2026 14:30 (Paris)"
        assert formatting.format_datetime(AT, "America/New_York", zone=False) == "5 mars 2026 08:30"
        assert formatting.format_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == (
            "du 1 novembre 2026 au 30 novembre 2026"
        )
        assert formatting.format_day_month(dt.date(2026, 12, 7)) == "7 déc."
        assert formatting.format_number(8284) == f"8{NBSP}284"
        assert formatting.format_number(0.8333) == "0,83"
        assert formatting.format_percent(5.8, signed=True) == f"+5,8{NBSP}%"
        assert formatting.format_percent(0.83) == f"0,8{NBSP}%"


def test_a_datetime_near_midnight_is_on_the_day_of_the_zone_given() -> None:
    late = dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC)
    with translation.override("fr"):
        assert formatting.format_date(late, tz_name="Europe/Paris") == "6 mars 2026"
        assert formatting.format_date(late, tz_name="UTC") == "5 mars 2026"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "March 5, 2026 | March 5, 2026, 2:30 p.m. (Paris) | 8,284 | +5.8% | 03/05/2026"),
        ("fr", f"5 mars 2026 | 5 mars 2026 14:30 (Paris) | 8{NBSP}284 | +5,8{NBSP}% | 05/03/2026"),
    ],
)
def test_the_template_filters_are_the_same_formatter(language: str, expected: str) -> None:
    template = Template(
        '{% load chorus_format %}{{ d|day }} | {{ at|when:"Europe/Paris" }} | {{ n|num }} | {{ p|percent }}'
        ' | {{ d|day:"short" }}'
    )
    with translation.override(language):
        out = template.render(Context({"d": dt.date(2026, 3, 5), "at": AT, "n": 8284, "p": 5.8}))
    assert out == expected


def test_nothing_shows_as_an_empty_string() -> None:
    assert formatting.format_date(None) == ""
    assert formatting.format_datetime(None) == ""
    assert formatting.format_number(None) == ""
    assert formatting.format_percent(None) == ""
