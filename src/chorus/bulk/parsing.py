"""Reading an uploaded file into header + rows of text cells, whatever tool wrote it.

- XLSX (a zip) through openpyxl; dates in cells become ISO strings.
- JSON: a list of objects (what the JSON export writes); `overrides` objects become
  `text:<channel>` columns.
- CSV: UTF-8 with or without BOM, UTF-16 (BOM, or NUL bytes without one), else Windows-1252;
  comma, semicolon or tab delimiter, decided on the first record outside quotes; quoted newlines.
  The delimiter and encoding (with its byte-order mark) are kept (`Table.file_format`), so the
  errors file goes back in the shape the upload had (a French Excel file: semicolons and a BOM).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chorus.core.refusals import Invalid
from chorus.core.spreadsheet import unescape_cell

MAX_ROWS = 20_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # one uploaded file (the page and the API)
# Budgets checked while reading, so a hostile file is refused before it costs memory or storage:
MAX_CELL_CHARS = 10_000  # the longest network allows 63,206 characters; nobody imports those
MAX_TOTAL_CHARS = 20_000_000  # every cell of one import together (what the job stores)
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one part of an XLSX, unpacked
MAX_ARCHIVE_BYTES = 128 * 1024 * 1024  # every part of an XLSX, unpacked
MAX_RATIO = 100  # unpacked / packed of a part over 1 MB; real spreadsheet XML stays under ~20


class BadFile(Invalid):
    """The file cannot be read at all; the message says why, for the person who uploaded it."""


class FileTooLarge(BadFile):
    """The upload is over MAX_UPLOAD_BYTES; refused before it is read."""

    code = "file_too_large"
    http_status = 413


def check_size(size: int) -> None:
    """Refuses an upload over the budget from its size alone (before it is read)."""
    if size > MAX_UPLOAD_BYTES:
        raise FileTooLarge(
            gettext_lazy("The file is larger than %(max)s MB; split it."),
            fields={"file": f"> {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"},
            max=MAX_UPLOAD_BYTES // (1024 * 1024),
        )


#: What the errors file of an XLSX or JSON upload is written in (a CSV, as before).
DEFAULT_FORMAT = {"delimiter": ",", "encoding": "utf-8"}


@dataclass
class Table:
    headers: list[str]  # empty when the file has no header row (Hootsuite's bulk composer)
    rows: list[tuple[int, list[str]]]  # (line number in the file as a spreadsheet shows it, cells)
    # A CSV upload's delimiter and encoding; the encoding's name says whether it had a BOM
    # ("utf-8-sig", "utf-16": with one), so `text.encode(encoding)` writes the same shape.
    file_format: dict[str, str] | None = None


def decode(data: bytes) -> str:
    return decode_with(data)[0]


def decode_with(data: bytes) -> tuple[str, str]:
    """The text and the name of the encoding that writes it back the same way (BOM included)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise BadFile(_("The file says it is UTF-16 but is not valid UTF-16.")) from exc
    head = data[:4000]
    if head and head.count(b"\x00") > len(head) // 4:
        # UTF-16 without a byte-order mark: the NULs sit on the odd bytes for little-endian.
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise BadFile(_("The file could not be read as text (unknown encoding).")) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in Windows-1252; five of its bytes are undefined.
        return data.decode("cp1252", errors="replace"), "cp1252"


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


def read_csv(text: str) -> Iterator[list[str]]:
    if "\x00" in text:
        raise BadFile(_("The file contains binary data; upload a CSV, XLSX or JSON file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=True)
    try:
        yield from reader
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # 131,072 characters, csv's own cap
            raise BadFile(_cell_too_long(reader.line_num)) from exc
        raise BadFile(
            _("The CSV file is malformed near line %(line)s: %(reason)s")
            % {"line": reader.line_num, "reason": exc}
        ) from exc


def _cell_too_long(line: int) -> str:
    return _("Row %(row)s has a cell longer than %(max)s characters; shorten it.") % {
        "row": line,
        "max": f"{MAX_CELL_CHARS:,}",
    }


def check_archive(data: bytes) -> None:
    """Refuses a zip bomb from the archive's directory, before anything is unpacked: each part's
    unpacked size and packing ratio, and all parts together. (A part whose directory entry lies
    about its size fails its checksum when read.)"""
    mb = 1024 * 1024
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BadFile(_("The spreadsheet could not be opened: %(reason)s") % {"reason": exc}) from exc
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_MEMBER_BYTES:
            raise BadFile(
                _("The spreadsheet's part %(name)s unpacks to %(size)s MB, more than the %(max)s MB allowed.")
                % {"name": member.filename, "size": member.file_size // mb, "max": MAX_MEMBER_BYTES // mb}
            )
        if member.file_size > mb and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise BadFile(
                _(
                    "The spreadsheet's part %(name)s is packed %(ratio)s to 1, more than the %(max)s to 1 "
                    "a real spreadsheet reaches; it is refused as a zip bomb."
                )
                % {
                    "name": member.filename,
                    "ratio": member.file_size // max(member.compress_size, 1),
                    "max": MAX_RATIO,
                }
            )
    if total > MAX_ARCHIVE_BYTES:
        raise BadFile(
            _("The spreadsheet unpacks to %(size)s MB, more than the %(max)s MB allowed.")
            % {"size": total // mb, "max": MAX_ARCHIVE_BYTES // mb}
        )


def read_xlsx(data: bytes) -> Iterator[list[str]]:
    """Rows streamed from the first sheet (openpyxl read-only), after the archive check."""
    import datetime as dt

    from openpyxl import load_workbook

    check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged zip
        raise BadFile(_("The spreadsheet could not be opened: %(reason)s") % {"reason": exc}) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            cells = []
            for value in values:
                if value is None:
                    cells.append("")
                elif isinstance(value, dt.datetime):
                    cells.append(value.isoformat(sep=" ", timespec="minutes"))
                else:
                    cells.append(str(value))
            yield cells
    except zipfile.BadZipFile as exc:
        raise BadFile(_("The spreadsheet could not be opened: %(reason)s") % {"reason": exc}) from exc
    finally:
        book.close()


def read_json(text: str) -> Iterable[list[str]]:
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
    check_size(len(data))
    if not data.strip():
        raise BadFile(_("The file is empty."))
    grid: Iterable[list[str]]
    spreadsheet = True  # CSV and XLSX cells may carry the formula escape of our own exports
    file_format = dict(DEFAULT_FORMAT)
    if data.startswith(b"PK\x03\x04"):
        grid = read_xlsx(data)
    else:
        text, encoding = decode_with(data)
        stripped = text.lstrip()
        spreadsheet = stripped[:1] not in "[{"
        grid = read_csv(text) if spreadsheet else read_json(stripped)
        if spreadsheet:
            file_format = {"delimiter": sniff_delimiter(text), "encoding": encoding}
    numbered: list[tuple[int, list[str]]] = []
    total_chars = 0
    # Counted while reading: the file is refused at the first row over a budget.
    for n, row in enumerate(grid, start=1):
        if not any(c.strip() for c in row):
            continue
        if spreadsheet:
            row = [unescape_cell(c) for c in row]
        for cell in row:
            if len(cell) > MAX_CELL_CHARS:
                raise BadFile(_cell_too_long(n))
            total_chars += len(cell)
        if total_chars > MAX_TOTAL_CHARS:
            raise BadFile(
                _("The file holds more than %(max)s million characters of text; split it.")
                % {"max": MAX_TOTAL_CHARS // 1_000_000}
            )
        numbered.append((n, row))
        if len(numbered) > MAX_ROWS + 1:
            raise BadFile(
                ngettext(
                    "The file has more than %(max)s row; split it.",
                    "The file has more than %(max)s rows; split it.",
                    MAX_ROWS,
                )
                % {"max": MAX_ROWS}
            )
    if not numbered:
        raise BadFile(_("The file has no rows."))
    first = numbered[0][1]
    if looks_like_header(first):  # type: ignore[operator]
        return Table([c.strip() for c in first], numbered[1:], file_format)
    return Table([], numbered, file_format)
