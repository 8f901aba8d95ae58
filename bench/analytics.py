"""Analytics: a year of daily account snapshots for 50 channels and 100,000 posts with 30
snapshots each (quick: 10,000 posts), on a throwaway SQLite database (and PostgreSQL when one
answers on 127.0.0.1:5432).

Measured (median of 5, after a warm-up):
- dashboard for a month and for a year: the full page (`GET /w/<ws>/analytics/`, every figure,
  comparison with the previous period, breakdowns, chart data, template) through Django's test
  client. Goal < 300 ms.
- a month's PDF report (figures, two matplotlib charts, WeasyPrint). Goal < 5 s.
- baseline: a hand-written SQL aggregate of the same dashboard figures on the same database and
  rows (post totals, per channel/campaign/author/day, top/bottom, previous period, followers at
  both bounds, account flows, follower series rows). ratio = page / baseline (lower is better).
  `figures_match_sql` checks the page's numbers equal the SQL's.
- diagnostic: the month's post totals straight from the raw snapshots (latest per target, no
  rollup table), to show what the rollup saves.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from bench._support import PYTHON, REPO_DIR, PostgresDatabases, SqliteDatabases, base_env, log, workdir

SIZES = {False: 10_000, True: 100_000}
DASHBOARD_GOAL_MS = 300.0
PDF_GOAL_MS = 5000.0


def _case(env: dict[str, str], url: str, posts: int) -> dict[str, Any]:
    argv = [PYTHON, "-m", "bench._analytics_case", "--posts", str(posts)]
    proc = subprocess.run(
        argv, env={**env, "DATABASE_URL": url}, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"analytics case on {url.split(':')[0]} crashed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _lines(raw: dict[str, Any], full: bool) -> list[dict[str, Any]]:
    common = {
        "db": raw["vendor"],
        "posts": raw["posts"],
        "post_snapshots": raw["post_snapshots"],
        "account_snapshots": raw["account_snapshots"],
        "channels": raw["channels"],
        "size": "full" if full else "quick (10,000 posts instead of 100,000)",
    }
    out = []
    for span in ("month", "year"):
        r = raw[span]
        out.append(
            {
                "bench": f"analytics/{raw['vendor']}/dashboard-{span}",
                "value": r["page_ms"],
                "unit": "ms",
                "baseline": r["sql_ms"],
                "ratio": round(r["page_ms"] / r["sql_ms"], 2) if r["sql_ms"] else None,
                "goal": f"dashboard page < {DASHBOARD_GOAL_MS:.0f} ms",
                "ok": r["page_ms"] < DASHBOARD_GOAL_MS and r["figures_match_sql"],
                **r,
                **common,
            }
        )
    month_sql = raw["month"]["sql_ms"]
    out.append(
        {
            "bench": f"analytics/{raw['vendor']}/pdf-month",
            "value": raw["pdf"]["ms"],
            "unit": "ms",
            "baseline": month_sql,
            "ratio": round(raw["pdf"]["ms"] / month_sql, 2) if month_sql else None,
            "goal": f"month PDF report < {PDF_GOAL_MS:.0f} ms",
            "ok": raw["pdf"]["ms"] < PDF_GOAL_MS,
            "pdf_bytes": raw["pdf"]["bytes"],
            **common,
        }
    )
    return out


def _postgres_up() -> bool:
    try:
        import psycopg

        from bench._support import PG_ADMIN_DSN

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


def run(full: bool) -> list[dict[str, Any]]:
    """BENCH_ANALYTICS_DBS=sqlite,postgres (default both) picks the databases."""
    posts = SIZES[full]
    wanted = os.environ.get("BENCH_ANALYTICS_DBS", "sqlite,postgres").split(",")
    results: list[dict[str, Any]] = []
    with workdir("analytics") as work:
        env = base_env(work)
        if "sqlite" in wanted:
            sqlite = SqliteDatabases(work, env)
            log(f"sqlite: {posts} posts")
            results += _guarded("sqlite", lambda: _lines(_case(env, sqlite.fresh(), posts), full))
        if "postgres" in wanted and _postgres_up():
            postgres = PostgresDatabases(work, env)
            try:
                log(f"postgres: {posts} posts")
                results += _guarded("postgresql", lambda: _lines(_case(env, postgres.fresh(), posts), full))
            finally:
                postgres.close()
        elif "postgres" in wanted:
            results.append(
                {"bench": "analytics/postgresql", "ok": False, "skipped": "no PostgreSQL on 127.0.0.1:5432"}
            )
    return results


def _guarded(db: str, run_one: Any) -> list[dict[str, Any]]:
    """One database's crash is reported on its own line; the other database still runs."""
    try:
        lines: list[dict[str, Any]] = run_one()
        return lines
    except Exception as exc:
        return [{"bench": f"analytics/{db}", "ok": False, "crashed": f"{type(exc).__name__}: {exc}"}]
