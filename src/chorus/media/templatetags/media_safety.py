"""{% consent_alerts workspace %}: withdrawn consents of the last 30 days and the posts still to
act on, for the workspace home (the team sees a contributor's withdrawal where it starts the day)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from chorus.media.models import MediaConsent, WithdrawalStep

register = template.Library()


@register.inclusion_tag("media/_consent_alerts.html")
def consent_alerts(workspace: Any) -> dict[str, Any]:
    since = timezone.now() - dt.timedelta(days=30)
    withdrawn = list(
        MediaConsent.objects.filter(workspace=workspace, withdrawn_at__gte=since)
        .exclude(state=MediaConsent.State.ACTIVE)
        .select_related("asset", "contributor")
        .order_by("-withdrawn_at")[:20]
    )
    open_steps = WithdrawalStep.objects.filter(
        workspace=workspace, step__in=[WithdrawalStep.Step.TO_DELETE, WithdrawalStep.Step.DELETE_FAILED]
    ).count()
    return {"workspace": workspace, "withdrawn": withdrawn, "open_steps": open_steps}
