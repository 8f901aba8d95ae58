"""`chorus demo`: a realistic sample workspace, clearly marked as sample data.

Everything is invented: the channels carry fake credentials and `config["sample"] = True`, so the
collector never calls a network for them. The numbers follow each network's real metric set
(Bluesky and Mastodon give no impressions: those stay "not available"); the WordPress channels
carry page views as impressions, as a site with a stats plugin reports them.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from chorus.accounts.models import Membership, Organization, User, Workspace
from chorus.accounts.permissions import Role
from chorus.analytics import rollup
from chorus.analytics.collect import engagement_of, local_parts, rebuild_account_daily
from chorus.analytics.models import POST_METRICS, AccountSnapshot, Amplification, PostMetrics, PostSnapshot
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTarget, Tag, refresh_first_at
from chorus.core import audit

WORKSPACE_NAME = "Sample: Global campaign"
WORKSPACE_SLUG = "sample-global-campaign"
TZ = "Europe/Paris"

CHANNELS = [  # kind, name, followers at start, daily growth, engagement scale
    ("bluesky", "Bluesky · English", 4200, 9.0, 30),
    ("bluesky", "Bluesky · Français", 1900, 5.0, 18),
    ("mastodon", "Mastodon · English", 3100, 4.0, 22),
    ("mastodon", "Mastodon · Français", 1500, 2.5, 12),
    ("wordpress", "Website · News", 0, 0.0, 4),
    ("wordpress", "Website · Stories (FR)", 0, 0.0, 3),
]
PEOPLE = [
    ("amira.sample@example.org", "Amira (sample)", Role.EDITOR),
    ("jonas.sample@example.org", "Jonas (sample)", Role.APPROVER),
    ("lea.sample@example.org", "Léa (sample)", Role.CONTRIBUTOR),
    ("kofi.sample@example.org", "Kofi (sample)", Role.CONTRIBUTOR),
    ("mei.sample@example.org", "Mei (sample)", Role.CONTRIBUTOR),
    ("partner.sample@example.org", "Partner (sample)", Role.VIEWER),
]
TAGS = ["climate", "water", "education", "health", "volunteers", "events"]
TOPICS = [
    "A new well in the village of {place}",
    "Meet the volunteers of {place}",
    "Why {place} plants 10,000 trees this year",
    "Back to school in {place}",
    "A clinic opens its doors in {place}",
    "Live from our event in {place}",
]
PLACES = ["Dakar", "Lyon", "Recife", "Nairobi", "Hanoi", "Quito", "Tunis", "Oslo", "Lima", "Accra"]
# Invented accounts that repost or quote sample posts (handle, display name, followers).
AMPLIFIERS = [
    ("dailyplanet.sample", "The Daily Planet (sample)", 182_000),
    ("worldwater.sample", "World Water Watch (sample)", 46_500),
    ("radio-sud.sample", "Radio Sud (sample)", 12_800),
    ("climate-desk.sample", "Climate Desk (sample)", 9_400),
    ("amina.sample", "Amina K. (sample)", 860),
    ("teacher-lyon.sample", "A teacher in Lyon (sample)", 310),
]
SNAPSHOT_AGES_H = (1, 6, 24, 48, 24 * 7, 24 * 30)
# Hours (local) that do better: people read at breakfast, lunch and early evening.
HOUR_WEIGHT = {8: 1.3, 9: 1.2, 12: 1.4, 13: 1.2, 18: 1.5, 19: 1.3}


def _metrics(kind: str, scale: float, rng: random.Random) -> dict[str, int]:
    if kind == "wordpress":
        views = int(scale * 60 * rng.uniform(0.5, 1.6))
        return {"impressions": views, "reach": int(views * 0.8), "comments": int(scale * rng.uniform(0, 1.2))}
    likes = int(scale * rng.uniform(0.6, 1.5))
    out = {
        "likes": likes,
        "reposts": int(likes * rng.uniform(0.1, 0.35)),
        "replies": int(likes * rng.uniform(0.05, 0.2)),
    }
    if kind == "bluesky":
        out["quotes"] = int(likes * rng.uniform(0, 0.06))
    return out


def _grown(final: dict[str, int], age_h: float) -> dict[str, int]:
    share = 1 - math.exp(-age_h / 14)  # most interactions come in the first day
    return {k: round(v * share) for k, v in final.items()}


def _sample_amplifiers(
    workspace: Workspace, rows: list[PostMetrics], now: dt.datetime, rng: random.Random
) -> None:
    """A few invented accounts reposted or quoted some Bluesky and Mastodon posts (their own
    random stream: the metrics above stay what they were)."""
    amps, read = [], []
    for row in rows:
        kind = row.target.channel.kind
        shared = (row.reposts or 0) + (row.quotes or 0)
        if kind not in ("bluesky", "mastodon") or not shared or rng.random() > 0.08:
            continue
        for handle, name, followers in rng.sample(AMPLIFIERS, min(shared, rng.randint(1, 2))):
            quote = kind == "bluesky" and rng.random() < 0.3  # Mastodon lists no quotes
            seen = row.published_at + dt.timedelta(hours=rng.randint(1, 30))
            amps.append(
                Amplification(
                    workspace=workspace,
                    target=row.target,
                    channel_id=row.channel_id,
                    kind=Amplification.Kind.QUOTE if quote else Amplification.Kind.REPOST,
                    account_id=f"sample:{handle}",
                    handle=f"@{handle}",
                    display_name=name,
                    followers=followers,
                    url=f"https://example.org/sample/{handle}/{row.target.pk}" if quote else "",
                    first_seen_at=min(seen, now),
                    last_seen_at=now,
                )
            )
        row.amplified_count, row.amplifiers_checked_at = shared, now
        read.append(row)
    Amplification.objects.bulk_create(amps, batch_size=2000)
    PostMetrics.objects.bulk_update(read, ["amplified_count", "amplifiers_checked_at"], batch_size=2000)


def _owners() -> list[User]:
    return list(User.objects.filter(is_superuser=True))


@transaction.atomic
def load_demo(
    *, days: int = 365, posts_per_day: int = 3, seed: int = 2026, owner: User | None = None
) -> Workspace:
    """Replaces the sample workspace with a fresh one covering the last `days` days."""
    rng = random.Random(seed)
    existing = Workspace.objects.filter(slug=WORKSPACE_SLUG).first()
    if existing is not None:
        if not existing.name.startswith("Sample:"):  # never delete a real workspace
            raise ValueError(f"The workspace /w/{WORKSPACE_SLUG}/ exists and is not sample data.")
        existing.delete()
    org, _ = Organization.objects.get_or_create(
        slug="sample-organisation", defaults={"name": "Sample organisation"}
    )
    workspace = Workspace.objects.create(
        organization=org, name=WORKSPACE_NAME, slug=WORKSPACE_SLUG, timezone=TZ
    )
    tz = ZoneInfo(TZ)
    owners = [owner] if owner else _owners()
    for user in owners:
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    people = []
    for email, name, role in PEOPLE:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=None, name=name
        )
        Membership.objects.create(workspace=workspace, user=user, role=role)
        people.append(user)
    writers = [
        u for u, (_e, _n, r) in zip(people, PEOPLE, strict=True) if r in (Role.EDITOR, Role.CONTRIBUTOR)
    ]

    today = timezone.now().astimezone(tz).date()
    first_day = today - dt.timedelta(days=days)
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Global campaign",
        slug="global-campaign",
        starts_on=first_day,
        goal="1,000 stories from the field, told on every network.",
    )
    appeal = Campaign.objects.create(
        workspace=workspace,
        name="Spring appeal",
        slug="spring-appeal",
        color="#1a7f37",
        starts_on=first_day + dt.timedelta(days=days // 3),
        ends_on=first_day + dt.timedelta(days=days // 3 + 45),
    )
    tags = [Tag.objects.create(workspace=workspace, name=name) for name in TAGS]
    channels = []
    for kind, name, _f, _g, _s in CHANNELS:
        channel = Channel(workspace=workspace, kind=kind, name=name, config={"sample": True, "handle": name})
        channel.credentials = {"token": "sample-not-a-real-token"}
        channel.save()
        channels.append(channel)

    # Daily account snapshots at 23:30 local time.
    snapshots = []
    for channel, (kind, _n, followers, growth, _s) in zip(channels, CHANNELS, strict=True):
        level = float(followers)
        for i in range(days + 1):
            day = first_day + dt.timedelta(days=i)
            at = dt.datetime.combine(day, dt.time(23, 30), tz).astimezone(dt.UTC)
            level += growth * rng.uniform(0.2, 1.8) - (growth * 0.3 if rng.random() < 0.1 else 0)
            if kind == "wordpress":
                metrics = {"posts": 40 + i // 3}
            else:
                metrics = {"followers": int(level), "following": 300 + i // 10, "posts": 500 + i * 2}
            snapshots.append(
                AccountSnapshot(workspace=workspace, channel=channel, taken_at=at, metrics=metrics)
            )
    AccountSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    rebuild_account_daily([c.pk for c in channels], TZ)

    now = timezone.now()
    targets: list[PostTarget] = []
    finals: list[tuple[PostTarget, dict[str, int]]] = []
    post_tags: list[Any] = []
    for i in range(days):
        day = first_day + dt.timedelta(days=i)
        for _ in range(posts_per_day):
            hour = rng.choice([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
            local = dt.datetime.combine(day, dt.time(hour, rng.choice([0, 15, 30, 45])), tz)
            published_at = local.astimezone(dt.UTC)
            if published_at > now:
                continue
            in_appeal = appeal.starts_on <= day <= appeal.ends_on  # type: ignore[operator]
            title = rng.choice(TOPICS).format(place=rng.choice(PLACES))
            post = Post.objects.create(
                workspace=workspace,
                author=rng.choice(writers),
                title=title,
                campaign=appeal if in_appeal and rng.random() < 0.6 else campaign,
                created_at=published_at,
            )
            post_tags.extend(
                Post.tags.through(post_id=post.pk, tag_id=t.pk) for t in rng.sample(tags, rng.randint(1, 2))
            )
            for channel, (kind, _n, _f, _g, scale) in rng.sample(
                list(zip(channels, CHANNELS, strict=True)), rng.randint(1, 3)
            ):
                weight = (
                    HOUR_WEIGHT.get(hour, 1.0) * (1.25 if local.weekday() in (1, 3) else 1.0) * (1 + i / days)
                )
                target = PostTarget(
                    workspace=workspace,
                    post=post,
                    channel=channel,
                    text=title,
                    status=PostTarget.Status.PUBLISHED,
                    scheduled_at=published_at,
                    published_at=published_at,
                    created_at=published_at,
                    external_id=f"sample-{post.pk}-{channel.pk}",
                    options={"sample": True},
                )
                targets.append(target)
                finals.append((target, _metrics(kind, scale * weight, rng)))
    Post.tags.through.objects.bulk_create(post_tags, batch_size=2000)
    PostTarget.objects.bulk_create(targets, batch_size=1000)
    refresh_first_at(t.post_id for t in targets)

    post_snapshots, rows = [], []
    for target, final in finals:
        assert target.published_at is not None
        last: dict[str, Any] = {}
        for age in SNAPSHOT_AGES_H:
            at = target.published_at + dt.timedelta(hours=age)
            if at > now:
                break
            last = _grown(final, age)
            post_snapshots.append(PostSnapshot(workspace=workspace, target=target, taken_at=at, metrics=last))
        if not last:
            continue
        rows.append(
            PostMetrics(
                target=target,
                workspace=workspace,
                channel_id=target.channel_id,
                campaign_id=target.post.campaign_id,
                author_id=target.post.author_id,
                published_at=target.published_at,
                collected_at=now,
                **local_parts(target.published_at, TZ),
                **{k: last.get(k) for k in POST_METRICS},
                engagement=engagement_of(last),
            )
        )
    PostSnapshot.objects.bulk_create(post_snapshots, batch_size=2000)
    PostMetrics.objects.bulk_create(rows, batch_size=2000)
    from chorus.experiments import demo as experiments_demo  # one concluded, one running

    experiments_demo.load(workspace, owners[0])
    rollup.rebuild(workspace.pk)
    _sample_amplifiers(workspace, rows, now, random.Random(seed + 1))
    audit.record("analytics.demo_loaded", workspace=workspace, days=days, targets=len(targets))
    return workspace
