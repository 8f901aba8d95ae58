"""The library's read side: one filtered, keyset-paginated query per page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from chorus.accounts.models import Workspace
from chorus.media.models import MediaAsset

PAGE_SIZE = 48


@dataclass
class Filters:
    q: str = ""
    kind: str = ""
    folder: int | None = None
    tag: str = ""
    before: int | None = None  # keyset cursor: assets with a smaller id (newest first)
    usable_only: bool = False  # what the composer may use (chorus.media.consent.usable)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Filters:
        def as_int(value: str | None) -> int | None:
            return int(value) if value and value.isdigit() else None

        kind = params.get("kind", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            kind=kind if kind in MediaAsset.Kind.values else "",
            folder=as_int(params.get("folder")),
            tag=params.get("tag", "").strip()[:60],
            before=as_int(params.get("before")),
        )

    def query_string(self, **override: object) -> str:
        from urllib.parse import urlencode

        values = {"q": self.q, "kind": self.kind, "folder": self.folder, "tag": self.tag} | override
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


@dataclass
class Page:
    assets: list[MediaAsset]
    next_before: int | None
    filters: Filters
    usage: dict[int, int] = field(default_factory=dict)


def search(workspace: Workspace, filters: Filters) -> QuerySet[MediaAsset]:
    rows = MediaAsset.objects.filter(workspace=workspace)
    if filters.usable_only:
        from chorus.media.consent import usable

        rows = usable(rows, workspace)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.folder is not None:
        rows = rows.filter(folder_id=filters.folder)
    if filters.tag:
        rows = rows.filter(tags__name=filters.tag)
    words = filters.q.casefold().split()[:5]
    indexed = [w for w in words if len(w) >= 3]
    if indexed and connection.vendor == "sqlite":
        # The FTS5 trigram index (migration 0002) finds substrings of 3+ characters without
        # scanning every row; shorter words fall back to LIKE on the rows it returned.
        match = " AND ".join('"' + w.replace('"', '""') + '"' for w in indexed)
        rows = rows.filter(
            id__in=RawSQL("SELECT rowid FROM media_search WHERE media_search MATCH %s", [match])
        )
        words = [w for w in words if len(w) < 3]
    for word in words:
        rows = rows.filter(search_text__contains=word)
    return rows


def page(workspace: Workspace, filters: Filters, size: int = PAGE_SIZE, offset: int = 0) -> Page:
    """One page, newest first. Keyset pagination (id < cursor) so page 500 costs what page 1
    does, and no COUNT(*) over a LIKE scan."""
    from chorus.media.actions import usage_counts

    rows = search(workspace, filters)
    if filters.before is not None:
        rows = rows.filter(pk__lt=filters.before)
    assets = list(
        rows.order_by("-id").only(
            "id",
            "file",
            "original_name",
            "thumbnail",
            "kind",
            "mime_type",
            "width",
            "height",
            "duration",
            "alt_text",
            "size",
        )[offset : offset + size + 1]
    )
    more = len(assets) > size
    assets = assets[:size]
    usage = usage_counts(a.pk for a in assets)
    for asset in assets:
        asset.used_in = usage.get(asset.pk, 0)  # type: ignore[attr-defined]
    return Page(
        assets=assets, next_before=assets[-1].pk if more and assets else None, filters=filters, usage=usage
    )
