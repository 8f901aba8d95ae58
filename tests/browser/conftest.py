"""Browser fixtures: one headless Debian Chromium for the browser tests of a process (each xdist
worker has its own), a fresh context and page per test, a screenshot per step into
tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import PASSWORD
from tests.test_i18n import ensure_compiled_catalog

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as root in a container: no sandbox, no GPU, no background traffic. No
# --disable-features here: it would replace Playwright's own list.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# A step that takes longer is broken, not slow. 30 s, not 10: on the 2-core CI machine a live
# server's first page, next to the engine and peer processes of the other worker, took over 10 s.
TIMEOUT_MS = 30_000

NewPage = Callable[..., Page]
Shot = Callable[[Page, str], Path]


# Package scope: one browser for all of tests/browser in a process (each xdist worker has its
# own), closed as soon as the run leaves this package. Not session scope: while Playwright is
# up, its event loop counts as running in this thread, so DJANGO_ALLOW_ASYNC_UNSAFE has to be
# set, and it must not stay set for later tests (it leaks into the subprocesses they start,
# and `check --deploy` rightly fails on it).
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-packages` (apt-get install chromium).")
    ensure_compiled_catalog()  # the French flows need the compiled catalog
    # Playwright's event loop "runs" in this thread, which makes Django refuse ORM calls from
    # the test body; the live server serves from its own threads anyway.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[NewPage]:
    """Opens a page in a new browser context (its own cookies: another person, or the same
    person on another device). Contexts are closed after the test."""
    contexts: list[BrowserContext] = []
    # No worker or scheduler runs beside the live server: without their beats every admin page
    # would carry the "background processing has stopped" banner, and every screenshot with it.
    # The banner's own test removes them (test_foundation_flows).
    from chorus.core.models import Heartbeat

    for role in ("worker", "scheduler"):
        Heartbeat.beat(role)

    def open_page(**context_options: Any) -> Page:
        options = {"base_url": live_server.url, "locale": "en-US", "timezone_id": "UTC", **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        # The state each person's page was in when the test failed.
        for index, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=_test_dir(request.node) / f"failed-{index}.png", full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """shot(page, "step name") saves tests/artifacts/<test>/<nn>-<step-name>.png."""
    steps = iter(range(1, 1000))

    def save(page: Page, step: str) -> Path:
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = _test_dir(request.node) / f"{next(steps):02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save


def _test_dir(node: pytest.Item) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", node.nodeid.split("::", 1)[-1])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets fixtures see whether the test body failed (for the failure screenshot).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def go_to(page: Page, group: str, link: str) -> None:
    """Follows a link of the main navigation: opens its group's menu, then clicks the link."""
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text=group).click()
    nav.get_by_role("link", name=link).click()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Signs in through the login form; language-neutral selectors, so it works in French too."""
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_password")).to_have_count(0)
