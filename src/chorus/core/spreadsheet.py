"""The one escape for cells Chorus writes into CSV and XLSX files.

Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` as a formula (and some
also after a leading tab or carriage return), so a post text such as `=HYPERLINK(...)` would
run on the machine of whoever opens the export. A leading apostrophe keeps such a cell text.
The import reads that apostrophe back off (`unescape_cell`), so export → import stays lossless.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` unchanged unless it is text a spreadsheet would run; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def unescape_cell(value: str) -> str:
    """The cell as the person wrote it: the apostrophe `safe_cell` added is removed."""
    if value.startswith("'") and value[1:].startswith(FORMULA_LEADS):
        return value[1:]
    return value
