"""The README's table of every way a file leaves Chorus stays true: each network Chorus publishes
to has a row, each test it names exists, and every network the withdrawal paragraph says deletes
declares Feature.DELETE (and the ones it says cannot, do not)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from chorus.connectors.base import Feature
from chorus.connectors.registry import CONNECTORS, connector_class

ROOT = Path(__file__).parents[2]


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Safe stories: every way a file leaves Chorus")
    return text[start : text.index("\n## ", start + 10)]


def test_every_network_has_a_row_and_every_named_test_exists():
    section = _section()
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for kind in CONNECTORS:
        label = str(connector_class(kind).label)
        assert any(label in row.split("|")[1] for row in rows), f"no row for {label}"
    named = re.findall(r"`((?:tests/safety/)?test_\w+\.py)::(test_\w+)`", section)
    assert len(named) >= 15
    for file, name in named:
        path = ROOT / (file if file.startswith("tests/") else f"tests/safety/{file}")
        functions = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{file}::{name} does not exist"


def test_the_networks_said_to_delete_do_and_the_others_do_not():
    paragraph = _section().split("Once published", 1)[1]
    deletes, by_hand = paragraph.split("delete by hand", 1)[0].split("; Instagram")
    for kind in CONNECTORS:
        label = str(connector_class(kind).label)
        if label in deletes:
            assert Feature.DELETE in connector_class(kind).features, label
        else:
            assert label in "Instagram" + by_hand and Feature.DELETE not in connector_class(kind).features, (
                label
            )
