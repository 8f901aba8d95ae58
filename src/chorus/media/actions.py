"""Every change to the media library goes through these functions (they write the audit log).

The Python API the composer uses:

- ``upload(workspace, user, file) -> (asset, created)``: stores a file after sniffing it (Pillow
  for images, ffprobe for videos). The same bytes uploaded again in the same workspace return
  the existing asset with ``created=False``. Raises ``MediaRejected`` (``.reason`` is a
  translated sentence for the user) for anything we refuse.
- ``as_post_media(asset, alt=None) -> dict``: the item to put in ``PostTarget.media``:
  ``{"media_id", "path" (MEDIA_ROOT-relative), "alt", "mime_type", "kind", "width", "height"}``.
- ``sync_usage(target)``: call after writing ``target.media`` so "used in N posts" and the
  delete guard know about it (a scheduler job also catches up every minute).
- ``variant(asset, max_bytes=..., max_side=..., formats=...) -> path``: a cached copy that fits
  a network's limits (connectors).

The picker the composer embeds with htmx is ``GET /w/<slug>/media/picker/``; see views.picker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps

from chorus.accounts.models import User, Workspace
from chorus.content.models import PostTarget
from chorus.core import audit
from chorus.core.refusals import Refused
from chorus.media import scrub, storage
from chorus.media import sniff as sniffing
from chorus.media.models import MediaAsset, MediaFolder, MediaTag, MediaUsage, SafetyRules
from chorus.media.sniff import MediaRejected

__all__ = [
    "MediaInUse",
    "MediaRejected",
    "as_post_media",
    "create_folder",
    "delete_asset",
    "sync_usage",
    "sync_usage_many",
    "update_asset",
    "upload",
    "variant",
]

log = logging.getLogger(__name__)
THUMB_SIDE = 320
# Statuses of targets that are still going out: their media must not disappear.
PENDING = (
    PostTarget.Status.IN_REVIEW,
    PostTarget.Status.APPROVED,
    PostTarget.Status.SCHEDULED,
    PostTarget.Status.PUBLISHING,
)


class MediaInUse(Refused):
    """An asset still used by a post that is scheduled or publishing (`reason`: the message)."""

    code = "media_in_use"

    @property
    def reason(self) -> str:
        return self.message


class UploadedLike(Protocol):
    name: str | None

    def chunks(self, chunk_size: int | None = ...) -> Iterable[bytes]: ...


def max_bytes() -> int:
    return int(getattr(settings, "CHORUS_MEDIA_MAX_BYTES", 500 * 1024 * 1024))


def _base(workspace: Workspace) -> str:
    return f"workspaces/{workspace.pk}/media"


def _search_text(asset: MediaAsset, tag_names: Iterable[str]) -> str:
    parts = [asset.original_name, asset.alt_text, asset.credit, *tag_names]
    return " ".join(p for p in parts if p).casefold()


def upload(
    workspace: Workspace, user: User | None, file: UploadedLike, *, source: str = "library"
) -> tuple[MediaAsset, bool]:
    """Stores `file` in the workspace's library; returns (asset, created).

    The one way a file enters Chorus (library page, contributor link, bulk import, API): what is
    stored is the copy `scrub.scrub` made without location and identity metadata. The digest
    of the bytes as uploaded identifies the file (the same upload again is the same asset)."""
    name = Path(file.name or "upload").name[:255] or "upload"
    too_large = _("This file is larger than the %(mb)s MB limit.") % {"mb": max_bytes() // (1024 * 1024)}
    # A file the upload handlers stopped storing past the budget (chorus.core.uploads) comes with
    # its true size and no content: refused by that size.
    if (getattr(file, "size", None) or 0) > max_bytes():
        raise MediaRejected(too_large)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(prefix="chorus-upload-", suffix=".bin") as tmp:
        for chunk in file.chunks():
            size += len(chunk)
            if size > max_bytes():
                raise MediaRejected(too_large)
            digest.update(chunk)
            tmp.write(chunk)
        tmp.flush()
        if size == 0:
            raise MediaRejected(_("This file is empty."))
        sha = digest.hexdigest()
        existing = MediaAsset.objects.filter(workspace=workspace, sha256=sha).first()
        if existing is not None:
            return existing, False
        found = sniffing.sniff(Path(tmp.name))
        with tempfile.TemporaryDirectory(prefix="chorus-scrub-") as tmpdir:
            clean = Path(tmpdir) / f"clean.{found.extension}"
            scrubbed = scrub.scrub(Path(tmp.name), clean, found.kind, found.mime_type)
            # Content-addressed names: a file left by an interrupted upload of the same bytes is
            # identical (scrubbing is deterministic), so it is reused rather than copied again.
            stored = f"{_base(workspace)}/{sha[:2]}/{sha}.{found.extension}"
            if not default_storage.exists(stored):
                with open(clean, "rb") as src:
                    stored = default_storage.save(stored, File(src))
            original = _keep_private_original(workspace, sha, found.extension, Path(tmp.name))
            thumbnail = _make_thumbnail(workspace, sha, clean, found.kind)
            stored_size = clean.stat().st_size
    asset = MediaAsset(
        workspace=workspace,
        original_name=name,
        kind=found.kind,
        mime_type=found.mime_type,
        width=scrubbed.width or found.width,
        height=scrubbed.height or found.height,
        duration=found.duration,
        size=stored_size,
        sha256=sha,
        uploaded_by=user,
        thumbnail=thumbnail,
        metadata_removed=scrubbed.removed,
        private_original=original,
    )
    asset.file.name = stored
    asset.search_text = _search_text(asset, [])
    try:
        with transaction.atomic():
            asset.save()
            audit.record(
                "media.uploaded", workspace=workspace, actor=user, obj=asset, name=name, mime=found.mime_type,
                source=source, metadata_removed=scrubbed.removed, private_original=bool(original),
            )  # fmt: skip
    except IntegrityError:
        # Another request stored the same bytes a moment ago: theirs wins, ours is removed.
        _remove_files([stored, thumbnail])
        return MediaAsset.objects.get(workspace=workspace, sha256=sha), False
    return asset, True


def private_storage() -> Storage:
    """Where private originals live: no URL and no connector reaches them (media.storage)."""
    return storage.private_storage()


def _keep_private_original(workspace: Workspace, sha: str, extension: str, source: Path) -> str:
    rules = SafetyRules.objects.filter(workspace=workspace).first()
    if rules is None or not rules.keep_private_originals:
        return ""
    storage = private_storage()
    name = f"workspaces/{workspace.pk}/originals/{sha}.{extension}"
    if storage.exists(name):
        return name
    with open(source, "rb") as src:
        return storage.save(name, File(src))


def _make_thumbnail(workspace: Workspace, sha: str, source: Path, kind: str) -> str:
    name = f"{_base(workspace)}/thumbs/{sha}.webp"
    try:
        if kind == "video":
            with tempfile.TemporaryDirectory() as tmpdir:
                frame = Path(tmpdir) / "frame.jpg"
                if not sniffing.video_frame(source, frame, THUMB_SIDE):
                    return ""
                image: Image.Image = Image.open(frame)
                image.load()
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        else:
            # Reduced decoding (JPEG draft inside thumbnail()), turned after shrinking: never a
            # full-size copy. The decode waits for room in the process's memory budget.
            with Image.open(source) as opened:
                opened.seek(0)
                with sniffing.decode_memory.reserve(sniffing.decoded_bytes(opened)):
                    opened.thumbnail((THUMB_SIDE, THUMB_SIDE))
                    image = ImageOps.exif_transpose(opened)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=80)
    except OSError:
        log.warning("no thumbnail for %s", sha, exc_info=True)
        return ""
    if default_storage.exists(name):
        return name  # same content, same thumbnail
    return default_storage.save(name, ContentFile(buffer.getvalue()))


def _remove_files(names: Iterable[str]) -> None:
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)


def as_post_media(asset: MediaAsset, alt: str | None = None) -> dict[str, Any]:
    """The PostTarget.media item for `asset` (the alt text defaults to the library's)."""
    return {
        "media_id": asset.pk,
        "path": asset.path,
        "alt": asset.alt_text if alt is None else alt,
        "mime_type": asset.mime_type,
        "kind": asset.kind,
        "width": asset.width,
        "height": asset.height,
    }


@transaction.atomic
def update_asset(
    asset: MediaAsset,
    *,
    actor: User | None,
    alt_text: str | None = None,
    credit: str | None = None,
    consent: str | None = None,
    consent_note: str | None = None,
    folder: MediaFolder | Literal[False] | None = False,
    tags: Iterable[str] | None = None,
) -> MediaAsset:
    """Changes the descriptive fields given (None = unchanged; folder=None moves to the root)."""
    changed: list[str] = []
    for field, value in (
        ("alt_text", alt_text),
        ("credit", credit),
        ("consent", consent),
        ("consent_note", consent_note),
    ):
        if value is not None and getattr(asset, field) != value:
            setattr(asset, field, value)
            changed.append(field)
    if consent is not None and consent not in MediaAsset.Consent.values:
        raise MediaRejected(_("Unknown consent value: %(value)s") % {"value": consent})
    if folder is not False:
        if folder is not None and (
            not isinstance(folder, MediaFolder) or folder.workspace_id != asset.workspace_id
        ):
            raise MediaRejected(_("This folder is not in this workspace."))
        if asset.folder_id != (folder.pk if isinstance(folder, MediaFolder) else None):
            asset.folder = folder if isinstance(folder, MediaFolder) else None
            changed.append("folder")
    if tags is not None:
        names = sorted({t.strip()[:60] for t in tags if t.strip()}, key=str.casefold)
        current = sorted(asset.tags.values_list("name", flat=True), key=str.casefold)
        if names != current:
            objs = [MediaTag.objects.get_or_create(workspace_id=asset.workspace_id, name=n)[0] for n in names]
            asset.tags.set(objs)
            changed.append("tags")
    tag_names = list(asset.tags.values_list("name", flat=True))
    asset.search_text = _search_text(asset, tag_names)
    asset.save()
    if changed:
        audit.record("media.updated", workspace=asset.workspace, actor=actor, obj=asset, fields=changed)
    return asset


def create_folder(
    workspace: Workspace, *, actor: User | None, name: str, parent: MediaFolder | None = None
) -> MediaFolder:
    name = name.strip()[:120]
    if not name:
        raise MediaRejected(_("A folder needs a name."))
    if parent is not None and parent.workspace_id != workspace.pk:
        raise MediaRejected(_("This folder is not in this workspace."))
    folder, created = MediaFolder.objects.get_or_create(workspace=workspace, parent=parent, name=name)
    if created:
        audit.record("media.folder_created", workspace=workspace, actor=actor, obj=folder, name=name)
    return folder


def pending_uses(asset: MediaAsset) -> int:
    return MediaUsage.objects.filter(asset=asset, target__status__in=PENDING).count()


def delete_asset(asset: MediaAsset, *, actor: User | None) -> None:
    """Refused while a post that is still going out uses the asset; published and draft posts
    keep their text but lose the file (the detail page warns before the button)."""
    with transaction.atomic():
        waiting = pending_uses(asset)
        if waiting:
            raise MediaInUse(
                ngettext(
                    "This file is used in %(count)s post waiting to be published; remove it from that post first.",
                    "This file is used in %(count)s posts waiting to be published; remove it from them first.",
                    waiting,
                )
                % {"count": waiting}
            )
        names = [asset.path, asset.thumbnail]
        audit.record(
            "media.deleted", workspace=asset.workspace, actor=actor, obj=asset, name=asset.original_name
        )
        asset.delete()
    # Files go after the commit: a rolled-back delete must not lose them.
    variants = f"{_base(asset.workspace)}/variants"
    if default_storage.exists(variants):
        _dirs, files = default_storage.listdir(variants)
        names += [f"{variants}/{f}" for f in files if f.startswith(asset.sha256)]
    _remove_files(names)


# --- usage ----------------------------------------------------------------------------------------


def _media_ids(media: Any) -> set[int]:
    ids: set[int] = set()
    if isinstance(media, list):
        for item in media:
            value = item.get("media_id") if isinstance(item, dict) else None
            if isinstance(value, int) and not isinstance(value, bool):
                ids.add(value)
    return ids


def sync_usage(target: PostTarget) -> None:
    """Makes MediaUsage match `target.media` (idempotent; safe from several processes)."""
    sync_usage_many([target])


def sync_usage_many(targets: list[PostTarget]) -> None:
    """The same for a batch of targets in a few queries (plus one per stale row). Only asset ids of
    the target's own workspace count: a forged id of another tenant's file is ignored."""
    if not targets:
        return
    referenced = {t.pk: _media_ids(t.media) for t in targets}
    all_ids = set().union(*referenced.values())
    owner = (
        dict(MediaAsset.objects.filter(pk__in=all_ids).values_list("pk", "workspace_id")) if all_ids else {}
    )
    wanted = {(pk, t.pk): t for t in targets for pk in referenced[t.pk] if owner.get(pk) == t.workspace_id}
    with transaction.atomic():
        existing = set(
            MediaUsage.objects.filter(target_id__in=referenced).values_list("asset_id", "target_id")
        )
        stale = existing - set(wanted)
        for asset_id, target_id in stale:
            MediaUsage.objects.filter(asset_id=asset_id, target_id=target_id).delete()
        MediaUsage.objects.bulk_create(
            [
                MediaUsage(workspace_id=t.workspace_id, asset_id=asset_id, target_id=t.pk, post_id=t.post_id)
                for (asset_id, _target_id), t in wanted.items()
                if (asset_id, t.pk) not in existing
            ],
            ignore_conflicts=True,  # another process synced the same target a moment ago
        )


_usage_watermark: dict[str, Any] = {"since": None}


def sync_recent_usage(batch: int = 500) -> int:
    """Scheduler job: re-syncs targets changed since the last run; the first run in a process
    looks at every target that has media or had some. Returns how many targets were looked at."""
    since = _usage_watermark["since"]
    started = time.time()
    now = timezone.now()
    rows = PostTarget.objects.only("id", "workspace_id", "post_id", "media").order_by("id")
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    else:
        rows = rows.exclude(Q(media=[]) & ~Q(pk__in=MediaUsage.objects.values("target_id")))
    # Chunks read whole, by key, never a cursor left open across the writes: on SQLite (WAL) a
    # connection that still reads from an older snapshot cannot start writing once another
    # process has committed, and gets "database is locked" at once, whatever the busy timeout
    # (bench/load, 200 clients: twice per run from this job).
    count, last = 0, 0
    while chunk := list(rows.filter(pk__gt=last)[:batch]):
        sync_usage_many(chunk)
        count, last = count + len(chunk), chunk[-1].pk
    # A small overlap: a target updated while we ran is seen again next time.
    _usage_watermark["since"] = now - dt.timedelta(seconds=max(5.0, time.time() - started))
    return count


def usage_counts(asset_ids: Iterable[int]) -> dict[int, int]:
    """{asset id: number of distinct posts using it} for the given assets (one indexed query)."""
    rows = (
        MediaUsage.objects.filter(asset_id__in=list(asset_ids))
        .values("asset_id")
        .annotate(posts=Count("post_id", distinct=True))
    )
    return {row["asset_id"]: row["posts"] for row in rows}


# --- variants -------------------------------------------------------------------------------------

_ENCODERS = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"), "image/webp": ("WEBP", "webp")}


def variant(
    asset: MediaAsset,
    *,
    max_bytes: int,
    max_side: int,
    formats: Iterable[str] = ("image/jpeg", "image/png", "image/webp"),
) -> str:
    """MEDIA_ROOT-relative path of a copy of `asset` no larger than `max_bytes` and `max_side`
    pixels on its longest side, in one of `formats` (MIME types, preferred first). The original
    when it already fits; otherwise a resized copy, made once and cached under variants/."""
    formats = list(formats)
    fits_side = max(asset.width or 0, asset.height or 0) <= max_side
    if asset.mime_type in formats and asset.size <= max_bytes and fits_side:
        return asset.path
    if asset.kind != MediaAsset.Kind.IMAGE:
        raise MediaRejected(_("This video is over the network's limits; videos are not converted."))
    target = next((f for f in formats if f in _ENCODERS), None)
    if target is None:
        raise MediaRejected(
            _("None of the formats %(formats)s can be produced.") % {"formats": ", ".join(formats)}
        )
    pil_format, ext = _ENCODERS[target]
    name = f"{_base(asset.workspace)}/variants/{asset.sha256}-{max_side}-{max_bytes}.{ext}"
    if default_storage.exists(name):
        return name
    with default_storage.open(asset.path, "rb") as src, Image.open(src) as opened:
        opened.seek(0)
        cost = sniffing.decoded_bytes(opened)
        if cost > sniffing.decode_budget():
            raise sniffing._too_big(cost)
        with sniffing.decode_memory.reserve(2 * cost):
            opened.draft(opened.mode, (max_side, max_side))  # JPEG: decode no larger than needed
            image: Image.Image = ImageOps.exif_transpose(opened)
            image.load()
    if pil_format == "JPEG" or image.mode not in ("RGB", "RGBA"):
        if image.mode in ("RGBA", "LA", "P") and pil_format == "JPEG":
            background = Image.new("RGB", image.size, "white")
            background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
            image = background
        else:
            image = image.convert("RGB" if pil_format == "JPEG" else "RGBA")
    side = min(max_side, max(image.size))
    data = b""
    while side >= 16:
        copy = image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in (85, 75, 65, 50) if pil_format != "PNG" else (0,):
            buffer = io.BytesIO()
            copy.save(buffer, pil_format, quality=quality, optimize=True)
            data = buffer.getvalue()
            if len(data) <= max_bytes:
                return default_storage.save(name, ContentFile(data))
        side = int(side * 0.8)
    raise MediaRejected(
        ngettext(
            "This image cannot be made smaller than %(bytes)s byte.",
            "This image cannot be made smaller than %(bytes)s bytes.",
            max_bytes,
        )
        % {"bytes": max_bytes}
    )


# --- files stored before scrubbing existed -------------------------------------------------------


def rescrub(asset: MediaAsset) -> list[str]:
    """Scrubs an asset stored before uploads were scrubbed (safe to run twice: a clean file is left
    as it is). Returns the codes of what was removed."""
    from chorus.media.faces import _replace_file

    suffix = Path(asset.path).suffix or ".bin"
    with tempfile.TemporaryDirectory(prefix="chorus-rescrub-") as tmpdir:
        source, clean = Path(tmpdir) / f"source{suffix}", Path(tmpdir) / f"clean{suffix}"
        with default_storage.open(asset.path, "rb") as handle:
            source.write_bytes(handle.read())
        result = scrub.scrub(source, clean, asset.kind, asset.mime_type)
        if not result.removed:
            return []
        data = clean.read_bytes()
    _replace_file(asset, data)
    with transaction.atomic():
        MediaAsset.objects.filter(pk=asset.pk).update(
            size=len(data),
            width=result.width or asset.width,
            height=result.height or asset.height,
            metadata_removed=sorted(set(asset.metadata_removed or []) | set(result.removed)),
        )
        audit.record("media.scrubbed", workspace=asset.workspace, obj=asset, metadata_removed=result.removed)
    return result.removed
