"""The README's scaled snippet, run as written: its `export` line is read from README.md and given
to `chorus check --deploy`. Only what names another machine is pointed at this one: the database
and Redis at the test PostgreSQL and Redis, the bucket's endpoint at moto's S3 server mode on
127.0.0.1 (an imitation of S3), and the secret files at files written here. Mail, proxy, HTTPS,
host and key settings stay as the README writes them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from cryptography.fernet import Fernet

from tests.engine_fixtures import CHORUS, REPO_DIR
from tests.test_object_storage import moto_s3_server, s3_imitation  # noqa: F401

PG_TEST_URL = os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def scaled_snippet() -> dict[str, str]:
    """The variables of the first `export` in README's "Deploy the scaled shape" section."""
    readme = (REPO_DIR / "README.md").read_text()
    section = readme.split("## Deploy the scaled shape", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no sh block in the scaled section"
    export = re.search(r"^export (.*?)(?<!\\)\n", block.group(1), re.S | re.M)
    assert export, block.group(1)
    words = shlex.split(export.group(1).replace("\\\n", " "))
    return dict(word.split("=", 1) for word in words)


def test_the_readme_scaled_snippet_passes_its_own_deploy_check(tmp_path: Path, s3_imitation: str) -> None:  # noqa: F811
    snippet = scaled_snippet()
    assert snippet["CHORUS_TASK_BACKEND"] == "celery" and snippet["CHORUS_HTTPS"] == "true"
    assert {"EMAIL_HOST", "CHORUS_TRUSTED_PROXY_COUNT", "CHORUS_S3_BUCKET"} <= set(snippet)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "AWS_", "EMAIL_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(snippet)
    # What names another machine, pointed at this one:
    env.update(
        DATABASE_URL=PG_TEST_URL,
        REDIS_URL=REDIS_TEST_URL,
        CHORUS_S3_ENDPOINT_URL=s3_imitation,
        CHORUS_VAR_DIR=str(tmp_path / "var"),
    )
    secrets = {
        "SECRET_KEY_FILE": Fernet.generate_key().decode() * 2,
        "CHORUS_FERNET_KEYS_FILE": Fernet.generate_key().decode() + "\n" + Fernet.generate_key().decode(),
        "EMAIL_HOST_PASSWORD_FILE": "smtp-password",
        "CHORUS_S3_SECRET_ACCESS_KEY_FILE": "imitation-secret",
    }
    for name, value in secrets.items():
        assert snippet[name].startswith("/run/secrets/"), (name, snippet[name])
        path = tmp_path / Path(snippet[name]).name
        path.write_text(value + "\n")
        env[name] = str(path)
    s3 = __import__("boto3").client(
        "s3",
        endpoint_url=s3_imitation,
        region_name="us-east-1",
        aws_access_key_id=snippet["CHORUS_S3_ACCESS_KEY_ID"],
        aws_secret_access_key="imitation-secret",
    )
    if snippet["CHORUS_S3_BUCKET"] != "chorus-media":
        s3.create_bucket(Bucket=snippet["CHORUS_S3_BUCKET"])

    done = subprocess.run(
        [str(CHORUS), "check", "--deploy"], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=600
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERROR" not in output and "chorus.E0" not in output, output
    # Without the documented proxy header, HTTPS settings would redirect /health too: the README
    # names the header.
    readme = (REPO_DIR / "README.md").read_text()
    assert "X-Forwarded-Proto: https" in readme and "X-Forwarded-For" in readme
