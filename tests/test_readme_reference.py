"""The README's reference parts stay true: every environment variable Chorus reads is a row of the
one Configure table (and the table is not cut by a blank line, which ends a Markdown table), every
`chorus` command is in the README's command list, and every `chorus …` command named anywhere —
messages in the code, templates, README, CONTRIBUTING, deploy/ — exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from django.core.management import get_commands

from chorus.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src" / "chorus"
README = (REPO / "README.md").read_text()

# Read by code, yet for the test suite and its local connectors only (tests/settings.py).
TEST_ONLY = {"CHORUS_EXTRA_APPS", "CHORUS_EXTRA_CONNECTORS"}
READ = re.compile(
    r"""(?:env_[a-z_]+|os\.environ\.get|os\.getenv|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def _variables_read() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        names |= set(READ.findall(path.read_text()))
    return names - TEST_ONLY


def _configure_table() -> list[str]:
    section = README.split("\n## Configure\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_variable_chorus_reads_is_a_row_of_the_configure_table():
    table = "\n".join(_configure_table())
    read = _variables_read()
    assert len(read) > 60  # the pattern still finds them

    missing = sorted(name for name in read if not re.search(rf"`{name}`", table))

    assert missing == [], f"not in README's Configure table: {missing}"


def test_the_configure_table_is_one_table():
    table = _configure_table()
    section = README.split("\n## Configure\n", 1)[1].split("\n## ", 1)[0]
    after = section.split("\n".join(table), 1)[1]
    # A row after a blank line would start a paragraph of pipes, not rows of the table.
    assert not re.search(r"^\| `[A-Z]", after, re.M), "rows of the Configure table after a break"
    assert all(line.count("|") >= 4 for line in table)


def test_every_command_is_in_the_readme_command_list():
    block = README.split("## The `chorus` command", 1)[1].split("```", 2)[1]
    listed = re.findall(r"^chorus ([a-z-]+)(?: ([a-z-]+))?", block, re.M)
    listed_pairs = {(first, second) for first, second in listed}
    listed_first = {first for first, _second in listed}

    for name, sub in _subcommands(build_parser()).items():
        assert name in listed_first, f"`chorus {name}` is not in README's command list"
        for action in _subcommands(sub):
            assert (name, action) in listed_pairs, f"`chorus {name} {action}` is not in README's list"


def _named_commands() -> list[tuple[str, str]]:
    """(where, "chorus word word") for each command named between backticks."""
    files = [
        *SRC.rglob("*.py"),
        *SRC.rglob("*.html"),
        *SRC.rglob("*.txt"),
        REPO / "src" / "chorus" / "locale" / "fr" / "LC_MESSAGES" / "django.po",
        REPO / "README.md",
        REPO / "CONTRIBUTING.md",
        REPO / "Procfile",
        *(REPO / "deploy").rglob("*.*"),
    ]
    found = []
    for path in files:
        for match in re.finditer(r"`chorus ([a-z][a-z-]*)(?: ([a-z][a-z_-]*))?", path.read_text()):
            found.append((str(path.relative_to(REPO)), match.group(0).lstrip("`")))
    return found


def test_every_command_named_in_messages_and_docs_exists():
    commands = _subcommands(build_parser())
    django_commands = set(get_commands())
    named = _named_commands()
    assert len(named) > 30

    def exists(first: str, second: str | None) -> bool:
        if first not in commands:
            return False
        if second is None:
            return True
        if first == "manage":
            return second in django_commands
        actions = _subcommands(commands[first])
        return not actions or second in actions

    wrong = [(where, text) for where, text in named if not exists(*[*text.split()[1:], None][:2])]

    assert wrong == []


def test_the_procfile_and_systemd_units_run_every_process_kind_with_commands_that_parse():
    """Web, worker, scheduler and listener, each from the Procfile (the listener commented until
    its relay is set) and from a systemd unit; each command line is one `chorus` accepts."""
    parser = build_parser()
    procfile = re.findall(r"^#? ?([a-z]+): chorus (.+)$", (REPO / "Procfile").read_text(), re.M)
    units = {
        path.stem: re.search(r"^ExecStart=\S*/chorus (.+)$", path.read_text(), re.M)
        for path in (REPO / "deploy" / "systemd").glob("*.service")
    }

    assert {kind for kind, _argv in procfile} == {"release", "web", "worker", "scheduler", "listener"}
    assert set(units) == {"chorus-web", "chorus-worker", "chorus-scheduler", "chorus-listen"}
    lines = [argv for _kind, argv in procfile] + [found.group(1) for found in units.values() if found]
    assert len(lines) == 9
    for line in lines:
        words = line.replace("${PORT:-8000}", "8000").split()
        parser.parse_args(words)  # exits (SystemExit) on an unknown command or option
