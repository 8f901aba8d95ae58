"""REST endpoints of the engagement inbox: list and read conversations, assign, set the status,
tag, reply. Every change goes through chorus.inbox.actions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.inbox import actions, filtering
from chorus.inbox.models import Conversation, InboxItem, Reply, SavedView

router = Router(tags=["inbox"])


class ConversationOut(Schema):
    id: int
    channel: int
    status: str
    author_id: str
    author_handle: str
    author_name: str
    assignee: int | None
    tags: list[str]
    language: str
    sentiment: float | None
    unread: int
    items_count: int
    first_item_at: dt.datetime
    last_item_at: dt.datetime
    first_response_seconds: int | None
    resolution_seconds: int | None
    target: int | None


class ItemOut(Schema):
    id: int
    network_id: str
    kind: str
    author_handle: str
    author_name: str
    text: str
    url: str
    created_at: dt.datetime


class ReplyOut(Schema):
    id: int
    status: str
    text: str
    author: int | None
    in_reply_to: int
    network_id: str
    url: str
    error: str
    created_at: dt.datetime


class ConversationDetail(ConversationOut):
    items: list[ItemOut]
    replies: list[ReplyOut]


class Filters(Schema):
    status: str = ""
    channel: int | None = None
    assignee: int | None = None
    tag: Annotated[str, Field(max_length=40)] = ""
    sentiment: str = ""
    language: Annotated[str, Field(max_length=12)] = ""
    unread: bool = False
    view: int | None = None
    before: dt.datetime | None = None
    limit: int = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class SavedViewOut(Schema):
    id: int
    name: str
    shared: bool
    filters: dict[str, str]
    unread: int


class AssignIn(Schema):
    assignee: int | None = None


class StatusIn(Schema):
    status: str


class TagsIn(Schema):
    tags: list[str]


class ReplyIn(Schema):
    text: str
    item: int | None = None
    seen_reply_id: int | None = None


def _out(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "channel": c.channel_id,
        "status": c.status,
        "author_id": c.author_id,
        "author_handle": c.author_handle,
        "author_name": c.author_name,
        "assignee": c.assignee_id,
        "tags": list(c.tags or []),
        "language": c.language,
        "sentiment": c.sentiment,
        "unread": c.unread,
        "items_count": c.items_count,
        "first_item_at": c.first_item_at,
        "last_item_at": c.last_item_at,
        "first_response_seconds": c.first_response_seconds,
        "resolution_seconds": c.resolution_seconds,
        "target": c.target_id,
    }


def _reply_out(r: Reply) -> dict[str, Any]:
    return {
        "id": r.pk,
        "status": r.status,
        "text": r.text,
        "author": r.author_id,
        "in_reply_to": r.in_reply_to_id,
        "network_id": r.network_id,
        "url": r.url,
        "error": r.error,
        "created_at": r.created_at,
    }


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return get_object_or_404(Conversation, pk=conversation_id, workspace=workspace_of(request))


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _refused(exc: actions.InboxRefused) -> HttpError:
    status = 409 if isinstance(exc, actions.ReplyCollision) else 403 if exc.code == "forbidden" else 422
    return HttpError(status, exc.message)


@router.get(
    "/workspaces/{slug}/inbox/conversations", response=list[ConversationOut], **ws_perm(Perm.VIEW_INBOX)
)
def list_conversations(request: HttpRequest, slug: str, filters: Query[Filters]) -> list[dict[str, Any]]:
    """Conversations newest first. `view` applies a saved view's filters (one the caller may see);
    otherwise the others apply as given (an explicit status, or all of them when none is given)."""
    workspace = workspace_of(request)
    actor = _actor(request)
    found = Conversation.objects.filter(workspace=workspace)
    if filters.view is not None:
        view = get_object_or_404(
            SavedView.objects.filter(Q(owner=None) | Q(owner=actor)), pk=filters.view, workspace=workspace
        )
        found = filtering.apply(found, filtering.clean(view.filters or {}), actor)
    else:
        if filters.status and filters.status not in Conversation.Status.values:
            raise HttpError(422, "status must be one of: " + ", ".join(Conversation.Status.values))
        if filters.sentiment and filters.sentiment not in filtering.SENTIMENTS:
            raise HttpError(422, "sentiment must be one of: " + ", ".join(filtering.SENTIMENTS))
        given = {
            "status": filters.status or "all",
            "channel": filters.channel,
            "assignee": filters.assignee,
            "tag": filters.tag,
            "sentiment": filters.sentiment,
            "language": filters.language,
            "unread": "1" if filters.unread else "",
        }
        found = filtering.apply(found, filtering.clean(given), actor)
    if filters.before is not None:
        found = found.filter(last_item_at__lt=filters.before)
    limit = max(1, min(filters.limit, 200))
    return [_out(c) for c in found.order_by("-last_item_at", "-pk")[filters.offset : filters.offset + limit]]


@router.get("/workspaces/{slug}/inbox/views", response=list[SavedViewOut], **ws_perm(Perm.VIEW_INBOX))
def list_views(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The saved views the caller sees (the workspace's shared ones and their own), with the
    number of conversations with unread messages in each."""
    workspace = workspace_of(request)
    actor = _actor(request)
    views = actions.visible_views(workspace, actor)
    unread = actions.view_unread_counts(workspace, actor, views)
    return [
        {
            "id": v.pk,
            "name": v.name,
            "shared": v.shared,
            "filters": dict(v.filters or {}),
            "unread": unread[v.pk],
        }
        for v in views
    ]


@router.get(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}",
    response=ConversationDetail,
    **ws_perm(Perm.VIEW_INBOX),
)
def read_conversation(request: HttpRequest, slug: str, conversation_id: int) -> dict[str, Any]:
    conversation = _conversation(request, conversation_id)
    items = InboxItem.objects.filter(conversation=conversation).order_by("created_at")
    return {
        **_out(conversation),
        "items": [
            {
                "id": i.pk,
                "network_id": i.network_id,
                "kind": i.kind,
                "author_handle": i.author_handle,
                "author_name": i.author_name,
                "text": i.text,
                "url": i.url,
                "created_at": i.created_at,
            }
            for i in items
        ],
        "replies": [_reply_out(r) for r in conversation.replies.order_by("created_at")],
    }


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/assign",
    response=ConversationOut,
    **ws_perm(Perm.MANAGE_INBOX),
)
def assign(request: HttpRequest, slug: str, conversation_id: int, payload: AssignIn) -> dict[str, Any]:
    conversation = _conversation(request, conversation_id)
    assignee = None
    if payload.assignee is not None:
        assignee = User.objects.filter(pk=payload.assignee).first()
        if assignee is None:
            raise HttpError(422, "No such user.")
    try:
        actions.assign(conversation=conversation, assignee=assignee, actor=_actor(request))
    except actions.InboxRefused as exc:
        raise _refused(exc) from None
    return _out(conversation)


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/status",
    response=ConversationOut,
    **ws_perm(Perm.MANAGE_INBOX),
)
def set_status(request: HttpRequest, slug: str, conversation_id: int, payload: StatusIn) -> dict[str, Any]:
    conversation = _conversation(request, conversation_id)
    try:
        actions.set_status(conversation=conversation, status=payload.status, actor=_actor(request))
    except actions.InboxRefused as exc:
        raise _refused(exc) from None
    return _out(conversation)


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/tags",
    response=ConversationOut,
    **ws_perm(Perm.MANAGE_INBOX),
)
def set_tags(request: HttpRequest, slug: str, conversation_id: int, payload: TagsIn) -> dict[str, Any]:
    conversation = _conversation(request, conversation_id)
    try:
        actions.set_tags(conversation=conversation, tags=payload.tags, actor=_actor(request))
    except actions.InboxRefused as exc:
        raise _refused(exc) from None
    return _out(conversation)


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/replies",
    response={201: ReplyOut},
    **ws_perm(Perm.ANSWER_INBOX),
)
def reply(request: HttpRequest, slug: str, conversation_id: int, payload: ReplyIn) -> Status:
    """Queues an answer (sent after commit), or holds it for approval when the role must be
    reviewed. `seen_reply_id`: the newest reply the caller has read; a newer reply by someone
    else answers 409 so the caller reads it first."""
    conversation = _conversation(request, conversation_id)
    item = None
    if payload.item is not None:
        item = get_object_or_404(InboxItem, pk=payload.item, conversation=conversation)
    try:
        created = actions.request_reply(
            conversation=conversation,
            actor=_actor(request),
            text=payload.text,
            in_reply_to=item,
            seen_reply_id=payload.seen_reply_id,
        )
    except actions.InboxRefused as exc:
        raise _refused(exc) from None
    return Status(201, _reply_out(created))
