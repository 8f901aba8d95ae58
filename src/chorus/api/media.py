"""REST endpoints for the media library: list/search, upload, get, update, delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status, UploadedFile
from ninja.errors import HttpError
from pydantic import Field

from chorus.accounts.access import workspace_of
from chorus.accounts.models import User
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.media import actions, queries
from chorus.media.models import MediaAsset, MediaFolder

router = Router(tags=["media"])


class AssetOut(Schema):
    id: int
    original_name: str
    kind: str
    mime_type: str
    width: int | None
    height: int | None
    duration: float | None
    size: int
    sha256: str
    alt_text: str
    credit: str
    consent: str
    consent_note: str
    folder_id: int | None
    tags: list[str]
    created_at: dt.datetime
    path: str
    used_in_posts: int = 0
    metadata_removed: list[str] = []  # codes of what was removed on the way in (chorus.media.scrub)
    withdrawn: bool = False  # a consent for this file was withdrawn: not usable in posts


class AssetPage(Schema):
    items: list[AssetOut]
    next_before: int | None


class UploadOut(Schema):
    created: bool
    asset: AssetOut


class AssetIn(Schema):
    alt_text: str | None = None
    credit: str | None = None
    consent: str | None = None
    consent_note: str | None = None
    folder_id: int | None = None
    move_to_root: bool = False
    tags: list[str] | None = None


def _out(asset: MediaAsset, used: int = 0) -> AssetOut:
    return AssetOut(
        id=asset.pk,
        original_name=asset.original_name,
        kind=asset.kind,
        mime_type=asset.mime_type,
        width=asset.width,
        height=asset.height,
        duration=asset.duration,
        size=asset.size,
        sha256=asset.sha256,
        alt_text=asset.alt_text,
        credit=asset.credit,
        consent=asset.consent,
        consent_note=asset.consent_note,
        folder_id=asset.folder_id,
        tags=sorted(t.name for t in asset.tags.all()),
        created_at=asset.created_at,
        path=asset.path,
        used_in_posts=used,
        metadata_removed=list(asset.metadata_removed or []),
        withdrawn=asset.withdrawn_at is not None,
    )


def _asset(request: HttpRequest, asset_id: int) -> MediaAsset:
    return get_object_or_404(
        MediaAsset.objects.prefetch_related("tags"), pk=asset_id, workspace=workspace_of(request)
    )


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


@router.get("/workspaces/{slug}/media", response=AssetPage, **ws_perm(Perm.VIEW_WORKSPACE))
def list_media(
    request: HttpRequest,
    slug: str,
    q: str = "",
    kind: str = "",
    folder: int | None = None,
    tag: str = "",
    before: int | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = queries.PAGE_SIZE,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
) -> AssetPage:
    """Newest first, paged with `limit` and `offset` like every list; for deep pages of a large
    library, pass `next_before` back as `before` instead (keyset: page 500 costs what page 1 does)."""
    filters = queries.Filters(q=q.strip()[:200], kind=kind, folder=folder, tag=tag, before=before)
    page = queries.page(workspace_of(request), filters, size=max(1, min(limit, 200)), offset=offset)
    tags = {
        a.pk: a
        for a in MediaAsset.objects.filter(pk__in=[a.pk for a in page.assets]).prefetch_related("tags")
    }
    items = []
    for asset in page.assets:
        full = tags[asset.pk]
        items.append(_out(full, page.usage.get(asset.pk, 0)))
    return AssetPage(items=items, next_before=page.next_before)


@router.post(
    "/workspaces/{slug}/media", response={200: UploadOut, 201: UploadOut}, **ws_perm(Perm.MANAGE_MEDIA)
)
def upload_media(request: HttpRequest, slug: str, file: File[UploadedFile]) -> Status[UploadOut]:
    """Multipart upload (field `file`). 201 when stored, 200 when the same bytes were already in
    the library (that asset is returned), 400 with the reason when the file is refused."""
    try:
        asset, created = actions.upload(workspace_of(request), _user(request), file)
    except actions.MediaRejected as exc:
        raise HttpError(400, exc.reason) from None
    return Status(201 if created else 200, UploadOut(created=created, asset=_out(asset)))


@router.get("/workspaces/{slug}/media/{asset_id}", response=AssetOut, **ws_perm(Perm.VIEW_WORKSPACE))
def get_media(request: HttpRequest, slug: str, asset_id: int) -> AssetOut:
    asset = _asset(request, asset_id)
    return _out(asset, actions.usage_counts([asset.pk]).get(asset.pk, 0))


@router.patch("/workspaces/{slug}/media/{asset_id}", response=AssetOut, **ws_perm(Perm.MANAGE_MEDIA))
def update_media(request: HttpRequest, slug: str, asset_id: int, data: AssetIn) -> AssetOut:
    asset = _asset(request, asset_id)
    folder: MediaFolder | Literal[False] | None = False
    if data.move_to_root:
        folder = None
    elif data.folder_id is not None:
        folder = get_object_or_404(MediaFolder, pk=data.folder_id, workspace=workspace_of(request))
    try:
        actions.update_asset(
            asset,
            actor=_user(request),
            alt_text=data.alt_text,
            credit=data.credit,
            consent=data.consent,
            consent_note=data.consent_note,
            folder=folder,
            tags=data.tags,
        )
    except actions.MediaRejected as exc:
        raise HttpError(422, exc.reason) from None
    return _out(_asset(request, asset_id), actions.usage_counts([asset.pk]).get(asset.pk, 0))


@router.delete("/workspaces/{slug}/media/{asset_id}", response={204: None}, **ws_perm(Perm.MANAGE_MEDIA))
def delete_media(request: HttpRequest, slug: str, asset_id: int) -> Status[None]:
    """409 while a post waiting to be published uses the file."""
    asset = _asset(request, asset_id)
    try:
        actions.delete_asset(asset, actor=_user(request))
    except actions.MediaInUse as exc:
        raise HttpError(409, exc.reason) from None
    return Status(204, None)
