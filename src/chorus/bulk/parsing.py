"""Reading an uploaded file into header + rows of text cells, whatever tool wrote it.

- XLSX (a zip) through openpyxl; dates in cells become ISO strings.
- JSON: a list of objects (what the JSON export writes); `overrides` objects become
  `text:<channel>` columns.
- CSV: UTF-8 with or without BOM, UTF-16 (BOM, or NUL bytes without one), else Windows-1252;
  comma, semicolon or tab delimiter, decided on the first record outside quotes; quoted newlines.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus.core.refusals import Invalid

MAX_ROWS = 20_000


class BadFile(Invalid):
    """The file cannot be read at all; the message says why, for the person who uploaded it."""


@dataclass
class Table:
    headers: list[str]  # empty when the file has no header row (Hootsuite's bulk composer)
    rows: list[tuple[int, list[str]]]  # (line number in the file as a spreadsheet shows it, cells)


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadFile(_("The file says it is UTF-16 but is not valid UTF-16.")) from exc
    head = data[:4000]
    if head and head.count(b"\x00") > len(head) // 4:
        # UTF-16 without a byte-order mark: the NULs sit on the odd bytes for little-endian.
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise BadFile(_("The file could not be read as text (unknown encoding).")) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in Windows-1252; five of its bytes are undefined.
        return data.decode("cp1252", errors="replace")


def _first_record(text: str) -> str:
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            return text[:index]
    return text


def sniff_delimiter(text: str) -> str:
    first = _first_record(text)
    outside, quoted = [], False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(char)
    counts = {d: outside.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(text: str) -> list[list[str]]:
    if "\x00" in text:
        raise BadFile(_("The file contains binary data; upload a CSV, XLSX or JSON file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=True)
    try:
        return [row for row in reader]
    except csv.Error as exc:
        raise BadFile(
            _("The CSV file is malformed near line %(line)s: %(reason)s")
            % {"line": reader.line_num, "reason": exc}
        ) from exc


def read_xlsx(data: bytes) -> list[list[str]]:
    import datetime as dt

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged zip
        raise BadFile(_("The spreadsheet could not be opened: %(reason)s") % {"reason": exc}) from exc
    sheet = book.worksheets[0]
    rows: list[list[str]] = []
    for values in sheet.iter_rows(values_only=True):
        cells = []
        for value in values:
            if value is None:
                cells.append("")
            elif isinstance(value, dt.datetime):
                cells.append(value.isoformat(sep=" ", timespec="minutes"))
            else:
                cells.append(str(value))
        rows.append(cells)
    book.close()
    return rows


def read_json(text: str) -> list[list[str]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(_("The JSON file is malformed: %(reason)s") % {"reason": exc}) from exc
    if isinstance(items, dict):
        items = items.get("posts", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadFile(_("The JSON file must hold a list of posts (objects)."))
    headers: list[str] = []
    flat_items = []
    for item in items:
        flat: dict[str, str] = {}
        for key, value in item.items():
            if key == "overrides" and isinstance(value, dict):
                for channel, text in value.items():
                    flat[f"text:{channel}"] = str(text)
            elif isinstance(value, list):
                flat[key] = "|".join(str(v) for v in value)
            else:
                flat[key] = "" if value is None else str(value)
        for key in flat:
            if key not in headers:
                headers.append(key)
        flat_items.append(flat)
    return [headers, *[[flat.get(h, "") for h in headers] for flat in flat_items]]


def read_table(data: bytes, filename: str, looks_like_header: object) -> Table:
    """`looks_like_header(cells) -> bool` decides whether the first row names the columns."""
    if not data.strip():
        raise BadFile(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        grid = read_xlsx(data)
    else:
        text = decode(data)
        stripped = text.lstrip()
        grid = read_json(stripped) if stripped[:1] in "[{" else read_csv(text)
    numbered = [(n, row) for n, row in enumerate(grid, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise BadFile(_("The file has no rows."))
    if len(numbered) > MAX_ROWS + 1:
        raise BadFile(
            ngettext(
                "The file has more than %(max)s row; split it.",
                "The file has more than %(max)s rows; split it.",
                MAX_ROWS,
            )
            % {"max": MAX_ROWS}
        )
    first = numbered[0][1]
    if looks_like_header(first):  # type: ignore[operator]
        return Table([c.strip() for c in first], numbered[1:])
    return Table([], numbered)
