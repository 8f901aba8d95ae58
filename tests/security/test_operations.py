"""Operations: each instance keeps gunicorn's control socket under its own var dir; outside
review audit rows record the proxy-aware client address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.test import Client

from chorus.approvals.actions import issue_link
from chorus.core.models import AuditEvent
from tests.security.budget import REPO


def _argv_in(var_dir: Path) -> list[str]:
    env = {**os.environ, "CHORUS_VAR_DIR": str(var_dir), "PYTHONPATH": str(REPO / "src")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, "-c", "from chorus.cli import web_argv; print('\\n'.join(web_argv('127.0.0.1:0')))"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.splitlines()
    return out


def test_two_instances_keep_their_own_gunicorn_control_socket(tmp_path: Path):
    first, second = _argv_in(tmp_path / "one"), _argv_in(tmp_path / "two")
    sockets = [argv[argv.index("--control-socket") + 1] for argv in (first, second)]
    assert sockets == [str(tmp_path / "one" / "gunicorn.ctl"), str(tmp_path / "two" / "gunicorn.ctl")]


def test_outside_review_audit_rows_record_the_proxy_aware_address(cast, settings, sink_channel):
    from chorus.publishing.actions import create_post

    settings.CHORUS_TRUSTED_PROXY_COUNT = 1
    target = create_post(
        workspace=cast.workspace, author=cast.owner, channels=[sink_channel], text="x"
    ).targets.get()
    _link, raw = issue_link(target, actor=cast.owner, name="Reviewer")
    response = Client().get(f"/review/{raw}/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert response.status_code == 200
    rows = AuditEvent.objects.filter(action__startswith="review_link").exclude(data__ip=None)
    ips = {e.ip for e in AuditEvent.objects.filter(workspace=cast.workspace)} | {
        str(e.data.get("ip")) for e in rows
    }
    assert "203.0.113.77" in ips
    assert "10.0.0.2" not in {str(e.data.get("ip")) for e in AuditEvent.objects.all() if e.data.get("ip")}
