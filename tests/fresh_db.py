"""A freshly migrated embedded-shape database for tests that run `chorus` commands in a var dir of
their own.

Migrating an empty SQLite database costs ~18 s of CPU here (Django renders the model graph again
for each of ~90 migrations). Tests that need *a* fresh database, not the act of migrating, copy a
template instead: built once per migration state by whichever test process needs it first (the
others wait on a file lock), kept in var/test/ under a name that hashes every migration file and
Django's version, so a changed migration builds a new one. The act of migrating stays tested where
it is the subject: `chorus run`'s first start (tests/test_cli.py) and the migrations tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import django

from tests.engine_fixtures import CHORUS, REPO_DIR

TEMPLATE_DIR = REPO_DIR / "var" / "test"
# The product's own settings read these; the template is the product's database, not the test one.
_TEST_VARIABLES = ("DATABASE_URL", "CHORUS_TASK_BACKEND", "DJANGO_SETTINGS_MODULE", "CHORUS_EXTRA_APPS",
                   "CHORUS_EXTRA_CONNECTORS", "CHORUS_VAR_DIR", "REDIS_URL")  # fmt: skip


def _migration_state() -> str:
    digest = hashlib.sha256(django.__version__.encode())
    for path in sorted((REPO_DIR / "src" / "chorus").glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _template() -> Path:
    TEMPLATE_DIR.mkdir(parents=True, exist_ok=True)
    template = TEMPLATE_DIR / f"migrated-{_migration_state()}.sqlite3"
    with (TEMPLATE_DIR / "migrated.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            with tempfile.TemporaryDirectory(dir=TEMPLATE_DIR) as var:
                env = {k: v for k, v in os.environ.items() if k not in _TEST_VARIABLES}
                env["CHORUS_VAR_DIR"] = var
                done = subprocess.run(
                    [str(CHORUS), "migrate", "--verbosity", "0"],
                    env=env,
                    cwd=REPO_DIR,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                assert done.returncode == 0, done.stdout + done.stderr
                os.replace(Path(var) / "chorus.sqlite3", template)  # whole or absent
    return template


def migrated_var_dir(var_dir: Path) -> Path:
    """Puts a freshly migrated, empty `chorus.sqlite3` in `var_dir` (created) and returns it."""
    var_dir.mkdir(parents=True, exist_ok=True)
    database = var_dir / "chorus.sqlite3"
    shutil.copyfile(_template(), database)
    return database
