"""Hostile spreadsheets from a contributor: the shared-string bomb and the zip bomb are refused
from the archive's directory with bounded memory, long cells and row counts while streaming,
and a refused import stores nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import Workbook

from chorus.accounts.permissions import Role
from chorus.bulk import parsing
from chorus.bulk.models import ImportJob
from tests.security.budget import measure


def _workbook(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def shared_string_bomb(size: int) -> bytes:
    """A real workbook whose one shared string (used in three cells) is `size` bytes of 'A',
    written piece by piece so the test itself stays small (as Excel writes it: sharedStrings.xml
    plus cells of type "s")."""
    source = zipfile.ZipFile(io.BytesIO(_workbook([["text", "when"], ["P", "P", "P"]])))
    inline = '<c r="{0}2" t="inlineStr"><is><t>P</t></is></c>'
    shared = '<c r="{0}2" t="s"><v>0</v></c>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            content = source.read(info).decode()
            if info.filename == "xl/worksheets/sheet1.xml":
                for column in "ABC":
                    content = content.replace(inline.format(column), shared.format(column))
            elif info.filename == "[Content_Types].xml":
                content = content.replace(
                    "</Types>",
                    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" /></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    "</Relationships>",
                    '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/sharedStrings" Target="sharedStrings.xml" /></Relationships>',
                )
            bomb.writestr(info.filename, content)
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" '
                b'uniqueCount="1"><si><t>'
            )
            piece = b"A" * (1024 * 1024)
            for _ in range(size // len(piece)):
                member.write(piece)
            member.write(b"</t></si></sst>")
    return out.getvalue()


def zip_bomb(size: int) -> bytes:
    """A workbook whose sheet unpacks to `size` bytes of empty rows."""
    source = zipfile.ZipFile(io.BytesIO(_workbook([["text"], ["hello"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            content = source.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info.filename, content)
                continue
            head, tail = content.decode().split("</sheetData>")
            with bomb.open(info.filename, "w", force_zip64=True) as member:
                member.write(head.encode())
                filler = b"<row/>" * (1024 * 1024 // 6)
                for _ in range(size // len(filler)):
                    member.write(filler)
                member.write(("</sheetData>" + tail).encode())
    return out.getvalue()


READ = """
from pathlib import Path
from chorus.bulk import parsing
from chorus.bulk.rows import looks_like_header
try:
    table = parsing.read_table(Path(os.environ["FILE"]).read_bytes(), "bomb.xlsx", looks_like_header)
    report(error="", rows=len(table.rows))
except parsing.BadFile as exc:
    report(error=str(exc))
"""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: shared_string_bomb(48 * 1024 * 1024), "refused as a zip bomb"),
        (lambda: zip_bomb(200 * 1024 * 1024), "more than the 64 MB allowed"),
    ],
    ids=["shared-string-bomb", "zip-bomb"],
)
def test_a_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, make, message):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(make())
    assert path.stat().st_size < 1024 * 1024
    result = measure(READ, env={"FILE": str(path)})
    assert message in result["error"], result
    assert result["peak_mb"] - result["baseline_mb"] < 40, result


def test_a_long_cell_is_refused_with_its_row():
    data = _workbook([["text", "when"], ["short", "2026-01-01 10:00"], ["x" * 20_000, "2026-01-01 10:00"]])
    with pytest.raises(parsing.BadFile, match="Row 3 has a cell longer than 10,000 characters"):
        parsing.read_table(data, "long.xlsx", lambda cells: True)


def test_rows_are_counted_while_streaming(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 50)
    read: list[int] = []
    original = parsing.read_xlsx

    def counting(data: bytes):
        for row in original(data):
            read.append(1)
            yield row

    monkeypatch.setattr(parsing, "read_xlsx", counting)
    data = _workbook([["text"]] + [[f"post {n}"] for n in range(500)])
    with pytest.raises(parsing.BadFile, match="more than 50 rows"):
        parsing.read_table(data, "many.xlsx", lambda cells: True)
    assert len(read) <= 52


def test_a_refused_import_stores_nothing_and_says_why(cast):
    client = cast.client_for(cast.members[Role.CONTRIBUTOR])
    url = reverse("bulk:import", kwargs={"slug": cast.workspace.slug})
    bomb = io.BytesIO(shared_string_bomb(8 * 1024 * 1024))
    bomb.name = "bomb.xlsx"
    response = client.post(url, {"file": bomb, "date_order": "iso"}, follow=True)
    assert response.status_code == 200
    assert "refused as a zip bomb" in response.content.decode()
    assert not ImportJob.objects.exists()
