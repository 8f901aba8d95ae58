"""`chorus token create` on a fresh database, as the embedded shape's user runs it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

from tests.engine_fixtures import CHORUS, REPO_DIR
from tests.fresh_db import migrated_var_dir

TEST_ONLY = ("DATABASE_URL", "CHORUS_TASK_BACKEND", "DJANGO_SETTINGS_MODULE", "CHORUS_EXTRA_APPS",
             "CHORUS_EXTRA_CONNECTORS", "CHORUS_FERNET_KEYS", "CHORUS_FERNET_KEYS_FILE", "CHORUS_VAR_DIR")  # fmt: skip


def _chorus(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHORUS), *args], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=300, check=False
    )


def test_it_prints_a_working_token_on_a_fresh_database(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env["CHORUS_VAR_DIR"] = str(tmp_path / "var")
    migrated_var_dir(tmp_path / "var")
    assert _chorus("createadmin", "--email", "robot@example.org", env=env).returncode == 0

    result = _chorus("token", "create", "--email", "ROBOT@example.org", "--name", "n8n", env=env)

    assert result.returncode == 0, result.stderr
    raw = result.stdout.strip()
    assert raw.startswith("chorus_") and "\n" not in raw
    [database] = (tmp_path / "var").glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT t.name, t.token_hash, u.email FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id"
        ).fetchall()
    assert rows == [("n8n", hashlib.sha256(raw.encode()).hexdigest(), "robot@example.org")]
    unknown = _chorus("token", "create", "--email", "nobody@example.org", env=env)
    assert unknown.returncode == 1 and "No active user" in unknown.stderr

    # Scope and expiry, as the tokens page sets them (same action, same audit rows).
    made = _chorus(
        "token",
        "create",
        "--email",
        "robot@example.org",
        "--scope",
        "read",
        "--expires",
        "30",
        "--name",
        "sheets",
        env=env,
    )
    refused = [
        _chorus("token", "create", "--email", "robot@example.org", *extra, env=env)
        for extra in (["--scope", "root"], ["--expires", "-1"])
    ]

    assert made.returncode == 0, made.stderr
    assert refused[0].returncode == 2 and "invalid choice" in refused[0].stderr
    assert refused[1].returncode == 1 and "1 to 3650 days" in refused[1].stderr
    with sqlite3.connect(database) as db:
        tokens = db.execute(
            "SELECT name, scope, julianday(expires_at) - julianday(created_at) FROM accounts_apitoken ORDER BY id"
        ).fetchall()
        audit = db.execute(
            "SELECT action, json_extract(data, '$.scope') FROM core_auditevent"
            " WHERE action LIKE 'api_token.%' ORDER BY id"
        ).fetchall()
    assert [(name, scope) for name, scope, _days in tokens] == [("n8n", "write"), ("sheets", "read")]
    assert tokens[0][2] is None and round(tokens[1][2]) == 30
    assert audit == [("api_token.issued", "write"), ("api_token.issued", "read")]
