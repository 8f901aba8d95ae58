"""Consent for the people in a file: recorded with its scope and term, withdrawn by the team or by
the contributor through their own link, and every use of the file found when it is withdrawn.

Every change here writes an audit row. Withdrawal, step by step:

1. the consent is marked withdrawn and the file hidden from the composer and the picker;
2. every *scheduled* post target that uses the file is held (``chorus.publishing.actions.hold``,
   reason ``consent_withdrawn``), each with its own audit row from that action;
3. every *published* target is listed as a ``WithdrawalStep``: ``to_delete`` on networks that can
   delete (``Feature.DELETE``), ``manual`` on the others; ``delete_published`` then deletes one on
   the network (outside any transaction) when a team member asks;
4. ads stop using it: every boost of a published target that runs (active, in review, paused) is
   stopped at the network (``chorus.ads.actions.change_status``), one awaiting approval is declined,
   one still queued fails when its creation job picks it up, and no new boost is accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.models import User, Workspace
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.media.models import MediaAsset, MediaConsent, MediaFace, MediaUsage, SafetyRules, WithdrawalStep
from chorus.media.sniff import MediaRejected

S = PostTarget.Status
Step = WithdrawalStep.Step
HOLD_REASON = "consent_withdrawn"


def rules_for(workspace: Workspace) -> SafetyRules:
    return SafetyRules.objects.filter(workspace=workspace).first() or SafetyRules(workspace=workspace)


def usable(assets: QuerySet[MediaAsset], workspace: Workspace) -> QuerySet[MediaAsset]:
    """The assets the composer may offer: not withdrawn, and, when the workspace requires face
    review, without a face still to review."""
    assets = assets.filter(withdrawn_at__isnull=True)
    if rules_for(workspace).face_review_for_contributors:
        assets = assets.exclude(faces__state=MediaFace.State.PENDING)
    return assets


def _clean_uses(uses: Iterable[str]) -> list[str]:
    chosen = [u for u in MediaConsent.Use.values if u in set(uses)]
    unknown = set(uses) - set(MediaConsent.Use.values)
    if unknown:
        raise MediaRejected(_("Unknown use: %(uses)s") % {"uses": ", ".join(sorted(unknown))})
    if not chosen:
        raise MediaRejected(_("Choose at least one use the person agreed to."))
    return chosen


@transaction.atomic
def record(
    asset: MediaAsset,
    *,
    actor: User | None,
    person: str,
    uses: Iterable[str],
    evidence: str,
    evidence_note: str = "",
    valid_until: dt.date | None = None,
    credit: str = "",
    credit_is_pseudonym: bool = False,
    contributor: Any = None,  # approvals.Contributor (media does not import approvals)
    story: Any = None,
) -> MediaConsent:
    """A new consent record (the file itself is not changed: its credit is the team's)."""
    if not person.strip():
        raise MediaRejected(_("Say who gave the consent."))
    if evidence not in MediaConsent.Evidence.values:
        raise MediaRejected(_("Unknown evidence: %(value)s") % {"value": evidence})
    if valid_until is not None and valid_until < timezone.localdate():
        raise MediaRejected(_("The end date of a consent cannot be in the past."))
    consent = MediaConsent.objects.create(
        workspace_id=asset.workspace_id, asset=asset, person=person.strip()[:200], uses=_clean_uses(uses),
        valid_until=valid_until, evidence=evidence, evidence_note=evidence_note.strip(), credit=credit.strip()[:300],
        credit_is_pseudonym=credit_is_pseudonym, contributor=contributor, story=story, created_by=actor,
    )  # fmt: skip
    audit.record(
        "media.consent_recorded", workspace=asset.workspace, actor=actor, obj=consent, asset=asset.pk,
        uses=consent.uses, until=valid_until.isoformat() if valid_until else "", evidence=evidence,
        contributor=getattr(contributor, "pk", None),
    )  # fmt: skip
    return consent


def withdraw(
    consent: MediaConsent, *, actor: User | None, reason: str = "", via: str = "team"
) -> list[WithdrawalStep]:
    """Withdraws `consent` and stops every use of its file (see the module docstring). Safe to run
    twice: a consent already withdrawn is not withdrawn again, held targets are not held twice."""
    from chorus.publishing import actions as publishing

    now = timezone.now()
    with transaction.atomic():
        changed = MediaConsent.objects.filter(pk=consent.pk, state=MediaConsent.State.ACTIVE).update(
            state=MediaConsent.State.WITHDRAWN, withdrawn_at=now, withdrawn_by=actor,
            withdrawal_reason=reason.strip(),
        )  # fmt: skip
        consent.refresh_from_db()
        asset = consent.asset
        if changed:
            audit.record(
                "media.consent_withdrawn", workspace=asset.workspace, actor=actor, obj=consent,
                asset=asset.pk, via=via, reason=reason.strip(),
            )  # fmt: skip
        if asset.withdrawn_at is None:
            MediaAsset.objects.filter(pk=asset.pk).update(withdrawn_at=now)
            asset.withdrawn_at = now
            audit.record(
                "media.hidden", workspace=asset.workspace, actor=actor, obj=asset, consent=consent.pk
            )
    _catch_up_usage(asset)
    detail = _("Consent for %(name)s was withdrawn.") % {"name": asset.original_name}
    for target in _targets(asset, [S.SCHEDULED]):
        if target.hold_reason == HOLD_REASON:
            continue
        try:
            publishing.hold(target, reason=HOLD_REASON, detail=detail)
        except publishing.TransitionRefused:
            continue  # it started publishing a moment ago: it is listed with the published below
        _step(consent, target, Step.HELD, actor)
    for target in _targets(asset, [S.PUBLISHED, S.PUBLISHING, S.UNKNOWN]):
        deletable = _can_delete(target)
        _step(consent, target, Step.TO_DELETE if deletable else Step.MANUAL, actor)
        _stop_boosts(consent, target, actor)
    return list(consent.steps.select_related("target__channel").order_by("pk"))


def _stop_boosts(consent: MediaConsent, target: PostTarget, actor: User | None) -> None:
    """Paid reach of a post whose file may no longer be shown: stopped, each with an audit row
    (the ads actions write their own too). A network that refuses is recorded, not hidden."""
    from chorus.ads import actions as ads
    from chorus.ads.models import Boost

    running = {Boost.Status.ACTIVE, Boost.Status.IN_REVIEW, Boost.Status.PAUSED}
    boosts = Boost.objects.filter(workspace_id=target.workspace_id, target=target).select_related(
        "workspace", "account__channel", "target"
    )
    reason = _("Consent for a file in this post was withdrawn.")
    for boost in boosts.order_by("pk"):
        try:
            if boost.status in running:
                ads.change_status(boost, actor=actor, change="stop")
            elif boost.status == Boost.Status.AWAITING_APPROVAL:
                ads.decline_boost(boost, actor=actor, reason=reason)
            else:
                continue
        except Exception as exc:  # the network refused or is down: the team must see it
            audit.record(
                "media.withdrawal_boost_stop_failed", workspace=target.workspace, actor=actor, obj=boost,
                consent=consent.pk, detail=str(getattr(exc, "message", exc))[:500],
            )  # fmt: skip
            continue
        audit.record(
            "media.withdrawal_boost_stopped", workspace=target.workspace, actor=actor, obj=boost,
            consent=consent.pk, status=Boost.objects.get(pk=boost.pk).status,
        )  # fmt: skip


def _catch_up_usage(asset: MediaAsset) -> None:
    """MediaUsage is kept by the composer and a scheduler job: targets written by other paths in
    the last minute are synced here, so a withdrawal misses none."""
    from chorus.media.actions import sync_usage_many

    recent = PostTarget.objects.filter(
        workspace_id=asset.workspace_id, updated_at__gte=timezone.now() - dt.timedelta(minutes=10)
    ).exclude(media=[])
    sync_usage_many(list(recent))


def _targets(asset: MediaAsset, statuses: list[str]) -> list[PostTarget]:
    ids = MediaUsage.objects.filter(asset=asset).values("target_id")
    return list(
        PostTarget.objects.filter(pk__in=ids, status__in=statuses)
        .select_related("workspace", "channel", "post")
        .order_by("pk")
    )


def _can_delete(target: PostTarget) -> bool:
    from chorus.connectors.base import Feature
    from chorus.connectors.registry import connector_class

    try:
        return Feature.DELETE in connector_class(target.channel.kind).features
    except (KeyError, LookupError, ImportError):
        return False


def _step(consent: MediaConsent, target: PostTarget, step: str, actor: User | None, detail: str = "") -> None:
    _row, created = WithdrawalStep.objects.get_or_create(
        consent=consent,
        target=target,
        defaults={"workspace_id": consent.workspace_id, "step": step, "detail": detail},
    )
    if not created:
        return
    audit.record(
        f"media.withdrawal_{step}", workspace=target.workspace, actor=actor, obj=target, consent=consent.pk,
        channel=target.channel.name,
    )  # fmt: skip


def delete_published(step: WithdrawalStep, *, actor: User) -> WithdrawalStep:
    """Deletes one published post on its network (the team's click). The network call is made
    outside any transaction; the outcome is recorded and audited."""
    if step.step not in (Step.TO_DELETE, Step.DELETE_FAILED):
        raise MediaRejected(_("This post cannot be deleted from here."))
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=step.target_id)
    audit.record("media.withdrawal_delete_requested", workspace=target.workspace, actor=actor, obj=target)
    try:
        target.channel.connector().delete(target)
    except Exception as exc:  # any refusal of the network is shown and kept
        outcome, detail = Step.DELETE_FAILED, str(getattr(exc, "message", exc))[:500]
    else:
        outcome, detail = Step.DELETED, ""
    WithdrawalStep.objects.filter(pk=step.pk).update(step=outcome, detail=detail, at=timezone.now())
    step.step, step.detail = outcome, detail
    audit.record(
        f"media.withdrawal_{outcome}", workspace=target.workspace, actor=actor, obj=target,
        consent=step.consent_id, channel=target.channel.name, detail=detail,
    )  # fmt: skip
    return step


# --- the term of a consent ----------------------------------------------------------------------


def expiring(workspace: Workspace, within_days: int | None = None) -> QuerySet[MediaConsent]:
    days = rules_for(workspace).consent_reminder_days if within_days is None else within_days
    until = timezone.localdate() + dt.timedelta(days=days)
    return MediaConsent.objects.filter(
        workspace=workspace,
        state=MediaConsent.State.ACTIVE,
        valid_until__isnull=False,
        valid_until__lte=until,
    ).select_related("asset")


def remind_and_expire() -> tuple[int, int]:
    """Scheduler job (daily is enough, safe to run often): tells each workspace's admins once about
    consents ending within its reminder window, and withdraws the consents whose term is over
    (their file stops like any withdrawal). Returns (reminded, expired)."""
    from chorus.core.notify import notify

    reminded = 0
    today = timezone.localdate()
    due = MediaConsent.objects.filter(state=MediaConsent.State.ACTIVE, valid_until__isnull=False)
    for workspace_id in (
        due.filter(reminded_at__isnull=True).values_list("workspace_id", flat=True).distinct()
    ):
        workspace = Workspace.objects.get(pk=workspace_id)
        soon = list(expiring(workspace).filter(reminded_at__isnull=True))
        if not soon:
            continue
        admins = [
            m.user for m in workspace.memberships.select_related("user").filter(role__in=["owner", "admin"])
        ]
        lines = [f"{c.asset.original_name}: {c.person}, {c.valid_until:%Y-%m-%d}" for c in soon]
        notify(
            admins,
            workspace=workspace,
            kind="media.consent_expiring",
            title=_("Consents ending soon in %(workspace)s") % {"workspace": workspace.name},
            body="\n".join(lines),
        )
        MediaConsent.objects.filter(pk__in=[c.pk for c in soon]).update(reminded_at=timezone.now())
        for item in soon:
            audit.record("media.consent_reminded", workspace=workspace, obj=item, until=str(item.valid_until))
        reminded += len(soon)
    expired = 0
    for item in due.filter(valid_until__lt=today).select_related("asset"):
        withdraw(
            item,
            actor=None,
            reason=_("The consent ended on %(date)s.") % {"date": item.valid_until},
            via="expiry",
        )
        MediaConsent.objects.filter(pk=item.pk).update(state=MediaConsent.State.EXPIRED)
        expired += 1
    return reminded, expired


def active_uses(asset: MediaAsset) -> set[str]:
    """What the file's active consents allow together (empty when there is none)."""
    uses: set[str] = set()
    for row in asset.consents.filter(state=MediaConsent.State.ACTIVE).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate())
    ):
        uses |= set(row.uses)
    return uses


@transaction.atomic
def set_rules(workspace: Workspace, *, actor: User | None, **values: object) -> SafetyRules:
    rules, _created = SafetyRules.objects.get_or_create(workspace=workspace)
    changed = {k: v for k, v in values.items() if getattr(rules, k) != v}
    for key, value in changed.items():
        setattr(rules, key, value)
    rules.save()
    if changed:
        audit.record("media.safety_rules_changed", workspace=workspace, actor=actor, obj=rules, **changed)
    return rules


WEBSITE_KINDS = {"wordpress"}


def use_of(channel_kind: str) -> str:
    return MediaConsent.Use.WEBSITE if channel_kind in WEBSITE_KINDS else MediaConsent.Use.NETWORKS


def scope_problems(media: list[dict[str, Any]], channel_kind: str) -> list[tuple[int, str]]:
    """(index, reason) for each media item whose consents do not allow this channel's use: a
    withdrawn file, or a file with consent records none of which (active, in term) covers it.
    Files without any consent record (the team's own) are not judged here."""
    ids = [item.get("media_id") for item in media if isinstance(item, dict)]
    assets = {a.pk: a for a in MediaAsset.objects.filter(pk__in=[i for i in ids if isinstance(i, int)])}
    use = use_of(channel_kind)
    found: list[tuple[int, str]] = []
    for index, item in enumerate(media):
        asset = assets.get(item.get("media_id") if isinstance(item, dict) else None)  # type: ignore[arg-type]
        if asset is None:
            continue
        if asset.withdrawn_at is not None:
            found.append((index, _("Consent for this file was withdrawn.")))
        elif asset.consents.exists() and use not in active_uses(asset):
            label = dict(MediaConsent.Use.choices)[use]
            found.append((index, _("The consent for this file does not cover: %(use)s.") % {"use": label}))
    return found
