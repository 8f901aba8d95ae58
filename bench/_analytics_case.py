"""One analytics benchmark run, in its own process so Django's settings come from this run's
DATABASE_URL. Seeds the database, times the dashboard (month, year) and a month's PDF report,
and a hand-written SQL aggregate of the same figures on the same rows; prints one JSON line.

    python -m bench._analytics_case --posts 100000 --channels 50 --snapshots 30 --days 365
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import time
from typing import Any

from bench._support import log

TZ = "Europe/Paris"
DAY_SNAP_HOUR = 22


def seed(posts: int, channels: int, snapshots: int, days: int) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from django.db import connection, transaction
    from django.utils import timezone

    from chorus.accounts.models import Membership, Organization, User, Workspace
    from chorus.analytics import rollup
    from chorus.analytics.collect import engagement_of, rebuild_account_daily
    from chorus.analytics.models import AccountSnapshot, PostMetrics
    from chorus.channels.models import Channel
    from chorus.content.models import Campaign, Post, PostTarget

    rng = random.Random(7)
    tz = ZoneInfo(TZ)
    started = time.monotonic()
    org = Organization.objects.create(name="Bench", slug="bench")
    ws = Workspace.objects.create(organization=org, name="Bench", slug="bench", timezone=TZ)
    user = User.objects.create_user(email="bench@example.org", password="x")
    Membership.objects.create(workspace=ws, user=user, role="owner")
    authors = [User.objects.create_user(email=f"a{i}@example.org", password=None) for i in range(10)]
    campaigns = [Campaign.objects.create(workspace=ws, name=f"C{i}", slug=f"c{i}") for i in range(5)]
    chans = [
        Channel(workspace=ws, kind="bluesky", name=f"Channel {i:02d}", config={"sample": True})
        for i in range(channels)
    ]
    Channel.objects.bulk_create(chans)
    today = timezone.now().astimezone(tz).date()
    first = today - dt.timedelta(days=days)

    acct = []
    for c in chans:
        level = rng.randint(500, 20000)
        for d in range(days + 1):
            level += rng.randint(-3, 25)
            at = dt.datetime.combine(first + dt.timedelta(days=d), dt.time(DAY_SNAP_HOUR), tz).astimezone(
                dt.UTC
            )
            acct.append(
                AccountSnapshot(
                    workspace=ws,
                    channel=c,
                    taken_at=at,
                    metrics={
                        "followers": level,
                        "reach": rng.randint(100, 5000),
                        "impressions": rng.randint(200, 9000),
                    },
                )
            )
    AccountSnapshot.objects.bulk_create(acct, batch_size=5000)
    rebuild_account_daily([c.pk for c in chans], TZ)
    log(f"seeded {len(acct)} account snapshots")

    batch = 5000
    now = timezone.now()
    snap_sql = "INSERT INTO analytics_postsnapshot (workspace_id, target_id, taken_at, metrics) VALUES (%s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    snap_rows = 0
    for offset in range(0, posts, batch):
        n = min(batch, posts - offset)
        with transaction.atomic():
            when = [
                min(
                    now - dt.timedelta(hours=1),
                    dt.datetime.combine(
                        first + dt.timedelta(days=rng.randrange(days)),
                        dt.time(rng.randrange(7, 22), rng.randrange(60)),
                        tz,
                    ).astimezone(dt.UTC),
                )
                for _ in range(n)
            ]
            post_objs = Post.objects.bulk_create(
                [
                    Post(
                        workspace=ws,
                        author=rng.choice(authors),
                        title=f"Post {offset + i}",
                        campaign=rng.choice([*campaigns, None]),
                        created_at=w,
                    )
                    for i, w in enumerate(when)
                ]
            )
            targets = PostTarget.objects.bulk_create(
                [
                    PostTarget(
                        workspace=ws,
                        post=p,
                        channel=rng.choice(chans),
                        text=p.title,
                        status="published",
                        published_at=w,
                        scheduled_at=w,
                        external_id=f"b{p.pk}",
                    )
                    for p, w in zip(post_objs, when, strict=True)
                ]
            )
            rows, pm = [], []
            for t, published in zip(targets, when, strict=True):
                final = {
                    "likes": rng.randint(0, 200),
                    "reposts": rng.randint(0, 40),
                    "replies": rng.randint(0, 20),
                    "quotes": rng.randint(0, 5),
                    "impressions": rng.randint(100, 20000),
                }
                metrics = final
                for s in range(snapshots):
                    share = (s + 1) / snapshots
                    metrics = {k: int(v * share) for k, v in final.items()}
                    rows.append(
                        (
                            ws.pk,
                            t.pk,
                            adapt(published + dt.timedelta(hours=s * 6 + 1)),
                            json.dumps(metrics),
                        )
                    )
                local = published.astimezone(tz)
                pm.append(
                    PostMetrics(
                        target=t,
                        workspace=ws,
                        channel_id=t.channel_id,
                        campaign_id=t.post.campaign_id,
                        author_id=t.post.author_id,
                        published_at=published,
                        local_day=local.date(),
                        local_weekday=local.weekday(),
                        local_hour=local.hour,
                        collected_at=now,
                        engagement=engagement_of(metrics),
                        **metrics,
                    )
                )
            with connection.cursor() as cursor:
                cursor.executemany(snap_sql, rows)
            PostMetrics.objects.bulk_create(pm)
            snap_rows += len(rows)
        log(f"seeded {offset + n}/{posts} posts, {snap_rows} post snapshots")
    # The rows above were inserted in bulk, as the demo does: the dashboard's rollup cells are
    # computed once from them (collection keeps them up to date one post at a time).
    log(f"rollup: {rollup.rebuild(ws.pk)} cells")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "workspace": ws,
        "user": user,
        "seed_s": round(time.monotonic() - started, 1),
        "post_snapshots": snap_rows,
        "account_snapshots": len(acct),
        "today": today,
    }


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    fn()  # warm-up (connections, templates, caches of the page's first query plan)
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), result


RAW_SQL = {
    # The same figures as the dashboard, hand-written over the same tables: post totals, per
    # channel, per day, previous period, followers at both bounds, account flows, top/bottom 5.
    "totals": """SELECT COUNT(*), SUM(likes), SUM(reposts), SUM(replies), SUM(quotes), SUM(impressions), SUM(engagement),
                 SUM(CASE WHEN impressions IS NOT NULL THEN engagement END)
                 FROM analytics_postmetrics WHERE workspace_id = %s AND local_day BETWEEN %s AND %s""",
    "per_channel": """SELECT channel_id, COUNT(*), SUM(impressions), SUM(engagement) FROM analytics_postmetrics
                      WHERE workspace_id = %s AND local_day BETWEEN %s AND %s GROUP BY channel_id""",
    "per_campaign": """SELECT campaign_id, COUNT(*), SUM(impressions), SUM(engagement) FROM analytics_postmetrics
                      WHERE workspace_id = %s AND local_day BETWEEN %s AND %s GROUP BY campaign_id""",
    "per_author": """SELECT author_id, COUNT(*), SUM(impressions), SUM(engagement) FROM analytics_postmetrics
                      WHERE workspace_id = %s AND local_day BETWEEN %s AND %s GROUP BY author_id""",
    "per_day": """SELECT local_day, COUNT(*), SUM(engagement), SUM(impressions) FROM analytics_postmetrics
                  WHERE workspace_id = %s AND local_day BETWEEN %s AND %s GROUP BY local_day""",
    "top": """SELECT target_id, engagement FROM analytics_postmetrics WHERE workspace_id = %s AND local_day BETWEEN %s AND %s
              AND engagement IS NOT NULL ORDER BY engagement DESC LIMIT 5""",
    "bottom": """SELECT target_id, engagement FROM analytics_postmetrics WHERE workspace_id = %s AND local_day BETWEEN %s AND %s
              AND engagement IS NOT NULL ORDER BY engagement ASC LIMIT 5""",
}


def raw_sql_figures(ws_id: int, start: dt.date, end: dt.date) -> dict[str, Any]:
    from django.db import connection

    from chorus.accounts.models import Workspace
    from chorus.analytics.figures import Filters

    out: dict[str, Any] = {}
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - (end - start)
    ws = Workspace.objects.get(pk=ws_id)
    lo, hi = Filters(ws, start, end).utc_bounds()
    plo, _phi = Filters(ws, prev_start, prev_end).utc_bounds()
    json_get = (
        "json_extract(metrics, '$.%s')" if connection.vendor == "sqlite" else "(metrics->>'%s')::bigint"
    )
    with connection.cursor() as cursor:
        for name, sql in RAW_SQL.items():
            for label, (a, b) in (("", (start, end)), ("prev_", (prev_start, prev_end))):
                if label and name not in ("totals",):
                    continue
                cursor.execute(sql, [ws_id, a, b])
                out[label + name] = cursor.fetchall()
        followers = json_get % "followers"
        for label, bound in (("followers_start", lo), ("followers_end", hi), ("prev_followers_start", plo)):
            cursor.execute(
                f"""SELECT SUM(v) FROM (SELECT (SELECT {followers} FROM analytics_accountsnapshot s
                     WHERE s.channel_id = c.id AND s.taken_at < %s ORDER BY s.taken_at DESC LIMIT 1) AS v
                     FROM channels_channel c WHERE c.workspace_id = %s) x""",
                [bound, ws_id],
            )
            out[label] = cursor.fetchone()[0]
        cursor.execute(
            f"""SELECT SUM({json_get % "reach"}), SUM({json_get % "impressions"}) FROM analytics_accountsnapshot
                WHERE workspace_id = %s AND taken_at >= %s AND taken_at < %s""",
            [ws_id, lo, hi],
        )
        out["flows"] = cursor.fetchone()
        cursor.execute(
            f"""SELECT channel_id, taken_at, {followers} FROM analytics_accountsnapshot
                WHERE workspace_id = %s AND taken_at >= %s AND taken_at < %s ORDER BY taken_at""",
            [ws_id, lo, hi],
        )
        out["followers_series_rows"] = len(cursor.fetchall())
    return out


def mismatches(f: Any, data: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """The dashboard figures that differ from the hand-written SQL's (empty: all agree). The
    breakdowns the page adds (campaign, author) are computed here, outside the timings."""
    from chorus.analytics import figures

    wrong = []
    totals, prev = raw["totals"][0], raw["prev_totals"][0]
    expected = {
        "posts": totals[0],
        "likes": totals[1],
        "reposts": totals[2],
        "replies": totals[3],
        "quotes": totals[4],
        "impressions": totals[5],
        "engagement": totals[6],
    }
    wrong += [f"totals.{k}" for k, v in expected.items() if data["totals"][k] != v]
    # PostgreSQL's SUM of bigint is a numeric (Decimal here): the rate from plain ints.
    rate = figures.ratio(*(None if v is None else int(v) for v in (totals[7], totals[5])))
    if data["totals"]["engagement_rate"] != rate:
        wrong.append("totals.engagement_rate")
    if (data["previous"]["totals"]["posts"], data["previous"]["totals"]["engagement"]) != (prev[0], prev[6]):
        wrong.append("previous.totals")

    def rows(found: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        return {(r["id"], r["posts"], r["impressions"], r["engagement"]) for r in found}

    if rows(data["per_channel"]) != set(raw["per_channel"]):
        wrong.append("per_channel")
    for by in ("campaign", "author"):
        if rows(figures.breakdown(f, by, slim=True)) != set(raw[f"per_{by}"]):
            wrong.append(f"per_{by}")
    daily = {
        (str(r["day"]), r["posts"], r["engagement"], r["impressions"]) for r in data["daily"] if r["posts"]
    }
    if daily != {(str(d), *rest) for d, *rest in raw["per_day"]}:
        wrong.append("per_day")
    # Ties in engagement may order differently: the engagement values must agree.
    for side in ("top", "bottom"):
        if [pm.engagement for pm in data[side]] != [e for _id, e in raw[side]]:
            wrong.append(side)
    if data["accounts"]["followers_end"] != raw["followers_end"]:
        wrong.append("accounts.followers_end")
    if data["accounts"]["followers_start"] != raw["followers_start"]:
        wrong.append("accounts.followers_start")
    if (data["accounts"]["reach"], data["accounts"]["impressions"]) != tuple(raw["flows"]):
        wrong.append("accounts.flows")
    return wrong


def raw_from_snapshots(ws_id: int, start: dt.datetime, end: dt.datetime) -> tuple[float, Any]:
    """The same post totals straight from the raw snapshots (latest per target), no rollup."""
    from django.db import connection

    likes = (
        "json_extract(s.metrics, '$.likes')"
        if connection.vendor == "sqlite"
        else "(s.metrics->>'likes')::bigint"
    )
    sql = f"""SELECT COUNT(*), SUM({likes}) FROM analytics_postsnapshot s JOIN content_posttarget t ON t.id = s.target_id
              WHERE t.workspace_id = %s AND t.published_at >= %s AND t.published_at < %s
              AND s.taken_at = (SELECT MAX(taken_at) FROM analytics_postsnapshot s2 WHERE s2.target_id = s.target_id)"""
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ws_id, start, end])
        row = cursor.fetchone()
    return (time.perf_counter() - t0) * 1000, row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--snapshots", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from chorus.analytics import figures, reports

    url = reverse("analytics:dashboard", args=["bench"])  # imports every view module before the long seeding
    seeded = seed(args.posts, args.channels, args.snapshots, args.days)
    ws, today = seeded["workspace"], seeded["today"]
    client = Client()
    client.force_login(seeded["user"])
    result: dict[str, Any] = {
        "vendor": connection.vendor,
        "posts": args.posts,
        "channels": args.channels,
        "post_snapshots": seeded["post_snapshots"],
        "account_snapshots": seeded["account_snapshots"],
        "seed_s": seeded["seed_s"],
    }
    url = reverse("analytics:dashboard", args=[ws.slug])
    for label, span in (("month", 30), ("year", 365)):
        start = today - dt.timedelta(days=span - 1)
        params = {"start": start.isoformat(), "end": today.isoformat()}

        def page(params: dict[str, str] = params) -> int:
            response = client.get(url, params)
            assert response.status_code == 200, response.status_code
            return len(response.content)

        page_ms, _size = timed(page, args.repeat)
        f = figures.Filters(ws, start, today)
        figures_ms, data = timed(lambda f=f: figures.dashboard(f), args.repeat)
        sql_ms, raw = timed(lambda start=start: raw_sql_figures(ws.pk, start, today), args.repeat)
        totals = raw["totals"][0]
        wrong = mismatches(f, data, raw)
        match = not wrong
        lo, hi = f.utc_bounds()
        snapshots_ms, snap_row = raw_from_snapshots(ws.pk, lo, hi) if label == "month" else (None, None)
        result[label] = {
            "page_ms": round(page_ms, 1),
            "figures_ms": round(figures_ms, 1),
            "sql_ms": round(sql_ms, 1),
            "figures_match_sql": match,
            "mismatches": wrong,
            "posts_in_range": totals[0],
            "raw_snapshots_sql_ms": None if snapshots_ms is None else round(snapshots_ms, 1),
            "raw_snapshots_match": None if snap_row is None else snap_row[1] == data["totals"]["likes"],
        }
        log(
            f"{label}: page {page_ms:.0f} ms, figures {figures_ms:.0f} ms, sql {sql_ms:.0f} ms, match {match}"
        )
    month_start = today - dt.timedelta(days=29)
    spec = reports.ReportSpec(month_start, today)
    pdf_ms, pdf = timed(lambda: reports.render_pdf(reports.build(ws, spec)), max(1, args.repeat // 2))
    result["pdf"] = {"ms": round(pdf_ms, 1), "bytes": len(pdf)}
    log(f"pdf: {pdf_ms:.0f} ms")
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
