"""Export posts as rows the importer reads back: one row per post and time, channels joined
with `|`, per-channel text as `text:<channel>` columns (CSV) or an `overrides` object (JSON)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

from django.db.models import QuerySet

from chorus.accounts.models import Workspace
from chorus.content.models import PostTarget
from chorus.core.spreadsheet import safe_row
from chorus.core.timeutil import to_local


def targets_for(
    workspace: Workspace,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    campaign_id: int | None = None,
    channel_id: int | None = None,
) -> QuerySet[PostTarget]:
    rows = PostTarget.objects.filter(workspace=workspace, scheduled_at__isnull=False)
    if start:
        rows = rows.filter(scheduled_at__gte=start)
    if end:
        rows = rows.filter(scheduled_at__lt=end)
    if campaign_id:
        rows = rows.filter(post__campaign_id=campaign_id)
    if channel_id:
        rows = rows.filter(channel_id=channel_id)
    return (
        rows.select_related("channel", "post", "post__campaign")
        .prefetch_related("post__tags")
        .order_by("scheduled_at", "post_id", "channel_id")
    )


def export_items(workspace: Workspace, targets: QuerySet[PostTarget]) -> list[dict[str, Any]]:
    groups: dict[tuple[int, dt.datetime], list[PostTarget]] = {}
    for target in targets:
        assert target.scheduled_at is not None
        groups.setdefault((target.post_id, target.scheduled_at), []).append(target)
    from chorus.media.models import MediaAsset

    ids = {m["media_id"] for t in targets for m in t.media if isinstance(m, dict) and m.get("media_id")}
    names = dict(
        MediaAsset.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", "original_name")
    )
    items = []
    for (_post, when), group in groups.items():
        base = Counter(t.text for t in group).most_common(1)[0][0]
        post = group[0].post
        items.append(
            {
                "date": to_local(when, workspace.timezone).isoformat(timespec="minutes"),
                "channels": [t.channel.name for t in group],
                "text": base,
                "media": [
                    names.get(int(m.get("media_id") or 0), "") for m in group[0].media if isinstance(m, dict)
                ],
                "campaign": post.campaign.name if post.campaign else "",
                "tags": sorted(t.name for t in post.tags.all()),
                "overrides": {t.channel.name: t.text for t in group if t.text != base},
                "status": group[0].status,
            }
        )
    return items


def as_csv(items: list[dict[str, Any]]) -> str:
    override_names = sorted({name for item in items for name in item["overrides"]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "date",
            "channels",
            "text",
            "media",
            "campaign",
            "tags",
            "status",
            *[f"text:{n}" for n in override_names],
        ]
    )
    for item in items:
        writer.writerow(
            safe_row(
                [
                    item["date"],
                    "|".join(item["channels"]),
                    item["text"],
                    "|".join(item["media"]),
                    item["campaign"],
                    "|".join(item["tags"]),
                    item["status"],
                    *[item["overrides"].get(n, "") for n in override_names],
                ]
            )
        )
    return out.getvalue()
