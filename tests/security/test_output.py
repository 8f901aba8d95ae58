"""Output: every CSV/XLSX Chorus writes escapes formula-leading cells; links from networks are
rendered only for http(s) URLs."""

from __future__ import annotations

import csv
import io

import pytest
from django.template import Context, Template
from openpyxl import load_workbook

from chorus.approvals import auditlog
from chorus.bulk import actions as bulk_actions
from chorus.bulk import exporting
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.core.spreadsheet import safe_cell, unescape_cell

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_the_helper_escapes_every_formula_lead_and_the_import_reads_it_back(value):
    assert safe_cell(value) == "'" + value
    assert unescape_cell(safe_cell(value)) == value
    assert safe_cell(-5) == -5 and safe_cell("plain") == "plain"


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_the_post_export_escapes_formulas():
    items = [
        {
            "date": "2026-01-01 10:00",
            "channels": ["x"],
            "text": FORMULAS[0],
            "media": [],
            "campaign": "@camp",
            "tags": [],
            "status": "draft",
            "overrides": {"x": "=1+1"},
        }
    ]
    cells = _cells(exporting.as_csv(items))
    assert "'" + FORMULAS[0] in cells and "'@camp" in cells and "'=1+1" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


@pytest.mark.django_db
def test_the_import_errors_csv_escapes_formulas(cast):
    job = bulk_actions.create_job(
        cast.workspace,
        actor=cast.owner,
        data=b'text,date,channels\n"=HYPERLINK(""http://evil.example"",""x"")",not a date,nowhere\n',
        filename="bad.csv",
    )
    job = bulk_actions.check(job.pk)
    cells = _cells(bulk_actions.bad_rows_csv(job))
    assert cells, "errors.csv is empty"
    assert "'" + FORMULAS[0] in cells
    assert not any(c.startswith("=") for c in cells)


@pytest.mark.django_db
def test_the_audit_csv_escapes_formulas(cast):
    audit.record("test.event", workspace=cast.workspace, actor=cast.owner, note="x")
    events = AuditEvent.objects.filter(workspace=cast.workspace)
    AuditEvent.objects.filter(pk=events.first().pk).update(action="=cmd")
    cells = _cells("".join(auditlog.csv_rows(events, "UTC")))
    assert "'=cmd" in cells


def test_reports_escape_formulas_in_csv_and_xlsx(monkeypatch):
    from chorus.analytics import reports

    monkeypatch.setattr(reports, "section_rows", lambda data: {"Posts": [["=1+1", 3, -2], ["@x", None, 0]]})
    cells = _cells(reports.render_csv(None).decode())  # type: ignore[arg-type]
    assert "'=1+1" in cells and "'@x" in cells and "-2" in cells
    book = load_workbook(io.BytesIO(reports.render_xlsx(None)))  # type: ignore[arg-type]
    values = [c.value for row in book["Posts"].iter_rows() for c in row]
    assert "'=1+1" in values and -2 in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/", False),
        ("https://bsky.app/profile/alice", True),
        ("http://example.org/u/1", True),
    ],
)
def test_a_network_profile_url_is_a_link_only_when_http(url, link):
    html = Template(
        '{% load safe_links %}{% if url|http_url %}<a href="{{ url|http_url }}">x</a>{% else %}x{% endif %}'
    ).render(Context({"url": url}))
    assert ("<a " in html) is link


@pytest.mark.parametrize("name", ["analytics/_amplified_by.html", "analytics/_notable_amplifiers.html"])
def test_the_amplifier_lists_render_no_javascript_link(name):
    from django.template.loader import render_to_string

    row = {
        "profile_url": "javascript:alert(1)",
        "url": "javascript:alert(2)",
        "display_name": "Eve",
        "handle": "@eve",
        "followers": 5,
        "target_id": 1,
    }
    html = render_to_string(
        name,
        {
            "amplifiers": {"available": True, "rows": [{**row, "account_id": "1"}], "threshold": 1},
            "can_manage_reports": False,
            "workspace": {"slug": "campaign", "timezone": "Europe/Paris"},
        },
    )
    assert "Eve" in html
    assert "javascript:" not in html
