"""Accessibility of the main screens, checked by axe-core (pinned in package.json's
devDependencies, run from node_modules): home, posts list, composer, calendar, inbox, reports,
templates and queue slots, in English and in French, on a desktop (1280×800) and a phone
(390×844): no serious or critical violation.

axe is injected into each page after it has loaded (the context bypasses the page's CSP for that
one script; the page's own scripts still run under it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.publishing import actions
from tests.browser.conftest import TIMEOUT_MS, NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
SCREENS = {
    "home": "/w/{slug}/",
    "posts": "/w/{slug}/posts/",
    "composer": "/w/{slug}/posts/new/",
    "calendar": "/w/{slug}/calendar/",
    "inbox": "/w/{slug}/inbox/",
    "reports": "/w/{slug}/analytics/reports/",
    "templates": "/w/{slug}/templates/",
    "writing rules": "/w/{slug}/writing-rules/",
    "queue": "/w/{slug}/queue/",
}
# Serious and critical only (the bar); moderate and minor are reported by axe too but
# are not asserted here.
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}));
}"""


def _workspace_with_posts(cast: Cast) -> None:
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    for day, text in enumerate(["Harbour wall finished", "Open day on Saturday", "Volunteers wanted"], 1):
        post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[channel], text=text)
        target = post.targets.select_related("workspace", "channel", "post").get()
        actions.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=day))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_main_screens_have_no_serious_or_critical_axe_violation(
    new_page: NewPage, shot: Shot, cast: Cast, live_server: Any, language: str
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (axe-core is a devDependency in package.json).")
    _workspace_with_posts(cast)
    found: list[str] = []
    for device, options in VIEWPORTS.items():
        page = new_page(locale="en-US", bypass_csp=True, **options)
        page.set_default_timeout(2 * TIMEOUT_MS)  # eight full pages and axe on each, on a shared machine
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        assert page.evaluate("() => document.documentElement.lang") == language
        for screen, path in SCREENS.items():
            response = page.goto(path.format(slug=cast.workspace.slug))
            assert response is not None and response.status == 200, (screen, device)
            # Not "networkidle": the calendar and the inbox poll.
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)
            page.add_script_tag(path=str(AXE))
            violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
            for v in violations:
                found.append(
                    f"{screen} ({language}, {device}): {v['impact']} {v['id']} — {v['help']}\n    "
                    + "\n    ".join(v["nodes"])
                )
            print(f"{screen} ({language}, {device}): {len(violations)} serious or critical", flush=True)
            shot(page, f"{screen} {language} {device}")
    assert found == [], "axe-core found:\n" + "\n".join(found)
