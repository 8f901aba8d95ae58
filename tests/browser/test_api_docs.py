"""/api/docs works offline: Swagger UI from our own static files renders every operation of the
schema while the browser may reach nothing but Chorus, under the pages' Content-Security-Policy.

The page is opened under a host name that is not localhost (mapped to the live server by the
browser's resolver), as a real installation is: Swagger UI treats localhost specially (its
online-validator badge, an image from validator.swagger.io, is never shown there).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from playwright.sync_api import Browser, Route

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, Shot

pytestmark = pytest.mark.browser

DOCS_HOST = "chorus-docs.test"


def _operations() -> int:
    schema = json.loads(Client().get("/api/openapi.json").content)
    methods = {"get", "post", "put", "patch", "delete"}
    return sum(1 for item in schema["paths"].values() for method in item if method in methods)


def test_the_api_docs_page_renders_every_operation_without_any_outside_host(
    browser: Browser, live_server: Any, settings: Any, db: None, shot: Shot
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, DOCS_HOST]
    port = urlsplit(live_server.url).port
    offline = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        chromium_sandbox=False,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1"],
    )
    outside: list[str] = []
    problems: list[str] = []

    def only_chorus(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == DOCS_HOST:
            route.continue_()
        else:
            outside.append(url)
            route.abort("internetdisconnected")

    try:
        context = offline.new_context(base_url=f"http://{DOCS_HOST}:{port}", locale="en-US")
        context.set_default_timeout(2 * TIMEOUT_MS)  # a 1.4 MB bundle on a shared machine
        context.route("**/*", only_chorus)
        page = context.new_page()
        # Chromium reports Django's Cross-Origin-Opener-Policy header as ignored on plain http to
        # a host other than localhost: true of the test's address, not of the page.
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and "Cross-Origin-Opener-Policy header has been ignored" not in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        # Swagger UI's bundle is 1.4 MB, served by the test server from the static files.
        response = page.goto("/api/docs")
        assert response is not None and response.status == 200
        page.locator(".opblock").first.wait_for()
        page.wait_for_load_state("networkidle")
        expected = _operations()
        assert expected > 50
        assert page.locator(".opblock").count() == expected
        assert page.locator(".info .title").inner_text().startswith("Chorus API")
        # The worked example of the description is there, with the token command.
        assert "chorus token create" in page.locator(".info .description").inner_text()
        shot(page, "api docs offline")
        assert outside == [], f"the docs page reached outside hosts: {outside}"
        assert problems == [], f"errors on the docs page: {problems}"
        assert page.locator(".validator-badge, img[src*='validator']").count() == 0
    finally:
        offline.close()
