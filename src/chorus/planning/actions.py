"""Planning state changes: moving a post on the calendar, issuing and revoking iCal feeds.
Each writes the audit log; a move goes through chorus.publishing.actions.reschedule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.models import User, Workspace
from chorus.content.models import Campaign, PostTarget
from chorus.core import audit
from chorus.core.timeutil import refuse_past, resolve_local, to_local
from chorus.planning.models import FeedToken, new_raw_token, token_hash
from chorus.publishing import actions as publishing
from chorus.publishing.actions import TransitionRefused
from chorus.publishing.quotas import forecast_warnings


@dataclass
class Moved:
    target: PostTarget
    local: dt.datetime  # aware, workspace zone
    note: str = ""  # the DST decision, when there was one
    warnings: list[str] = field(default_factory=list)  # quota forecasts: allowed, but will wait


def move_target(target: PostTarget, *, actor: User | None, local: dt.datetime) -> Moved:
    """Reschedules a scheduled target at a wall time of the workspace (DST rules of
    core.timeutil), after re-checking the channel's rules. Raises TransitionRefused with the
    reason when the move is not allowed."""
    if local.tzinfo is not None:
        raise ValueError("move_target() takes a naive wall time in the workspace's zone")
    if target.status != PostTarget.Status.SCHEDULED:
        if target.status == PostTarget.Status.PUBLISHING:
            raise TransitionRefused(_("Already publishing: this post can no longer be changed."))
        raise TransitionRefused(
            _("Only scheduled posts can be moved; this one is %(status)s.")
            % {"status": target.get_status_display()}
        )
    resolved = resolve_local(local, target.workspace.timezone)
    refuse_past(resolved.utc, target.workspace.timezone)
    problems = target.channel.connector().validate(target)
    if problems:
        raise TransitionRefused("; ".join(p.message for p in problems))
    # reschedule() is a conditional UPDATE on status=scheduled: if the scheduler claimed the
    # target between our read and now, it refuses with "already publishing".
    publishing.reschedule(target, actor=actor, when=resolved.utc, note=resolved.note)
    # Forecast after the move with extra=0: the target is then counted once, at its new time
    # (before it, a move within the window would count it twice). A warning, never a refusal:
    # publishing waits for the window.
    warnings = forecast_warnings(target.channel, resolved.utc, extra=0)
    return Moved(target, to_local(resolved.utc, target.workspace.timezone), resolved.note, warnings)


@transaction.atomic
def issue_feed(
    workspace: Workspace, *, actor: User | None, campaign: Campaign | None = None
) -> tuple[FeedToken, str]:
    """A new secret feed for the workspace or one campaign; the previous one stops working.
    Returns the token row and the raw token (shown once)."""
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ValueError("campaign of another workspace")
    now = timezone.now()
    previous = FeedToken.objects.filter(workspace=workspace, campaign=campaign, revoked_at__isnull=True)
    previous.update(revoked_at=now)
    raw = new_raw_token()
    feed = FeedToken.objects.create(
        workspace=workspace, campaign=campaign, token_hash=token_hash(raw), hint=raw[-6:], created_by=actor
    )
    audit.record(
        "feed.issued", workspace=workspace, actor=actor, obj=feed, campaign=campaign.pk if campaign else None
    )
    return feed, raw


@transaction.atomic
def revoke_feed(feed: FeedToken, *, actor: User | None) -> None:
    if feed.revoked_at is not None:
        return
    feed.revoked_at = timezone.now()
    FeedToken.objects.filter(pk=feed.pk).update(revoked_at=feed.revoked_at)
    audit.record("feed.revoked", workspace=feed.workspace, actor=actor, obj=feed)
