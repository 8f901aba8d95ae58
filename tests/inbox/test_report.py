"""The inbox report inside the analytics report: volume, response times by person and channel,
sentiment — the same figures in the XLSX cells, the CSV and the PDF text."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.utils import translation
from openpyxl import load_workbook

from chorus.analytics import reports
from chorus.channels.actions import connect_channel
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from tests.conftest import Cast
from tests.inbox.conftest import T0, entry

pytestmark = pytest.mark.django_db

M = dt.timedelta(minutes=1)


def _answer(conversation: Conversation, author, minutes: int) -> None:
    item = InboxItem.objects.filter(conversation=conversation).first()
    Reply.objects.create(
        workspace=conversation.workspace,
        conversation=conversation,
        in_reply_to=item,
        author=author,
        text="Thanks",
        status=Reply.Status.SENT,
        sent_at=conversation.first_item_at + minutes * M,
    )
    Conversation.objects.filter(pk=conversation.pk, first_response_at=None).update(
        first_response_at=conversation.first_item_at + minutes * M
    )


@pytest.fixture
def inbox(cast: Cast) -> Cast:
    one = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    two = connect_channel(workspace=cast.workspace, kind="sink", name="Sink 2", config={}, credentials={})
    actions.ingest(
        channel=one,
        entries=[
            entry(1, author="did:plc:a"),
            entry(2, author="did:plc:b"),
            entry(4, kind="like", author="did:plc:e"),
            entry(-1440, author="did:plc:old"),  # the day before: outside the period
        ],
    )
    actions.ingest(channel=two, entries=[entry(3, author="did:plc:c")])
    a, b, c = (Conversation.objects.get(author_id=f"did:plc:{x}") for x in "abc")
    for conversation, score in ((a, 0.6), (b, -0.5), (c, 0.0)):
        Conversation.objects.filter(pk=conversation.pk).update(sentiment=score)
    editor, admin = cast.members["editor"], cast.members["admin"]
    _answer(a, editor, 30)  # inside the 4 h target
    _answer(a, admin, 60)  # a second reply: counted as sent, not as the first response
    Conversation.objects.filter(pk=a.pk).update(status="closed", closed_at=a.first_item_at + 120 * M)
    _answer(b, admin, 300)  # past the target
    actions.assign(conversation=c, assignee=editor, actor=editor)  # unanswered: overdue now
    return cast


def _spec(**kw) -> reports.ReportSpec:
    day = T0.date()
    return reports.ReportSpec(day, day, ("inbox",), **kw)


def test_the_inbox_figures_in_the_spreadsheet(inbox: Cast) -> None:
    data = reports.build(inbox.workspace, _spec())
    book = load_workbook(io.BytesIO(reports.render_xlsx(data)))
    summary = {row[0]: row[1] for row in book["inbox"].iter_rows(min_row=2, values_only=True)}
    assert summary == {
        "inbox_conversations": 3,
        "inbox_items": 3,
        "inbox_activity": 1,
        "inbox_replies_sent": 3,
        "inbox_answered": 2,
        "inbox_first_response_median": 165.0,  # median of 30 and 300 minutes
        "inbox_within_target_pct": 50.0,
        "inbox_resolution_median": 120.0,
        "inbox_overdue": 1,
        "inbox_positive": 1,
        "inbox_neutral": 1,
        "inbox_negative": 1,
        "inbox_sentiment_mean": 0.03,
    }
    channels = [row for row in book["inbox_channels"].iter_rows(values_only=True)]
    assert channels == [
        (
            "name",
            "inbox_conversations",
            "inbox_replies_sent",
            "inbox_first_response_median",
            "inbox_resolution_median",
            "inbox_sentiment_mean",
        ),
        ("Sink", 2, 3, 165.0, 120.0, 0.05),
        ("Sink 2", 1, 0, None, None, 0.0),
    ]
    people = [row for row in book["inbox_people"].iter_rows(min_row=2, values_only=True)]
    # The admin answered b first (300 min) and a second time on a; the editor answered a first
    # and has c assigned, unanswered.
    assert people == [("Admin", 1, 2, 300.0, None, -0.5), ("Editor", 2, 1, 30.0, 120.0, 0.3)]


def test_a_channel_filter_narrows_the_inbox_figures(inbox: Cast) -> None:
    two = inbox.workspace.channels.get(name="Sink 2")
    data = reports.build(inbox.workspace, _spec(channel_ids=(two.pk,)))
    assert data.inbox is not None
    assert (data.inbox.summary["inbox_conversations"], data.inbox.summary["inbox_replies_sent"]) == (1, 0)
    assert [g["name"] for g in data.inbox.by_channel] == ["Sink 2"]


def test_the_pdf_shows_the_inbox_in_the_readers_language(inbox: Cast) -> None:
    data = reports.build(inbox.workspace, _spec())
    with translation.override("fr"):
        pdf = reports.render_pdf(data)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    lines = [" ".join(line.split()) for line in text.stdout.decode().splitlines()]
    # Long labels wrap inside their cell; the figures stay on the label's first line.
    for line in (
        "Boîte de réception : volume, délais de réponse et tonalité",
        "Première réponse, 165",
        "Réponses dans le 50,0 %",
        "Résolution, 120",
        "Le délai cible de première réponse est de 240 minutes.",
        "Boîte de réception par canal",
        "Sink 2 3 165 120 0,05",
        "Sink 2 1 0 non disponible non disponible 0",
        "Boîte de réception par personne",
        "Admin 1 2 300 non disponible -0,50",
        "Editor 2 1 30 120 0,30",
    ):
        assert line in lines, (line, [x for x in lines if x])


def test_the_report_form_offers_the_inbox_section() -> None:
    assert "inbox" in reports.SECTIONS
    assert "inbox_channels" not in reports.SECTIONS  # a part of the inbox section, not a choice
