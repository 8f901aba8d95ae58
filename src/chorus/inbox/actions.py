"""Every state change of the inbox. Views, the API and tasks call these; each writes the audit row.

Ingestion stores a page of entries and the stream's cursor in one transaction (a crash keeps both
or neither). Replies are sent at most once: `sending` with an attempt id is committed before the
network call; an answer lost on the way (a timeout) leaves `unknown`, which `settle_reply`
decides by reading back, never by sending blindly again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus import webhooks
from chorus.accounts.models import Membership, User, Workspace
from chorus.accounts.permissions import Perm, Role, can
from chorus.channels.models import Channel
from chorus.connectors.base import ContentRejected, Feature, OutcomeUnknown, PublishError
from chorus.connectors.inbox import (
    WEBHOOK_SUBSCRIPTION_KEY,
    InboxConnector,
    InboxEntry,
    ReadCost,
    ReplyKey,
    UnitQuota,
)
from chorus.content.models import PostTarget
from chorus.core import audit, textsignals
from chorus.core.models import AuditEvent
from chorus.core.notify import notify
from chorus.inbox import filtering
from chorus.inbox.models import (
    Conversation,
    Cursor,
    InboxItem,
    InboxSettings,
    Reply,
    SavedReply,
    SavedView,
)
from chorus.quotas.models import QuotaUsage

S = Conversation.Status
R = Reply.Status
COMPOSING_SECONDS = 20  # the "someone is answering" marker lives this long unless renewed
MAX_TEXT = 20_000  # an item's text is cut here: a hostile payload cannot bloat the table
_CHUNK = 500  # SQLite's bound-variable limit is far above; keeps IN lists modest
ENRICH_PENDING = "pending"  # extra["enrich"] of an entry a webhook gave only by id
log = logging.getLogger(__name__)


class InboxRefused(Exception):
    """A refused inbox action: a code, its parameters and a translated message."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


class ReplyCollision(InboxRefused):
    """Someone else's reply landed after the sender opened the conversation."""

    def __init__(self, newer: Reply) -> None:
        super().__init__(
            "collision",
            _("%(person)s answered while you were writing; read their reply first.")
            % {"person": newer.author.display_name if newer.author else _("Someone")},
            reply_id=newer.pk,
        )
        self.newer = newer


@dataclass(frozen=True)
class IngestResult:
    new_items: int
    new_conversations: int
    duplicates: int


def inbox_connector(channel: Channel) -> InboxConnector:
    connector = channel.connector()
    if Feature.INBOX not in connector.features:
        raise InboxRefused(
            "no_inbox", _("%(network)s has no inbox in Chorus.") % {"network": connector.label}
        )
    return cast(InboxConnector, connector)


def sla_minutes(workspace: Workspace) -> int:
    found = InboxSettings.objects.filter(workspace=workspace).values_list("sla_minutes", flat=True).first()
    return 240 if found is None else found


def set_sla(*, workspace: Workspace, minutes: int, actor: User | None) -> None:
    if minutes < 1 or minutes > 60 * 24 * 30:
        raise InboxRefused("sla_range", _("The target must be between 1 minute and 30 days."))
    with transaction.atomic():
        InboxSettings.objects.update_or_create(workspace=workspace, defaults={"sla_minutes": minutes})
        audit.record("inbox.sla_set", workspace=workspace, actor=actor, minutes=minutes)


def set_read_budget(*, workspace: Workspace, usd: Decimal, actor: User | None) -> None:
    if not Decimal("0") <= usd <= Decimal("100000"):
        raise InboxRefused("budget_range", _("The budget must be between 0 and 100,000 USD."))
    with transaction.atomic():
        InboxSettings.objects.update_or_create(workspace=workspace, defaults={"read_budget_usd": usd})
        audit.record("inbox.read_budget_set", workspace=workspace, actor=actor, usd=str(usd))


def paid_reads(workspace: Workspace) -> list[dict[str, Any]]:
    """What each paying network's reads cost this month, for the settings page."""
    from chorus.connectors.registry import connector_class

    rows = []
    for kind in sorted(set(workspace.channels.values_list("kind", flat=True))):
        try:
            cost = getattr(connector_class(kind), "inbox_read_cost", None)
        except (KeyError, ImportError):
            continue
        if isinstance(cost, ReadCost):
            rows.append(
                {
                    "network": connector_class(kind).label,
                    "per_unit": cost.usd_per_unit,
                    "spent": read_spend(workspace, cost.bucket, cost.usd_per_unit),
                }
            )
    return rows


def save_reply_template(*, workspace: Workspace, name: str, text: str, actor: User | None) -> SavedReply:
    name, text = name.strip(), text.strip()
    if not name or not text:
        raise InboxRefused("saved_reply_empty", _("A saved reply needs a name and a text."))
    with transaction.atomic():
        saved = SavedReply.objects.create(workspace=workspace, name=name[:120], text=text[:5000])
        audit.record("inbox.saved_reply_created", workspace=workspace, actor=actor, obj=saved)
    return saved


def delete_saved_reply(*, saved: SavedReply, actor: User | None) -> None:
    with transaction.atomic():
        audit.record("inbox.saved_reply_deleted", workspace=saved.workspace, actor=actor, obj=saved)
        saved.delete()


MAX_VIEWS = 50  # per person and workspace, and shared per workspace


def _role(workspace: Workspace, user: User) -> str | None:
    return Membership.objects.filter(workspace=workspace, user=user).values_list("role", flat=True).first()


def visible_views(workspace: Workspace, user: User) -> list[SavedView]:
    """The workspace's shared views and the person's own, by name; never another workspace's,
    never another person's personal view."""
    return list(
        SavedView.objects.filter(workspace=workspace)
        .filter(Q(owner=None) | Q(owner=user))
        .order_by("name", "pk")
    )


def save_view(
    *, workspace: Workspace, actor: User, name: str, filters: dict[str, Any], shared: bool
) -> SavedView:
    """A named view of the current filters. Shared views need the right to manage the inbox."""
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise InboxRefused("view_name", _("A view needs a name of at most 80 characters."))
    role = _role(workspace, actor)
    if role is None:
        raise InboxRefused("forbidden", _("Only members of this workspace can save views."))
    if shared and not can(role, Perm.MANAGE_INBOX):
        raise InboxRefused("forbidden", _("Your role cannot share views with the workspace."))
    owner = None if shared else actor
    siblings = SavedView.objects.filter(workspace=workspace, owner=owner)
    if siblings.count() >= MAX_VIEWS:
        raise InboxRefused("too_many_views", _("At most %(count)d views here.") % {"count": MAX_VIEWS})
    if siblings.filter(name__iexact=name).exists():
        raise InboxRefused("view_exists", _("A view with this name exists already."))
    with transaction.atomic():
        view = SavedView.objects.create(
            workspace=workspace, owner=owner, name=name, filters=filtering.clean(filters), created_by=actor
        )
        audit.record("inbox.view_saved", workspace=workspace, actor=actor, obj=view, name=name, shared=shared)
    return view


def delete_view(*, view: SavedView, actor: User) -> None:
    """A personal view by its owner; a shared one by those who may manage the inbox."""
    if view.owner_id is not None and view.owner_id != actor.pk:
        raise InboxRefused("forbidden", _("Only its owner can delete this view."))
    if view.owner_id is None:
        role = _role(view.workspace, actor)
        if role is None or not can(role, Perm.MANAGE_INBOX):
            raise InboxRefused("forbidden", _("Your role cannot delete shared views."))
    with transaction.atomic():
        audit.record("inbox.view_deleted", workspace=view.workspace, actor=actor, obj=view, name=view.name)
        view.delete()


def view_unread_counts(workspace: Workspace, user: User, views: Sequence[SavedView]) -> dict[int, int]:
    """Per view: its conversations with unread items. One pass over the unread conversations
    (a partial index keeps them apart), each view a filtered count: 9-12 ms per view as separate
    counts at 100k conversations, ~2 ms for all of them together."""
    if not views:
        return {}
    from django.db.models import Count

    counts = Conversation.objects.filter(workspace=workspace, unread__gt=0).aggregate(
        **{f"v{view.pk}": Count("pk", filter=filtering.condition(view.filters or {}, user)) for view in views}
    )
    return {view.pk: int(counts[f"v{view.pk}"] or 0) for view in views}


# --- text signals -----------------------------------------------------------------------------


# Languages detected on incoming text (sentiment is scored for those textsignals knows: EN, FR).
DETECTED_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl")


def text_signals(text: str) -> tuple[str, float | None]:
    """Language and sentiment (VADER compound score, -1 … 1) of a text, from the shared
    chorus.core.textsignals; empty when the text has no letters or the language is unknown."""
    language = textsignals.detect_language(text, DETECTED_LANGUAGES) or ""
    return language, textsignals.sentiment(text, language or None).score


# --- ingestion --------------------------------------------------------------------------------


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def ingest(
    *,
    channel: Channel,
    entries: Sequence[InboxEntry],
    stream: str = "",
    cursor: str | None = None,
    via: str = "poll",
) -> IngestResult:
    """Stores new entries (those already stored are skipped: unique per channel + network id),
    groups conversation kinds per author and post, and, when `stream` is given, saves `cursor`
    in the same transaction."""
    unique: dict[str, InboxEntry] = {}
    for entry in entries:
        unique.setdefault(entry.network_id, entry)
    with transaction.atomic():
        ids = list(unique)
        known: set[str] = set()
        for chunk in _chunks(ids):
            known.update(
                InboxItem.objects.filter(channel=channel, network_id__in=chunk).values_list(
                    "network_id", flat=True
                )
            )
        fresh = [e for nid, e in unique.items() if nid not in known]
        talk = [e for e in fresh if not e.is_activity]
        conversations, created = _conversations_for(channel, talk)
        now = timezone.now()
        items = []
        for entry in fresh:
            conversation = None if entry.is_activity else conversations[entry.conversation_key()]
            items.append(
                InboxItem(
                    workspace_id=channel.workspace_id,
                    channel_id=channel.pk,
                    conversation_id=conversation.pk if conversation else None,
                    network_id=entry.network_id,
                    kind=entry.kind,
                    author_id=entry.author_id,
                    author_handle=entry.author_handle[:300],
                    author_name=entry.author_name[:300],
                    text=entry.text[:MAX_TEXT],
                    url=entry.url[:800],
                    root_id=entry.root_id,
                    parent_id=entry.parent_id,
                    extra=entry.extra,
                    created_at=entry.created_at,
                    received_at=now,
                    via=via,
                )
            )
        # ignore_conflicts: a webhook delivery and a poll may store the same item concurrently
        # (PostgreSQL); the unique constraint keeps one, and the counters may run one ahead.
        InboxItem.objects.bulk_create(items, batch_size=1000, ignore_conflicts=True)
        _count_into(conversations, talk)
        _announce(channel, talk, now)
        # Own channels are a listening source: their public mentions and replies count as mentions.
        from chorus.listening.own import store_inbox_entries

        store_inbox_entries(channel, talk)
        if stream:
            Cursor.objects.update_or_create(
                channel=channel, stream=stream, defaults={"value": cursor or "", "updated_at": now}
            )
        audit.record_many(
            "inbox.ingested",
            "channels.channel",
            [
                (
                    channel.workspace_id,
                    channel.pk,
                    {"stream": stream, "via": via, "new": len(fresh), "conversations": created},
                )
            ],
        )
    return IngestResult(len(fresh), created, len(entries) - len(fresh))


ENRICH_PER_CALL = 50  # network reads per webhook delivery or poll; the rest wait for the next poll


def enrich_entries(channel: Channel, entries: Sequence[InboxEntry]) -> list[InboxEntry]:
    """Completes the entries a webhook gave only by id (extra["enrich"] == "pending") through the
    connector's `inbox_enrich`, outside any transaction. One already stored is left as it is (a
    retried delivery costs no read); a failed read keeps the bare entry, stored and completed by
    a later poll (`enrich_pending`): a mention is never dropped because its text was unreadable."""
    pending = [e for e in entries if e.extra.get("enrich") == ENRICH_PENDING]
    method = getattr(channel.connector(), "inbox_enrich", None)
    if not pending or method is None:
        return list(entries)
    known = set(
        InboxItem.objects.filter(channel=channel, network_id__in=[e.network_id for e in pending]).values_list(
            "network_id", flat=True
        )
    )
    done: dict[str, InboxEntry] = {}
    for entry in pending[:ENRICH_PER_CALL]:
        if entry.network_id in known:
            continue
        try:
            done[entry.network_id] = method(entry)
        except PublishError as exc:
            log.warning("inbox: could not read %s %s yet: %s", channel.kind, entry.network_id, exc.message)
    return [done.get(e.network_id, e) for e in entries]


def enrich_pending(channel: Channel) -> int:
    """Completes stored items still waiting for their text (a webhook's read failed): read
    outside any transaction, then written with the conversation's author when it was unknown."""
    method = getattr(channel.connector(), "inbox_enrich", None)
    if method is None:
        return 0
    waiting = list(
        InboxItem.objects.filter(channel=channel, extra__enrich=ENRICH_PENDING).order_by("pk")[
            :ENRICH_PER_CALL
        ]
    )
    done = 0
    for item in waiting:
        try:
            entry = method(item.entry())
        except PublishError as exc:
            log.warning("inbox: could not read %s %s yet: %s", channel.kind, item.network_id, exc.message)
            continue
        with transaction.atomic():
            InboxItem.objects.filter(pk=item.pk).update(
                author_id=entry.author_id[:300],
                author_handle=entry.author_handle[:300],
                author_name=entry.author_name[:300],
                text=entry.text[:MAX_TEXT],
                url=entry.url[:800],
                extra=entry.extra,
            )
            if item.conversation_id is not None:
                Conversation.objects.filter(pk=item.conversation_id, author_handle="", author_name="").update(
                    author_handle=entry.author_handle[:300], author_name=entry.author_name[:300]
                )
            audit.record("inbox.enriched", workspace=channel.workspace, obj=item)
        done += 1
    return done


def _announce(channel: Channel, talk: list[InboxEntry], now: dt.datetime) -> None:
    """inbox.message.received for each conversation item this call stored, on commit. Rows are
    read back by their `received_at`: an item another process stored first (a webhook and a poll
    racing) is skipped by the insert and announced once, by that process."""
    if not talk:
        return
    ids = [e.network_id for e in talk]

    def build(_listening: set[int]) -> list[tuple[int, dict[str, Any]]]:
        from chorus.webhooks.events import inbox_item_data

        info = {"id": channel.pk, "kind": channel.kind, "name": channel.name}
        stored: list[InboxItem] = []
        for chunk in _chunks(ids):
            stored += InboxItem.objects.filter(channel=channel, network_id__in=chunk, received_at=now)
        stored.sort(key=lambda item: (item.created_at, item.pk))
        workspace = channel.workspace
        return [(channel.workspace_id, inbox_item_data(item, workspace, info)) for item in stored]

    webhooks.emit_many("inbox.message.received", [channel.workspace_id], build)


def _conversations_for(channel: Channel, talk: list[InboxEntry]) -> tuple[dict[str, Conversation], int]:
    first: dict[str, InboxEntry] = {}
    for entry in sorted(talk, key=lambda e: e.created_at):
        first.setdefault(entry.conversation_key(), entry)
    keys = list(first)
    found: dict[str, Conversation] = {}
    for chunk in _chunks(keys):
        found.update({c.key: c for c in Conversation.objects.filter(channel=channel, key__in=chunk)})
    missing = [k for k in keys if k not in found]
    if not missing:
        return found, 0
    subjects = {str(first[k].extra.get("subject") or first[k].root_id) for k in missing} - {""}
    targets: dict[str, int] = {}
    for chunk in _chunks(list(subjects)):
        targets.update(
            PostTarget.objects.filter(channel=channel, external_id__in=chunk).values_list("external_id", "pk")
        )
    new = []
    for key in missing:
        entry = first[key]
        language, sentiment = text_signals(entry.text)
        new.append(
            Conversation(
                workspace_id=channel.workspace_id,
                channel_id=channel.pk,
                key=key,
                root_id=entry.root_id or entry.network_id,
                author_id=entry.author_id,
                author_handle=entry.author_handle[:300],
                author_name=entry.author_name[:300],
                target_id=targets.get(str(entry.extra.get("subject") or entry.root_id)),
                first_item_at=entry.created_at,
                last_item_at=entry.created_at,
                language=language,
                sentiment=sentiment,
            )
        )
    Conversation.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    for chunk in _chunks(missing):
        found.update({c.key: c for c in Conversation.objects.filter(channel=channel, key__in=chunk)})
    return found, len(missing)


def _count_into(conversations: dict[str, Conversation], talk: list[InboxEntry]) -> None:
    changed: dict[str, Conversation] = {}
    for entry in talk:
        conversation = conversations[entry.conversation_key()]
        conversation.unread += 1
        conversation.items_count += 1
        conversation.last_item_at = max(conversation.last_item_at, entry.created_at)
        if conversation.status != S.OPEN:  # the person wrote again: it needs an answer
            conversation.status = S.OPEN
            conversation.closed_at = None
        changed[conversation.key] = conversation
    Conversation.objects.bulk_update(
        list(changed.values()),
        ["unread", "items_count", "last_item_at", "status", "closed_at"],
        batch_size=1000,
    )


# --- triage -----------------------------------------------------------------------------------


def assign(*, conversation: Conversation, assignee: User | None, actor: User | None) -> None:
    if (
        assignee is not None
        and not Membership.objects.filter(workspace_id=conversation.workspace_id, user=assignee).exists()
    ):
        raise InboxRefused("not_member", _("Only members of this workspace can be assigned."))
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(assignee=assignee)
        conversation.assignee = assignee
        audit.record(
            "inbox.assigned",
            workspace=conversation.workspace,
            actor=actor,
            obj=conversation,
            assignee=assignee.pk if assignee else None,
        )
        if assignee is not None and assignee != actor:
            notify(
                [assignee],
                workspace=conversation.workspace,
                kind="inbox.assigned",
                title=_("A conversation was assigned to you"),
                body=_("%(person)s on %(channel)s")
                % {
                    "person": conversation.author_name
                    or conversation.author_handle
                    or conversation.author_id,
                    "channel": conversation.channel.name,
                },
                url=reverse("inbox:conversation", args=[conversation.workspace.slug, conversation.pk]),
            )


def notify_overdue(at: dt.datetime | None = None) -> int:
    """Scheduler job: every open conversation still unanswered past its workspace's first-response
    target is announced once — to its assignee, or to the workspace's owners and admins when no
    one has it — in the app and by email. The claim (`overdue_notified_at`) is written before the
    notification in the same transaction, so a repeat run or a second worker never sends it twice."""
    at = at or timezone.now()
    candidates = Conversation.objects.filter(
        first_response_at__isnull=True, overdue_notified_at__isnull=True, first_item_at__lt=at
    ).exclude(status=S.CLOSED)
    told = 0
    for workspace_id in candidates.values_list("workspace_id", flat=True).distinct():
        workspace = Workspace.objects.get(pk=workspace_id)
        limit = at - dt.timedelta(minutes=sla_minutes(workspace))
        due = candidates.filter(workspace=workspace, first_item_at__lt=limit).select_related(
            "channel", "assignee"
        )
        managers: list[User] | None = None
        for conversation in due[:500]:
            with transaction.atomic():
                claimed = Conversation.objects.filter(
                    pk=conversation.pk, overdue_notified_at__isnull=True
                ).update(overdue_notified_at=at)
                if not claimed:
                    continue
                if conversation.assignee is not None:
                    recipients = [conversation.assignee]
                else:
                    if managers is None:
                        managers = [
                            m.user
                            for m in Membership.objects.filter(
                                workspace=workspace, role__in=[Role.OWNER, Role.ADMIN]
                            ).select_related("user")
                        ]
                    recipients = managers
                audit.record(
                    "inbox.overdue",
                    workspace=workspace,
                    actor=None,
                    obj=conversation,
                    told=sorted(u.pk for u in recipients),
                )
                notify(
                    recipients,
                    workspace=workspace,
                    kind="inbox.overdue",
                    title=_("A conversation is waiting past the response target"),
                    body=_("%(person)s on %(channel)s has had no answer for more than %(minutes)s minutes.")
                    % {
                        "person": conversation.author_name
                        or conversation.author_handle
                        or conversation.author_id,
                        "channel": conversation.channel.name,
                        "minutes": sla_minutes(workspace),
                    },
                    url=reverse("inbox:conversation", args=[workspace.slug, conversation.pk]),
                )
                told += 1
    return told


def set_status(*, conversation: Conversation, status: str, actor: User | None) -> None:
    if status not in S.values:
        raise InboxRefused("bad_status", _("Unknown status %(status)s.") % {"status": status}, status=status)
    closed_at = timezone.now() if status == S.CLOSED else None
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(status=status, closed_at=closed_at)
        conversation.status, conversation.closed_at = status, closed_at
        audit.record(
            "inbox.status", workspace=conversation.workspace, actor=actor, obj=conversation, status=status
        )


def set_tags(*, conversation: Conversation, tags: Iterable[str], actor: User | None) -> list[str]:
    clean = sorted({t.strip().lower()[:40] for t in tags if t and t.strip()})
    if len(clean) > 20:
        raise InboxRefused("too_many_tags", _("A conversation may have at most 20 tags."))
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(tags=clean)
        conversation.tags = clean
        audit.record(
            "inbox.tagged", workspace=conversation.workspace, actor=actor, obj=conversation, tags=clean
        )
    return clean


def mark_read(*, conversation: Conversation, actor: User | None) -> None:
    if conversation.unread == 0:
        return
    with transaction.atomic():
        InboxItem.objects.filter(conversation=conversation, read=False).update(read=True)
        Conversation.objects.filter(pk=conversation.pk).update(unread=0)
        conversation.unread = 0
        audit.record("inbox.read", workspace=conversation.workspace, actor=actor, obj=conversation)


def start_composing(*, conversation: Conversation, actor: User) -> User | None:
    """Marks `actor` as writing an answer; returns the other person already writing, if any.
    A short-lived marker (renewed while the reply box is open), so a closed tab frees it."""
    now = timezone.now()
    other = (
        Conversation.objects.filter(pk=conversation.pk, composing_until__gt=now)
        .exclude(composing_user=actor)
        .exclude(composing_user=None)
        .values_list("composing_user", flat=True)
        .first()
    )
    if other is not None:
        return User.objects.get(pk=other)
    Conversation.objects.filter(pk=conversation.pk).update(
        composing_user=actor, composing_until=now + dt.timedelta(seconds=COMPOSING_SECONDS)
    )
    return None


def stop_composing(*, conversation: Conversation, actor: User) -> None:
    Conversation.objects.filter(pk=conversation.pk, composing_user=actor).update(
        composing_user=None, composing_until=None
    )


# --- replies ----------------------------------------------------------------------------------


def reply_needs_approval(role: str | None) -> bool:
    """The approvals rule for answers: a role that may not send replies unreviewed waits."""
    return not can(role, Perm.SEND_INBOX_REPLY)


def request_reply(
    *,
    conversation: Conversation,
    actor: User,
    text: str,
    in_reply_to: InboxItem | None = None,
    seen_reply_id: int | None = None,
) -> Reply:
    """Writes an answer. It waits for approval when the author's role says so, else it is queued
    and sent after commit. `seen_reply_id`: the newest reply the writer saw; a newer reply by
    someone else stops this one (ReplyCollision) so the writer reads it first."""
    text = text.strip()
    if not text:
        raise InboxRefused("empty", _("Write something to reply."))
    role = (
        Membership.objects.filter(workspace_id=conversation.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if not can(role, Perm.ANSWER_INBOX):
        raise InboxRefused("forbidden", _("Your role cannot answer conversations."))
    with transaction.atomic():
        # Serialize answers to one conversation: the guard below must see a reply committed by
        # another person a moment ago (SQLite's IMMEDIATE transaction already serializes writers).
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        newer = (
            Reply.objects.select_related("author")
            .filter(conversation=locked, pk__gt=seen_reply_id or 0)
            .exclude(author=actor)
            .exclude(status__in=[R.REJECTED, R.FAILED])
            .order_by("pk")
            .first()
        )
        if seen_reply_id is not None and newer is not None:
            raise ReplyCollision(newer)
        parent = in_reply_to or InboxItem.objects.filter(conversation=locked).order_by("-created_at").first()
        if parent is None or parent.conversation_id != locked.pk:
            raise InboxRefused("no_item", _("There is nothing to answer in this conversation."))
        status = R.AWAITING_APPROVAL if reply_needs_approval(role) else R.QUEUED
        reply = Reply.objects.create(
            workspace_id=locked.workspace_id,
            conversation=locked,
            in_reply_to=parent,
            author=actor,
            text=text,
            status=status,
        )
        Conversation.objects.filter(pk=locked.pk, composing_user=actor).update(
            composing_user=None, composing_until=None
        )
        audit.record(
            "inbox.reply_requested", workspace=locked.workspace, actor=actor, obj=reply, status=status
        )
        if status == R.QUEUED:
            _enqueue_send(reply.pk)
    return reply


def approve_reply(*, reply: Reply, actor: User) -> None:
    role = (
        Membership.objects.filter(workspace_id=reply.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if not can(role, Perm.APPROVE_INBOX_REPLY):
        raise InboxRefused("forbidden", _("Your role cannot approve replies."))
    if reply.author_id == actor.pk:
        raise InboxRefused("own_reply", _("Someone else must approve your reply."))
    with transaction.atomic():
        if not Reply.objects.filter(pk=reply.pk, status=R.AWAITING_APPROVAL).update(
            status=R.QUEUED, approved_by=actor
        ):
            raise InboxRefused("not_awaiting", _("This reply is not waiting for approval."))
        audit.record("inbox.reply_approved", workspace=reply.conversation.workspace, actor=actor, obj=reply)
        _enqueue_send(reply.pk)


def reject_reply(*, reply: Reply, actor: User, reason: str = "") -> None:
    role = (
        Membership.objects.filter(workspace_id=reply.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if not can(role, Perm.APPROVE_INBOX_REPLY):
        raise InboxRefused("forbidden", _("Your role cannot approve replies."))
    with transaction.atomic():
        if not Reply.objects.filter(pk=reply.pk, status=R.AWAITING_APPROVAL).update(
            status=R.REJECTED, error=reason[:500]
        ):
            raise InboxRefused("not_awaiting", _("This reply is not waiting for approval."))
        audit.record(
            "inbox.reply_rejected",
            workspace=reply.conversation.workspace,
            actor=actor,
            obj=reply,
            reason=reason,
        )


def _enqueue_send(reply_id: int) -> None:
    from chorus.inbox.tasks import send_reply_task

    transaction.on_commit(lambda: send_reply_task.enqueue(reply_id))


def send_reply(reply_id: int) -> str:
    """Sends a queued reply: claim (queued → sending, attempt id) and commit, call the network
    outside any transaction, record. Safe to run twice: only one run wins the claim."""
    attempt = uuid.uuid4()
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply_id, status=R.QUEUED).update(
            status=R.SENDING, attempt_id=attempt, attempts=F("attempts") + 1
        )
    if not claimed:  # another worker has it, or it is not due (sent, awaiting approval...)
        return "skipped"
    reply = Reply.objects.select_related("conversation__channel", "in_reply_to").get(pk=reply_id)
    channel = reply.conversation.channel
    try:
        result = inbox_connector(channel).inbox_reply(reply.in_reply_to.entry(), reply.text, _key(reply))
    except OutcomeUnknown as exc:
        _record(reply, R.UNKNOWN, error=exc.message)
        return "unknown"
    except (PublishError, InboxRefused) as exc:
        retry = isinstance(exc, PublishError) and exc.retryable and not isinstance(exc, ContentRejected)
        # A retryable failure was certainly not applied (Transient, RateLimited): queue it again.
        _record(reply, R.QUEUED if retry else R.FAILED, error=getattr(exc, "message", str(exc)))
        return "retry" if retry else "failed"
    _sent(reply, result.network_id, result.url)
    return "sent"


def settle_reply(reply_id: int) -> str:
    """An `unknown` reply: read back by its key. Found: sent. Absent: it was not applied; it is
    queued again (the key makes a late duplicate collide on networks that dedupe)."""
    reply = Reply.objects.select_related("conversation__channel", "in_reply_to").get(pk=reply_id)
    if reply.status != R.UNKNOWN:
        return "skipped"
    found = inbox_connector(reply.conversation.channel).inbox_find_reply(
        reply.in_reply_to.entry(), _key(reply)
    )
    if found is not None:
        _sent(reply, found.network_id, found.url)
        return "sent"
    with transaction.atomic():
        if Reply.objects.filter(pk=reply.pk, status=R.UNKNOWN).update(status=R.QUEUED):
            audit.record("inbox.reply_requeued", workspace=reply.conversation.workspace, obj=reply)
            _enqueue_send(reply.pk)
    return "requeued"


def _key(reply: Reply) -> ReplyKey:
    return ReplyKey(reply.idempotency_key(), reply.created_at, reply.text)


def _record(reply: Reply, status: str, *, error: str) -> None:
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk, status=R.SENDING).update(status=status, error=error[:2000])
        audit.record(
            f"inbox.reply_{status}", workspace=reply.conversation.workspace, obj=reply, error=error[:300]
        )


def _sent(reply: Reply, network_id: str, url: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=R.SENT, network_id=network_id, url=url[:800], sent_at=now, error=""
        )
        conversation = reply.conversation
        Conversation.objects.filter(pk=conversation.pk, first_response_at=None).update(first_response_at=now)
        Conversation.objects.filter(pk=conversation.pk, status=S.OPEN).update(status=S.WAITING)
        audit.record("inbox.reply_sent", workspace=conversation.workspace, obj=reply, network_id=network_id)


# --- answering without words: like, hide, delete, moderate --------------------------------------

MODERATIONS = ("like", "hide", "unhide", "delete", "approve", "hold", "spam", "trash", "reject")


def moderate(*, item: InboxItem, action: str, actor: User | None) -> None:
    """Like, hide/unhide, delete or set a moderation state (WordPress) through the connector.
    The network call happens outside any transaction; the outcome is recorded after."""
    if action not in MODERATIONS:
        raise InboxRefused("bad_action", _("Unknown action %(action)s.") % {"action": action}, action=action)
    connector = inbox_connector(item.channel)
    method = getattr(connector, "inbox_moderate", None)
    entry = item.entry()
    if method is None or action not in item_moderations(connector, entry):
        raise InboxRefused(
            "unsupported",
            _("%(network)s does not allow this from Chorus.") % {"network": item.channel.connector().label},
        )
    try:
        extra = method(entry, action) or {}
    except PublishError as exc:  # the network refused: nothing changed, nothing recorded
        raise InboxRefused("moderation_failed", exc.message, action=action) from exc
    with transaction.atomic():
        merged = {**(item.extra or {}), **extra, "moderation": action}
        InboxItem.objects.filter(pk=item.pk).update(extra=merged)
        item.extra = merged
        audit.record(
            "inbox.moderated", workspace=item.channel.workspace, actor=actor, obj=item, moderation=action
        )


def item_moderations(connector: Any, entry: InboxEntry) -> tuple[str, ...]:
    """What the network allows on this item now: the connector's per-item answer when it has one
    (a rejected YouTube comment cannot be published again; Threads hides top-level replies only),
    else its fixed list."""
    per_item = getattr(connector, "inbox_item_moderations", None)
    allowed = per_item(entry) if per_item is not None else getattr(connector, "inbox_moderations", ())
    return tuple(action for action in allowed if action in MODERATIONS)


def can_delete_reply(connector: Any, reply: Reply) -> bool:
    return (
        reply.status == R.SENT
        and bool(reply.network_id)
        and getattr(connector, "inbox_delete_reply", None) is not None
    )


def delete_reply(*, reply: Reply, actor: User | None) -> None:
    """Deletes one of our sent replies on the network (YouTube, LinkedIn, Threads allow it for the
    author), at most once however many clicks arrive together: claim (sent → deleting) and commit,
    call the network outside any transaction, record (deleting → deleted, audited). A second click
    finds the claim taken and is refused without a call. A failure puts the reply back to `sent`
    (a person may try again) and says the network's reason."""
    channel = reply.conversation.channel
    connector = inbox_connector(channel)
    taken = InboxRefused(
        "reply_delete_taken", _("This reply is already being deleted, or is no longer on the network.")
    )
    if reply.status == R.DELETING:
        raise taken
    if not can_delete_reply(connector, reply):
        raise InboxRefused(
            "reply_not_deletable",
            _("Only a sent reply can be deleted, on networks that allow it (%(network)s).")
            % {"network": channel.connector().label},
        )
    with transaction.atomic():
        # The claim: one conditional UPDATE. Two requests racing both read `sent`, but only one
        # changes the row (SQLite serializes writers; PostgreSQL re-checks the WHERE after the
        # other's commit), so only one reaches the network.
        claimed = Reply.objects.filter(pk=reply.pk, status=R.SENT).update(
            status=R.DELETING, deleting_at=timezone.now()
        )
    if not claimed:
        raise taken
    try:
        connector.inbox_delete_reply(reply.in_reply_to.entry(), reply.network_id)  # type: ignore[attr-defined]
    except PublishError as exc:
        with transaction.atomic():
            Reply.objects.filter(pk=reply.pk, status=R.DELETING).update(status=R.SENT)
            audit.record(
                "inbox.reply_delete_failed",
                workspace=reply.conversation.workspace,
                actor=actor,
                obj=reply,
                error=exc.message[:300],
            )
        raise InboxRefused("reply_delete_failed", exc.message) from exc
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk, status=R.DELETING).update(status=R.DELETED)
        reply.status = R.DELETED
        audit.record(
            "inbox.reply_deleted",
            workspace=reply.conversation.workspace,
            actor=actor,
            obj=reply,
            network_id=reply.network_id,
        )


# A delete claim older than this was left by a process that died during the network call (a
# DELETE answers in seconds): the sweep settles it. Long enough that a slow live call is never
# settled under its feet.
DELETE_LEASE = dt.timedelta(minutes=5)


def stale_deletes(at: dt.datetime | None = None) -> list[int]:
    """Replies whose delete claim outlived the lease (a claim from before the claim time was
    recorded counts as old)."""
    cutoff = (at or timezone.now()) - DELETE_LEASE
    stale = Reply.objects.filter(status=R.DELETING).filter(Q(deleting_at__lt=cutoff) | Q(deleting_at=None))
    return list(stale.order_by("pk").values_list("pk", flat=True)[:100])


def settle_delete(reply_id: int, at: dt.datetime | None = None) -> str:
    """Releases a delete claim whose process died during the call. Where the connector can read
    our replies back (`inbox_find_reply`): gone from the network -> `deleted`; still there ->
    back to `sent`. A read that fails, or a network that cannot tell -> back to `sent` (a person
    may delete it again; a DELETE of a reply already gone says so). Audited either way; safe to
    run twice (the conditional UPDATE on `deleting` lets one run record)."""
    reply = Reply.objects.select_related("conversation__channel", "in_reply_to").get(pk=reply_id)
    cutoff = (at or timezone.now()) - DELETE_LEASE
    if reply.status != R.DELETING or (reply.deleting_at is not None and reply.deleting_at >= cutoff):
        return "skipped"
    outcome, error = "unchecked", ""
    try:
        connector = inbox_connector(reply.conversation.channel)
        found = connector.inbox_find_reply(reply.in_reply_to.entry(), _key(reply))
    except PublishError as exc:
        error = exc.message
    except (KeyError, ImportError, InboxRefused) as exc:  # no connector for the channel any more
        error = str(exc)
    else:
        if found is None:
            outcome = "gone"
        elif found.network_id == reply.network_id:
            outcome = "present"
    status = R.DELETED if outcome == "gone" else R.SENT
    details: dict[str, Any] = {"network_id": reply.network_id, "checked": outcome}
    if error:
        details["error"] = error[:300]
    workspace = reply.conversation.workspace
    with transaction.atomic():
        if not Reply.objects.filter(pk=reply.pk, status=R.DELETING).update(status=status, deleting_at=None):
            return "skipped"  # another sweep settled it first
        if outcome == "gone":
            audit.record("inbox.reply_deleted", workspace=workspace, obj=reply, **details)
        else:
            audit.record("inbox.reply_delete_released", workspace=workspace, obj=reply, **details)
    return "deleted" if outcome == "gone" else "released"


def private_reply(*, item: InboxItem, actor: User, text: str) -> str:
    """One private message answering a public comment (Facebook), at most once per comment:
    the attempt is recorded and committed before the call, so a second one is refused even
    when the first one's outcome is unknown."""
    text = text.strip()
    role = (
        Membership.objects.filter(workspace_id=item.workspace_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if not can(role, Perm.SEND_INBOX_REPLY):
        raise InboxRefused("forbidden", _("Your role cannot send private replies."))
    if not text:
        raise InboxRefused("empty", _("Write something to reply."))
    connector = inbox_connector(item.channel)
    method = getattr(connector, "inbox_private_reply", None)
    if method is None or item.kind != "comment":
        raise InboxRefused("unsupported", _("Only comments on Facebook can get a private reply."))
    with transaction.atomic():
        locked = InboxItem.objects.select_for_update().get(pk=item.pk)
        if locked.extra.get("private_reply"):
            raise InboxRefused("private_reply_sent", _("This comment already got its one private reply."))
        locked.extra = {**locked.extra, "private_reply": {"status": "sending", "by": actor.pk}}
        locked.save(update_fields=["extra"])
        audit.record("inbox.private_reply_requested", workspace=item.channel.workspace, actor=actor, obj=item)
    try:
        result = method(item.entry(), text)
    except PublishError as exc:
        # Refused before anything was sent: the one private reply is still available.
        state = {"status": "unknown", "error": exc.message} if isinstance(exc, OutcomeUnknown) else None
        with transaction.atomic():
            locked = InboxItem.objects.select_for_update().get(pk=item.pk)
            extra = {k: v for k, v in locked.extra.items() if k != "private_reply"}
            locked.extra = {**extra, "private_reply": state} if state else extra
            locked.save(update_fields=["extra"])
            audit.record(
                "inbox.private_reply_failed", workspace=item.channel.workspace, obj=item, error=exc.message
            )
        raise InboxRefused("private_reply_failed", exc.message) from exc
    with transaction.atomic():
        locked = InboxItem.objects.select_for_update().get(pk=item.pk)
        locked.extra = {
            **locked.extra,
            "private_reply": {"status": "sent", "id": result.network_id, "by": actor.pk},
        }
        locked.save(update_fields=["extra"])
        audit.record(
            "inbox.private_reply_sent",
            workspace=item.channel.workspace,
            obj=item,
            network_id=result.network_id,
        )
    return result.network_id


def reply_window(conversation: Conversation) -> str:
    """For networks with a messaging window: "standard", "human_agent" or "closed" for the last
    message of the person; "" where no window applies."""
    last = conversation.items.filter(kind="message").order_by("-created_at").first()
    if last is None:
        return ""
    window = getattr(conversation.channel.connector(), "inbox_reply_window", None)
    return str(window(last.entry(), timezone.now())) if window else ""


# --- polling ----------------------------------------------------------------------------------


def stored_cursor(channel: Channel, stream: str) -> str | None:
    value = Cursor.objects.filter(channel=channel, stream=stream).values_list("value", flat=True).first()
    return value or None


def poll(channel: Channel, *, max_pages: int = 20) -> int:
    """Reads every stream of a channel from its stored cursor, page by page, storing each page
    with the cursor that follows it; tells the network what was seen only after storing."""
    connector = inbox_connector(channel)
    cost: ReadCost | None = getattr(connector, "inbox_read_cost", None)
    units: UnitQuota | None = getattr(connector, "inbox_unit_quota", None)
    bucket = cost.bucket if cost is not None else units.bucket if units is not None else ""
    stored = 0
    granted = getattr(connector, "inbox_granted_streams", None)
    # A stream whose permission was declined at login is skipped, not read to fail each sweep.
    streams = granted() if granted is not None else connector.inbox_streams
    for stream in streams:
        for _page in range(max_pages):
            if cost is not None and not _may_read(channel, cost):
                return stored
            if units is not None and units_left(channel, connector, units) < units.page_units:
                return stored  # the cursor stays: the poll resumes there when the window frees
            page = connector.inbox_fetch(stream, stored_cursor(channel, stream))
            if bucket and page.cost:
                # Billed when read, stored or not: recorded before (and apart from) the items.
                QuotaUsage.objects.create(channel=channel, bucket=bucket, amount=page.cost)
            result = ingest(channel=channel, entries=page.entries, stream=stream, cursor=page.cursor)
            stored += result.new_items
            connector.inbox_mark_seen(stream, page)
            if not page.more:
                break
    enrich_pending(channel)
    return stored


def unit_quota(connector: Any, units: UnitQuota) -> Any:
    """The connector's `Quota` that `units` charges (its publishing allowance, shared)."""
    return next(q for q in connector.quotas if q.bucket == units.bucket)


def units_left(channel: Channel, connector: Any, units: UnitQuota) -> int:
    from chorus.publishing.quotas import usage

    quota = unit_quota(connector, units)
    return int(quota.limit - usage(channel, quota).used)


def quota_units(workspace: Workspace) -> list[dict[str, Any]]:
    """Units each channel of a network with a unit quota (YouTube) used in its window (the last
    24 hours), for the settings page: polling, replies and publishing share them."""
    from chorus.publishing.quotas import usage

    rows = []
    for channel in workspace.channels.order_by("name"):
        try:
            connector = channel.connector()
        except (KeyError, ImportError):
            continue
        units = getattr(connector, "inbox_unit_quota", None)
        if isinstance(units, UnitQuota):
            quota = unit_quota(connector, units)
            rows.append({"channel": channel.name, "used": usage(channel, quota).used, "limit": quota.limit})
    return rows


def permission_notes(workspace: Workspace) -> list[tuple[Channel, str]]:
    """What each channel of the workspace may not do in the inbox because a permission was
    declined when it was connected (Meta), one sentence each, for the inbox and channels pages."""
    notes: list[tuple[Channel, str]] = []
    for channel in workspace.channels.order_by("name"):
        try:
            connector = channel.connector()
        except (KeyError, ImportError):
            continue
        method = getattr(connector, "inbox_permission_notes", None)
        notes.extend((channel, note) for note in (method() if method is not None else []))
    return notes


def subscribe_webhooks(channel: Channel) -> dict[str, Any] | None:
    """Subscribes the channel to the network's webhooks once (Meta: the Page's subscribed_apps),
    outside any transaction, when its config has no record of it yet (channels connected before
    this existed, or reconnected: the connect empties the record). The outcome, a subscription or
    Meta's refusal, is recorded through the channels actions (audited); a refusal is not fatal:
    polling stays the backstop. None when nothing was recorded (no such step for the network, a
    declined permission, or a transient failure tried again at the next sweep)."""
    from chorus.channels.actions import record_webhook_subscription

    if channel.config.get(WEBHOOK_SUBSCRIPTION_KEY):
        return None
    method = getattr(channel.connector(), "inbox_webhook_subscribe", None)
    if method is None:
        return None
    try:
        record: dict[str, Any] | None = method()
    except PublishError as exc:  # Transient / Unreachable: nothing known, the next sweep retries
        log.info("webhook subscription of channel %s not settled: %s", channel.pk, type(exc).__name__)
        return None
    if record is None:
        return None
    record_webhook_subscription(channel=channel, key=WEBHOOK_SUBSCRIPTION_KEY, record=record)
    return record


def poll_if_due(channel: Channel) -> int:
    """The scheduler's poll (every minute). Networks whose reads cost (quota units, many calls a
    sweep) set `inbox_poll_seconds`: the newest stored cursor says when the channel was last read."""
    every = getattr(channel.connector(), "inbox_poll_seconds", 0)
    if every:
        last = (
            Cursor.objects.filter(channel=channel)
            .order_by("-updated_at")
            .values_list("updated_at", flat=True)
            .first()
        )
        if last is not None and last > timezone.now() - dt.timedelta(seconds=every):
            return 0
    return poll(channel)


def read_budget(workspace: Workspace) -> Decimal:
    found = (
        InboxSettings.objects.filter(workspace=workspace).values_list("read_budget_usd", flat=True).first()
    )
    return Decimal("5.00") if found is None else found


def read_spend(
    workspace: Workspace, bucket: str, usd_per_unit: Decimal, at: dt.datetime | None = None
) -> Decimal:
    """USD spent on paid reads (`bucket`) by the workspace's channels this calendar month (UTC)."""
    at = at or timezone.now()
    month = at.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    units = (
        QuotaUsage.objects.filter(channel__workspace=workspace, bucket=bucket, at__gte=month).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return units * usd_per_unit


def _may_read(channel: Channel, cost: ReadCost) -> bool:
    """A paid page is read only when its most expensive outcome stays within the month's budget;
    otherwise the poll stops there (the cursor stays, the next month resumes from it), once
    audited per channel and month."""
    workspace = channel.workspace
    spent = read_spend(workspace, cost.bucket, cost.usd_per_unit)
    budget = read_budget(workspace)
    if spent + cost.page_units * cost.usd_per_unit <= budget:
        return True
    month = timezone.now().strftime("%Y-%m")
    if not AuditEvent.objects.filter(
        workspace=workspace,
        action="inbox.read_budget_reached",
        object_id=str(channel.pk),
        data__month=month,
    ).exists():
        audit.record(
            "inbox.read_budget_reached",
            workspace=workspace,
            obj=channel,
            month=month,
            spent=str(spent),
            budget=str(budget),
        )
    return False


def unread_by_channel(workspace: Workspace) -> dict[int, int]:
    from django.db.models import Sum

    rows = (
        Conversation.objects.filter(workspace=workspace, unread__gt=0)
        .exclude(status=S.CLOSED)
        .values("channel_id")
        .annotate(total=Sum("unread"))
    )
    return {row["channel_id"]: int(row["total"]) for row in rows}
