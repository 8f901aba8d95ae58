"""REST endpoints of social listening: queries (CRUD), matches, insights."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query as QueryParams
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.listening import actions, insights
from chorus.listening.models import Match, Query

router = Router(tags=["listening"])


class QueryIn(Schema):
    name: str = ""
    group: str = "brand"
    expression: str = ""
    hashtags: list[str] = []
    mentions: list[str] = []
    authors_include: list[str] = []
    authors_exclude: list[str] = []
    languages: list[str] = []
    networks: list[str] = []
    mastodon_instance: str = ""
    active: bool = True


class QueryOut(Schema):
    id: int
    name: str
    group: str
    expression: str
    hashtags: list[str]
    mentions: list[str]
    authors_include: list[str]
    authors_exclude: list[str]
    languages: list[str]
    networks: list[str]
    mastodon_instance: str
    active: bool
    created_at: dt.datetime


class MatchOut(Schema):
    id: int
    query: int
    network: str
    uri: str
    url: str
    author_id: str
    author_handle: str
    author_followers: int | None
    text: str
    hashtags: list[str]
    language: str
    sentiment: str
    sentiment_score: float | None
    posted_at: dt.datetime


class MatchFilters(Schema):
    query: int | None = None
    sentiment: str | None = None
    since: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


def _query_out(q: Query) -> dict[str, Any]:
    return {**{f: getattr(q, f) for f in QueryOut.model_fields if f != "id"}, "id": q.pk}


@router.get("/workspaces/{slug}/listening/queries", response=list[QueryOut], **ws_perm(Perm.VIEW_LISTENING))
def list_queries(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [_query_out(q) for q in Query.objects.filter(workspace=workspace_of(request)).order_by("pk")]


@router.post(
    "/workspaces/{slug}/listening/queries", response={201: QueryOut}, **ws_perm(Perm.MANAGE_LISTENING)
)
def create_query(request: HttpRequest, slug: str, payload: QueryIn) -> Status:
    try:
        query = actions.create_query(workspace_of(request), actor=request.auth, data=payload.dict())  # type: ignore[attr-defined]
    except actions.QueryInvalid as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201, _query_out(query))


@router.get(
    "/workspaces/{slug}/listening/queries/{query_id}", response=QueryOut, **ws_perm(Perm.VIEW_LISTENING)
)
def get_query(request: HttpRequest, slug: str, query_id: int) -> dict[str, Any]:
    return _query_out(get_object_or_404(Query, pk=query_id, workspace=workspace_of(request)))


@router.put(
    "/workspaces/{slug}/listening/queries/{query_id}", response=QueryOut, **ws_perm(Perm.MANAGE_LISTENING)
)
def update_query(request: HttpRequest, slug: str, query_id: int, payload: QueryIn) -> dict[str, Any]:
    query = get_object_or_404(Query, pk=query_id, workspace=workspace_of(request))
    try:
        actions.update_query(query, actor=request.auth, data=payload.dict())  # type: ignore[attr-defined]
    except actions.QueryInvalid as exc:
        raise HttpError(422, str(exc)) from None
    return _query_out(query)


@router.delete(
    "/workspaces/{slug}/listening/queries/{query_id}", response={204: None}, **ws_perm(Perm.MANAGE_LISTENING)
)
def delete_query(request: HttpRequest, slug: str, query_id: int) -> Status:
    query = get_object_or_404(Query, pk=query_id, workspace=workspace_of(request))
    actions.delete_query(query, actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)


@router.get("/workspaces/{slug}/listening/matches", response=list[MatchOut], **ws_perm(Perm.VIEW_LISTENING))
def list_matches(request: HttpRequest, slug: str, filters: QueryParams[MatchFilters]) -> list[dict[str, Any]]:
    rows = Match.objects.filter(workspace=workspace_of(request))
    if filters.query is not None:
        rows = rows.filter(query_id=filters.query)
    if filters.sentiment:
        rows = rows.filter(sentiment=filters.sentiment)
    if filters.since is not None:
        rows = rows.filter(posted_at__gte=filters.since)
    limit = min(max(filters.limit, 1), 500)
    offset = max(filters.offset, 0)
    out = []
    for m in rows.order_by("-posted_at", "-pk")[offset : offset + limit]:
        out.append(
            {
                **{f: getattr(m, f) for f in MatchOut.model_fields if f not in ("id", "query")},
                "id": m.pk,
                "query": m.query_id,
            }
        )
    return out


@router.get("/workspaces/{slug}/listening/insights", response=dict[str, Any], **ws_perm(Perm.VIEW_LISTENING))
def get_insights(request: HttpRequest, slug: str, days: int = 7, query: int | None = None) -> dict[str, Any]:
    workspace = workspace_of(request)
    if query is not None:
        get_object_or_404(Query, pk=query, workspace=workspace)
    return insights.compute(workspace.pk, days=min(max(days, 1), 365), query_id=query).as_json()
