"""Creating a boost at the network, one step at a time, at most once.

Each step's row is committed as "sending" before its create call and as "created" (with the
network's id) right after. A retry — after a timeout, a rate limit or a crash — resumes after the
last created object; a step left "sending" is first looked for at the network (`find`, by the
unique name Chorus gave it), so a create that was applied without an answer is adopted, never
sent again: a boost never gets a second campaign.

The claim is a conditional UPDATE (queued -> creating, or a stale claim past its lease): another
worker that read the same boost updates nothing and leaves it alone. No transaction is open
during a network call.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from chorus.ads import actions
from chorus.ads.models import Boost, BoostStep
from chorus.ads.refusals import AdsRefused
from chorus.ads.rules import EU_COUNTRIES
from chorus.connectors.ads import AdPlan, Audience
from chorus.connectors.base import OutcomeUnknown, PublishError, RateLimited, Transient

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a claim older than this belongs to a worker that died


def plan_for(boost: Boost) -> AdPlan:
    channel = boost.account.channel
    audience = Audience.from_dict(boost.audience)
    config = channel.config or {}
    return AdPlan(
        marker=boost.marker,
        account_id=boost.account.external_id,
        currency=boost.currency,
        objective=boost.objective,
        budget_kind=boost.budget_kind,
        budget_minor=boost.budget_minor,
        starts_at=boost.starts_at,
        ends_at=boost.ends_at,
        audience=audience,
        post_external_id=boost.target.external_id,
        placements=tuple(boost.placements),
        social_issue=boost.social_issue,
        disclaimer=boost.disclaimer,
        page_id=str(config.get("page_id") or ""),
        instagram_user_id=str(config.get("ig_user_id") or ""),
        organization=str(config.get("author") or ""),
        extra={
            "eu_targeted": bool(set(audience.countries) & EU_COUNTRIES),
            "beneficiary": boost.disclaimer or channel.name,
            "payer": boost.disclaimer or boost.account.name,
        },
    )


def claim(boost_id: int, now: dt.datetime) -> bool:
    stale = Q(status=Boost.Status.CREATING) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE))
    return bool(
        Boost.objects.filter(pk=boost_id)
        .filter(Q(status=Boost.Status.QUEUED) | stale)
        .update(status=Boost.Status.CREATING, claimed_at=now)
    )


def run(boost_id: int) -> str:
    now = timezone.now()
    if not claim(boost_id, now):
        return "not due"  # another worker has it, or it is not waiting to be created
    boost = Boost.objects.select_related("account__channel", "target", "workspace").get(pk=boost_id)
    if actions.uses_withdrawn_media(boost.target):  # withdrawn while it waited in the queue
        actions.fail_boost(
            boost.pk, code="consent_withdrawn", message=str(AdsRefused("consent_withdrawn").message)
        )
        return "failed"
    client = boost.account.client()
    plan = plan_for(boost)
    rows = {row.step: row for row in boost.steps.all()}
    created = {step: row.external_id for step, row in rows.items() if row.state == BoostStep.State.CREATED}
    try:
        for position, step in enumerate(client.steps):
            if step in created:
                continue
            row = rows.get(step)
            if row is not None:  # sent before without an answer: was it applied?
                found = client.find(step, plan, created)
                if found:
                    created[step] = _record(row, found)
                    continue
                BoostStep.objects.filter(pk=row.pk).update(sent_at=timezone.now())
            else:
                row = BoostStep.objects.create(boost=boost, step=step, position=position)
            created[step] = _record(row, client.create(step, plan, created))
    except RateLimited as exc:
        # Nothing was applied: come back when the network allows (the lease runs out then).
        _pause_claim(boost, exc, timezone.now() - LEASE + dt.timedelta(seconds=exc.retry_after))
        return "rate limited"
    except (Transient, OutcomeUnknown) as exc:
        _pause_claim(boost, exc, None)  # resume_stalled picks it up; OutcomeUnknown is looked up
        return "retry"
    except PublishError as exc:  # refused for good (budget too low, token gone, ad disapproved)
        actions.fail_boost(boost.pk, code=exc.code, message=exc.message)
        return "failed"
    review = client.review(created)
    actions.record_review(boost.pk, review.status, review.reason)
    Boost.objects.filter(pk=boost.pk).update(
        next_insights_at=timezone.now() + dt.timedelta(hours=1), last_error="", last_error_code=""
    )
    return review.status


def _record(row: BoostStep, external_id: str) -> str:
    BoostStep.objects.filter(pk=row.pk).update(
        state=BoostStep.State.CREATED, external_id=external_id, created_at=timezone.now()
    )
    return external_id


def _pause_claim(boost: Boost, exc: PublishError, claimed_at: dt.datetime | None) -> None:
    log.info("boost %s: creation interrupted (%s)", boost.pk, exc.code)
    Boost.objects.filter(pk=boost.pk, status=Boost.Status.CREATING).update(
        claimed_at=claimed_at, last_error=exc.message, last_error_code=exc.code
    )


def resume_stalled() -> int:
    """Scheduler job: boosts whose creation was interrupted (or whose task was lost) are
    enqueued again; the claim in `run` makes a duplicate harmless."""
    from chorus.ads import tasks

    now = timezone.now()
    stalled = Boost.objects.filter(
        Q(status=Boost.Status.CREATING, claimed_at__isnull=True)
        | Q(status=Boost.Status.CREATING, claimed_at__lt=now - LEASE)
        | Q(status=Boost.Status.QUEUED, created_at__lt=now - dt.timedelta(minutes=2))
    ).values_list("pk", flat=True)[:200]
    count = 0
    for boost_id in stalled:
        tasks.create_boost.enqueue(boost_id)
        count += 1
    return count
