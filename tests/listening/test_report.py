"""Listening in the analytics report: mentions, sentiment split, and per query the volume, the
top sources and the top terms of the period — the same figures in the XLSX cells and the PDF text
(English and French)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.utils import translation
from openpyxl import load_workbook

from chorus.analytics import reports
from chorus.listening import actions
from chorus.listening.models import Match, Query
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)


def _match(query: Query, n: int, *, author: str, text: str, sentiment: str, tags=(), when=T0) -> None:
    Match.objects.create(
        workspace=query.workspace,
        query=query,
        network="bluesky",
        uri=f"at://{author}/app.bsky.feed.post/{n}",
        url=f"https://bsky.app/profile/{author}/post/{n}",
        author_id=f"did:plc:{author}",
        author_handle=f"{author}.test",
        text=text,
        hashtags=list(tags),
        language="en",
        sentiment=sentiment,
        sentiment_score={"positive": 0.6, "negative": -0.6}.get(sentiment, 0.0),
        posted_at=when,
    )


@pytest.fixture
def listened(cast: Cast) -> Cast:
    ws = cast.workspace
    climate = actions.create_query(ws, actor=None, data={"name": "Climate", "expression": "climate"})
    rivals = actions.create_query(
        ws, actor=None, data={"name": "Rivals", "expression": "greenpeace", "group": "competitor"}
    )
    actions.create_query(ws, actor=None, data={"name": "Quiet", "expression": "nothing"})
    _match(climate, 1, author="ann", text="Climate march tomorrow, great turnout", sentiment="positive")
    _match(climate, 2, author="ann", text="Climate march was great", sentiment="positive", tags=["march"])
    _match(
        climate, 3, author="bob", text="Climate policy is a disaster", sentiment="negative", tags=["march"]
    )
    _match(rivals, 3, author="bob", text="Climate policy is a disaster", sentiment="negative")  # same post
    _match(rivals, 4, author="cem", text="Greenpeace flotilla", sentiment="unknown")
    # Outside the period: not counted.
    _match(climate, 5, author="old", text="Climate old", sentiment="neutral", when=T0 - dt.timedelta(days=40))
    return cast


def _spec() -> reports.ReportSpec:
    return reports.ReportSpec(dt.date(2026, 11, 1), dt.date(2026, 11, 30), ("listening",))


def test_the_listening_figures_in_the_spreadsheet(listened: Cast) -> None:
    data = reports.build(listened.workspace, _spec())
    book = load_workbook(io.BytesIO(reports.render_xlsx(data)))
    summary = {row[0]: row[1] for row in book["listening"].iter_rows(min_row=2, values_only=True)}
    # Four distinct posts: the one both queries matched counts once.
    assert summary == {
        "listening_mentions": 4,
        "listening_positive": 2,
        "listening_neutral": 0,
        "listening_negative": 1,
        "listening_unknown": 1,
    }
    assert list(book["listening_queries"].iter_rows(values_only=True)) == [
        ("query", *reports.LISTENING_COUNTS),
        ("Climate", 3, 2, 0, 1, 0),
        ("Quiet", 0, 0, 0, 0, 0),
        ("Rivals", 2, 0, 0, 1, 1),
    ]
    sources = list(book["listening_sources"].iter_rows(values_only=True))
    assert sources == [
        ("query", "rank", "source", "posts"),
        ("Climate", 1, "ann.test", 2),
        ("Climate", 2, "bob.test", 1),
        ("Rivals", 1, "bob.test", 1),
        ("Rivals", 2, "cem.test", 1),
    ]
    terms = [row for row in book["listening_terms"].iter_rows(min_row=2, values_only=True)]
    assert terms[:3] == [
        ("Climate", 1, "climate", 3),
        ("Climate", 2, "#march", 2),
        ("Climate", 3, "great", 2),
    ]
    assert next(t for t in terms if t[0] == "Rivals") == ("Rivals", 1, "climate", 1)


def test_another_workspace_s_matches_stay_out(listened: Cast) -> None:
    data = reports.build(listened.other_workspace, _spec())
    assert data.listening is not None
    assert data.listening.summary["listening_mentions"] == 0
    assert data.listening.queries == []


def _pdf_lines(data: reports.ReportData, language: str) -> list[str]:
    with translation.override(language):
        pdf = reports.render_pdf(data)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return [" ".join(line.split()) for line in text.stdout.decode().splitlines()]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            (
                "Listening: mentions and sentiment",
                "Mentions 4",
                "Positive 2",
                "Sentiment unknown 1",
                "Listening per query",
                "Climate 3 2 0 1 0",
                "Rivals 2 0 0 1 1",
                "Listening: top sources per query",
                "Climate 1 ann.test 2",
                "Listening: top terms and hashtags per query",
                "Climate 2 #march 2",
            ),
        ),
        (
            "fr",
            (
                "Écoute : mentions et tonalité",
                "Mentions 4",
                "Positif 2",
                "Tonalité inconnue 1",
                "Écoute par requête",
                "Climate 3 2 0 1 0",
                "Écoute : principales sources par requête",
                "Rivals 2 cem.test 1",
                "Écoute : principaux termes et hashtags par requête",
                "Climate 2 #march 2",
            ),
        ),
    ],
)
def test_the_pdf_shows_listening_in_the_readers_language(listened: Cast, language: str, expected) -> None:
    data = reports.build(listened.workspace, _spec())
    lines = _pdf_lines(data, language)
    for line in expected:
        assert line in lines, (line, [x for x in lines if x])


def test_the_report_form_offers_the_listening_section() -> None:
    assert "listening" in reports.SECTIONS
    assert "listening_terms" not in reports.SECTIONS  # a part of the listening section
