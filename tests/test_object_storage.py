"""Media on an S3-compatible bucket, against moto's S3 server mode on 127.0.0.1 — an imitation of
S3 (moto reimplements the S3 API; it is not AWS, nor MinIO). Chorus runs as real `chorus`
subprocesses configured by the environment, as on separate machines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.engine_fixtures import CHORUS, REPO_DIR

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
CREDENTIALS = {"aws_access_key_id": "imitation-key", "aws_secret_access_key": "imitation-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_imitation(tmp_path: Path) -> Iterator[str]:
    """moto's S3 server mode on 127.0.0.1 (an imitation), with an empty bucket "chorus-media"."""
    port = _free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"moto_server did not start: {(tmp_path / 'moto.log').read_text()}")
            time.sleep(0.1)
    _client(endpoint).create_bucket(Bucket="chorus-media")
    try:
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)


def _env(tmp_path: Path, endpoint: str, bucket: str = "chorus-media") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "AWS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="chorus.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")])),
        CHORUS_VAR_DIR=str(tmp_path / f"var-{uuid.uuid4().hex[:6]}"),  # no shared disk
        CHORUS_S3_BUCKET=bucket,
        CHORUS_S3_ENDPOINT_URL=endpoint,
        CHORUS_S3_REGION="us-east-1",
        CHORUS_S3_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        CHORUS_S3_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
    )
    return env


def _chorus(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHORUS), *argv], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_verifies_the_bucket_and_leaves_nothing_in_it(tmp_path, s3_imitation):
    done = _chorus(_env(tmp_path, s3_imitation), "check", "--deploy")

    assert "chorus.E020" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert _client(s3_imitation).list_objects_v2(Bucket="chorus-media")["KeyCount"] == 0


def test_check_deploy_fails_with_a_stable_id_when_the_bucket_is_missing(tmp_path, s3_imitation):
    done = _chorus(_env(tmp_path, s3_imitation, bucket="no-such-bucket"), "check", "--deploy")

    output = done.stdout + done.stderr
    assert "chorus.E020" in output, output
    assert "'no-such-bucket' failed the write test" in output
    assert CREDENTIALS["aws_secret_access_key"] not in output
    assert done.returncode != 0


def test_a_file_saved_by_one_process_is_in_the_bucket_and_read_by_another(tmp_path, s3_imitation):
    saved = _chorus(
        _env(tmp_path, s3_imitation),
        "manage",
        "shell",
        "-c",
        "from django.core.files.base import ContentFile; from django.core.files.storage import default_storage; "
        "name = default_storage.save('media/hello.txt', ContentFile(b'hello from A')); "
        "print(name); print(default_storage.url(name))",
    )
    assert saved.returncode == 0, saved.stderr
    name, url = saved.stdout.strip().splitlines()[-2:]

    body = _client(s3_imitation).get_object(Bucket="chorus-media", Key=name)["Body"].read()
    assert body == b"hello from A"
    assert url.startswith(f"{s3_imitation}/chorus-media/{name}?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url  # a short-lived signed URL
    read = _chorus(
        _env(tmp_path, s3_imitation),  # another var directory: nothing on a shared disk
        "manage",
        "shell",
        "-c",
        f"from django.core.files.storage import default_storage; print(default_storage.open({name!r}).read())",
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip().splitlines()[-1] == "b'hello from A'"
