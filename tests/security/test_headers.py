"""Headers: a Content-Security-Policy on every page (every workspace page the tenancy walker
lists, the sign-in pages and the API docs), pages without inline event handlers or inline
scripts lacking the nonce (Django adds the nonce to the header when a page uses it), Swagger UI from our own static files, HSTS preload only when asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.test import Client

from tests.security.budget import REPO
from tests.test_tenancy_walk import WORKSPACE_ROUTES, Route, Walk, _url, walk  # noqa: F401 (the fixture)

INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def _check_page(response, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    if policy.startswith("default-src 'none'") and "script-src" not in policy:
        return  # a stored file served with its own stricter policy (media/views.py)
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src and script_src.group(1).startswith("'self'"), f"{where}: {policy!r}"
    assert "unsafe-inline" not in script_src.group(1) and "unsafe-eval" not in script_src.group(1), where
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, where
    if "html" not in response.headers.get("Content-Type", ""):
        return
    html = response.content.decode()
    assert not INLINE_HANDLER.search(html), (
        f"{where}: inline handler {INLINE_HANDLER.search(html).group(0)!r}"
    )
    for attributes in SCRIPT_TAG.findall(html):
        if "src=" in attributes or "application/json" in attributes:
            continue
        # Django puts the nonce in the header only when a template used it.
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce and f'nonce="{nonce.group(1)}"' in attributes, (
            f"{where}: inline script without the nonce"
        )


@pytest.mark.parametrize("route", WORKSPACE_ROUTES, ids=lambda r: r.name)
def test_every_workspace_page_has_a_csp(walk: Walk, db: None, route: Route):  # noqa: F811 (the fixture)
    response = walk.client("owner").get(_url(route, walk))
    if response.status_code in (302, 405):
        return
    _check_page(response, route.name)


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/password/reset/", "/api/docs"])
def test_public_pages_have_a_csp(db, path: str):
    response = Client().get(path)
    assert response.status_code == 200
    _check_page(response, path)


def test_signed_in_pages_have_a_csp(walk: Walk, db: None):  # noqa: F811 (the fixture)
    client = walk.client("owner")
    for path in ("/", "/accounts/profile/", "/accounts/tokens/", "/workspaces/new/"):
        response = client.get(path, follow=True)
        _check_page(response, path)


def test_swagger_ui_is_served_from_our_static_files(db):
    html = Client().get("/api/docs").content.decode()
    assert "swagger-ui-bundle.js" in html
    assert (
        "cdn." not in html and "https://" not in re.sub(r'href="https://[^"]*"', "", html).split("<body")[0]
    )


def _settings(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "CHORUS_HTTPS"))}
    clean.update(env, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import chorus.settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)",
        ],
        capture_output=True,
        text=True,
        env=clean,
        check=True,
    ).stdout.strip()


def test_hsts_preload_only_when_asked_for():
    assert _settings(CHORUS_HTTPS="true") == "31536000 False False"
    assert (
        _settings(CHORUS_HTTPS="true", SECURE_HSTS_PRELOAD="true", SECURE_HSTS_INCLUDE_SUBDOMAINS="true")
        == "31536000 True True"
    )
