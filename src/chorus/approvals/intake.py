"""Contributor story intake: magic-link invitations, submissions with photos (into the media
library with consent and credit), the editors' decisions (turn into a post, or return)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus import webhooks
from chorus.accounts.models import User, Workspace
from chorus.approvals.models import Contributor, Story, new_raw_token, token_hash
from chorus.content.models import Campaign, Post
from chorus.core import audit
from chorus.media import actions as media
from chorus.media.models import MediaAsset
from chorus.publishing import actions as publishing

MAX_PHOTOS = 10


class IntakeRefused(Exception):
    pass


@transaction.atomic
def invite(
    workspace: Workspace, *, actor: User | None, name: str, email: str = "", campaign: Campaign | None = None
) -> tuple[Contributor, str]:
    if not name.strip():
        raise IntakeRefused(_("Give the contributor's name."))
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise IntakeRefused(_("Choose a campaign of this workspace."))
    raw = new_raw_token()
    contributor = Contributor.objects.create(
        workspace=workspace, name=name.strip()[:120], email=email[:200], campaign=campaign,
        token_hash=token_hash(raw), hint=raw[-6:], invited_by=actor,
    )  # fmt: skip
    audit.record(
        "contributor.invited", workspace=workspace, actor=actor, obj=contributor, name=contributor.name
    )
    return contributor, raw


def contributor_for(raw: str) -> Contributor:
    found = Contributor.objects.select_related("workspace").filter(token_hash=token_hash(raw)).first()
    if found is None or found.revoked_at is not None:
        raise IntakeRefused(_("This invitation link is not valid any more."))
    return found


@transaction.atomic
def revoke(contributor: Contributor, *, actor: User | None) -> None:
    Contributor.objects.filter(pk=contributor.pk).update(revoked_at=timezone.now())
    audit.record("contributor.revoked", workspace=contributor.workspace, actor=actor, obj=contributor)


def submit(
    contributor: Contributor,
    *,
    title: str,
    text: str,
    language: str = "",
    location: str = "",
    consent: bool,
    credit: str = "",
    photos: Iterable[Any] = (),
) -> Story:
    """A contributor's story. Photos go into the media library with the story's consent and
    credit; a photo the library refuses (type, size) refuses the whole submission."""
    photos = list(photos)
    if not title.strip() or not text.strip():
        raise IntakeRefused(_("A story needs a title and its text."))
    if not consent:
        raise IntakeRefused(_("Confirm that the person in the story agreed to its publication."))
    if len(photos) > MAX_PHOTOS:
        raise IntakeRefused(
            ngettext("At most %(n)s photo.", "At most %(n)s photos.", MAX_PHOTOS) % {"n": MAX_PHOTOS}
        )
    workspace = contributor.workspace
    with transaction.atomic():
        assets: list[MediaAsset] = []
        for photo in photos:
            try:
                asset, _created = media.upload(workspace, None, photo)
            except Exception as exc:  # the library's own refusal, with its reason
                raise IntakeRefused(str(exc)) from None
            media.update_asset(
                asset, actor=None, credit=credit[:300], consent=MediaAsset.Consent.WRITTEN,
                consent_note=_("Given by %(name)s with the story “%(title)s”") % {"name": contributor.name, "title": title[:100]},
            )  # fmt: skip
            assets.append(asset)
        story = Story.objects.create(
            workspace=workspace, contributor=contributor, campaign=contributor.campaign, title=title.strip()[:200],
            text=text.strip(), language=language[:12], location=location[:200], subject_consent=True,
            credit=credit[:300],
        )  # fmt: skip
        story.photos.set(assets)
        audit.record(
            "story.submitted", workspace=workspace, obj=story, contributor=contributor.pk, photos=len(assets)
        )
        webhooks.emit(workspace, "story.received", {"story_id": story.pk, "title": story.title, "contributor": contributor.name, "photos": len(assets)})  # fmt: skip
    return story


@transaction.atomic
def return_story(story: Story, *, actor: User, note: str) -> None:
    if not note.strip():
        raise IntakeRefused(_("Say what the contributor should change."))
    Story.objects.filter(pk=story.pk).update(state=Story.State.RETURNED, note=note.strip())
    audit.record("story.returned", workspace=story.workspace, actor=actor, obj=story, note=note.strip())


@transaction.atomic
def to_post(story: Story, *, actor: User, channels: list[Any]) -> Post:
    """A draft post on the chosen channels: the story's text with its credit, its photos attached."""
    if story.state == Story.State.ACCEPTED and story.post_id:
        raise IntakeRefused(_("This story is already a post."))
    if not channels:
        raise IntakeRefused(_("Choose at least one channel."))
    credit = f"\n\n{_('Story')}: {story.contributor.name}" + (
        f" · {_('Photo')}: {story.credit}" if story.credit else ""
    )
    post = publishing.create_post(
        workspace=story.workspace,
        author=actor,
        channels=channels,
        text=story.text + credit,
        title=story.title,
    )
    if story.campaign_id:
        Post.objects.filter(pk=post.pk).update(campaign_id=story.campaign_id)
    items = [media.as_post_media(a) for a in story.photos.all()]
    if items:
        for target in post.targets.all():
            publishing.edit(target, actor=actor, media=items)
    Story.objects.filter(pk=story.pk).update(state=Story.State.ACCEPTED, post=post)
    audit.record("story.accepted", workspace=story.workspace, actor=actor, obj=story, post=post.pk)
    return post
