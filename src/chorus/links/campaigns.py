"""Read side of campaign pages: progress and posts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from chorus.content.models import Campaign, PostTarget


@dataclass(frozen=True)
class Progress:
    total: int
    scheduled: int
    published: int

    @property
    def percent_published(self) -> int:
        return round(100 * self.published / self.total) if self.total else 0


def progress(campaign: Campaign) -> Progress:
    """Counted per post target (one post on one channel), the unit that is scheduled and published."""
    row = PostTarget.objects.filter(workspace_id=campaign.workspace_id, post__campaign=campaign).aggregate(
        total=Count("id"),
        scheduled=Count("id", filter=Q(status=PostTarget.Status.SCHEDULED)),
        published=Count("id", filter=Q(status=PostTarget.Status.PUBLISHED)),
    )
    return Progress(total=row["total"], scheduled=row["scheduled"], published=row["published"])


def targets(campaign: Campaign, limit: int = 300) -> list[PostTarget]:
    return list(
        PostTarget.objects.filter(workspace_id=campaign.workspace_id, post__campaign=campaign)
        .select_related("post", "channel")
        .order_by("scheduled_at", "pk")[:limit]
    )
