"""Short-link redirects per second: `/l/<code>` (one indexed SELECT, the click buffered, a 302)
through the full Django stack (middleware included) with the test client, against a static 302
view measured the same way in the same run and process (the floor of the stack itself). The
product's background click writer runs meanwhile (every CHORUS_CLICK_FLUSH_SECONDS = 1 s, in this
process, on the same database), so its INSERTs are paid inside the measured time.

Runs in its own process (`python -m bench.links --measure`) on a fresh migrated SQLite copy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, workdir

GOAL_RATIO = 0.5  # a redirect with its click insert at least half as fast as a bare 302
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("links") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        env["BENCH_LINKS_REQUESTS"] = str(20_000 if full else 3_000)
        env["CHORUS_CLICK_FLUSH_SECONDS"] = "1"  # the product's writer (the test settings have none)
        proc = subprocess.run(
            [PYTHON, "-m", "bench.links", "--measure"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"links measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


def _rate(client: Any, path: str, requests: int, agent: str = BROWSER) -> float:
    for _ in range(50):  # warm-up: imports, URL resolver and connection
        client.get(path, HTTP_USER_AGENT=agent)
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(path, HTTP_USER_AGENT=agent)
        assert response.status_code == 302, response.status_code
    return requests / (time.perf_counter() - started)


def measure() -> list[dict[str, Any]]:
    import os

    import django

    django.setup()
    from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
    from django.test import Client
    from django.urls import clear_url_caches, path

    from chorus import urls
    from chorus.accounts.models import Organization, Workspace
    from chorus.links import clicks
    from chorus.links.models import Click, ShortLink

    def static_redirect(request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect("https://example.org/?utm_source=bench")

    urls.urlpatterns.insert(0, path("bench-static-302", static_redirect))
    clear_url_caches()

    requests = int(os.environ.get("BENCH_LINKS_REQUESTS", "3000"))
    org = Organization.objects.create(name="Bench", slug="bench")
    ws = Workspace.objects.create(organization=org, name="Bench", slug="bench", timezone="Europe/Paris")
    # Many links, so the code lookup is a real index probe, not a scan of one row.
    ShortLink.objects.bulk_create(
        ShortLink(workspace=ws, code=f"c{i:06d}", target_url=f"https://example.org/{i}?utm_source=bench")
        for i in range(10_000)
    )
    client = Client()
    baseline = _rate(client, "/bench-static-302", requests)
    log(f"static 302: {baseline:.0f} req/s")
    uncounted = _rate(client, "/l/c004242", requests, agent="Twitterbot/1.0")
    log(f"short-link redirect for a bot (SELECT only, no click): {uncounted:.0f} req/s")
    value = _rate(client, "/l/c004242", requests)
    written_by_then = Click.objects.count()  # by the background writer, during the measurement
    clicks.flush()  # what a stop would write
    counted = Click.objects.count()
    log(f"short-link redirect: {value:.0f} req/s, {counted} clicks counted, {written_by_then} by the writer")
    assert counted == requests + 50
    ratio = value / baseline
    return [
        {
            "bench": "short_link_redirect",
            "value": round(value, 1),
            "unit": "redirects/s",
            "baseline": round(baseline, 1),
            "ratio": round(ratio, 3),
            "goal": f"ratio >= {GOAL_RATIO} (vs a static 302 view, same stack, same run)",
            "ok": ratio >= GOAL_RATIO,
            "requests": requests,
            "bot_redirects_per_s": round(uncounted, 1),  # the same path without recording a click
            "clicks_written_during_run": written_by_then,
            "database": "sqlite",
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
    else:
        for result in run(full=False):
            print(json.dumps(result))
