"""Keeping the dashboard's rollup (PostRollup cells) equal to the PostMetrics rows it sums.

A cell is (workspace, dimension, local publish day, key). Whenever a PostMetrics row is created,
updated or deleted, or a post's tags change, the cells it belongs to are recomputed from their
PostMetrics rows — never incremented — so a snapshot collected twice, late or out of order
cannot count twice: the cell is whatever its posts' latest figures add up to. Bulk loads (the
demo, the benchmark) insert PostMetrics rows directly and call `rebuild` once.

Concurrency: two workers may update two posts of the same cell at once. Each recomputes the
cell after locking it (SELECT ... FOR UPDATE on PostgreSQL; SQLite serializes writers), so the
second one waits for the first to commit and its aggregate then sees both posts. Cells are
locked in one global order (sorted), so two writers never wait on each other in a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum

from chorus.analytics.models import POST_METRICS, PostMetrics, PostRollup

Dimension = PostRollup.Dimension
ROLLUP_METRICS = (*POST_METRICS, "engagement")
# A cell: (workspace id, dimension, local day, key); key 0 is "no campaign" / "no author".
Cell = tuple[int, str, dt.date, int]
# The PostMetrics column each dimension's key comes from (tags: the post's tags).
DIMENSION_FIELDS = {
    Dimension.CHANNEL: "channel_id",
    Dimension.CAMPAIGN: "campaign_id",
    Dimension.AUTHOR: "author_id",
    Dimension.TAG: "target__post__tags",
}


def aggregates() -> dict[str, Any]:
    """What a cell holds, as aggregates over PostMetrics rows (the same as figures.py's), named
    `cell_<field>` (an aggregate may not take the name of a column it reads)."""
    aggs: dict[str, Any] = {"cell_posts": Count("id")}
    for name in ROLLUP_METRICS:
        aggs[f"cell_{name}"] = Sum(name)
    aggs["cell_engaged_with_impressions"] = Sum("engagement", filter=Q(impressions__isnull=False))
    return aggs


def cell_fields(sums: dict[str, Any]) -> dict[str, Any]:
    return {name.removeprefix("cell_"): value for name, value in sums.items() if name.startswith("cell_")}


def tags_of_targets(target_ids: Iterable[int]) -> dict[int, list[int]]:
    from chorus.content.models import PostTarget

    tags: dict[int, list[int]] = defaultdict(list)
    for target_id, tag_id in PostTarget.objects.filter(pk__in=list(target_ids)).values_list(
        "pk", "post__tags"
    ):
        if tag_id is not None:
            tags[target_id].append(tag_id)
    return tags


def cells_of(row: PostMetrics, tag_ids: Iterable[int]) -> set[Cell]:
    ws, day = row.workspace_id, row.local_day
    cells: set[Cell] = {
        (ws, Dimension.CHANNEL, day, row.channel_id),
        (ws, Dimension.CAMPAIGN, day, row.campaign_id or 0),
        (ws, Dimension.AUTHOR, day, row.author_id or 0),
    }
    cells.update((ws, Dimension.TAG, day, tag_id) for tag_id in tag_ids)
    return cells


def rows_of_cell(cell: Cell) -> QuerySet[PostMetrics]:
    ws, dimension, day, key = cell
    rows = PostMetrics.objects.filter(workspace_id=ws, local_day=day)
    if dimension == Dimension.CHANNEL:
        return rows.filter(channel_id=key)
    if dimension == Dimension.CAMPAIGN:
        return rows.filter(campaign_id=key) if key else rows.filter(campaign_id__isnull=True)
    if dimension == Dimension.AUTHOR:
        return rows.filter(author_id=key) if key else rows.filter(author_id__isnull=True)
    return rows.filter(target__post__tags=key)


def refresh_cells(cells: Iterable[Cell]) -> None:
    """Recomputes each cell from its PostMetrics rows; a cell left without posts is deleted."""
    with transaction.atomic():
        for cell in sorted(cells):
            ws, dimension, day, key = cell
            this = PostRollup.objects.filter(workspace_id=ws, dimension=dimension, day=day, key=key)
            if not this.select_for_update().exists():
                # Insert it empty so there is a row to lock; another writer's insert of the same
                # cell makes this one do nothing (and wait for that writer on PostgreSQL).
                PostRollup.objects.bulk_create(
                    [PostRollup(workspace_id=ws, dimension=dimension, day=day, key=key)],
                    ignore_conflicts=True,
                )
                this.select_for_update().exists()
            sums = cell_fields(rows_of_cell(cell).aggregate(**aggregates()))
            if sums["posts"]:
                this.update(**sums)
            else:
                this.delete()


def refresh_rows(rows: Iterable[PostMetrics]) -> None:
    """Refreshes every cell these PostMetrics rows belong to (their posts' current tags included)."""
    rows = list(rows)
    tags = tags_of_targets(r.target_id for r in rows)
    cells: set[Cell] = set()
    for row in rows:
        cells |= cells_of(row, tags.get(row.target_id, ()))
    refresh_cells(cells)


def rebuild(workspace_id: int, *, metrics_model: Any = PostMetrics, rollup_model: Any = PostRollup) -> int:
    """Recomputes every cell of a workspace at once (after bulk loads; the migration that fills
    the rollup passes its historical models). Returns the cell count."""
    base = metrics_model.objects.filter(workspace_id=workspace_id)
    cells = []
    for dimension, field in DIMENSION_FIELDS.items():
        for grouped in base.values("local_day", field).annotate(**aggregates()).order_by():
            key = grouped[field]
            if key is None and dimension == Dimension.TAG:
                continue  # an untagged post has no tag cell
            cells.append(
                rollup_model(
                    workspace_id=workspace_id,
                    dimension=dimension,
                    day=grouped["local_day"],
                    key=key or 0,
                    **cell_fields(grouped),
                )
            )
    with transaction.atomic():
        rollup_model.objects.filter(workspace_id=workspace_id).delete()
        rollup_model.objects.bulk_create(cells, batch_size=2000)
    return len(cells)


# --- signals: changes that do not go through collect.py -------------------------------------


def _workspace_goes(origin: Any) -> bool:
    """True when the delete started at a workspace or organization: its cells go with it."""
    from chorus.accounts.models import Organization, Workspace

    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return model in (Workspace, Organization)


def on_metrics_pre_delete(sender: Any, instance: PostMetrics, origin: Any = None, **kwargs: Any) -> None:
    if not _workspace_goes(origin):
        # The post's tags, read while they are still there (a deleted post takes them along).
        instance._rollup_tags = tags_of_targets([instance.target_id]).get(instance.target_id, [])  # type: ignore[attr-defined]


def on_metrics_deleted(sender: Any, instance: PostMetrics, origin: Any = None, **kwargs: Any) -> None:
    if _workspace_goes(origin):
        return
    refresh_cells(cells_of(instance, getattr(instance, "_rollup_tags", ())))


def on_tags_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Post.tags changed (post.tags.add/remove/set/clear, or tag.posts.…): refresh the tag cells
    of the posts' metrics rows."""
    from chorus.content.models import Post

    if action == "pre_clear":
        # Remember what is cleared: post_clear does not say.
        through = Post.tags.through.objects
        if reverse:
            instance._rollup_cleared = set(
                through.filter(tag_id=instance.pk).values_list("post_id", flat=True)
            )
        else:
            instance._rollup_cleared = set(
                through.filter(post_id=instance.pk).values_list("tag_id", flat=True)
            )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    changed = set(pk_set or ()) if action != "post_clear" else getattr(instance, "_rollup_cleared", set())
    if not changed:
        return
    post_ids, tag_ids = (changed, {instance.pk}) if reverse else ({instance.pk}, changed)
    rows = PostMetrics.objects.filter(target__post_id__in=post_ids)
    refresh_cells(
        {
            (ws, Dimension.TAG, day, tag_id)
            for ws, day in rows.values_list("workspace_id", "local_day").distinct()
            for tag_id in tag_ids
        }
    )


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, pre_delete

    from chorus.content.models import Post

    pre_delete.connect(on_metrics_pre_delete, sender=PostMetrics, dispatch_uid="analytics-rollup-pre-delete")
    post_delete.connect(on_metrics_deleted, sender=PostMetrics, dispatch_uid="analytics-rollup-delete")
    m2m_changed.connect(on_tags_changed, sender=Post.tags.through, dispatch_uid="analytics-rollup-tags")
