"""The review queue's queries, shared by the web page and the API: what waits for a decision,
what came back to its author, and the decisions taken."""

from __future__ import annotations

from django.db.models import QuerySet

from chorus.accounts.models import User, Workspace
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent

S = PostTarget.Status
DECISIONS = ("target.approved", "target.rejected")


def waiting(workspace: Workspace) -> QuerySet[PostTarget]:
    """Targets waiting for a decision (in review), the soonest slot first."""
    return (
        PostTarget.objects.filter(workspace=workspace, status=S.IN_REVIEW)
        .select_related("channel", "post", "post__author")
        .order_by("scheduled_at", "updated_at")
    )


def returned(workspace: Workspace, author: User) -> QuerySet[PostTarget]:
    """The author's drafts an approver sent back; `error_message` is the reason."""
    return (
        PostTarget.objects.filter(workspace=workspace, status=S.DRAFT, post__author=author)
        .exclude(error_message="")
        .select_related("channel", "post", "post__author")
        .order_by("-updated_at")
    )


def history(workspace: Workspace, limit: int = 50, offset: int = 0) -> list[AuditEvent]:
    """The latest approvals and rejections, newest first, each with its `target` (None if gone)."""
    events = list(
        AuditEvent.objects.filter(workspace=workspace, action__in=DECISIONS, object_type="content.posttarget")
        .select_related("actor")
        .order_by("-at", "-pk")[offset : offset + limit]
    )
    targets = PostTarget.objects.filter(
        workspace=workspace, pk__in=[int(e.object_id) for e in events if e.object_id.isdigit()]
    ).select_related("channel", "post")
    by_id = {str(t.pk): t for t in targets}
    for event in events:
        event.target = by_id.get(event.object_id)  # type: ignore[attr-defined]
    return events
