"""Every PostTarget status change (DESIGN.md, publishing state machine):

    draft → in_review → approved → scheduled → publishing → published | failed | unknown
    unknown → published | failed                       (reconciliation only)

Two more moves keep work resumable and are recorded like the others:
    publishing → scheduled   a retry, only when the request was certainly not applied
    unknown → scheduled      reconciliation read back and found nothing: safe to send again

Each change is a conditional UPDATE on the expected status, so a change that races the
scheduler's claim either lands before it or is refused with "already publishing". Each writes
the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.models import Membership, User
from chorus.accounts.permissions import Role, may_schedule_directly
from chorus.approvals import policy
from chorus.content.models import Campaign, Post, PostTarget, Tag, refresh_first_at
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.core.notify import notify
from chorus.core.refusals import TransitionRefused
from chorus.core.timeutil import Resolved, next_slot, resolve_local
from chorus.webhooks import emit_targets

S = PostTarget.Status
EDITABLE = (S.DRAFT, S.IN_REVIEW, S.APPROVED, S.SCHEDULED)
NEW = ""  # "no row yet": the source of the moves that create a target


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    to: str | None  # None: the status stays (an edit, a hold released, a claim's phase)


def _t(sources: Iterable[str], to: str | None) -> Transition:
    return Transition(frozenset(sources), to)


# The single source of what may follow what; every move below names its row, and `_move` refuses
# a move its row does not allow. `allowed_next()` derives the state machine of DESIGN.md from it.
TRANSITIONS: dict[str, Transition] = {
    # authoring and review
    "created": _t([NEW], S.DRAFT),
    "copied": _t([NEW], S.APPROVED),  # evergreen and recurrence copies of an approved target
    "submitted": _t([NEW, S.DRAFT], S.IN_REVIEW),  # NEW: a bulk-imported row waiting for review
    "approved": _t([S.IN_REVIEW], S.APPROVED),
    "rejected": _t([S.IN_REVIEW], S.DRAFT),
    "sent_back": _t([S.APPROVED, S.SCHEDULED], S.IN_REVIEW),  # changed after approval, or held
    "edited": _t(EDITABLE, None),
    # scheduling (DRAFT/IN_REVIEW/NEW only for someone who may approve: `may_schedule_directly`)
    "scheduled": _t([NEW, S.DRAFT, S.IN_REVIEW, S.APPROVED], S.SCHEDULED),
    "rescheduled": _t([S.SCHEDULED], S.SCHEDULED),
    "unscheduled": _t([S.SCHEDULED], S.APPROVED),
    "released": _t([S.SCHEDULED], S.SCHEDULED),  # a held target goes out after all
    "retried": _t([S.FAILED], S.SCHEDULED),
    "reopened": _t([S.FAILED], S.DRAFT),  # "edit and retry", or cancel a failed post
    # a person saw it on the network (posted by hand, or an unknown outcome checked there)
    "published_by_hand": _t([S.FAILED, S.UNKNOWN], S.PUBLISHED),
    "resent": _t([S.UNKNOWN], S.SCHEDULED),  # a person checked: it is not on the network
    # the engine (scheduler, publish task, reconciliation)
    "held": _t([S.SCHEDULED, S.PUBLISHING], S.SCHEDULED),
    "claimed": _t([S.SCHEDULED], S.PUBLISHING),
    "sending": _t([S.PUBLISHING], None),  # phase claimed → sending
    "published": _t([S.PUBLISHING, S.UNKNOWN], S.PUBLISHED),  # UNKNOWN: reconciliation only
    "failed": _t([S.PUBLISHING, S.UNKNOWN], S.FAILED),  # UNKNOWN: reconciliation only
    "unknown": _t([S.PUBLISHING], S.UNKNOWN),
    "retry_scheduled": _t([S.PUBLISHING, S.UNKNOWN], S.SCHEDULED),  # certainly not applied
}


def allowed_next() -> dict[str, set[str]]:
    """status → the statuses that may follow it (derived from TRANSITIONS)."""
    out: dict[str, set[str]] = {}
    for row in TRANSITIONS.values():
        for source in row.sources:
            out.setdefault(source, set()).add(row.to or source)
    return out


def _row(action: str, expected: Iterable[str] | None) -> tuple[tuple[str, ...], str | None]:
    row = TRANSITIONS[action]
    sources = tuple(row.sources - {NEW}) if expected is None else tuple(expected)
    if not set(sources) <= row.sources:
        raise AssertionError(f"{action}: {sorted(set(sources) - row.sources)} not allowed by TRANSITIONS")
    return sources, row.to


def _move(
    target: PostTarget,
    *,
    action: str,
    expected: Iterable[str] | None = None,
    actor: User | None = None,
    audit_data: dict[str, Any] | None = None,
    attempt_id: uuid.UUID | None = None,
    in_phase: str | None = None,
    **fields: Any,
) -> None:
    expected, to = _row(action, expected)
    if to is not None:
        fields["status"] = to
    rows = PostTarget.objects.filter(pk=target.pk, status__in=expected)
    if in_phase is not None:
        rows = rows.filter(phase=in_phase)
    if attempt_id is not None:
        # Engine moves only apply to the attempt that made them: a recovered or re-claimed target
        # has a new attempt id, and the old attempt's late result must not overwrite it.
        rows = rows.filter(attempt_id=attempt_id)
    changed = rows.update(**fields, updated_at=timezone.now())
    if changed != 1:
        current = PostTarget.objects.filter(pk=target.pk).values_list("status", flat=True).first()
        if current == S.PUBLISHING:
            raise TransitionRefused(
                gettext_lazy("Already publishing: this post can no longer be changed."), code="publishing"
            )
        raise TransitionRefused(
            gettext_lazy("This post is %(status)s; it cannot be %(action)s."),
            code="wrong_status",
            status=current,
            action=action,
        )
    for key, value in fields.items():
        setattr(target, key, value)
    if "scheduled_at" in fields:
        refresh_first_at([target.post_id])
    audit.record(
        f"target.{action}",
        workspace=target.workspace,
        actor=actor,
        obj=target,
        **{"to": fields.get("status", ""), **(audit_data or {})},
    )


# --- authoring and review ---------------------------------------------------------------------


@transaction.atomic
def submit_for_review(target: PostTarget, *, actor: User) -> None:
    _move(target, expected=[S.DRAFT], action="submitted", actor=actor)
    policy.start(target, actor=actor)
    emit_targets("approval.requested", [target])


@transaction.atomic
def approve(target: PostTarget, *, actor: User | None, comment: str = "", link: Any = None) -> None:
    """`link`: an outside reviewer's review link (chorus.approvals), for a step that accepts one.
    The post's author may not approve it unless the workflow names them (`policy.check_approver`)."""
    if link is None:
        policy.check_approver(target, actor=actor)
    _approve(target, actor=actor, comment=comment, link=link)


def _approve(target: PostTarget, *, actor: User | None, comment: str = "", link: Any = None) -> None:
    if not policy.approve_step(target, actor=actor, comment=comment, link=link):
        return  # a workflow step was approved; more steps remain
    _move(target, action="approved", actor=actor, audit_data={"comment": comment})
    # An edit after approval took it out of its slot: approved again, it goes back there.
    when = policy.take_resume_slot(target)
    if when is not None:
        schedule(target, actor=None, when=when)
    emit_targets("approval.decided", [target], decision="approved", comment=comment)


@transaction.atomic
def reject(target: PostTarget, *, actor: User | None, reason: str, link: Any = None) -> None:
    policy.check_rejecter(target, actor=actor)
    _move(
        target,
        action="rejected",
        actor=actor,
        error_message=reason,
        error_params=None,
        audit_data={"reason": reason},
    )
    policy.rejected(target, actor=actor, reason=reason, link=link)
    emit_targets("approval.decided", [target], decision="rejected", comment=reason)


@transaction.atomic
def send_back_for_review(
    target: PostTarget,
    *,
    actor: User | None,
    changes: dict[str, Any],
    resume_at: dt.datetime | None = None,
) -> None:
    """An approved or scheduled target changed under an approval workflow (or is held for lack of
    approval): it needs approval again; `resume_at` is the slot it goes back to once approved."""
    _move(
        target,
        action="sent_back",
        actor=actor,
        due_at=None,
        hold_reason="",
        hold_detail="",
        audit_data={"changes": changes},
    )
    policy.start(target, actor=actor, changes=changes, resume_at=resume_at)
    emit_targets("approval.requested", [target])


def _after_change(target: PostTarget, *, actor: User | None, before: dict[str, Any]) -> bool:
    """An approved or scheduled target was edited or moved: under a workflow it goes back to
    in_review with what changed, keeping its slot to restore on approval. True if sent back."""
    changes = policy.changes_since(target, before)
    if not changes:
        return False
    slot = PostTarget.objects.filter(pk=target.pk).values_list("scheduled_at", flat=True).first()
    send_back_for_review(target, actor=actor, changes=changes, resume_at=slot)
    return True


@transaction.atomic
def edit(
    target: PostTarget,
    *,
    actor: User,
    text: str | None = None,
    media: list[Any] | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Edits are refused once a target is publishing or done (the change would be lost or lie).
    A new text ends with the channel's signature, once (writing_rules.signed)."""
    fields: dict[str, Any] = {}
    if text is not None:
        fields["text"] = _signed(target, text)
    if media is not None:
        fields["media"] = media
    if options is not None:
        fields["options"] = options
    before = policy.snapshot(target)
    _move(target, action="edited", actor=actor, audit_data={"fields": sorted(fields)}, **fields)
    _after_change(target, actor=actor, before=before)
    if media is not None:
        from chorus.media.actions import sync_usage  # "used in N posts" in the media library

        sync_usage(target)


@transaction.atomic
def file_post(post: Post, *, actor: User | None, campaign: Campaign | None, tags: Iterable[str]) -> bool:
    """Puts the post in a campaign (or none) and gives it tags by name (new names become the
    workspace's tags). Audited when something changed; True if it did."""
    if campaign is not None and campaign.workspace_id != post.workspace_id:
        raise ValueError("campaign of another workspace")
    names = sorted({name.strip()[:60] for name in tags if name.strip()}, key=str.lower)
    wanted = [Tag.objects.get_or_create(workspace_id=post.workspace_id, name=name)[0] for name in names]
    before_tags = sorted(post.tags.values_list("name", flat=True), key=str.lower)
    before_campaign = post.campaign_id
    new_campaign = campaign.pk if campaign is not None else None
    if before_campaign == new_campaign and before_tags == names:
        return False
    Post.objects.filter(pk=post.pk).update(campaign=campaign)
    post.campaign = campaign
    post.tags.set(wanted)
    audit.record(
        "post.filed",
        workspace=post.workspace,
        actor=actor,
        obj=post,
        campaign={"before": before_campaign, "after": new_campaign},
        tags={"before": before_tags, "after": names},
    )
    return True


@transaction.atomic
def rename_post(post: Post, *, actor: User | None, title: str) -> bool:
    """The post's title (shared by its targets). Audited; refused once any of its targets is
    publishing or done, like an edit; under a workflow an approved or scheduled target goes back
    to review, since its reviewers approved the post with the old title. True if it changed."""
    if post.title == title:
        return False
    targets = list(PostTarget.objects.select_related("workspace", "post", "channel").filter(post=post))
    if any(t.status not in EDITABLE for t in targets):
        raise TransitionRefused(
            gettext_lazy("Already publishing: this post can no longer be changed."), code="publishing"
        )
    before = post.title
    Post.objects.filter(pk=post.pk).update(title=title)
    post.title = title
    audit.record("post.renamed", workspace=post.workspace, actor=actor, obj=post, before=before, after=title)
    for target in targets:
        if target.status in (S.APPROVED, S.SCHEDULED) and policy.required_for(target) is not None:
            change = {"title": {"before": before, "after": title}}
            send_back_for_review(target, actor=actor, changes=change, resume_at=target.scheduled_at)
    return True


# --- scheduling -------------------------------------------------------------------------------


def resolve_when(target: PostTarget, local: dt.datetime) -> Resolved:
    return resolve_local(local, target.workspace.timezone)


def _schedule_fields(when: dt.datetime, note: str = "") -> dict[str, Any]:
    return {
        "scheduled_at": when,
        "due_at": when,
        "schedule_note": note,
        "hold_reason": "",
        "hold_detail": "",
        "horizon_from": None,
        "phase": "",
        "attempts": 0,
        "error_code": "",
        "error_message": "",
        "error_params": None,
    }


@transaction.atomic
def schedule(target: PostTarget, *, actor: User | None, when: dt.datetime, note: str = "") -> None:
    """Approved → scheduled at a UTC instant. A draft may be scheduled directly by someone who
    may approve (the approval is recorded as theirs)."""
    if when.tzinfo is None:
        raise ValueError("schedule() takes an aware UTC datetime; use schedule_local() for wall times")
    expected = [S.APPROVED]
    if actor is not None and _can_self_approve(actor, target):
        expected += [S.DRAFT, S.IN_REVIEW]
    policy.check_can_schedule(target)
    fields = _schedule_fields(when, note)
    shortened = _shortened_text(target)
    if shortened is not None:
        fields["text"] = shortened
    _move(
        target,
        expected=expected,
        action="scheduled",
        actor=actor,
        audit_data={"at": when.isoformat(), "note": note, **({"links_shortened": True} if shortened else {})},
        **fields,
    )
    emit_targets("post.scheduled", [target])


def _links_installed() -> bool:
    from django.apps import apps

    return apps.is_installed("chorus.links")


def _shortened_text(target: PostTarget) -> str | None:
    """Links tagged with UTM and shortened when the workspace wants it (chorus.links), so every
    way of scheduling (composer, import, API, approvals, recurrence) publishes the short links."""
    if not _links_installed():
        return None
    from chorus.links.shortening import apply_on_schedule

    result: str | None = apply_on_schedule(target)
    return result


def role_of(actor: User | None, workspace_id: int) -> str | None:
    if actor is None:
        return None
    role: str | None = (
        Membership.objects.filter(workspace_id=workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    return role


def _can_self_approve(actor: User, target: PostTarget) -> bool:
    return may_schedule_directly(role_of(actor, target.workspace_id))


def schedule_local(target: PostTarget, *, actor: User | None, local: dt.datetime) -> Resolved:
    """Schedules at a wall time in the workspace's zone; the DST decision is returned and kept."""
    resolved = resolve_when(target, local)
    schedule(target, actor=actor, when=resolved.utc, note=resolved.note)
    return resolved


def schedule_now(target: PostTarget, *, actor: User | None) -> None:
    schedule(target, actor=actor, when=timezone.now())


def add_to_queue(target: PostTarget, *, actor: User | None, after: dt.datetime | None = None) -> Resolved:
    """Schedules into the channel's next free weekly slot."""
    channel = target.channel
    after = after or timezone.now()
    taken = {
        at
        for at in PostTarget.objects.filter(
            channel=channel, status__in=[S.SCHEDULED, S.PUBLISHING, S.PUBLISHED], scheduled_at__gt=after
        ).values_list("scheduled_at", flat=True)
        if at is not None
    }
    resolved = next_slot(channel.slot_times(), target.workspace.timezone, after, taken)
    if resolved is None:
        raise TransitionRefused(
            gettext_lazy("%(channel)s has no posting slots; add some in the channel's queue settings."),
            code="no_slots",
            channel=channel.name,
        )
    schedule(target, actor=actor, when=resolved.utc, note=resolved.note)
    return resolved


@transaction.atomic
def reschedule(target: PostTarget, *, actor: User | None, when: dt.datetime, note: str = "") -> None:
    before = policy.snapshot(target)
    _move(
        target,
        expected=[S.SCHEDULED],
        action="rescheduled",
        actor=actor,
        audit_data={"at": when.isoformat()},
        **_schedule_fields(when, note),
    )
    _after_change(target, actor=actor, before=before)


@transaction.atomic
def unschedule(target: PostTarget, *, actor: User | None) -> None:
    _move(
        target,
        action="unscheduled",
        actor=actor,
        scheduled_at=None,
        due_at=None,
        hold_reason="",
        hold_detail="",
    )


@transaction.atomic
def release_hold(target: PostTarget, *, actor: User) -> None:
    """A person decided a held target (missed, or past its retry horizon) should go out now. Its
    scheduled time is kept; lateness counts from now (`horizon_from`)."""
    now = timezone.now()
    _move(
        target,
        action="released",
        actor=actor,
        hold_reason="",
        hold_detail="",
        due_at=now,
        horizon_from=now,
        attempts=0,
    )


@transaction.atomic
def release_channel_holds(channel: Any, *, actor: User | None) -> int:
    """The targets held because `channel` was paused go out as planned again (the channel is
    active): one UPDATE, an audit row per target. Returns how many."""
    now = timezone.now()
    rows = PostTarget.objects.filter(
        channel=channel, status=S.SCHEDULED, hold_reason=PostTarget.Hold.CHANNEL_PAUSED
    )
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    released = PostTarget.objects.filter(
        pk__in=ids, status=S.SCHEDULED, hold_reason=PostTarget.Hold.CHANNEL_PAUSED
    ).update(hold_reason="", hold_detail="", updated_at=now)
    _record_many(
        "target.released",
        channel.workspace_id,
        ids,
        actor=actor,
        data={"to": S.SCHEDULED, "reason": PostTarget.Hold.CHANNEL_PAUSED},
        at=now,
    )
    return released


@transaction.atomic
def retry_failed(target: PostTarget, *, actor: User, when: dt.datetime | None = None) -> None:
    """ "Try again": due now, its original scheduled time kept (the lateness rules count from now,
    `horizon_from`); with `when`, rescheduled to that time (the home's "reschedule")."""
    if when is not None:
        _move(target, action="retried", actor=actor, **_schedule_fields(when))
        return
    now = timezone.now()
    fields = _schedule_fields(now)
    fields.update(scheduled_at=target.scheduled_at or now, horizon_from=now)
    _move(target, action="retried", actor=actor, audit_data={"at": now.isoformat()}, **fields)


@transaction.atomic
def reopen_failed(target: PostTarget, *, actor: User) -> None:
    """Failed → draft: to edit it and send it again, or to drop it from the schedule (cancel)."""
    _move(target, action="reopened", actor=actor, due_at=None, scheduled_at=None, phase="")


@transaction.atomic
def mark_published_by_hand(target: PostTarget, *, actor: User, url: str) -> None:
    """A person says a failed or unknown post is on the network (they posted it by hand, or
    looked for an unknown outcome and found it), with its link; audited as theirs."""
    _move(
        target,
        action="published_by_hand",
        actor=actor,
        phase="",
        published_at=timezone.now(),
        external_url=url,
        due_at=None,
        error_code="",
        error_message="",
        error_params=None,
        audit_data={"url": url},
    )
    emit_targets("post.published", [target])


@transaction.atomic
def resend_unknown(target: PostTarget, *, actor: User) -> None:
    """Unknown → scheduled now: a person looked on the network and the post is not there, which
    is the read-back reconciliation could not do; their answer is audited."""
    _move(target, action="resent", actor=actor, **_schedule_fields(timezone.now()))


def cancel(target: PostTarget, *, actor: User) -> None:
    """Takes a held or failed post off the schedule: a scheduled one goes back to approved, a
    failed one to draft."""
    if target.status == S.FAILED:
        reopen_failed(target, actor=actor)
    else:
        unschedule(target, actor=actor)


def _record_many(
    action: str,
    workspace_id: int,
    target_ids: Iterable[int],
    *,
    actor: User | None,
    data: dict[str, Any] | Callable[[int], dict[str, Any]],
    at: dt.datetime,
) -> None:
    """Audit rows of a person's batch move, one per target, in one INSERT (with the actor and the
    client's address, which `audit.record_many` leaves out for the engine)."""
    from chorus.core.middleware import current_ip

    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    ip = current_ip()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace_id=workspace_id,
            actor_id=actor_id,
            action=action,
            object_type="content.posttarget",
            object_id=str(pk),
            data=data(pk) if callable(data) else data,
            at=at,
            ip=ip,
        )
        for pk in target_ids
    )


# --- the engine's moves (scheduler, publish task, reconciliation) -----------------------------


@transaction.atomic
def hold(target: PostTarget, *, reason: str, detail: str) -> None:
    _move(
        target,
        expected=[S.SCHEDULED, S.PUBLISHING],
        action="held",
        attempt_id=target.attempt_id,
        phase="",
        hold_reason=reason,
        hold_detail=detail,
        audit_data={"reason": reason},
    )


def take_batch(target_ids: list[int], attempt_id: uuid.UUID, worker: str) -> None:
    """The worker process (`Heartbeat.this_process()`) running this attempt's task owns its
    targets from now on: if its heartbeat dies, `reconcile.release_dead_workers` releases them
    at once. One UPDATE, no status change (the claim's phase stays)."""
    PostTarget.objects.filter(pk__in=target_ids, attempt_id=attempt_id, status=S.PUBLISHING).update(
        worker=worker
    )


def begin_sending(target_id: int, attempt_id: uuid.UUID) -> bool:
    """claimed → sending, committed before the network call. False when this attempt is not
    the current one (a duplicate delivery of the task, or a recovered claim)."""
    return (
        PostTarget.objects.filter(
            pk=target_id, attempt_id=attempt_id, status=S.PUBLISHING, phase="claimed"
        ).update(phase="sending", sending_at=timezone.now())
        == 1
    )


@transaction.atomic
def mark_published(
    target: PostTarget,
    *,
    external_id: str,
    url: str = "",
    published_at: dt.datetime | None = None,
    by_reconciliation: bool = False,
) -> None:
    expected = [S.UNKNOWN] if by_reconciliation else [S.PUBLISHING]
    _move(
        target,
        expected=expected,
        action="published",
        attempt_id=target.attempt_id,
        phase="",
        published_at=published_at or timezone.now(),
        external_id=external_id,
        external_url=url,
        error_code="",
        error_message="",
        error_params=None,
        due_at=None,
        audit_data={"external_id": external_id},
    )
    emit_targets("post.published", [target])
    if target.post.evergreen:
        transaction.on_commit(lambda: requeue_evergreen(target.pk))


def begin_sending_many(target_ids: list[int], attempt_id: uuid.UUID) -> set[int]:
    """`begin_sending` for a batch in one UPDATE (networks that can be read back, see the
    engine); returns the ids that are now 'sending' for this attempt."""
    now = timezone.now()
    rows = PostTarget.objects.filter(pk__in=target_ids, attempt_id=attempt_id, status=S.PUBLISHING)
    changed = rows.filter(phase="claimed").update(phase="sending", sending_at=now)
    if changed == len(target_ids):
        return set(target_ids)
    return set(rows.filter(phase="sending", sending_at=now).values_list("pk", flat=True))


def mark_published_many(pairs: list[tuple[PostTarget, Any]]) -> set[int]:
    """`mark_published` for a batch of (target, PublishResult) in one transaction: the same
    conditional update per row (one prepared statement, not an ORM query each), audit rows in
    one insert. Returns the ids it marked; the others had moved (superseded)."""
    now = timezone.now()
    done: set[int] = set()
    table = connection.ops.quote_name(PostTarget._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, phase = '', published_at = %s, external_id = %s, "  # noqa: S608 (model's table; values are parameters)
        "external_url = %s, error_code = '', error_message = '', error_params = NULL, due_at = NULL, updated_at = %s "
        "WHERE id = %s AND status = %s AND attempt_id = %s"
    )
    prep_time = PostTarget._meta.get_field("published_at").get_db_prep_value
    prep_uuid = PostTarget._meta.get_field("attempt_id").get_db_prep_value
    with transaction.atomic():
        stamp = prep_time(now, connection)
        with connection.cursor() as cursor:
            for target, result in pairs:
                at = prep_time(result.published_at, connection) if result.published_at else stamp
                cursor.execute(
                    sql,
                    [S.PUBLISHED, at, result.external_id, result.url, stamp, target.pk, S.PUBLISHING,
                     prep_uuid(target.attempt_id, connection)],
                )  # fmt: skip
                if cursor.rowcount == 1:
                    done.add(target.pk)
        audit.record_many(
            "target.published",
            "content.posttarget",
            (
                (t.workspace_id, t.pk, {"to": S.PUBLISHED, "external_id": r.external_id})
                for t, r in pairs
                if t.pk in done
            ),
            at=now,
        )
        for target, _result in pairs:
            if target.pk in done:
                target.status, target.external_id, target.external_url = (
                    S.PUBLISHED,
                    _result.external_id,
                    _result.url,
                )
                target.published_at = _result.published_at or now  # as stored (the webhook says it)
                if target.post.evergreen:
                    transaction.on_commit(functools.partial(requeue_evergreen, target.pk))
        emit_targets("post.published", (t for t, _r in pairs if t.pk in done))
    return done


@transaction.atomic
def mark_failed(
    target: PostTarget,
    *,
    code: str,
    message: str,
    by_reconciliation: bool = False,
    params: dict[str, Any] | None = None,
) -> None:
    """`params`: the engine's own message as {"key", ...} (chorus.publishing.outcomes), shown
    translated; `message` is its English text (or the network's reason)."""
    expected = [S.UNKNOWN] if by_reconciliation else [S.PUBLISHING]
    _move(
        target,
        expected=expected,
        action="failed",
        attempt_id=target.attempt_id,
        phase="",
        due_at=None,
        error_code=code,
        error_message=message,
        error_params=params,
        audit_data={"code": code, "message": message},
    )
    emit_targets("post.failed", [target])
    _tell_failure(target, message)


@transaction.atomic
def mark_unknown(
    target: PostTarget, *, message: str, only_if_sending: bool = False, params: dict[str, Any] | None = None
) -> None:
    _move(
        target,
        expected=[S.PUBLISHING],
        action="unknown",
        attempt_id=target.attempt_id,
        in_phase="sending" if only_if_sending else None,
        phase="sending",
        error_code="outcome_unknown",
        error_message=message,
        error_params=params,
        audit_data={"message": message},
    )
    emit_targets("post.outcome_unknown", [target])


@transaction.atomic
def retry_later(
    target: PostTarget,
    *,
    when: dt.datetime,
    code: str,
    message: str,
    count_attempt: bool = True,
    from_unknown: bool = False,
    only_if_unsent: bool = False,
    params: dict[str, Any] | None = None,
) -> None:
    """Back to the queue for another attempt; only when the last one was certainly not applied.
    `only_if_unsent` (crash recovery): refused if the attempt has meanwhile started sending — a
    slow worker racing the recovery wins, and nothing is sent twice."""
    _move(
        target,
        expected=[S.UNKNOWN] if from_unknown else [S.PUBLISHING],
        action="retry_scheduled",
        attempt_id=target.attempt_id,
        in_phase="claimed" if only_if_unsent else None,
        phase="",
        due_at=when,
        error_code=code,
        error_message=message,
        error_params=params,
        attempts=target.attempts + (1 if count_attempt else 0),
        audit_data={"at": when.isoformat(), "code": code},
    )


def backoff_delay(attempt: int, *, cap: float | None = None) -> float:
    """Capped exponential backoff with jitter: a uniform draw in [ceiling/2, ceiling] seconds,
    ceiling = min(cap, base · 2^attempt) (cap: CHORUS_RETRY_MAX_SECONDS unless given). The
    jitter spreads the retries of posts that failed together; the lower half keeps them apart."""
    base = settings.CHORUS_RETRY_BASE_SECONDS
    cap = settings.CHORUS_RETRY_MAX_SECONDS if cap is None else cap
    ceiling = max(0.0, min(cap, base * (2 ** min(attempt, 60))))
    return random.uniform(ceiling / 2, ceiling)


def retry_horizon(target: PostTarget) -> dt.timedelta:
    """How long after its time a target's transient failures keep being retried:
    CHORUS_RETRY_HORIZON_SECONDS, or else its workspace's late-publishing tolerance."""
    seconds = settings.CHORUS_RETRY_HORIZON_SECONDS
    if seconds is None:
        return dt.timedelta(minutes=target.workspace.late_tolerance_minutes)
    return dt.timedelta(seconds=seconds)


def retry_deadline(target: PostTarget) -> dt.datetime:
    """The instant a target stops being retried and is held for a person: its retry horizon
    after its scheduled time (or after a person last said "try again")."""
    start = target.horizon_from or target.scheduled_at or target.due_at or timezone.now()
    return start + retry_horizon(target)


def _hold_in_flight(target: PostTarget, *, reason: str, code: str, message: str, params: Any) -> None:
    """publishing → scheduled and held for `reason`, the last error (naming the host) kept on
    the target; counted as an attempt."""
    _move(
        target,
        expected=[S.PUBLISHING],
        action="held",
        attempt_id=target.attempt_id,
        phase="",
        hold_reason=reason,
        hold_detail="",
        error_code=code,
        error_message=message,
        error_params=params,
        attempts=target.attempts + 1,
        audit_data={"reason": reason, "code": code, "message": message},
    )


@transaction.atomic
def hold_for_person(
    target: PostTarget, *, code: str, message: str, params: dict[str, Any] | None = None
) -> None:
    """publishing → scheduled, held: its transient failures outlasted the retry horizon. The last
    reason (naming the host) is kept on the target; its team is told. Never 'failed'."""
    _hold_in_flight(target, reason=PostTarget.Hold.RETRY_HORIZON, code=code, message=message, params=params)
    _tell_held(target, target.error_text)


@transaction.atomic
def hold_unreachable(
    target: PostTarget, *, code: str, message: str, params: dict[str, Any] | None = None
) -> None:
    """publishing → scheduled, waiting with its channel's other posts for the host to answer
    (chorus.publishing.unreachable releases them together). Counted as an attempt."""
    _hold_in_flight(target, reason=PostTarget.Hold.UNREACHABLE, code=code, message=message, params=params)


def waiting_for(channel: Any) -> Any:
    """The targets of `channel` waiting for its host to answer (a queryset)."""
    return PostTarget.objects.filter(
        channel=channel, status=S.SCHEDULED, hold_reason=PostTarget.Hold.UNREACHABLE
    )


@transaction.atomic
def release_unreachable(channel: Any, *, target_ids: Iterable[int] | None = None) -> int:
    """Targets waiting for `channel`'s host (all of them, or `target_ids`: the one sent as a
    probe) go out now, together: due now, scheduled time kept. One UPDATE, an audit row each."""
    now = timezone.now()
    rows = waiting_for(channel)
    if target_ids is not None:
        rows = rows.filter(pk__in=list(target_ids))
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    sources, _to = _row("released", None)
    released = PostTarget.objects.filter(
        pk__in=ids, status__in=sources, hold_reason=PostTarget.Hold.UNREACHABLE
    ).update(hold_reason="", hold_detail="", due_at=now, updated_at=now)
    audit.record_many(
        "target.released",
        "content.posttarget",
        (
            (channel.workspace_id, pk, {"to": S.SCHEDULED, "reason": PostTarget.Hold.UNREACHABLE})
            for pk in ids
        ),
        at=now,
    )
    return released


@transaction.atomic
def expire_unreachable(channel: Any, *, host: str) -> int:
    """Targets still waiting for `channel`'s host past their retry horizon are held for a person
    (the reason names the host). Returns how many."""
    from chorus.publishing.outcomes import said

    now = timezone.now()
    expired = [t for t in waiting_for(channel).select_related("workspace") if retry_deadline(t) <= now]
    for target in expired:
        words = said("horizon_unreachable", network=channel.connector().label, host=host,
                     minutes=int(retry_horizon(target).total_seconds() // 60))  # fmt: skip
        changed = PostTarget.objects.filter(
            pk=target.pk, status=S.SCHEDULED, hold_reason=PostTarget.Hold.UNREACHABLE
        ).update(
            hold_reason=PostTarget.Hold.RETRY_HORIZON,
            error_code="unreachable",
            error_message=words["message"],
            error_params=words["params"],
            updated_at=now,
        )
        if changed:
            audit.record(
                "target.held",
                workspace=target.workspace,
                obj=target,
                reason=PostTarget.Hold.RETRY_HORIZON,
                code="unreachable",
                message=words["message"],
            )
            target.error_message, target.error_params = words["message"], words["params"]
            _tell_held(target, target.error_text)
    return len(expired)


def _admins_and_author(target: PostTarget) -> list[User]:
    admins = list(
        User.objects.filter(
            memberships__workspace_id=target.workspace_id, memberships__role__in=[Role.OWNER, Role.ADMIN]
        )
    )
    author = target.post.author
    return [*admins, *([author] if author else [])]


def _tell_held(target: PostTarget, message: str) -> None:
    from django.urls import reverse

    notify(
        _admins_and_author(target),
        workspace=target.workspace,
        kind="publish_held",
        title=_("Held for you on %(channel)s: %(post)s")
        % {"channel": target.channel.name, "post": target.post},
        body=message,
        url=reverse("publishing:target", kwargs={"slug": target.workspace.slug, "target_id": target.pk}),
    )


def _tell_failure(target: PostTarget, message: str) -> None:
    from django.urls import reverse

    notify(
        _admins_and_author(target),
        workspace=target.workspace,
        kind="publish_failed",
        title=_("Not published on %(channel)s: %(post)s")
        % {"channel": target.channel.name, "post": target.post},
        body=message,
        url=reverse("publishing:target", kwargs={"slug": target.workspace.slug, "target_id": target.pk}),
    )


def _signed(target: PostTarget, text: str) -> str:
    """`text` as `target`'s copy is written: ending with its channel's signature, once."""
    from chorus.publishing import writing_rules

    return writing_rules.signed(text, writing_rules.rules_of(target.workspace), target.channel_id)


def _insert_copy(original: PostTarget, **extra: Any) -> PostTarget:
    """A copy of an approved target (its text, media and options), 'approved', not yet scheduled.
    Its text keeps the signature rule (a template written before its channel had a signature
    gets it; one that has it does not get a second)."""
    _sources, to = _row("copied", [NEW])
    assert to is not None
    return PostTarget.objects.create(
        workspace=original.workspace,
        post=original.post,
        channel=original.channel,
        text=_signed(original, original.text),
        media=original.media,
        options=original.options,
        status=to,
        **extra,
    )


def requeue_evergreen(target_id: int) -> PostTarget | None:
    """Evergreen: after a publish, a copy goes into the channel's next free slot."""
    original = PostTarget.objects.select_related("post", "channel", "workspace").get(pk=target_id)
    copy = _insert_copy(original)
    try:
        add_to_queue(copy, actor=None, after=timezone.now())
    except TransitionRefused:
        copy.delete()  # no slots: evergreen needs a queue; nothing to requeue into
        return None
    return copy


# Template statuses whose content passed review: a recurrence repeats only what was approved.
_REVIEWED = (S.APPROVED, S.SCHEDULED, S.PUBLISHING, S.PUBLISHED, S.FAILED, S.UNKNOWN)


def schedule_occurrence(rec: Any, resolved: Resolved) -> PostTarget | None:
    """One occurrence of a recurrence (chorus.publishing.recurrence): a copy of its template,
    scheduled like any post (approval checked, links shortened, audited). None when the template
    has not passed review (a recurring draft waits for its approval; nothing goes out meanwhile),
    or when the occurrence already exists (another scheduler made it: unique recurrence + time)."""
    from django.db import IntegrityError

    template = rec.template
    current = PostTarget.objects.filter(pk=template.pk).values_list("status", flat=True).first()
    if current not in _REVIEWED or not policy.is_fully_approved(template):
        return None
    from chorus.publishing import rules

    # Checked as the copy will read: with its channel's signature (_insert_copy).
    probe = PostTarget(
        workspace=template.workspace,
        post=template.post,
        channel=template.channel,
        text=_signed(template, template.text),
        media=template.media,
        options=template.options,
    )
    broken = rules.problems(probe)
    if broken:  # the template no longer keeps its network's rules (e.g. a file's consent ended)
        audit.record(
            "recurrence.invalid",
            workspace=template.workspace,
            obj=rec,
            at_local=resolved.local.isoformat(),
            problems=[{"field": p.field, "code": p.code} for p in broken],
        )
        return None
    try:
        with transaction.atomic():
            copy = _insert_copy(template, recurrence=rec, scheduled_at=resolved.utc)
            schedule(copy, actor=None, when=resolved.utc, note=resolved.note)
    except IntegrityError:
        return None
    return copy


def approve_for_recurrence(target: PostTarget, *, actor: User | None) -> None:
    """Someone who may schedule directly makes a draft repeat (the composer's "repeat", the API's
    recurrence): as when they schedule a draft, the approval is theirs, so the template is
    submitted and approved now (audited). Under an approval workflow, or for anyone else, the
    template keeps its status and its occurrences wait for its approval."""
    if actor is None or target.status not in (S.DRAFT, S.IN_REVIEW) or not _can_self_approve(actor, target):
        return
    if policy.required_for(target) is not None:
        return
    with transaction.atomic():
        if target.status == S.DRAFT:
            submit_for_review(target, actor=actor)
        # Their own approval, as when they schedule a draft directly (no workflow applies here).
        _approve(target, actor=actor)


def hold_unapproved(now: dt.datetime | None = None) -> int:
    """Scheduler job. A target whose slot is within the workspace's hold window and that is not
    fully approved (the approvals policy says which) is held: a scheduled one goes back to
    in_review (so the claim, which takes only 'scheduled' rows, can never publish it); its
    author and current approvers are told once. Returns how many were told."""
    now = now or timezone.now()
    held = 0
    for target in list(policy.unapproved_due(now)):
        with transaction.atomic():
            if target.status == S.SCHEDULED:
                try:
                    send_back_for_review(target, actor=None, changes={}, resume_at=target.scheduled_at)
                except TransitionRefused:
                    continue  # claimed meanwhile: it was approved when claimed
            if policy.record_hold(target, now):
                held += 1
    return held


# --- batches (bulk import, the scheduler's claim) ----------------------------------------------


def create_imported(
    targets: list[PostTarget], *, actor: User | None, schedule_them: bool, data: dict[str, Any]
) -> None:
    """Inserts a bulk import's targets (unsaved, of one workspace, their post saved) in one
    statement, as the import's rows ask: scheduled at `scheduled_at` (with `schedule_note`) when
    `schedule_them` (the importer may schedule directly) and no approval workflow applies to the
    target; else in review, with the planned time kept in `options` (and, under a workflow, its
    run opened as `submit_for_review` does). Then what `schedule` does for one target: links
    tagged and shortened, media usage counted, an audit row each (with `data`). In the caller's
    transaction."""
    if not targets:
        return
    if not schedule_them:
        reviewed = targets
    elif policy.has_workflows(targets[0].workspace_id):
        reviewed = [t for t in targets if policy.required_for(t) is not None]
    else:
        reviewed = []
    if schedule_them and reviewed:
        ids = {id(t) for t in reviewed}
        scheduled = [t for t in targets if id(t) not in ids]
    else:
        scheduled = [] if not schedule_them else targets
    now = timezone.now()
    for target in scheduled:
        target.status = _row("scheduled", [NEW])[1]  # type: ignore[assignment]
        target.due_at = target.scheduled_at
    for target in reviewed:
        target.status = _row("submitted", [NEW])[1]  # type: ignore[assignment]
        target.options = {
            **target.options,
            "planned_at": target.scheduled_at.isoformat() if target.scheduled_at else "",
            "planned_note": target.schedule_note,
        }
        target.scheduled_at = None
        target.schedule_note = ""
    PostTarget.objects.bulk_create(targets)
    refresh_first_at(t.post_id for t in targets)
    if scheduled and _links_installed():
        from chorus.links.shortening import apply_to_many

        apply_to_many(scheduled)
    for action, group in (("scheduled", scheduled), ("submitted", reviewed)):
        if not group:
            continue
        _record_many(
            f"target.{action}",
            targets[0].workspace_id,
            [t.pk for t in group],
            actor=actor,
            data=functools.partial(_imported_data, {t.pk: t for t in group}, data),
            at=now,
        )
    if schedule_them:
        for target in reviewed:  # under a workflow: its first step is asked, as on submit
            policy.start(target, actor=actor)
    with_media = [t for t in targets if t.media]
    if with_media:
        from chorus.media.actions import sync_usage_many

        sync_usage_many(with_media)


def _imported_data(by_pk: dict[int, PostTarget], extra: dict[str, Any], pk: int) -> dict[str, Any]:
    target = by_pk[pk]
    at = target.scheduled_at.isoformat() if target.scheduled_at else ""
    return {"to": target.status, "at": at, "note": target.schedule_note, **extra}


def claim_many(chosen: list[tuple[int, int]], attempt_id: uuid.UUID, now: dt.datetime) -> list[int]:
    """scheduled → publishing for due targets (target id, workspace id) in one conditional
    UPDATE, inside the scheduler's claiming transaction (chorus.publishing.dispatch): the
    `status='scheduled'` guard makes a lost race claim nothing. Returns the ids claimed by this
    attempt (read back by attempt id), each with its audit row."""
    if not chosen:
        return []
    sources, to = _row("claimed", None)
    ids = [t for t, _w in chosen]
    PostTarget.objects.filter(id__in=ids, status__in=sources, hold_reason="").update(
        status=to,
        phase=PostTarget.Phase.CLAIMED,
        attempt_id=attempt_id,
        claimed_at=now,
        sending_at=None,
        worker="",
        updated_at=now,
    )
    claimed_ids = list(
        PostTarget.objects.filter(id__in=ids, attempt_id=attempt_id).values_list("id", flat=True)
    )
    ws_of = dict(chosen)
    audit.record_many(
        "target.claimed",
        "content.posttarget",
        ((ws_of[t], t, {"to": to, "attempt": str(attempt_id)}) for t in claimed_ids),
        at=now,
    )
    return claimed_ids


def hold_many(items: list[tuple[int, int]], reason: str, now: dt.datetime) -> None:
    """Due targets (target id, workspace id) held (missed their slot, their channel is paused,
    or its host does not answer): they stay 'scheduled' with a hold reason the claim skips. One
    UPDATE. Waiting for an unreachable host counts as an attempt (the group tried it)."""
    if not items:
        return
    sources, _to = _row("held", [S.SCHEDULED])
    ids = [t for t, _w in items]
    detail = "" if reason == PostTarget.Hold.UNREACHABLE else str(PostTarget.Hold(reason).label)
    extra: dict[str, Any] = {}
    if reason == PostTarget.Hold.UNREACHABLE:
        extra["attempts"] = F("attempts") + 1
    PostTarget.objects.filter(id__in=ids, status__in=sources, hold_reason="").update(
        hold_reason=reason, hold_detail=detail, updated_at=now, **extra
    )
    audit.record_many(
        "target.held", "content.posttarget", ((w, t, {"reason": reason}) for t, w in items), at=now
    )


def create_post(
    *,
    workspace: Any,
    author: User | None,
    channels: Iterable[Any],
    text: str,
    title: str = "",
    per_channel_text: dict[int, str] | None = None,
    evergreen: bool = False,
) -> Post:
    """A post with one draft target per channel; each copy ends with its channel's signature
    (the workspace's writing rules), once."""
    from chorus.publishing import writing_rules

    rules = writing_rules.rules_of(workspace)
    with transaction.atomic():
        post = Post.objects.create(workspace=workspace, author=author, title=title, evergreen=evergreen)
        for channel in channels:
            if channel.workspace_id != workspace.pk:
                raise ValueError("channel of another workspace")
            PostTarget.objects.create(
                workspace=workspace,
                post=post,
                channel=channel,
                text=writing_rules.signed((per_channel_text or {}).get(channel.pk, text), rules, channel.pk),
            )
        audit.record("post.created", workspace=workspace, actor=author, obj=post)
    return post


# --- a person's batch over whole posts (the Posts list's bulk actions) ------------------------
#
# Each copy moves through the single-target action above, in its own transaction: a copy the
# action refuses (another status, a workflow step, the author's own post) is reported and the
# others still move, as a person selecting twenty posts expects.

UNDELETABLE = (S.PUBLISHING, S.PUBLISHED, S.UNKNOWN)


@dataclass
class BatchOutcome:
    changed: int = 0  # copies (or posts, for post-level actions) moved
    skipped: int = 0  # copies the action does not apply to in their status
    refused: list[str] = field(default_factory=list)  # "post · channel: reason", shown to the person


def _copies(posts: Iterable[Post]) -> list[PostTarget]:
    return list(
        PostTarget.objects.filter(post__in=[p.pk for p in posts])
        .select_related("workspace", "channel", "post")
        .order_by("post_id", "channel__name")
    )


def _each(posts: Iterable[Post], statuses: Iterable[str], move: Callable[[PostTarget], Any]) -> BatchOutcome:
    wanted = set(statuses)
    out = BatchOutcome()
    for target in _copies(posts):
        if target.status not in wanted:
            out.skipped += 1
            continue
        try:
            move(target)
        except TransitionRefused as exc:
            out.refused.append(f"{target.post} · {target.channel.name}: {exc}")
        else:
            out.changed += 1
    return out


def submit_posts(posts: Iterable[Post], *, actor: User) -> BatchOutcome:
    """Every draft copy of these posts goes to review."""
    return _each(posts, [S.DRAFT], lambda t: submit_for_review(t, actor=actor))


def approve_posts(posts: Iterable[Post], *, actor: User, comment: str = "") -> BatchOutcome:
    """Every copy in review is approved (the policy refuses the author's own, and steps the
    actor does not decide)."""
    return _each(posts, [S.IN_REVIEW], lambda t: approve(t, actor=actor, comment=comment))


def reschedule_posts(
    posts: Iterable[Post], *, actor: User, when: dt.datetime, note: str = ""
) -> BatchOutcome:
    """Every copy that is scheduled, approved or failed goes out at `when` (UTC)."""

    def move(target: PostTarget) -> None:
        if target.status == S.SCHEDULED:
            reschedule(target, actor=actor, when=when, note=note)
        elif target.status == S.FAILED:
            retry_failed(target, actor=actor, when=when)
        else:
            schedule(target, actor=actor, when=when, note=note)

    return _each(posts, [S.SCHEDULED, S.APPROVED, S.FAILED], move)


@transaction.atomic
def move_to_campaign(posts: Iterable[Post], *, actor: User, campaign: Any) -> BatchOutcome:
    """Puts the posts in `campaign` (None: no campaign), one UPDATE, an audit row per post."""
    chosen = list(posts)
    if campaign is not None and any(p.workspace_id != campaign.workspace_id for p in chosen):
        raise ValueError("campaign of another workspace")
    campaign_id = campaign.pk if campaign is not None else None
    moving = [p for p in chosen if p.campaign_id != campaign_id]
    Post.objects.filter(pk__in=[p.pk for p in moving]).update(
        campaign_id=campaign_id, updated_at=timezone.now()
    )
    for post in moving:
        audit.record(
            "post.campaign_changed",
            workspace=post.workspace,
            actor=actor,
            obj=post,
            before=post.campaign_id,
            after=campaign_id,
        )
        post.campaign_id = campaign_id
    return BatchOutcome(changed=len(moving), skipped=len(chosen) - len(moving))


def delete_posts(posts: Iterable[Post], *, actor: User) -> BatchOutcome:
    """Deletes posts none of whose copies is publishing, published or of unknown outcome (what
    went out keeps its record and its figures). Each post in its own transaction."""
    out = BatchOutcome()
    for post in posts:
        with transaction.atomic():
            statuses = set(PostTarget.objects.filter(post=post).values_list("status", flat=True))
            if statuses & set(UNDELETABLE):
                kept = _("It went out (or may have): it is kept with its figures.")
                out.refused.append(f"{post}: {kept}")
                continue
            audit.record("post.deleted", workspace=post.workspace, actor=actor, obj=post, title=str(post))
            post.delete()
            out.changed += 1
    return out
