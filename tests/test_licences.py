"""Every runtime dependency carries a licence we may ship with an AGPL-3.0-or-later program.

The runtime set is what `make run` installs: pyproject's `dependencies` and `build` group, walked
through the installed distributions' own requirements (markers and extras evaluated here). A
dependency's licence is read from its metadata: the SPDX `License-Expression` when it has one,
else a short `License` field, else its `License ::` classifiers (several classifiers all count).
An unknown or incompatible licence fails; so does a runtime dependency missing from the list in
CONTRIBUTING.md. Development tools (the dev group) are not shipped and not checked.
"""

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

# SPDX ids whose terms let the work be conveyed under the AGPL-3.0 (permissive licences, the
# GPLv3-compatible weak copylefts, and the GPL family at version 3).
ALLOWED = {
    "0BSD",
    "Apache-2.0",  # GPLv3-compatible (the patent clause is fine under version 3)
    "BSD-2-Clause",
    "BSD-3-Clause",
    "CC0-1.0",
    "HPND",
    "ISC",
    "MIT",
    "MIT-0",
    "MIT-CMU",
    "MPL-2.0",  # section 3.3: may be combined with GPL-family code (no "Incompatible" notice)
    "PSF-2.0",
    "Python-2.0",
    "Unlicense",
    "Zlib",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "GPL-2.0-or-later",
    "GPL-3.0-only",  # section 13 of both licences allows the combination
    "GPL-3.0-or-later",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
}

# How older metadata spells a licence (a short `License` field or a classifier) -> SPDX id.
SPELLINGS = {
    "mit": "MIT",
    "mit license": "MIT",
    "bsd": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "apache-2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "mpl-2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0",
    "isc license (iscl)": "ISC",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
}

# A distribution that offers a choice of licences, and the one we take (reviewed by hand).
CHOSEN = {
    # Tri-licensed GPL-2.0+ / LGPL-2.1+ / MPL-1.1 (its three classifiers); we take the LGPL.
    "pyphen": "LGPL-2.1-or-later",
    # Its metadata says "BSD-3-Clause and Public-Domain" in prose: the automaton is BSD-3-Clause.
    "pyahocorasick": "BSD-3-Clause",
    # Its metadata's License field is a copyright line; the licence text it carries is MIT's.
    "textblob-fr": "MIT",
    # "MPL-2.0 AND MIT" in prose (no License-Expression); both allowed.
    "tqdm": "MPL-2.0 AND MIT",
    # Apache-2.0 AND CNRI-Python: the CNRI part is the Python 1.6.1 licence of the sre code it
    # derives from, whose choice-of-law clause CNRI amended for GPL compatibility (the FSF lists
    # Python 1.6.1's licence as GPL-compatible). Pulled in by nltk (textblob-fr -> textblob);
    # Chorus reads only textblob-fr's lexicon file. To be reviewed again if nltk is dropped.
    "regex": "Apache-2.0 AND Python-2.0",
}


def runtime_distributions() -> set[str]:
    """Canonical names of every distribution the runtime set installs on this machine."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["build"]
    pending = [(Requirement(spec), frozenset[str]()) for spec in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, parent_extras = pending.pop()
        if requirement.marker and not _applies(requirement.marker, parent_extras):
            continue
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        for spec in metadata.distribution(requirement.name).requires or []:
            pending.append((Requirement(spec), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def _applies(marker: Marker, extras: frozenset[str]) -> bool:
    return any(marker.evaluate({"extra": extra}) for extra in extras | {""})


def declared_licences(name: str) -> tuple[str, str]:
    """(expression in SPDX ids, where it was read) for one installed distribution."""
    if name in CHOSEN:
        return CHOSEN[name], "chosen by hand (see CHOSEN)"
    meta = metadata.metadata(name)
    if expression := meta.get("License-Expression"):
        return expression, "License-Expression"
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and field.lower() in SPELLINGS:
        return SPELLINGS[field.lower()], "License"
    classifiers = [
        c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    if classifiers:
        ids = [SPELLINGS.get(c.lower(), f"unknown({c})") for c in classifiers]
        return " AND ".join(ids), "classifiers"
    return f"unknown({field[:40] or 'no licence metadata'})", "nothing usable"


def allowed(expression: str) -> bool:
    """Evaluates an SPDX expression: OR takes any allowed side, AND needs every side."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def parse_or() -> bool:
        nonlocal position
        result = parse_and()
        while position < len(tokens) and tokens[position].upper() == "OR":
            position += 1
            result = parse_and() or result
        return result

    def parse_and() -> bool:
        nonlocal position
        result = parse_term()
        while position < len(tokens) and tokens[position].upper() == "AND":
            position += 1
            result = parse_term() and result
        return result

    def parse_term() -> bool:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            result = parse_or()
            position += 1  # the closing parenthesis
            return result
        if position < len(tokens) and tokens[position].upper() == "WITH":
            position += 2  # an exception only adds permissions
        return token in ALLOWED

    return parse_or()


def test_it_evaluates_spdx_expressions():
    assert allowed("Apache-2.0 OR BSD-3-Clause")
    assert allowed("BSD-3-Clause AND (MIT OR SSPL-1.0)")
    assert allowed("GPL-2.0-or-later WITH Classpath-exception-2.0")
    assert not allowed("MIT AND SSPL-1.0")
    assert not allowed("BUSL-1.1")
    assert not allowed("unknown(Proprietary)")
    assert not allowed("GPL-2.0-only")  # not compatible with any GPLv3-family licence


def test_every_runtime_dependency_has_a_licence_compatible_with_the_agpl():
    names = runtime_distributions()
    assert {"django", "celery", "psycopg", "pillow", "setuptools"} <= names
    assert not names & {"pytest", "playwright", "mypy", "ruff", "mastodon-mock", "atproto"}
    refused = {
        name: f"{expression} (from {source})"
        for name in sorted(names)
        for expression, source in [declared_licences(name)]
        if not allowed(expression)
    }
    assert not refused, f"runtime dependencies whose licence is unknown or not AGPL-compatible: {refused}"


def test_contributing_lists_every_runtime_dependency_and_its_licence():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("## Dependencies and licences", 1)[1].split("\n## ", 1)[0]
    listed = {canonicalize_name(m) for m in re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE)}
    missing = sorted(runtime_distributions() - listed)
    assert not missing, (
        "add a row `| `name` | licence |` to CONTRIBUTING.md, 'Dependencies and licences', for: "
        + ", ".join(f"{name} ({declared_licences(name)[0]})" for name in missing)
    )
