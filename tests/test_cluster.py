"""The scaled shape as several machines: two `chorus web`, two `chorus worker` (Celery) and two
`chorus scheduler` processes, each with its OWN var directory (no shared disk), on PostgreSQL +
Redis + an S3-compatible bucket — moto's S3 server mode on 127.0.0.1, an imitation of S3 — and the
real local Bluesky PDS.

An image uploaded through web A is listed and served by web B; a post with it is published by a
worker to the sink and to the PDS (the worker reads the image from the bucket); a PDF report is
downloaded through web B; a login throttle tripped on web A holds on web B.

It runs in the scaled pass of `make test` (`make test-scaled`: PostgreSQL + Celery); the SQLite
pass deselects it (there is no server database for separate machines to share), and a direct run
in that shape fails saying how to run it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

from chorus.accounts.actions import issue_api_token
from chorus.channels.actions import connect_channel
from chorus.connectors.bluesky.connector import BlueskyConnector
from chorus.content.models import PostTarget
from chorus.core import vault
from chorus.media.models import MediaAsset
from tests.conftest import PASSWORD, Cast
from tests.connectors.bluesky.test_bluesky_peer import create_account
from tests.engine_fixtures import (  # noqa: F401
    Role,
    empty_broker,
    engine_env,
    engine_redis_url,
    group_rss_mib,
    start_role,
    wait_for,
)
from tests.peers.bluesky import BlueskyNetwork
from tests.sink.models import SinkPost
from tests.test_object_storage import (  # noqa: F401
    CREDENTIALS,
    _client,
    _free_port,
    moto_s3_server,
    s3_imitation,
)

pytestmark = [
    pytest.mark.peer,
    pytest.mark.engine,
    pytest.mark.scaled_only,
    pytest.mark.django_db(transaction=True),
]

READY = {"web": "Booting worker", "worker": " ready.", "scheduler": "scheduler started"}


@pytest.fixture
def cluster_env(engine_env, empty_broker, s3_imitation, settings) -> dict[str, str]:  # noqa: F811
    if connection.vendor != "postgresql" or settings.CHORUS_TASK_BACKEND != "celery":
        # `make test` deselects it from the SQLite pass (marker `scaled_only`); a direct run in the
        # wrong shape fails and says how to run it, rather than passing as skipped.
        pytest.fail(
            "the cluster runs on PostgreSQL + Celery: run it with DATABASE_URL=postgres://… "
            "CHORUS_TASK_BACKEND=celery REDIS_URL=redis://…/15 (`make test-scaled` does)"
        )
    # Real password hashing: the cluster's processes do not know the suite's fast MD5 hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    return {
        **engine_env,
        "SECRET_KEY": settings.SECRET_KEY,  # the same secrets on every machine
        "CHORUS_FERNET_KEYS": ",".join(vault._configured_keys()),
        "CHORUS_S3_BUCKET": "chorus-media",
        "CHORUS_S3_ENDPOINT_URL": s3_imitation,
        "CHORUS_S3_REGION": "us-east-1",
        "CHORUS_S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "CHORUS_S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "CHORUS_ALLOW_PRIVATE_URLS": "true",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "ALLOWED_HOSTS": "127.0.0.1",
    }


class Cluster:
    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env, self.tmp_path, self.roles = env, tmp_path, []  # type: ignore[var-annotated]

    def start(self, name: str, role: str, *args: str) -> Role:
        var = self.tmp_path / f"var-{name}"  # a machine of its own: nothing on a shared disk
        started = start_role(
            name,
            [role, *args],
            {**self.env, "CHORUS_VAR_DIR": str(var)},
            self.tmp_path,
            READY[role],
            timeout=300,
        )
        self.roles.append(started)
        return started

    def stop(self) -> None:
        for role in reversed(self.roles):
            role.stop()


def _login(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=180, follow_redirects=False)
    _post_login(client, email, password)
    return client


def _post_login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return client.post(
        "/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{client.base_url}/accounts/login/"},
    )


def _database_connections() -> int:
    """Connections to the test database other than this test process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_two_machines_share_files_publishing_reports_and_throttles(
    cluster_env: dict[str, str],
    cast: Cast,
    bluesky_network: BlueskyNetwork,
    s3_imitation: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    owner = cast.owner
    owner.set_password(PASSWORD)
    owner.save()
    author = create_account(bluesky_network)
    result = BlueskyConnector.begin_connect(
        {
            "handle": f"@{author.handle}",
            "app_password": author.password,
            "service": bluesky_network.pds_url,
            "appview": bluesky_network.appview_url,
        },
        callback_url="",
        state="",
    )
    bluesky = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=owner,
    )
    sink = connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={"token": "t"}, actor=owner
    )
    _token, raw_token = issue_api_token(user=owner, name="cluster test")
    slug = cast.workspace.slug

    cluster = Cluster(cluster_env, tmp_path)
    try:
        port_a, port_b = _free_port(), _free_port()
        cluster.start("web-a", "web", "--bind", f"127.0.0.1:{port_a}")
        cluster.start("web-b", "web", "--bind", f"127.0.0.1:{port_b}")
        for n in (1, 2):
            cluster.start(f"worker-{n}", "worker", "--concurrency", "1")
            cluster.start(f"scheduler-{n}", "scheduler")
        up = time.monotonic() - started
        web_a = _login(f"http://127.0.0.1:{port_a}", owner.email, PASSWORD)
        web_b = httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=180, cookies=web_a.cookies)

        # An image uploaded through web A ...
        image = _png()
        uploaded = web_a.post(
            f"/w/{slug}/media/upload/",
            files={"files": ("march.png", image, "image/png")},
            headers={"Accept": "application/json", "X-CSRFToken": web_a.cookies["csrftoken"]},
        )
        assert uploaded.status_code == 200, uploaded.text
        asset_id = uploaded.json()["results"][0]["id"]
        asset = MediaAsset.objects.get(pk=asset_id)
        stored = _client(s3_imitation).get_object(Bucket="chorus-media", Key=asset.path)["Body"].read()
        on_disk = [f for n in ("web-a", "web-b") for f in (tmp_path / f"var-{n}" / "media").rglob("*.*")]
        assert on_disk == []  # in the bucket only

        # ... is listed and served, file and thumbnail, by web B (another machine's disk).
        library = web_b.get(f"/w/{slug}/media/")
        assert library.status_code == 200 and "march.png" in library.text
        served = web_b.get(f"/w/{slug}/media/{asset_id}/file/")
        assert served.status_code == 200 and served.content == stored
        thumb = web_b.get(f"/w/{slug}/media/{asset_id}/thumb/")
        assert thumb.status_code == 200 and thumb.content[:4] == b"RIFF"  # WebP

        # Published through a worker, to the sink and the real PDS: the worker reads the bucket.
        api_b = httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=180)  # the token alone
        created = api_b.post(
            f"/api/workspaces/{slug}/posts",
            json={
                "text": "Across machines",
                "channel_ids": [sink.pk, bluesky.pk],
                "media": [{"media_id": asset_id, "alt": "A blue square"}],
                "schedule": {"mode": "now"},
            },
            headers={"Authorization": f"Bearer {raw_token}"},
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        targets = PostTarget.objects.filter(post_id=post_id)

        def settled() -> bool:
            return all(t.status in ("published", "failed", "unknown") for t in targets.all())

        wait_for(settled, timeout=180, what="both targets to be published")
        assert sorted(targets.values_list("status", flat=True)) == ["published", "published"]
        assert SinkPost.objects.filter(channel_id=sink.pk).count() == 1
        on_pds = targets.get(channel=bluesky)
        did, _coll, rkey = on_pds.external_id.removeprefix("at://").split("/")
        record = httpx.get(
            f"{bluesky_network.pds_url}/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
        ).json()["value"]
        assert record["text"] == "Across machines"
        assert record["embed"]["images"][0]["alt"] == "A blue square"
        published_in = time.monotonic() - started
        measured = {role.name: group_rss_mib(role.pid) for role in cluster.roles}
        connections = _database_connections()

        # A PDF report, downloaded through web B.
        today = dt.date.today()
        report = web_b.get(
            f"/w/{slug}/analytics/reports/export/",
            params=[
                ("start", str(today - dt.timedelta(days=30))),
                ("end", str(today)),
                ("format", "pdf"),
                *[("sections", key) for key in ("summary", "growth", "channels", "top_posts")],
            ],
        )
        assert report.status_code == 200, report.text[:300]
        assert report.headers["content-type"] == "application/pdf" and report.content[:5] == b"%PDF-"

        # A login throttle tripped on web A holds on web B, even with the right password.
        victim = cast.members["editor"]
        victim.set_password(PASSWORD)
        victim.save()
        for _attempt in range(5):
            _post_login(
                httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=180), victim.email, "wrong"
            )
        refused = _post_login(
            httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=180), victim.email, PASSWORD
        )
        assert refused.status_code == 200 and "sessionid" not in refused.cookies  # not signed in
        assert "Too many failed sign-ins" in refused.text, refused.text[:2000]
    finally:
        cluster.stop()
    print(
        f"\ncluster: 6 processes up in {up:.1f}s, published in {published_in:.1f}s, "
        f"whole test {time.monotonic() - started:.1f}s; database connections of the cluster after "
        f"publishing: {connections}; RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in measured.items())
    )
    assert settings.CHORUS_TASK_BACKEND == "celery"
