"""Every change to paid reach goes through here: audit rows, budget reservations, tasks on commit.

Budget reservations (why no race): a boost reserves, in one transaction, what it may be billed
in each month it touches with a conditional UPDATE — `reserved + amount <= limit` in the WHERE
clause. On PostgreSQL a concurrent UPDATE of the same row waits for the first to commit and then
re-checks the condition against the new value; on SQLite the IMMEDIATE transaction serializes
writers. Exactly the boosts that fit are accepted. A refusal raised inside the transaction
rolls back the months already reserved.

Network calls (reading an account, pausing, changing a budget) happen outside transactions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from chorus import webhooks
from chorus.accounts.models import Membership, User, Workspace
from chorus.accounts.permissions import Perm, can
from chorus.ads import rules
from chorus.ads.models import AdAccount, AdBudget, Boost, CampaignAdBudget, MonthSpend, SavedAudience
from chorus.ads.refusals import AdsRefused
from chorus.approvals import boosts as approval
from chorus.channels.models import Channel
from chorus.connectors.ads import Audience
from chorus.connectors.base import Feature
from chorus.content.models import Campaign, PostTarget
from chorus.core import audit
from chorus.core.notify import notify

MANAGEABLE = {
    "pause": ({Boost.Status.ACTIVE, Boost.Status.IN_REVIEW}, Boost.Status.PAUSED, "paused"),
    "resume": ({Boost.Status.PAUSED}, Boost.Status.ACTIVE, "active"),
    "stop": (
        {Boost.Status.ACTIVE, Boost.Status.IN_REVIEW, Boost.Status.PAUSED},
        Boost.Status.STOPPED,
        "stopped",
    ),
}


def _announce(boost: Boost, old: str, new: str, reason: str = "") -> None:
    """ad.status_changed, inside the caller's transaction (sent on commit). The move to
    `creating` (Chorus's own step between queued and the network's review) is not announced."""
    if old == new:
        return

    def data() -> dict[str, Any]:
        from chorus.webhooks.events import boost_status_data

        fresh = Boost.objects.select_related("workspace", "target", "account__channel").get(pk=boost.pk)
        return boost_status_data(fresh, old, new, reason)

    webhooks.emit(boost.workspace_id, "ad.status_changed", data)


# --- ad accounts and budgets ---------------------------------------------------------------------
def connect_ad_account(
    workspace: Workspace,
    *,
    actor: User | None,
    channel: Channel,
    external_id: str,
    access_token: str = "",
    token_expires_at: int | None = None,
) -> AdAccount:
    """Reads the account from the network (currency, zone, status, spend cap) and keeps it.
    An account already connected for this channel is refreshed, its token replaced (a Meta
    login's user token carries `token_expires_at`; a pasted system-user token does not expire)."""
    if channel.workspace_id != workspace.pk:
        raise AdsRefused("wrong_account")
    if Feature.ADS not in type(channel.connector()).features:
        raise AdsRefused("not_boostable", network=channel.kind)
    info = channel.connector().ads(external_id.strip(), access_token.strip() or None).account()
    values = {
        "name": info.name[:200],
        "currency": info.currency,
        "timezone": info.timezone,
        "status": info.status,
        "spend_cap_minor": info.spend_cap_minor,
        "min_daily_budget_minor": info.min_daily_budget_minor,
        "refreshed_at": timezone.now(),
        "last_error": "",
    }
    with transaction.atomic():
        account, created = AdAccount.objects.update_or_create(
            workspace=workspace, channel=channel, external_id=info.external_id, defaults=values
        )
        if access_token.strip():
            account.credentials = {"access_token": access_token.strip()} | (
                {"expires_at": int(token_expires_at)} if token_expires_at else {}
            )
            # Public, so the pages and the warning job read it without decrypting: a new token
            # (a new login) starts a new warning.
            account.token_expires_at = (
                dt.datetime.fromtimestamp(int(token_expires_at), tz=dt.UTC) if token_expires_at else None
            )
            account.expiry_warned_for = None
            account.save(update_fields=["credentials_encrypted", "token_expires_at", "expiry_warned_for"])
        audit.record(
            "ads.account_connected" if created else "ads.account_refreshed",
            workspace=workspace,
            actor=actor,
            obj=account,
            external_id=account.external_id,
            currency=account.currency,
            status=account.status,
        )
    return account


def refresh_ad_account(account: AdAccount, *, actor: User | None) -> AdAccount:
    credentials = account.credentials
    return connect_ad_account(
        account.workspace,
        actor=actor,
        channel=account.channel,
        external_id=account.external_id,
        access_token=credentials.get("access_token", ""),
        token_expires_at=credentials.get("expires_at"),  # the same token: the same expiry
    )


def token_warning_days() -> int:
    from django.conf import settings

    return int(getattr(settings, "CHORUS_AD_TOKEN_WARN_DAYS", 7))


def expiring_accounts(workspace: Workspace, now: dt.datetime | None = None) -> list[AdAccount]:
    """Ad accounts whose own token expires within the warning window (or has expired): the
    accounts page, the home and the warning job list them."""
    now = now or timezone.now()
    return list(
        AdAccount.objects.filter(
            workspace=workspace,
            token_expires_at__isnull=False,
            token_expires_at__lte=now + dt.timedelta(days=token_warning_days()),
        )
        .select_related("channel")
        .order_by("token_expires_at")
    )


def warn_expiring_tokens(now: dt.datetime | None = None) -> int:
    """Scheduler job (hourly): the ad-account managers of each account whose token expires within
    CHORUS_AD_TOKEN_WARN_DAYS are told once per token (a reconnect brings a new expiry and a new
    warning). Safe to run twice: the conditional update on `expiry_warned_for` decides which
    scheduler tells them. Returns how many accounts were warned."""
    now = now or timezone.now()
    due = AdAccount.objects.filter(
        token_expires_at__isnull=False,
        token_expires_at__lte=now + dt.timedelta(days=token_warning_days()),
    ).select_related("workspace", "channel")
    warned = 0
    for account in due:
        if account.expiry_warned_for == account.token_expires_at:
            continue
        with transaction.atomic():
            claimed = AdAccount.objects.filter(
                pk=account.pk,
                token_expires_at=account.token_expires_at,
                expiry_warned_for=account.expiry_warned_for,
            ).update(expiry_warned_for=account.token_expires_at)
            if claimed != 1:
                continue  # another scheduler told them, or the account was reconnected meanwhile
            assert account.token_expires_at is not None
            days = max(0, (account.token_expires_at - now).days)
            managers = [
                m.user
                for m in Membership.objects.filter(workspace_id=account.workspace_id).select_related("user")
                if can(m.role, Perm.MANAGE_AD_ACCOUNTS)
            ]
            audit.record_raw(
                "ads.token_expiring",
                workspace_id=account.workspace_id,
                object_type="ads.adaccount",
                object_id=str(account.pk),
                expires_at=account.token_expires_at.isoformat(),
            )
            notify(
                managers,
                workspace=account.workspace,
                kind="ads.token_expiring",
                title=gettext("The ad account %(name)s must be reconnected") % {"name": account.name},
                body=ngettext(
                    "Its access expires in %(days)s day: log in with Meta again on the ad accounts page.",
                    "Its access expires in %(days)s days: log in with Meta again on the ad accounts page.",
                    days,
                )
                % {"days": days},
                url=reverse("ads:accounts", kwargs={"slug": account.workspace.slug}),
            )
            warned += 1
    return warned


def set_ad_budget(
    workspace: Workspace,
    *,
    actor: User | None,
    currency: str,
    monthly_limit_minor: int,
    approval_threshold_minor: int | None,
) -> AdBudget:
    if monthly_limit_minor < 0 or (approval_threshold_minor is not None and approval_threshold_minor < 0):
        raise AdsRefused("bad_budget")
    values = {
        "currency": currency.upper()[:3],
        "monthly_limit_minor": monthly_limit_minor,
        "approval_threshold_minor": approval_threshold_minor,
    }
    with transaction.atomic():
        budget, _created = AdBudget.objects.update_or_create(workspace=workspace, defaults=values)
        audit.record("ads.budget_set", workspace=workspace, actor=actor, obj=budget, **values)
    return budget


def set_campaign_ad_budget(campaign: Campaign, *, actor: User | None, limit_minor: int) -> CampaignAdBudget:
    if limit_minor < 0:
        raise AdsRefused("bad_budget")
    with transaction.atomic():
        budget, _created = CampaignAdBudget.objects.update_or_create(
            campaign=campaign, defaults={"workspace_id": campaign.workspace_id, "limit_minor": limit_minor}
        )
        audit.record(
            "ads.campaign_budget_set",
            workspace=campaign.workspace,
            actor=actor,
            obj=campaign,
            limit_minor=limit_minor,
        )
    return budget


def save_audience(
    workspace: Workspace, *, actor: User | None, name: str, network: str, audience: dict[str, Any]
) -> SavedAudience:
    clean = Audience.from_dict(audience).as_dict()
    with transaction.atomic():
        saved = SavedAudience.objects.create(
            workspace=workspace,
            name=name.strip()[:120] or gettext("Audience"),
            network="linkedin" if network == "linkedin" else "meta",
            audience=clean,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit.record("ads.audience_saved", workspace=workspace, actor=actor, obj=saved, name=saved.name)
    return saved


# --- reservations ----------------------------------------------------------------------------------
def _reserve(workspace: Workspace, budget: AdBudget, amounts: dict[str, int]) -> None:
    """Inside the caller's transaction: reserves each month or raises budget_exceeded."""
    for key, amount in sorted(amounts.items()):
        if amount <= 0:
            continue
        row, _created = MonthSpend.objects.get_or_create(workspace=workspace, month=rules.month_start(key))
        fits = MonthSpend.objects.filter(
            pk=row.pk, reserved_minor__lte=budget.monthly_limit_minor - amount
        ).update(reserved_minor=F("reserved_minor") + amount)
        if not fits:
            reserved = MonthSpend.objects.values_list("reserved_minor", flat=True).get(pk=row.pk)
            currency = budget.currency
            raise AdsRefused(
                "budget_exceeded",
                amount=rules.money(amount, currency),
                month=rules.month_label(key),
                reserved=rules.money(reserved, currency),
                limit=rules.money(budget.monthly_limit_minor, currency),
                left=rules.money(max(0, budget.monthly_limit_minor - reserved), currency),
            )


def _reserve_campaign(campaign: Campaign | None, amount: int, currency: str) -> None:
    if campaign is None or amount <= 0:
        return
    budget = CampaignAdBudget.objects.filter(campaign=campaign).first()
    if budget is None:
        return
    fits = CampaignAdBudget.objects.filter(
        pk=budget.pk, reserved_minor__lte=F("limit_minor") - amount
    ).update(reserved_minor=F("reserved_minor") + amount)
    if not fits:
        budget.refresh_from_db()
        raise AdsRefused(
            "campaign_budget_exceeded",
            amount=rules.money(amount, currency),
            campaign=campaign.name,
            reserved=rules.money(budget.reserved_minor, currency),
            limit=rules.money(budget.limit_minor, currency),
            left=rules.money(max(0, budget.limit_minor - budget.reserved_minor), currency),
        )


def _release(boost: Boost, amounts: dict[str, int], campaign_amount: int | None = None) -> None:
    for key, amount in amounts.items():
        if amount:
            MonthSpend.objects.filter(workspace_id=boost.workspace_id, month=rules.month_start(key)).update(
                reserved_minor=F("reserved_minor") - amount
            )
    total = sum(amounts.values()) if campaign_amount is None else campaign_amount
    if boost.campaign_id and total:
        CampaignAdBudget.objects.filter(campaign_id=boost.campaign_id).update(
            reserved_minor=F("reserved_minor") - total
        )


# --- boosting ----------------------------------------------------------------------------------------
def request_boost(
    target: PostTarget,
    *,
    actor: User | None,
    account: AdAccount,
    objective: str,
    budget_kind: str,
    budget_minor: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    audience: dict[str, Any],
    saved_audience: SavedAudience | None = None,
    placements: list[str] | tuple[str, ...] = (),
    social_issue: bool = False,
    authorized: bool = False,
    disclaimer: str = "",
    campaign: Campaign | None = None,
) -> Boost:
    """Checks the rules and the budgets, reserves, and either queues the boost's creation or
    holds it for an approver (above the workspace's threshold)."""
    workspace = target.workspace
    if target.status != PostTarget.Status.PUBLISHED or not target.external_id:
        raise AdsRefused("not_published")
    if account.workspace_id != workspace.pk or account.channel_id != target.channel_id:
        raise AdsRefused("wrong_account")
    if uses_withdrawn_media(target):
        raise AdsRefused("consent_withdrawn")
    if media_outside_ads_consent(target):
        raise AdsRefused("consent_scope")
    if objective not in Boost.Objective.values or budget_kind not in Boost.BudgetKind.values:
        raise AdsRefused("bad_budget")
    if saved_audience is not None and saved_audience.workspace_id == workspace.pk and not audience:
        audience = saved_audience.audience
    clean = Audience.from_dict(audience)
    draft = rules.Draft(
        network=account.network,
        account_status=account.status,
        account_currency=account.currency,
        min_daily_minor=account.min_daily_budget_minor,
        spend_cap_minor=account.spend_cap_minor,
        budget_kind=budget_kind,
        budget_minor=int(budget_minor),
        starts_at=starts_at,
        ends_at=ends_at,
        audience=clean,
        social_issue=social_issue,
        authorized=authorized,
        disclaimer=disclaimer,
        tz=workspace.timezone,
    )
    rules.check(draft, timezone.now())
    budget = AdBudget.objects.filter(workspace=workspace).first()
    if budget is None or budget.monthly_limit_minor <= 0:
        raise AdsRefused("no_ad_budget")
    if budget.currency != account.currency:
        raise AdsRefused("currency_mismatch", account=account.currency, budget=budget.currency)
    days = rules.local_days(starts_at, ends_at, workspace.timezone)
    amounts = rules.commitments(budget_kind, int(budget_minor), days)
    most = rules.max_spend(budget_kind, int(budget_minor), len(days))
    threshold = budget.approval_threshold_minor
    needs_approval = threshold is not None and (threshold == 0 or most > threshold)
    campaign = campaign if campaign is not None else target.post.campaign
    with transaction.atomic():
        _reserve(workspace, budget, amounts)
        _reserve_campaign(campaign, most, account.currency)
        boost = Boost.objects.create(
            workspace=workspace,
            account=account,
            target=target,
            campaign=campaign,
            objective=objective,
            budget_kind=budget_kind,
            budget_minor=int(budget_minor),
            currency=account.currency,
            starts_at=starts_at,
            ends_at=ends_at,
            audience=clean.as_dict(),
            saved_audience=saved_audience
            if saved_audience and saved_audience.workspace_id == workspace.pk
            else None,
            placements=list(placements),
            social_issue=social_issue,
            disclaimer=disclaimer.strip()[:200],
            status=Boost.Status.AWAITING_APPROVAL if needs_approval else Boost.Status.QUEUED,
            reserved=amounts,
            requested_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit.record(
            "ads.boost_requested",
            workspace=workspace,
            actor=actor,
            obj=boost,
            target=target.pk,
            budget_kind=budget_kind,
            budget_minor=int(budget_minor),
            max_spend_minor=most,
            currency=account.currency,
            needs_approval=needs_approval,
        )
        if needs_approval:
            approval.start(boost, actor=actor)  # the workspace's workflow, or one ads approver
        else:
            _enqueue_creation(boost.pk)
    return boost


def _enqueue_creation(boost_id: int) -> None:
    from chorus.ads import tasks

    transaction.on_commit(lambda: tasks.create_boost.enqueue(boost_id))


def approve_boost(boost: Boost, *, actor: User, comment: str = "") -> Boost:
    """One approval of the boost's current approval step (chorus.approvals.boosts decides whose
    it is and refuses the person who asked for it). After the last step the boost is queued for
    creation: nothing reaches the network before."""
    with transaction.atomic():
        # The row lock serializes two approvers clicking at once: the second sees the first's
        # step (or the queued boost) and creation is queued once.
        fresh = (
            Boost.objects.select_for_update(of=("self",))
            .select_related("workspace", "target__post")
            .get(pk=boost.pk)
        )
        if fresh.status != Boost.Status.AWAITING_APPROVAL:
            raise AdsRefused("state", status=fresh.get_status_display(), change=gettext("approved"))
        if not approval.approve_step(fresh, actor=actor, comment=comment):
            boost.refresh_from_db()
            return boost  # steps remain: the run told the next step's approvers
        Boost.objects.filter(pk=boost.pk).update(
            status=Boost.Status.QUEUED, decided_by=actor, decided_at=timezone.now()
        )
        audit.record("ads.boost_approved", workspace=fresh.workspace, actor=actor, obj=fresh)
        _announce(fresh, Boost.Status.AWAITING_APPROVAL, Boost.Status.QUEUED)
        _enqueue_creation(boost.pk)
    boost.refresh_from_db()
    return boost


def uses_withdrawn_media(target: PostTarget) -> bool:
    """A file of the post had its consent withdrawn (chorus.media.consent.withdraw)."""
    from chorus.media.models import MediaUsage

    return MediaUsage.objects.filter(target=target, asset__withdrawn_at__isnull=False).exists()


def media_outside_ads_consent(target: PostTarget) -> bool:
    """A file of the post has consent records, and none in force covers ads (files without any
    record are the team's own, as in chorus.media.consent.scope_problems)."""
    from chorus.media.consent import active_uses
    from chorus.media.models import MediaAsset, MediaConsent, MediaUsage

    assets = MediaAsset.objects.filter(
        pk__in=MediaUsage.objects.filter(target=target).values("asset_id"), workspace_id=target.workspace_id
    )
    return any(asset.consents.exists() and MediaConsent.Use.ADS not in active_uses(asset) for asset in assets)


def decline_boost(boost: Boost, *, actor: User | None, reason: str = "") -> Boost:
    """The boost will not run: an approver of its current step declined it (with the reason the
    person who asked is told), or they withdrew it; its reservation goes back to the budget."""
    with transaction.atomic():
        fresh = (
            Boost.objects.select_for_update(of=("self",))
            .select_related("workspace", "target__post")
            .get(pk=boost.pk)
        )
        if fresh.status != Boost.Status.AWAITING_APPROVAL:
            raise AdsRefused("state", status=fresh.get_status_display(), change=gettext("declined"))
        if actor is not None:
            approval.check_decliner(fresh, actor=actor)
        Boost.objects.filter(pk=boost.pk).update(
            status=Boost.Status.DECLINED,
            decided_by=actor,
            decided_at=timezone.now(),
            review_reason=reason[:500],
        )
        approval.declined(fresh, actor=actor, reason=reason[:500])
        _release(fresh, fresh.reserved)
        Boost.objects.filter(pk=boost.pk).update(reserved={})
        audit.record("ads.boost_declined", workspace=fresh.workspace, actor=actor, obj=fresh, reason=reason)
        _announce(fresh, Boost.Status.AWAITING_APPROVAL, Boost.Status.DECLINED, reason)
    boost.refresh_from_db()
    return boost


def fail_boost(boost_id: int, *, code: str, message: str) -> None:
    """Creation failed for good (the network refused): nothing more will be spent."""
    with transaction.atomic():
        boost = Boost.objects.select_for_update().get(pk=boost_id)
        if boost.status != Boost.Status.CREATING:
            return
        _release(boost, boost.reserved)
        Boost.objects.filter(pk=boost.pk).update(
            status=Boost.Status.FAILED, reserved={}, last_error=message, last_error_code=code, claimed_at=None
        )
        audit.record_raw(
            "ads.boost_failed",
            workspace_id=boost.workspace_id,
            object_type="ads.boost",
            object_id=str(boost.pk),
            code=code,
            message=message,
        )
        _announce(boost, Boost.Status.CREATING, Boost.Status.FAILED, message)
        if boost.requested_by:
            notify(
                [boost.requested_by],
                workspace=boost.workspace,
                kind="ads.boost_failed",
                title=gettext("A boost could not be created"),
                body=message,
                url=reverse("ads:boost", kwargs={"slug": boost.workspace.slug, "boost_id": boost.pk}),
            )


def retry_boost(boost: Boost, *, actor: User | None) -> Boost:
    """A failed boost asked again (after reconnecting, or with a budget the network accepts):
    its budget is reserved again and creation resumes after the last object created at the
    network — the objects already there are reused, never created twice."""
    if boost.status != Boost.Status.FAILED:
        raise AdsRefused("state", status=boost.get_status_display(), change=gettext("retried"))
    budget = AdBudget.objects.filter(workspace=boost.workspace).first()
    if budget is None or budget.monthly_limit_minor <= 0:
        raise AdsRefused("no_ad_budget")
    tz = boost.workspace.timezone
    days = rules.local_days(boost.starts_at, boost.ends_at, tz)
    amounts = rules.commitments(boost.budget_kind, boost.budget_minor, days)
    with transaction.atomic():
        moved = Boost.objects.filter(pk=boost.pk, status=Boost.Status.FAILED).update(
            status=Boost.Status.QUEUED, reserved=amounts, last_error="", last_error_code=""
        )
        if not moved:
            raise AdsRefused("state", status=boost.get_status_display(), change=gettext("retried"))
        _reserve(boost.workspace, budget, amounts)
        _reserve_campaign(
            boost.campaign, rules.max_spend(boost.budget_kind, boost.budget_minor, len(days)), boost.currency
        )
        audit.record("ads.boost_retried", workspace=boost.workspace, actor=actor, obj=boost)
        _announce(boost, Boost.Status.FAILED, Boost.Status.QUEUED)
        _enqueue_creation(boost.pk)
    boost.refresh_from_db()
    return boost


def record_review(boost_id: int, status: str, reason: str = "") -> bool:
    """The network's review verdict (in review, active, rejected with reason): stored, audited
    and notified when it changed. Returns True when it changed."""
    new = {
        "in_review": Boost.Status.IN_REVIEW,
        "active": Boost.Status.ACTIVE,
        "paused": Boost.Status.PAUSED,
        "rejected": Boost.Status.REJECTED,
        "ended": Boost.Status.ENDED,
    }[status]
    with transaction.atomic():
        boost = Boost.objects.select_for_update().get(pk=boost_id)
        if boost.status in (Boost.Status.STOPPED, Boost.Status.FAILED) or (
            boost.status == new and boost.review_reason == reason
        ):
            return False
        old = boost.status
        Boost.objects.filter(pk=boost.pk).update(status=new, review_reason=reason, claimed_at=None)
        audit.record_raw(
            "ads.status_changed",
            workspace_id=boost.workspace_id,
            object_type="ads.boost",
            object_id=str(boost.pk),
            old=old,
            new=new,
            reason=reason,
        )
        _announce(boost, old, new, reason)
        titles = {
            Boost.Status.REJECTED: ("ads.boost_rejected", gettext("The network rejected a boost")),
            Boost.Status.ACTIVE: ("ads.boost_active", gettext("A boost is running")),
        }
        if new in titles and old != new and boost.requested_by:
            kind, title = titles[new]
            notify(
                [boost.requested_by],
                workspace=boost.workspace,
                kind=kind,
                title=title,
                body=reason,
                url=reverse("ads:boost", kwargs={"slug": boost.workspace.slug, "boost_id": boost.pk}),
                email=new == Boost.Status.REJECTED,  # a rejection needs someone; a start is news
            )
    return True


# --- managing a running boost --------------------------------------------------------------------------
def _plan(boost: Boost) -> Any:
    from chorus.ads.creating import plan_for

    return plan_for(boost)


def change_status(boost: Boost, *, actor: User | None, change: str) -> Boost:
    """pause / resume / stop, at the network first (outside any transaction), then here."""
    allowed, new, network_status = MANAGEABLE[change]
    if boost.status not in allowed:
        words = {"pause": gettext("paused"), "resume": gettext("resumed"), "stop": gettext("stopped")}
        raise AdsRefused("state", status=boost.get_status_display(), change=words[change])
    boost.account.client().set_status(boost.created_objects(), network_status)
    with transaction.atomic():
        moved = Boost.objects.filter(pk=boost.pk, status__in=allowed).update(status=new)
        if moved:  # else another change came first: it was audited then
            if change == "stop":
                _shrink_to_today(boost)
            audit.record(
                f"ads.boost_{change}d" if change != "stop" else "ads.boost_stopped",
                workspace=boost.workspace,
                actor=actor,
                obj=boost,
                old=boost.status,
                new=new,
            )
            _announce(boost, boost.status, new)
    boost.refresh_from_db()
    return boost


def _shrink_to_today(boost: Boost) -> None:
    """A stopped boost keeps what it may have spent until today; the rest returns to the budget."""
    tz = boost.workspace.timezone
    today = timezone.localdate(timezone.now(), ZoneInfo(tz))
    days = [d for d in rules.local_days(boost.starts_at, boost.ends_at, tz) if d <= today]
    if boost.budget_kind == "daily":
        kept = rules.commitments("daily", boost.budget_minor, days) if days else {}
    else:
        current = rules.month_key(today)
        kept = {key: amount for key, amount in boost.reserved.items() if key <= current}
    freed = {key: amount - kept.get(key, 0) for key, amount in boost.reserved.items()}
    _release(boost, {k: v for k, v in freed.items() if v > 0})
    Boost.objects.filter(pk=boost.pk).update(reserved=kept)


def change_budget(
    boost: Boost, *, actor: User | None, budget_minor: int | None = None, ends_at: dt.datetime | None = None
) -> Boost:
    """A new budget and/or end date: more money is reserved before the network is told (and
    given back if it refuses); less is given back once the network agreed."""
    if boost.status not in MANAGEABLE["stop"][0]:
        raise AdsRefused("state", status=boost.get_status_display(), change=gettext("changed"))
    budget_minor = int(budget_minor if budget_minor is not None else boost.budget_minor)
    ends_at = ends_at or boost.ends_at
    account, tz = boost.account, boost.workspace.timezone
    draft = rules.Draft(
        network=account.network,
        account_status=account.status,
        account_currency=account.currency,
        min_daily_minor=account.min_daily_budget_minor,
        spend_cap_minor=account.spend_cap_minor,
        budget_kind=boost.budget_kind,
        budget_minor=budget_minor,
        starts_at=boost.starts_at,
        ends_at=ends_at,
        audience=Audience.from_dict(boost.audience),
        social_issue=False,  # checked when the boost was asked; its audience has not changed
        authorized=True,
        disclaimer=boost.disclaimer,
        tz=tz,
    )
    if ends_at <= boost.starts_at or budget_minor <= 0:
        raise AdsRefused("schedule" if ends_at <= boost.starts_at else "bad_budget")
    rules.check_minimums(draft)
    days = rules.local_days(boost.starts_at, ends_at, tz)
    amounts = rules.commitments(boost.budget_kind, budget_minor, days)
    more = {k: v - boost.reserved.get(k, 0) for k, v in amounts.items() if v > boost.reserved.get(k, 0)}
    less = {k: v - amounts.get(k, 0) for k, v in boost.reserved.items() if v > amounts.get(k, 0)}
    old = {"budget_minor": boost.budget_minor, "ends_at": boost.ends_at.isoformat()}
    total_more = sum(more.values()) - sum(less.values())
    if more:
        budget = AdBudget.objects.get(workspace=boost.workspace)
        with transaction.atomic():
            _reserve(boost.workspace, budget, more)
            _reserve_campaign(boost.campaign, max(0, total_more), boost.currency)
    boost.budget_minor, boost.ends_at = budget_minor, ends_at
    try:
        account.client().update_budget(boost.created_objects(), _plan(boost))
    except Exception:
        with transaction.atomic():
            _release(boost, more, max(0, total_more))
        raise
    with transaction.atomic():
        _release(boost, less, 0)
        if total_more < 0 and boost.campaign_id:
            CampaignAdBudget.objects.filter(campaign_id=boost.campaign_id).update(
                reserved_minor=F("reserved_minor") + total_more
            )
        Boost.objects.filter(pk=boost.pk).update(budget_minor=budget_minor, ends_at=ends_at, reserved=amounts)
        audit.record(
            "ads.boost_budget_changed",
            workspace=boost.workspace,
            actor=actor,
            obj=boost,
            old=old,
            new={"budget_minor": budget_minor, "ends_at": ends_at.isoformat()},
        )
    boost.refresh_from_db()
    return boost
