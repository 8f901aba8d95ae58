"""REST endpoints of story intake: the stories contributors send, returning one with a note and
turning one into a draft post (through chorus.approvals.intake, as the Stories page does).
Contributors' links are in api/approvals.py (one path, one router)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from pydantic import Field

from chorus.accounts.access import workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.approvals import intake
from chorus.approvals.models import Story
from chorus.channels.models import Channel
from chorus.core.refusals import Invalid

router = Router(tags=["stories"])


class ContributorRef(Schema):
    id: int
    name: str


class StoryOut(Schema):
    id: int
    title: str
    text: str
    language: str
    location: str
    subject_consent: bool
    credit: str
    state: str
    note: str
    contributor: ContributorRef
    campaign_id: int | None
    photo_ids: list[int]  # GET /workspaces/{slug}/media/{id}
    post_id: int | None
    created_at: dt.datetime


class ReturnIn(Schema):
    note: str = Field(max_length=5000)


class ToPostIn(Schema):
    channel_ids: list[int] = Field(max_length=50)


class ToPostOut(Schema):
    post_id: int


def _out(story: Story) -> StoryOut:
    return StoryOut(
        id=story.pk,
        title=story.title,
        text=story.text,
        language=story.language,
        location=story.location,
        subject_consent=story.subject_consent,
        credit=story.credit,
        state=story.state,
        note=story.note,
        contributor=ContributorRef(id=story.contributor_id, name=story.contributor.name),
        campaign_id=story.campaign_id,
        photo_ids=sorted(photo.pk for photo in story.photos.all()),
        post_id=story.post_id,
        created_at=story.created_at,
    )


def _story(request: HttpRequest, story_id: int) -> Story:
    return get_object_or_404(
        Story.objects.select_related("contributor"), pk=story_id, workspace=workspace_of(request)
    )


@router.get("/workspaces/{slug}/stories", response=list[StoryOut], **ws_perm(Perm.EDIT_ANY_POST))
def list_stories(
    request: HttpRequest,
    slug: str,
    state: Literal["", "received", "returned", "accepted"] = "",
    contributor: int | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 50,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> list[StoryOut]:
    """Newest first."""
    stories = Story.objects.filter(workspace=workspace_of(request))
    if state:
        stories = stories.filter(state=state)
    if contributor is not None:
        stories = stories.filter(contributor_id=contributor)
    page = stories.select_related("contributor").prefetch_related("photos").order_by("-created_at", "-pk")
    return [_out(story) for story in page[offset : offset + limit]]


@router.get("/workspaces/{slug}/stories/{story_id}", response=StoryOut, **ws_perm(Perm.EDIT_ANY_POST))
def get_story(request: HttpRequest, slug: str, story_id: int) -> StoryOut:
    return _out(_story(request, story_id))


@router.post("/workspaces/{slug}/stories/{story_id}/return", response=StoryOut, **ws_perm(Perm.EDIT_ANY_POST))
def return_story(request: HttpRequest, slug: str, story_id: int, payload: ReturnIn) -> StoryOut:
    """Back to the contributor with a note saying what to change."""
    story = _story(request, story_id)
    actor: User = request.auth  # type: ignore[attr-defined]
    intake.return_story(story, actor=actor, note=payload.note)
    return _out(_story(request, story_id))


@router.post(
    "/workspaces/{slug}/stories/{story_id}/post", response={201: ToPostOut}, **ws_perm(Perm.EDIT_ANY_POST)
)
def story_to_post(request: HttpRequest, slug: str, story_id: int, payload: ToPostIn) -> Status:
    """A draft post on the channels: the story's text with its credit, its photos that are not
    withdrawn attached (see `GET /workspaces/{slug}/posts/{post_id}`)."""
    workspace = workspace_of(request)
    story = _story(request, story_id)
    channels = list(Channel.objects.filter(workspace=workspace, pk__in=payload.channel_ids))
    if len(channels) != len(set(payload.channel_ids)):
        raise Invalid(
            gettext_lazy("Unknown channel id for this workspace."),
            code="unknown_channel",
            fields={"channel_ids": "unknown"},
        )
    post = intake.to_post(story, actor=request.auth, channels=channels)  # type: ignore[attr-defined]
    return Status(201, ToPostOut(post_id=post.pk))
