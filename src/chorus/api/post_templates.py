"""REST endpoints of templates and snippets (chorus.publishing.post_templates): list, create,
read, change, delete. Refusals answer 422 with the culprit fields (chorus.api.api)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import membership_of, workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.content.models import PostTemplate
from chorus.publishing import post_templates

router = Router(tags=["templates"])


class TemplateIn(Schema):
    kind: Literal["template", "snippet"] = "template"
    name: str = Field(max_length=post_templates.MAX_NAME)
    text: str = Field("", max_length=post_templates.MAX_TEXT)
    link: str = Field("", max_length=500)
    # Per network kind, the options its connector declares: {"mastodon": {"spoiler_text": "…"}}
    options: dict[str, dict[str, Any]] = {}
    campaign_id: int | None = None
    tags: list[str] = Field([], max_length=50)
    # A channel's own text: {"<channel id>": "…"}; left out (null), a change keeps the stored ones.
    channel_texts: dict[int, str] | None = Field(None, max_length=200)


class TemplateOut(Schema):
    id: int
    kind: str
    name: str
    text: str
    link: str
    options: dict[str, dict[str, Any]]
    campaign_id: int | None
    tags: list[str]
    channel_texts: dict[str, str]
    created_by_id: int | None
    updated_at: dt.datetime


def _out(template: PostTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "kind": template.kind,
        "name": template.name,
        "text": template.text,
        "link": template.link,
        "options": template.options,
        "campaign_id": template.campaign_id,
        "tags": template.tag_list,
        "channel_texts": template.channel_texts,
        "created_by_id": template.created_by_id,
        "updated_at": template.updated_at,
    }


def _values(payload: TemplateIn) -> post_templates.TemplateValues:
    return post_templates.TemplateValues(
        kind=payload.kind,
        name=payload.name,
        text=payload.text,
        link=payload.link,
        options=payload.options,
        campaign_id=payload.campaign_id,
        tags=", ".join(payload.tags),
        channel_texts=payload.channel_texts,
    )


def _changeable(request: HttpRequest, template_id: int) -> PostTemplate:
    template = get_object_or_404(PostTemplate, pk=template_id, workspace=workspace_of(request))
    if not post_templates.may_change(template, request.auth, membership_of(request).role):  # type: ignore[attr-defined]
        raise HttpError(403, "Only its author or an editor can change it.")
    return template


@router.get("/workspaces/{slug}/templates", response=list[TemplateOut], **ws_perm(Perm.CREATE_POST))
def list_templates(request: HttpRequest, slug: str, kind: str = "") -> list[dict[str, Any]]:
    rows = PostTemplate.objects.filter(workspace=workspace_of(request)).order_by("kind", "name")
    if kind:
        rows = rows.filter(kind=kind)
    return [_out(t) for t in rows[: post_templates.MAX_PER_WORKSPACE]]


@router.post("/workspaces/{slug}/templates", response={201: TemplateOut}, **ws_perm(Perm.CREATE_POST))
def create_template(request: HttpRequest, slug: str, payload: TemplateIn) -> Status:
    template = post_templates.create(workspace_of(request), _values(payload), actor=request.auth)  # type: ignore[attr-defined]
    return Status(201, _out(template))


@router.get("/workspaces/{slug}/templates/{template_id}", response=TemplateOut, **ws_perm(Perm.CREATE_POST))
def get_template(request: HttpRequest, slug: str, template_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(PostTemplate, pk=template_id, workspace=workspace_of(request)))


@router.put("/workspaces/{slug}/templates/{template_id}", response=TemplateOut, **ws_perm(Perm.CREATE_POST))
def update_template(request: HttpRequest, slug: str, template_id: int, payload: TemplateIn) -> dict[str, Any]:
    template = post_templates.change(_changeable(request, template_id), _values(payload), actor=request.auth)  # type: ignore[attr-defined]
    return _out(template)


@router.delete(
    "/workspaces/{slug}/templates/{template_id}", response={204: None}, **ws_perm(Perm.CREATE_POST)
)
def delete_template(request: HttpRequest, slug: str, template_id: int) -> Status:
    post_templates.delete(_changeable(request, template_id), actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)
