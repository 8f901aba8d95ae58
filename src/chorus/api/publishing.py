"""REST endpoints for channels, posts and their per-channel targets."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import membership_of, workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm, can
from chorus.api.auth import ws_perm
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTarget
from chorus.core.refusals import Invalid
from chorus.publishing import actions, composer, postlist, review, rules
from chorus.publishing import when as when_choice
from chorus.publishing.quotas import forecast_warnings

router = Router(tags=["publishing"])


class MediaIn(Schema):
    """A file of the workspace's media library (`GET /workspaces/{slug}/media`), by id."""

    media_id: int
    alt: str | None = None  # the image's alt text; default: the library's alt text for the file


class MediaOut(Schema):
    media_id: int | None = None
    alt: str = ""
    kind: str = ""
    mime_type: str = ""


class TargetOut(Schema):
    id: int
    post_id: int
    channel_id: int
    text: str
    media: list[MediaOut] = []
    status: str
    scheduled_at: dt.datetime | None
    schedule_note: str
    hold_reason: str
    external_id: str
    external_url: str
    error_code: str
    error_message: str
    published_at: dt.datetime | None


class ScheduleIn(Schema):
    mode: Literal["draft", "review", "now", "at", "queue"] = "draft"
    local_time: dt.datetime | None = None  # wall time in the workspace's zone (no offset)
    at: dt.datetime | None = None  # or an instant with an offset


class PostIn(Schema):
    text: str
    title: str = ""
    channel_ids: list[int]
    per_channel_text: dict[int, str] = {}
    media: list[MediaIn] = []  # attached to every channel's variant
    per_channel_media: dict[int, list[MediaIn]] = {}  # channel id -> its own media (replaces `media`)
    evergreen: bool = False
    campaign_id: int | None = None  # GET /workspaces/{slug}/campaigns
    tags: list[str] = []  # by name; new names become the workspace's tags
    schedule: ScheduleIn = ScheduleIn()


class PostOut(Schema):
    id: int
    targets: list[TargetOut]
    warnings: list[str]


class PostSummaryOut(Schema):
    """A post as a whole, as the Posts page shows it: its copies with their own status."""

    id: int
    title: str
    first_line: str
    author: str | None
    campaign_id: int | None
    tags: list[str]
    evergreen: bool
    created_at: dt.datetime
    first_at: dt.datetime | None  # the earliest time of its copies
    needs_attention: bool  # a copy failed, is unknown or held
    targets: list[TargetOut]


class TargetEditIn(Schema):
    text: str | None = None
    media: list[MediaIn] | None = None  # replaces the variant's media ([] removes them)
    options: dict[str, Any] | None = None  # per network, see the connector's docstring


class DecisionIn(Schema):
    comment: str = ""


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _target(request: HttpRequest, target_id: int) -> PostTarget:
    return get_object_or_404(
        PostTarget.objects.select_related("workspace", "channel", "post"),
        pk=target_id,
        workspace=workspace_of(request),
    )


def _when(schedule: ScheduleIn) -> when_choice.When:
    return when_choice.parse(schedule.mode, local=schedule.local_time, at=schedule.at)


def _media_items(request: HttpRequest, items: list[MediaIn], where: str) -> list[dict[str, Any]]:
    """Library files of this workspace (usable: not withdrawn, faces reviewed when required) as
    the variant's media items, through the library (chorus.media.actions.as_post_media). An id
    of another workspace, or of a file that may not be used, is refused like an unknown one."""
    if not items:
        return []
    from chorus.media.actions import as_post_media
    from chorus.media.consent import usable
    from chorus.media.models import MediaAsset

    workspace = workspace_of(request)
    assets = usable(MediaAsset.objects.filter(workspace=workspace), workspace).filter(
        pk__in=[item.media_id for item in items]
    )
    by_id = {asset.pk: asset for asset in assets}
    unknown = {
        f"{where}.{i}.media_id": "unknown" for i, item in enumerate(items) if item.media_id not in by_id
    }
    if unknown:
        raise Invalid(
            gettext_lazy("Unknown or unusable media id for this workspace."),
            code="unknown_media",
            fields=unknown,
        )
    return [
        as_post_media(by_id[item.media_id], alt=None if item.alt is None else item.alt.strip())
        for item in items
    ]


def campaign_of(workspace: Any, campaign_id: int | None) -> Campaign | None:
    """The workspace's campaign with this id (None for None), or a 422 naming `campaign_id`."""
    if campaign_id is None:
        return None
    campaign = Campaign.objects.filter(workspace=workspace, pk=campaign_id).first()
    if campaign is None:
        raise Invalid(
            gettext_lazy("Unknown campaign id for this workspace."),
            code="unknown_campaign",
            fields={"campaign_id": "unknown"},
        )
    return campaign


def _problem_notes(targets: list[PostTarget]) -> list[str]:
    """What a draft saved with problems still breaks, as the composer warns on saving one."""
    return [f"{t.channel.name}: {p.message}" for t in targets for p in rules.problems(t)]


def _apply_schedule(request: HttpRequest, target: PostTarget, when: when_choice.When) -> list[str]:
    return [n for n in when_choice.apply(target, when, actor=_user(request)).warnings if n]


@router.get("/workspaces/{slug}/targets", response=list[TargetOut], **ws_perm(Perm.VIEW_WORKSPACE))
def list_targets(
    request: HttpRequest,
    slug: str,
    status: str = "",
    limit: Annotated[int, Field(ge=1, le=500)] = 100,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> list[PostTarget]:
    rows = PostTarget.objects.filter(workspace=workspace_of(request)).order_by("-scheduled_at", "-id")
    if status:
        rows = rows.filter(status=status)
    return list(rows[offset : offset + min(limit, 500)])


def _summary(post: Post) -> PostSummaryOut:
    row = postlist.Row(post)
    return PostSummaryOut(
        id=post.pk,
        title=post.title,
        first_line=row.first_line[:200],
        author=post.author.display_name if post.author else None,
        campaign_id=post.campaign_id,
        tags=sorted(tag.name for tag in post.tags.all()),
        evergreen=post.evergreen,
        created_at=post.created_at,
        first_at=row.when,
        needs_attention=bool(row.attention),
        targets=[TargetOut.model_validate(copy, from_attributes=True) for copy in row.copies],
    )


@router.get("/workspaces/{slug}/posts", response=list[PostSummaryOut], **ws_perm(Perm.VIEW_WORKSPACE))
def list_posts(
    request: HttpRequest,
    slug: str,
    q: str = "",
    channel: int | None = None,
    campaign: int | None = None,
    tag: int | None = None,
    author: int | None = None,
    status: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 50,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> list[PostSummaryOut]:
    """The Posts page's list and filters: `status` (a copy's status, or `held`), `channel`,
    `start`/`end` (local days of the workspace, both included) apply to one copy together;
    `campaign`, `tag`, `author` are ids; `q` searches titles and texts. Latest first."""
    given = {"q": q, "channel": channel, "campaign": campaign, "tag": tag, "author": author, "status": status}
    given |= {"start": start.isoformat() if start else "", "end": end.isoformat() if end else ""}
    form = postlist.PostFilter(
        {k: v for k, v in given.items() if v not in ("", None)}, workspace=workspace_of(request)
    )
    if not form.is_valid():  # the page ignores a stale filter; a program is told
        fields = {name: " ".join(map(str, errors)) for name, errors in form.errors.items()}
        raise Invalid(gettext_lazy("Some filters are not valid."), code="invalid", fields=fields)
    posts = postlist.rows(form.filtered())[offset : offset + limit]
    return [_summary(post) for post in posts]


@router.get("/workspaces/{slug}/posts/{post_id}", response=PostSummaryOut, **ws_perm(Perm.VIEW_WORKSPACE))
def get_post(request: HttpRequest, slug: str, post_id: int) -> PostSummaryOut:
    posts = postlist.rows(Post.objects.filter(workspace=workspace_of(request), pk=post_id))
    post = posts.first()
    if post is None:
        raise HttpError(404, "Not found")
    return _summary(post)


@router.get("/workspaces/{slug}/targets/{target_id}", response=TargetOut, **ws_perm(Perm.VIEW_WORKSPACE))
def get_target(request: HttpRequest, slug: str, target_id: int) -> PostTarget:
    return _target(request, target_id)


@router.post("/workspaces/{slug}/posts", response={201: PostOut}, **ws_perm(Perm.CREATE_POST))
def create_post(request: HttpRequest, slug: str, payload: PostIn) -> Status:
    """Creates the post and applies its schedule in one transaction: a post that cannot be
    scheduled as asked is not created, and the answer is the refusal."""
    workspace = workspace_of(request)
    when = _when(payload.schedule)
    when_choice.check_allowed(when, membership_of(request).role)
    if not payload.channel_ids:
        raise Invalid(
            gettext_lazy("Choose at least one channel."), code="no_channels", fields={"channel_ids": "empty"}
        )
    channels = list(Channel.objects.filter(workspace=workspace, pk__in=payload.channel_ids))
    if len(channels) != len(set(payload.channel_ids)):
        raise Invalid(
            gettext_lazy("Unknown channel id for this workspace."),
            code="unknown_channel",
            fields={"channel_ids": "unknown"},
        )
    strays = sorted(set(payload.per_channel_media) - set(payload.channel_ids))
    if strays:
        raise Invalid(
            gettext_lazy("Media given for a channel the post is not for."),
            code="unknown_channel",
            fields={f"per_channel_media.{pk}": "not in channel_ids" for pk in strays},
        )
    if len(payload.tags) > 20 or any(len(tag) > 60 for tag in payload.tags):
        raise Invalid(
            gettext_lazy("At most 20 tags of 60 characters each."), code="invalid", fields={"tags": "size"}
        )
    campaign = campaign_of(workspace, payload.campaign_id)
    media = _media_items(request, payload.media, "media")
    own_media = {
        pk: _media_items(request, items, f"per_channel_media.{pk}")
        for pk, items in payload.per_channel_media.items()
    }
    warnings: list[str] = []
    with transaction.atomic():
        post = actions.create_post(
            workspace=workspace,
            author=_user(request),
            channels=channels,
            text=payload.text,
            title=payload.title,
            per_channel_text=payload.per_channel_text,
            evergreen=payload.evergreen,
        )
        if campaign is not None or payload.tags:
            actions.file_post(post, actor=_user(request), campaign=campaign, tags=payload.tags)
        targets = list(post.targets.select_related("workspace", "channel", "post"))
        for target in targets:
            items = own_media.get(target.channel_id, media)
            if items:
                actions.edit(target, actor=_user(request), media=items)
        # The composer's checks (chorus.publishing.rules): a draft is kept with its problems as
        # warnings; anything else that breaks a network's rule is refused, and nothing is created.
        if when.mode == "draft":
            warnings += _problem_notes(targets)
        else:
            rules.check_targets(targets)
        for target in targets:
            warnings += _apply_schedule(request, target, when)
    return Status(201, PostOut(id=post.pk, targets=list(post.targets.all()), warnings=warnings))  # type: ignore[arg-type]


def _may_edit(request: HttpRequest, target: PostTarget) -> bool:
    return target.post.author_id == _user(request).pk or can(membership_of(request).role, Perm.EDIT_ANY_POST)


@router.patch("/workspaces/{slug}/targets/{target_id}", response=TargetOut, **ws_perm(Perm.CREATE_POST))
def edit_target(request: HttpRequest, slug: str, target_id: int, payload: TargetEditIn) -> PostTarget:
    target = _target(request, target_id)
    if not _may_edit(request, target):
        raise HttpError(403, "Only the author or an editor can change this post.")
    media = None if payload.media is None else _media_items(request, payload.media, "media")
    with transaction.atomic():
        actions.edit(target, actor=_user(request), text=payload.text, media=media, options=payload.options)
        if target.status != PostTarget.Status.DRAFT:  # a draft may keep problems, as in the composer
            rules.check_targets([_target(request, target_id)])
    return _target(request, target_id)


@router.post(
    "/workspaces/{slug}/targets/{target_id}/schedule", response=TargetOut, **ws_perm(Perm.SCHEDULE_POST)
)
def schedule_target(request: HttpRequest, slug: str, target_id: int, payload: ScheduleIn) -> PostTarget:
    target = _target(request, target_id)
    when = _when(payload)
    if when.mode != "draft":
        rules.check_targets([target])
    _apply_schedule(request, target, when)
    return _target(request, target_id)


def _simple(name: str, perm: Perm, fn: str) -> None:
    def endpoint(request: HttpRequest, slug: str, target_id: int, payload: DecisionIn) -> PostTarget:
        target = _target(request, target_id)
        if fn == "submit_for_review" and not _may_edit(request, target):
            # As in the composer: a contributor submits their own drafts, not the owner's.
            raise HttpError(403, "Only the author or an editor can submit this post.")
        if fn == "submit_for_review":
            rules.check_targets([target])  # the composer's checks, before review as before scheduling
        action = getattr(actions, fn)  # a refusal is answered by the API's Refused handler
        if fn == "approve":
            action(target, actor=_user(request), comment=payload.comment)
        elif fn == "reject":
            action(target, actor=_user(request), reason=payload.comment or "No reason given")
        else:
            action(target, actor=_user(request))
        return _target(request, target_id)

    endpoint.__name__ = f"{name}_target"
    router.post(f"/workspaces/{{slug}}/targets/{{target_id}}/{name}", response=TargetOut, **ws_perm(perm))(
        endpoint
    )


for _name, _perm, _fn in [
    ("submit", Perm.CREATE_POST, "submit_for_review"),
    ("approve", Perm.APPROVE_POST, "approve"),
    ("reject", Perm.APPROVE_POST, "reject"),
    ("unschedule", Perm.SCHEDULE_POST, "unschedule"),
    ("release", Perm.SCHEDULE_POST, "release_hold"),
    ("retry", Perm.SCHEDULE_POST, "retry_failed"),
]:
    _simple(_name, _perm, _fn)


# --- composer: live validation, link preview, recurrence ----------------------------------------


class DraftChannelIn(Schema):
    channel_id: int
    text: str = ""  # empty: the main text
    options: dict[str, Any] = {}


class DraftIn(Schema):
    text: str = ""
    title: str = ""
    link: str = ""
    channels: list[DraftChannelIn] = []
    media: list[MediaIn] = []  # library files, as on POST /posts
    local_time: dt.datetime | None = None  # wall time in the workspace's zone, for the DST note


class ProblemOut(Schema):
    field: str
    message: str
    code: str


class ChannelCheckOut(Schema):
    channel_id: int
    kind: str
    text: str
    count: int
    limit: int | None
    problems: list[ProblemOut]


class DraftCheckOut(Schema):
    channels: list[ChannelCheckOut]
    scheduled_utc: dt.datetime | None = None
    schedule_note: str = ""
    warnings: list[str] = []


@router.post("/workspaces/{slug}/compose/validate", response=DraftCheckOut, **ws_perm(Perm.CREATE_POST))
def validate_draft(request: HttpRequest, slug: str, payload: DraftIn) -> DraftCheckOut:
    """Checks an unsaved draft against each channel's rules, as the composer does while typing."""
    workspace = workspace_of(request)
    ids = [c.channel_id for c in payload.channels]
    channels = {c.pk: c for c in Channel.objects.filter(workspace=workspace, pk__in=ids)}
    if len(channels) != len(set(ids)):
        raise HttpError(422, "unknown channel id for this workspace")
    draft = composer.Draft(
        title=payload.title,
        text=payload.text,
        link=payload.link,
        media=_media_items(request, payload.media, "media"),
        channels=[
            composer.ChannelDraft(channels[c.channel_id], c.text, dict(c.options)) for c in payload.channels
        ],
        signatures=composer.signatures_of(workspace),
    )
    resolved = composer.resolve_schedule(workspace, payload.local_time)
    warnings: list[str] = []
    if resolved is not None:
        for cd in draft.channels:
            warnings += forecast_warnings(cd.channel, resolved.utc)
    return DraftCheckOut(
        channels=[
            ChannelCheckOut(
                channel_id=check.channel.pk,
                kind=check.channel.kind,
                text=check.text,
                count=check.used,
                limit=check.limit,
                problems=[ProblemOut(field=p.field, message=p.message, code=p.code) for p in check.problems],
            )
            for check in composer.check_draft(draft, workspace)
        ],
        scheduled_utc=resolved.utc if resolved else None,
        schedule_note=resolved.note if resolved else "",
        warnings=warnings,
    )


class LinkIn(Schema):
    url: str


class LinkPreviewOut(Schema):
    url: str
    title: str
    description: str
    image: str
    site: str
    error: str


@router.post("/workspaces/{slug}/compose/link-preview", response=LinkPreviewOut, **ws_perm(Perm.CREATE_POST))
def link_preview(request: HttpRequest, slug: str, payload: LinkIn) -> composer.LinkPreview:
    return composer.fetch_link_preview(payload.url)


class RecurrenceIn(Schema):
    freq: Literal["daily", "weekly"] = "weekly"
    weekdays: list[Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]] = []
    time: dt.time
    starts_on: dt.date | None = None  # in the workspace's zone; default today


class RecurrenceOut(Schema):
    id: int
    rrule: str
    timezone: str
    created: list[TargetOut]


@router.post(
    "/workspaces/{slug}/targets/{target_id}/recurrence",
    response={201: RecurrenceOut},
    **ws_perm(Perm.SCHEDULE_POST),
)
def create_recurrence(request: HttpRequest, slug: str, target_id: int, payload: RecurrenceIn) -> Status:
    """Repeats this target (its text, media and options) on a daily or weekly rule."""
    target = _target(request, target_id)
    try:
        rrule = composer.build_rrule(payload.freq, list(payload.weekdays))
    except ValueError as exc:
        raise HttpError(422, str(exc)) from None
    start = payload.starts_on or dt.datetime.now(zoneinfo.ZoneInfo(target.workspace.timezone)).date()
    rec, created = composer.create_recurrence(
        target, actor=_user(request), rrule=rrule, starts_local=dt.datetime.combine(start, payload.time)
    )
    return Status(
        201,
        RecurrenceOut(id=rec.pk, rrule=rec.rrule, timezone=rec.timezone, created=created),  # type: ignore[arg-type]
    )


# --- review queue ----------------------------------------------------------------------------------


class ReviewItemOut(TargetOut):
    post_title: str
    author_email: str | None


class DecisionOut(Schema):
    at: dt.datetime
    action: str
    target_id: int | None
    actor_email: str | None
    comment: str


def _review_item(target: PostTarget) -> ReviewItemOut:
    author = target.post.author
    return ReviewItemOut.model_validate(
        {
            **TargetOut.model_validate(target, from_attributes=True).model_dump(),
            "post_title": str(target.post),
            "author_email": author.email if author else None,
        }
    )


@router.get("/workspaces/{slug}/review", response=list[ReviewItemOut], **ws_perm(Perm.APPROVE_POST))
def review_queue(request: HttpRequest, slug: str) -> list[ReviewItemOut]:
    """Targets waiting for a decision (status in_review)."""
    return [_review_item(t) for t in review.waiting(workspace_of(request))[:500]]


@router.get("/workspaces/{slug}/review/returned", response=list[ReviewItemOut], **ws_perm(Perm.CREATE_POST))
def returned_drafts(request: HttpRequest, slug: str) -> list[ReviewItemOut]:
    """The caller's drafts an approver rejected; `error_message` is the reason."""
    return [_review_item(t) for t in review.returned(workspace_of(request), _user(request))[:500]]


@router.get("/workspaces/{slug}/review/history", response=list[DecisionOut], **ws_perm(Perm.APPROVE_POST))
def review_history(
    request: HttpRequest,
    slug: str,
    limit: Annotated[int, Field(ge=1, le=500)] = 100,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> list[DecisionOut]:
    events = review.history(workspace_of(request), limit=min(limit, 500), offset=offset)
    return [
        DecisionOut(
            at=e.at,
            action=e.action.removeprefix("target."),
            target_id=int(e.object_id) if e.object_id.isdigit() else None,
            actor_email=e.actor.email if e.actor else None,
            comment=str(e.data.get("comment") or e.data.get("reason") or ""),
        )
        for e in events
    ]
