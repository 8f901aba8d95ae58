"""A contributor's personal data: an export of everything Chorus holds about them, an erasure that
removes it while the audit trail stays readable, and the retention rule for stories never used.

Erasure keeps the rows that other records point at (the contributor, their stories, consent
records on files shared with others) but pseudonymises them ("Erased contributor 12"); files that
came only from them are deleted with their thumbnails, variants and private originals. Audit rows
about them are kept in place with their personal values (names, notes, reasons, the client IP of
their own requests) replaced by "[erased]", and one more row says who erased what and how many
rows were pseudonymised: the history is not silently rewritten.

What left Chorus with their words is pseudonymised in Chorus's copy too, and counted in that row:
the posts made from their stories or carrying their files (their name, story text, title and
credit replaced by "[erased]", their files taken out of the post's media; a published post's
network copy is listed in the row for the team to delete there), and the bodies of webhook
deliveries about their stories (a delivery still to be retried then sends the pseudonymised body).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chorus.accounts.models import User, Workspace
from chorus.approvals.models import Contributor, Story
from chorus.content.models import Post, PostTarget
from chorus.core import audit
from chorus.core.models import AuditEvent
from chorus.media import actions as media
from chorus.media import consent as consents
from chorus.media.models import MediaAsset, MediaConsent, MediaUsage

ERASED = "[erased]"
# Keys of audit data that can carry what a person typed or is called.
PERSONAL_KEYS = {"name", "note", "reason", "title", "credit", "email", "person", "detail", "text", "location"}


def _assets_of(contributor: Contributor) -> list[MediaAsset]:
    ids = set(MediaConsent.objects.filter(contributor=contributor).values_list("asset_id", flat=True))
    for story in contributor.stories.all():
        ids |= set(story.photos.values_list("pk", flat=True))
    return list(MediaAsset.objects.filter(pk__in=ids, workspace_id=contributor.workspace_id).order_by("pk"))


def _uses(asset: MediaAsset) -> list[dict[str, Any]]:
    targets = PostTarget.objects.filter(
        pk__in=MediaUsage.objects.filter(asset=asset).values("target_id")
    ).select_related("channel")
    return [
        {"post": t.post_id, "channel": t.channel.name, "network": t.channel.kind, "status": t.status,
         "published_at": t.published_at, "url": t.external_url}
        for t in targets.order_by("pk")
    ]  # fmt: skip


def export(contributor: Contributor, *, actor: User | None) -> bytes:
    """A zip: data.json (the contributor, stories, consents, where each file was used) and the
    files under files/ as Chorus holds them (the published, scrubbed version; the private
    original too when the workspace keeps one)."""
    assets = _assets_of(contributor)
    data: dict[str, Any] = {
        "contributor": {
            "id": contributor.pk, "name": contributor.name, "email": contributor.email,
            "campaign": contributor.campaign.name if contributor.campaign else None,
            "invited_at": contributor.created_at, "link_revoked_at": contributor.revoked_at,
        },
        "stories": [
            {"id": s.pk, "title": s.title, "text": s.text, "language": s.language, "location": s.location,
             "credit": s.credit, "state": s.state, "note_from_the_team": s.note, "submitted_at": s.created_at,
             "post": s.post_id, "photos": list(s.photos.values_list("pk", flat=True))}
            for s in contributor.stories.order_by("pk")
        ],
        "consents": [
            {"id": c.pk, "file": c.asset_id, "story": c.story_id, "person": c.person, "uses": c.uses,
             "until": c.valid_until, "evidence": c.evidence, "evidence_note": c.evidence_note,
             "credit": c.credit, "credit_is_pseudonym": c.credit_is_pseudonym, "state": c.state,
             "given_at": c.created_at, "withdrawn_at": c.withdrawn_at, "withdrawal_reason": c.withdrawal_reason}
            for c in MediaConsent.objects.filter(contributor=contributor).order_by("pk")
        ],
        "files": [
            {"id": a.pk, "name": a.original_name, "type": a.mime_type, "metadata_removed": a.metadata_removed,
             "in_zip": f"files/{a.pk}-{a.original_name}", "used_in": _uses(a)}
            for a in assets
        ],
    }  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
        for asset in assets:
            if default_storage.exists(asset.path):
                with default_storage.open(asset.path, "rb") as handle:
                    archive.writestr(f"files/{asset.pk}-{asset.original_name}", handle.read())
            if asset.private_original and media.private_storage().exists(asset.private_original):
                with media.private_storage().open(asset.private_original, "rb") as handle:
                    archive.writestr(f"originals/{asset.pk}-{asset.original_name}", handle.read())
    audit.record("contributor.exported", workspace=contributor.workspace, actor=actor, obj=contributor)
    return buffer.getvalue()


def erase(contributor: Contributor, *, actor: User | None, reason: str = "") -> dict[str, int]:
    """Erases the contributor's personal data and files (see the module docstring). Their
    consents are withdrawn first, so every scheduled post using their files is held."""
    for row in MediaConsent.objects.filter(contributor=contributor, state=MediaConsent.State.ACTIVE):
        consents.withdraw(row, actor=actor, reason="erasure", via="erasure")
    assets = _assets_of(contributor)
    others = set(
        MediaConsent.objects.filter(asset__in=assets)
        .filter(~Q(contributor=contributor) | Q(contributor__isnull=True))
        .values_list("asset_id", flat=True)
    )
    own = [a for a in assets if a.pk not in others and a.uploaded_by_id is None]
    stories = list(contributor.stories.all())
    story_ids = [s.pk for s in stories]
    left_online = [
        {"target": t.pk, "channel": t.channel.name, "url": t.external_url}
        for t in PostTarget.objects.filter(
            pk__in=MediaUsage.objects.filter(asset__in=own).values("target_id"),
            status=PostTarget.Status.PUBLISHED,
        ).select_related("channel")
    ]
    files: list[str] = []
    with transaction.atomic():
        pseudonym = f"Erased contributor {contributor.pk}"
        rows = _pseudonymise_audit(contributor, story_ids, [a.pk for a in own])
        MediaConsent.objects.filter(contributor=contributor).update(
            person=pseudonym, credit="", evidence_note="", withdrawal_reason=""
        )
        for story in stories:
            story.photos.clear()
        Story.objects.filter(pk__in=story_ids).update(
            title=f"Erased story {contributor.pk}", text="", location="", credit="", note="", language=""
        )
        Contributor.objects.filter(pk=contributor.pk).update(
            name=pseudonym, email="", revoked_at=contributor.revoked_at or timezone.now()
        )
        posts = _pseudonymise_posts(contributor, stories, [a.pk for a in own])
        deliveries = _pseudonymise_deliveries(contributor, story_ids)
        for asset in own:
            files += [asset.path, asset.thumbnail]
            if asset.private_original:
                media.private_storage().delete(asset.private_original)
            asset.delete()
        audit.record(
            "contributor.erased", workspace=contributor.workspace, actor=actor, obj=contributor,
            stories=len(stories), files=len(own), audit_rows_pseudonymised=rows, reason=reason.strip(),
            published_posts_left=left_online, post_targets_pseudonymised=posts,
            webhook_deliveries_pseudonymised=deliveries,
        )  # fmt: skip
    media._remove_files(files)
    variants = f"workspaces/{contributor.workspace_id}/media/variants"
    if own and default_storage.exists(variants):
        _dirs, names = default_storage.listdir(variants)
        shas = tuple(a.sha256 for a in own)
        media._remove_files(f"{variants}/{n}" for n in names if n.startswith(shas))
    contributor.refresh_from_db()
    return {"stories": len(stories), "files": len(own), "audit_rows": rows}


def _personal_pieces(contributor: Contributor, stories: list[Story]) -> list[str]:
    """What the person typed or is called, longest first (so a name inside a text goes with it)."""
    pieces = {contributor.name, contributor.email}
    for story in stories:
        pieces |= {story.text, story.title, story.credit, story.location, story.note}
    pieces |= set(MediaConsent.objects.filter(contributor=contributor).values_list("credit", flat=True))
    return sorted((p.strip() for p in pieces if p and len(p.strip()) >= 3), key=len, reverse=True)


def _scrubbed(text: str, pieces: list[str]) -> str:
    for piece in pieces:
        text = text.replace(piece, ERASED)
    return text


def _pseudonymise_posts(contributor: Contributor, stories: list[Story], asset_ids: list[int]) -> int:
    """Posts made from their stories, or using their files: their words replaced, their files
    taken out of the media list. Returns how many post targets changed."""
    pieces = _personal_pieces(contributor, stories)
    post_ids = {s.post_id for s in stories if s.post_id}
    targets = PostTarget.objects.filter(workspace_id=contributor.workspace_id).filter(
        Q(post_id__in=post_ids)
        | Q(pk__in=MediaUsage.objects.filter(asset_id__in=asset_ids).values("target_id"))
    )
    changed = 0
    for target in targets.select_related("post"):
        text = _scrubbed(target.text, pieces)
        kept = [i for i in target.media if not (isinstance(i, dict) and i.get("media_id") in asset_ids)]
        if text != target.text or kept != target.media:
            PostTarget.objects.filter(pk=target.pk).update(text=text, media=kept)
            changed += 1
        post_ids.add(target.post_id)
    for post in Post.objects.filter(pk__in=post_ids, workspace_id=contributor.workspace_id):
        title, notes = _scrubbed(post.title, pieces), _scrubbed(post.notes, pieces)
        if (title, notes) != (post.title, post.notes):
            Post.objects.filter(pk=post.pk).update(title=title, notes=notes)
    return changed


def _pseudonymise_deliveries(contributor: Contributor, story_ids: list[int]) -> int:
    """Webhook deliveries about their stories (story.received carries the title and the name)."""
    from chorus.webhooks.models import Delivery

    count = 0
    for delivery in Delivery.objects.filter(
        workspace_id=contributor.workspace_id, event_type="story.received"
    ):
        body = json.loads(delivery.body)
        data = body.get("data") or {}
        if data.get("story_id") not in story_ids:
            continue
        body["data"] = {k: (ERASED if k in ("title", "contributor") else v) for k, v in data.items()}
        Delivery.objects.filter(pk=delivery.pk).update(body=json.dumps(body, separators=(",", ":")))
        count += 1
    return count


def _pseudonymise_audit(contributor: Contributor, story_ids: list[int], asset_ids: list[int]) -> int:
    consent_ids = list(MediaConsent.objects.filter(contributor=contributor).values_list("pk", flat=True))
    about = (
        Q(object_type="approvals.contributor", object_id=str(contributor.pk))
        | Q(object_type="approvals.story", object_id__in=[str(i) for i in story_ids])
        | Q(object_type="media.mediaasset", object_id__in=[str(i) for i in asset_ids])
        | Q(object_type="media.mediaconsent", object_id__in=[str(i) for i in consent_ids])
    )
    count = 0
    for event in AuditEvent.objects.filter(about, workspace_id=contributor.workspace_id):
        data = {
            k: (ERASED if k in PERSONAL_KEYS and v not in ("", None) else v) for k, v in event.data.items()
        }
        fields: dict[str, Any] = {}
        if data != event.data:
            fields["data"] = data
        if event.actor_id is None and event.ip is not None:
            fields["ip"] = None  # the contributor's own request (team members' addresses stay)
        if fields:
            AuditEvent.objects.filter(pk=event.pk).update(**fields)
            count += 1
    return count


def apply_retention(now: dt.datetime | None = None) -> int:
    """Scheduler job: in each workspace with a retention rule, stories never turned into a post and
    older than the rule are erased with their files (their contributor stays, pseudonymised only
    when nothing of theirs is left). Returns how many stories were erased."""
    from chorus.media.models import SafetyRules

    now = now or timezone.now()
    erased = 0
    for rules in SafetyRules.objects.filter(unused_story_days__gt=0).select_related("workspace"):
        cutoff = now - dt.timedelta(days=rules.unused_story_days)
        old = Story.objects.filter(
            workspace=rules.workspace, post__isnull=True, created_at__lt=cutoff
        ).exclude(title__startswith="Erased story")
        for story in old.select_related("contributor"):
            erase_story(story, actor=None, workspace=rules.workspace, reason="retention")
            erased += 1
    return erased


def erase_story(story: Story, *, actor: User | None, workspace: Workspace, reason: str) -> None:
    """One unused story and the files only it brought in."""
    photos = list(story.photos.filter(uploaded_by__isnull=True))
    shared = set(
        MediaConsent.objects.filter(asset__in=photos).exclude(story=story).values_list("asset_id", flat=True)
    )
    own = [a for a in photos if a.pk not in shared and not MediaUsage.objects.filter(asset=a).exists()]
    rows = _pseudonymise_audit_story(story, [a.pk for a in own])
    files: list[str] = []
    with transaction.atomic():
        story.photos.clear()
        Story.objects.filter(pk=story.pk).update(
            title=f"Erased story {story.pk}", text="", location="", credit="", note="", language=""
        )
        MediaConsent.objects.filter(story=story).update(evidence_note="", withdrawal_reason="")
        for asset in own:
            files += [asset.path, asset.thumbnail]
            if asset.private_original:
                media.private_storage().delete(asset.private_original)
            asset.delete()
        audit.record(
            "story.erased", workspace=workspace, actor=actor, obj=story, files=len(own), reason=reason,
            audit_rows_pseudonymised=rows,
        )  # fmt: skip
    media._remove_files(files)


def _pseudonymise_audit_story(story: Story, asset_ids: list[int]) -> int:
    count = 0
    about = Q(object_type="approvals.story", object_id=str(story.pk)) | Q(
        object_type="media.mediaasset", object_id__in=[str(i) for i in asset_ids]
    )
    for event in AuditEvent.objects.filter(about, workspace_id=story.workspace_id):
        data = {
            k: (ERASED if k in PERSONAL_KEYS and v not in ("", None) else v) for k, v in event.data.items()
        }
        if data != event.data or (event.actor_id is None and event.ip):
            AuditEvent.objects.filter(pk=event.pk).update(
                data=data, ip=None if event.actor_id is None else event.ip
            )
            count += 1
    return count
