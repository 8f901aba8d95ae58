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
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.models import Membership, User
from chorus.accounts.permissions import Role
from chorus.content.models import Post, PostTarget
from chorus.core import audit
from chorus.core.notify import notify
from chorus.core.timeutil import Resolved, next_slot, resolve_local
from chorus.webhooks import emit_targets

S = PostTarget.Status
EDITABLE = (S.DRAFT, S.IN_REVIEW, S.APPROVED, S.SCHEDULED)


class TransitionRefused(Exception):
    """The target is not in a state that allows this change (e.g. it is already publishing)."""


def _approvals() -> Any:
    """The approval workflow engine (chorus.approvals): multi-step review hooks, no-ops when no
    workflow applies. Imported late: it imports this module."""
    from chorus.approvals import engine

    return engine


def _move(
    target: PostTarget,
    *,
    expected: Iterable[str],
    action: str,
    actor: User | None = None,
    audit_data: dict[str, Any] | None = None,
    attempt_id: uuid.UUID | None = None,
    in_phase: str | None = None,
    **fields: Any,
) -> None:
    expected = tuple(expected)
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
            raise TransitionRefused(_("Already publishing: this post can no longer be changed."))
        raise TransitionRefused(
            _("This post is %(status)s; it cannot be %(action)s.") % {"status": current, "action": action}
        )
    for key, value in fields.items():
        setattr(target, key, value)
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
    _move(target, expected=[S.DRAFT], action="submitted", actor=actor, status=S.IN_REVIEW)
    _approvals().start(target, actor=actor)
    emit_targets("approval.requested", [target])


@transaction.atomic
def approve(target: PostTarget, *, actor: User | None, comment: str = "", link: Any = None) -> None:
    """`link`: an outside reviewer's review link (chorus.approvals), for a step that accepts one."""
    if not _approvals().approve_step(target, actor=actor, comment=comment, link=link):
        return  # a workflow step was approved; more steps remain
    _move(
        target,
        expected=[S.IN_REVIEW],
        action="approved",
        actor=actor,
        status=S.APPROVED,
        audit_data={"comment": comment},
    )
    _approvals().after_approved(target)
    emit_targets("approval.decided", [target], decision="approved", comment=comment)


@transaction.atomic
def reject(target: PostTarget, *, actor: User | None, reason: str, link: Any = None) -> None:
    _approvals().check_rejecter(target, actor=actor)
    _move(
        target,
        expected=[S.IN_REVIEW],
        action="rejected",
        actor=actor,
        status=S.DRAFT,
        error_message=reason,
        audit_data={"reason": reason},
    )
    _approvals().rejected(target, actor=actor, reason=reason, link=link)
    emit_targets("approval.decided", [target], decision="rejected", comment=reason)


@transaction.atomic
def send_back_for_review(target: PostTarget, *, actor: User | None, changes: dict[str, Any]) -> None:
    """An approved or scheduled target changed under an approval workflow: it needs approval again."""
    _move(
        target,
        expected=[S.APPROVED, S.SCHEDULED],
        action="sent_back",
        actor=actor,
        status=S.IN_REVIEW,
        due_at=None,
        hold_reason="",
        hold_detail="",
        audit_data={"changes": changes},
    )
    emit_targets("approval.requested", [target])


@transaction.atomic
def edit(
    target: PostTarget,
    *,
    actor: User,
    text: str | None = None,
    media: list[Any] | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Edits are refused once a target is publishing or done (the change would be lost or lie)."""
    fields: dict[str, Any] = {}
    if text is not None:
        fields["text"] = text
    if media is not None:
        fields["media"] = media
    if options is not None:
        fields["options"] = options
    before = _approvals().snapshot(target)
    _move(
        target,
        expected=EDITABLE,
        action="edited",
        actor=actor,
        audit_data={"fields": sorted(fields)},
        **fields,
    )
    _approvals().changed_after_approval(target, actor=actor, before=before)
    if media is not None:
        from chorus.media.actions import sync_usage  # "used in N posts" in the media library

        sync_usage(target)


# --- scheduling -------------------------------------------------------------------------------


def resolve_when(target: PostTarget, local: dt.datetime) -> Resolved:
    return resolve_local(local, target.workspace.timezone)


def _schedule_fields(when: dt.datetime, note: str = "") -> dict[str, Any]:
    return {
        "status": S.SCHEDULED,
        "scheduled_at": when,
        "due_at": when,
        "schedule_note": note,
        "hold_reason": "",
        "hold_detail": "",
        "phase": "",
        "attempts": 0,
        "error_code": "",
        "error_message": "",
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
    _approvals().check_can_schedule(target)
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


def _shortened_text(target: PostTarget) -> str | None:
    """Links tagged with UTM and shortened when the workspace wants it (chorus.links), so every
    way of scheduling (composer, import, API, approvals) publishes the short links."""
    from django.apps import apps

    if not apps.is_installed("chorus.links"):
        return None
    from chorus.links.shortening import apply_on_schedule

    result: str | None = apply_on_schedule(target)
    return result


def _can_self_approve(actor: User, target: PostTarget) -> bool:
    from chorus.accounts.permissions import Perm, can

    role = (
        Membership.objects.filter(workspace_id=target.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    return can(role, Perm.APPROVE_POST) and can(role, Perm.SCHEDULE_POST)


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
            _("%(channel)s has no posting slots; add some in the channel's queue settings.")
            % {"channel": channel.name}
        )
    schedule(target, actor=actor, when=resolved.utc, note=resolved.note)
    return resolved


@transaction.atomic
def reschedule(target: PostTarget, *, actor: User | None, when: dt.datetime, note: str = "") -> None:
    before = _approvals().snapshot(target)
    _move(
        target,
        expected=[S.SCHEDULED],
        action="rescheduled",
        actor=actor,
        audit_data={"at": when.isoformat()},
        **_schedule_fields(when, note),
    )
    _approvals().changed_after_approval(target, actor=actor, before=before)


@transaction.atomic
def unschedule(target: PostTarget, *, actor: User | None) -> None:
    _move(
        target,
        expected=[S.SCHEDULED],
        action="unscheduled",
        actor=actor,
        status=S.APPROVED,
        scheduled_at=None,
        due_at=None,
        hold_reason="",
        hold_detail="",
    )


@transaction.atomic
def release_hold(target: PostTarget, *, actor: User) -> None:
    """A person decided a held (missed) target should go out now."""
    _move(
        target,
        expected=[S.SCHEDULED],
        action="released",
        actor=actor,
        hold_reason="",
        hold_detail="",
        due_at=timezone.now(),
        scheduled_at=timezone.now(),
    )


@transaction.atomic
def retry_failed(target: PostTarget, *, actor: User) -> None:
    _move(target, expected=[S.FAILED], action="retried", actor=actor, **_schedule_fields(timezone.now()))


# --- the engine's moves (scheduler, publish task, reconciliation) -----------------------------


@transaction.atomic
def hold(target: PostTarget, *, reason: str, detail: str) -> None:
    _move(
        target,
        expected=[S.SCHEDULED, S.PUBLISHING],
        action="held",
        attempt_id=target.attempt_id,
        status=S.SCHEDULED,
        phase="",
        hold_reason=reason,
        hold_detail=detail,
        audit_data={"reason": reason},
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
        status=S.PUBLISHED,
        phase="",
        published_at=published_at or timezone.now(),
        external_id=external_id,
        external_url=url,
        error_code="",
        error_message="",
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
        "external_url = %s, error_code = '', error_message = '', due_at = NULL, updated_at = %s "
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
                if target.post.evergreen:
                    transaction.on_commit(functools.partial(requeue_evergreen, target.pk))
        emit_targets("post.published", (t for t, _r in pairs if t.pk in done))
    return done


@transaction.atomic
def mark_failed(target: PostTarget, *, code: str, message: str, by_reconciliation: bool = False) -> None:
    expected = [S.UNKNOWN] if by_reconciliation else [S.PUBLISHING]
    _move(
        target,
        expected=expected,
        action="failed",
        attempt_id=target.attempt_id,
        status=S.FAILED,
        phase="",
        due_at=None,
        error_code=code,
        error_message=message,
        audit_data={"code": code, "message": message},
    )
    emit_targets("post.failed", [target])
    _tell_failure(target, message)


@transaction.atomic
def mark_unknown(target: PostTarget, *, message: str, only_if_sending: bool = False) -> None:
    _move(
        target,
        expected=[S.PUBLISHING],
        action="unknown",
        attempt_id=target.attempt_id,
        in_phase="sending" if only_if_sending else None,
        status=S.UNKNOWN,
        phase="sending",
        error_code="outcome_unknown",
        error_message=message,
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
        status=S.SCHEDULED,
        phase="",
        due_at=when,
        error_code=code,
        error_message=message,
        attempts=target.attempts + (1 if count_attempt else 0),
        audit_data={"at": when.isoformat(), "code": code},
    )


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: 0..min(cap, base * 2^attempt) seconds."""
    base = settings.CHORUS_RETRY_BASE_SECONDS
    cap = settings.CHORUS_RETRY_MAX_SECONDS
    return random.uniform(base, max(base, min(cap, base * (2**attempt))))


def _admins_and_author(target: PostTarget) -> list[User]:
    admins = list(
        User.objects.filter(
            memberships__workspace_id=target.workspace_id, memberships__role__in=[Role.OWNER, Role.ADMIN]
        )
    )
    author = target.post.author
    return [*admins, *([author] if author else [])]


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


def requeue_evergreen(target_id: int) -> PostTarget | None:
    """Evergreen: after a publish, a copy goes into the channel's next free slot."""
    original = PostTarget.objects.select_related("post", "channel", "workspace").get(pk=target_id)
    copy = PostTarget.objects.create(
        workspace=original.workspace,
        post=original.post,
        channel=original.channel,
        text=original.text,
        media=original.media,
        options=original.options,
        status=S.APPROVED,
    )
    try:
        add_to_queue(copy, actor=None, after=timezone.now())
    except TransitionRefused:
        copy.delete()  # no slots: evergreen needs a queue; nothing to requeue into
        return None
    return copy


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
    """A post with one draft target per channel."""
    with transaction.atomic():
        post = Post.objects.create(workspace=workspace, author=author, title=title, evergreen=evergreen)
        for channel in channels:
            if channel.workspace_id != workspace.pk:
                raise ValueError("channel of another workspace")
            PostTarget.objects.create(
                workspace=workspace,
                post=post,
                channel=channel,
                text=(per_channel_text or {}).get(channel.pk, text),
            )
        audit.record("post.created", workspace=workspace, actor=author, obj=post)
    return post
