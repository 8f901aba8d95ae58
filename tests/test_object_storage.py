"""Media on an S3-compatible bucket, against moto's S3 server mode on 127.0.0.1 — an imitation of
S3 (moto reimplements the S3 API; it is not AWS, nor MinIO). Chorus runs as real `chorus`
subprocesses configured by the environment, as on separate machines."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from tests.engine_fixtures import CHORUS, REPO_DIR

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
CREDENTIALS = {"aws_access_key_id": "imitation-key", "aws_secret_access_key": "imitation-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server mode on 127.0.0.1 (an imitation), one per test session: it takes seconds
    to import, and `s3_imitation` empties it before each test."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 180  # a loaded machine took 40 s to import moto
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"moto_server did not start: {log_path.read_text()}")
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_imitation(moto_s3_server: str) -> str:
    """The imitation emptied (moto's reset endpoint), with an empty bucket "chorus-media"."""
    httpx.post(f"{moto_s3_server}/moto-api/reset", timeout=30).raise_for_status()
    _client(moto_s3_server).create_bucket(Bucket="chorus-media")
    return moto_s3_server


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
        [str(CHORUS), *argv], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=600
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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_migrate_storage_interrupted_halfway_and_resumed_puts_each_file_in_the_bucket_once(
    tmp_path, s3_imitation
):
    env = _env(tmp_path, s3_imitation)
    var = Path(env["CHORUS_VAR_DIR"])
    files: dict[str, bytes] = {}
    for i in range(40):
        data = os.urandom(32 * 1024 + i)
        sha = _sha(data)
        files[f"workspaces/1/{sha[:2]}/{sha}.jpg"] = data
    files["workspaces/1/thumbs/a.webp"] = b"thumbnail"
    for name, data in files.items():
        (var / "media" / name).parent.mkdir(parents=True, exist_ok=True)
        (var / "media" / name).write_bytes(data)
    (var / "private" / "workspaces/1/originals").mkdir(parents=True)
    (var / "private" / "workspaces/1/originals/o.jpg").write_bytes(b"as uploaded")
    s3 = _client(s3_imitation)
    stale = sorted(files)[-1]  # a copy an earlier attempt left different: replaced, not renamed
    s3.put_object(Bucket="chorus-media", Key=stale, Body=b"partial")

    # Interrupted without warning after 15 files.
    run = subprocess.Popen(
        [str(CHORUS), "media", "migrate-storage", "--to", "bucket"],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert run.stdout is not None
    copied = 0
    for line in run.stdout:
        copied += line.startswith("copied: ")
        if copied == 15:
            run.kill()
            break
    run.wait(timeout=30)
    halfway = {o["Key"] for o in s3.list_objects_v2(Bucket="chorus-media").get("Contents", [])}
    assert 15 <= len(halfway) < len(files), len(halfway)

    resumed = _chorus(env, "media", "migrate-storage", "--to", "bucket")

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    summary = resumed.stdout.strip().splitlines()[-1]
    already = int(summary.split(" already there")[0].rsplit(", ", 1)[1])
    assert already >= 15, summary  # what the first run copied is verified, not copied again
    listed = s3.list_objects_v2(Bucket="chorus-media")["Contents"]
    keys = [o["Key"] for o in listed]
    assert sorted(keys) == sorted([*files, "private/workspaces/1/originals/o.jpg"])  # each once
    for name, data in files.items():
        assert _sha(s3.get_object(Bucket="chorus-media", Key=name)["Body"].read()) == _sha(data), name

    # And back, onto another machine's empty disk; private originals stay out of MEDIA_ROOT.
    other = _env(tmp_path, s3_imitation)
    back = _chorus(other, "media", "migrate-storage", "--to", "local")
    assert back.returncode == 0, back.stdout + back.stderr
    media = Path(other["CHORUS_VAR_DIR"]) / "media"
    for name, data in files.items():
        assert _sha((media / name).read_bytes()) == _sha(data), name
    assert not (media / "private").exists()
    assert (
        Path(other["CHORUS_VAR_DIR"]) / "private/workspaces/1/originals/o.jpg"
    ).read_bytes() == b"as uploaded"
