"""State changes of analytics: scheduled reports, share links and settings (audited)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from chorus.accounts.models import User, Workspace
from chorus.analytics.models import AnalyticsSettings, ScheduledReport, ShareLink
from chorus.analytics.reports import ReportSpec, next_run
from chorus.core import audit
from chorus.media.models import MediaAsset


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def schedule_report(
    *,
    workspace: Workspace,
    name: str,
    frequency: str,
    sections: list[str],
    channel_ids: list[int],
    recipients: str,
    actor: User | None,
) -> ScheduledReport:
    report = ScheduledReport.objects.create(
        workspace=workspace,
        name=name,
        frequency=frequency,
        sections=sections,
        channel_ids=channel_ids,
        recipients=recipients,
        next_run_at=next_run(frequency, workspace.timezone, timezone.now()),
        created_by=actor,
    )
    audit.record(
        "analytics.report_scheduled",
        workspace=workspace,
        actor=actor,
        obj=report,
        frequency=frequency,
        recipients=len(report.recipient_list),
    )
    return report


@transaction.atomic
def delete_scheduled_report(*, report: ScheduledReport, actor: User | None) -> None:
    audit.record(
        "analytics.report_unscheduled", workspace=report.workspace, actor=actor, obj=report, name=report.name
    )
    report.delete()


@transaction.atomic
def create_share_link(
    *, workspace: Workspace, spec: ReportSpec, days: int, actor: User | None
) -> tuple[ShareLink, str]:
    """Returns the link and its raw token (shown once; only the hash is stored)."""
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        workspace=workspace,
        token_hash=hash_token(token),
        spec=spec.to_json(),
        expires_at=timezone.now() + dt.timedelta(days=days),
        created_by=actor,
    )
    audit.record("analytics.share_link_created", workspace=workspace, actor=actor, obj=link, days=days)
    return link, token


@transaction.atomic
def revoke_share_link(*, link: ShareLink, actor: User | None) -> None:
    ShareLink.objects.filter(pk=link.pk).update(revoked=True)
    audit.record("analytics.share_link_revoked", workspace=link.workspace, actor=actor, obj=link)


@transaction.atomic
def set_notable_threshold(*, workspace: Workspace, followers: int, actor: User | None) -> AnalyticsSettings:
    """From how many followers an account that amplified a post counts as notable."""
    found, _ = AnalyticsSettings.objects.update_or_create(
        workspace=workspace, defaults={"notable_followers": followers}
    )
    audit.record(
        "analytics.notable_threshold_set", workspace=workspace, actor=actor, obj=found, followers=followers
    )
    return found


@transaction.atomic
def set_report_logo(
    *, workspace: Workspace, asset: MediaAsset | None, actor: User | None
) -> AnalyticsSettings:
    """The logo on the cover of the workspace's reports (None removes it)."""
    found, _ = AnalyticsSettings.objects.update_or_create(
        workspace=workspace, defaults={"report_logo": asset}
    )
    audit.record(
        "analytics.report_logo_set",
        workspace=workspace,
        actor=actor,
        obj=found,
        media_id=asset.pk if asset else None,
    )
    return found


def share_link_for(token: str) -> ShareLink | None:
    """The live link for a token: None when unknown, revoked or expired."""
    return (
        ShareLink.objects.select_related("workspace")
        .filter(token_hash=hash_token(token), revoked=False, expires_at__gt=timezone.now())
        .first()
    )
