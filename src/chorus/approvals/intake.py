"""Contributor story intake: magic-link invitations, submissions with photos (into the media
library with consent and credit), the editors' decisions (turn into a post, or return)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus import webhooks
from chorus.accounts.models import User, Workspace
from chorus.approvals.models import Contributor, Story, contributor_link_days, new_raw_token, token_hash
from chorus.content.models import Campaign, Post
from chorus.core import audit
from chorus.core.refusals import Refused
from chorus.media import actions as media
from chorus.media import consent as consents
from chorus.media.models import MediaAsset, MediaConsent
from chorus.publishing import actions as publishing

MAX_PHOTOS = 10


class IntakeRefused(Refused):
    code = "intake_refused"


@transaction.atomic
def invite(
    workspace: Workspace,
    *,
    actor: User | None,
    name: str,
    email: str = "",
    campaign: Campaign | None = None,
    days: int | None = None,
) -> tuple[Contributor, str]:
    """A magic link that works for `days` (default and maximum from settings)."""
    default, maximum = contributor_link_days()
    days = default if days is None else days
    if not 1 <= days <= maximum:
        raise IntakeRefused(_("A contributor link lasts from 1 to %(max)s days.") % {"max": maximum})
    if not name.strip():
        raise IntakeRefused(_("Give the contributor's name."))
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise IntakeRefused(_("Choose a campaign of this workspace."))
    raw = new_raw_token()
    contributor = Contributor.objects.create(
        workspace=workspace, name=name.strip()[:120], email=email[:200], campaign=campaign,
        token_hash=token_hash(raw), hint=raw[-6:], invited_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )  # fmt: skip
    audit.record(
        "contributor.invited", workspace=workspace, actor=actor, obj=contributor, name=contributor.name,
        expires_at=contributor.ends_at.isoformat(),
    )  # fmt: skip
    return contributor, raw


def contributor_for(raw: str, *, use: str = "") -> Contributor:
    """The contributor of a live link; with `use` ("view", "submit"), the use is audited (with
    the proxy-aware client address the audit log records), refused ones included."""
    found = Contributor.objects.select_related("workspace").filter(token_hash=token_hash(raw)).first()
    if found is None:
        raise IntakeRefused(_("This invitation link is not valid any more."))
    if not found.is_active:
        if use:
            audit.record(
                "contributor.link_refused", workspace=found.workspace, obj=found, use=use,
                why="revoked" if found.revoked_at else "expired",
            )  # fmt: skip
        raise IntakeRefused(_("This invitation link is not valid any more."))
    if use:
        audit.record("contributor.link_used", workspace=found.workspace, obj=found, use=use)
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
    uses: Iterable[str] | None = None,
    credit_is_pseudonym: bool = False,
) -> Story:
    """A contributor's story. Each photo goes into the media library (scrubbed of its metadata on
    the way in) and gets its own consent record for this contributor and story. A photo whose
    bytes are already in the library is that asset, left as the team described it: an outsider
    never changes an existing file's consent or credit. A photo the library refuses (type, size)
    refuses the whole submission."""
    photos = list(photos)
    if not title.strip() or not text.strip():
        raise IntakeRefused(_("A story needs a title and its text."))
    if not consent:
        raise IntakeRefused(_("Confirm that the person in the story agreed to its publication."))
    if len(photos) > MAX_PHOTOS:
        raise IntakeRefused(
            ngettext("At most %(n)s photo.", "At most %(n)s photos.", MAX_PHOTOS) % {"n": MAX_PHOTOS}
        )
    chosen_uses = list(MediaConsent.Use.values) if uses is None else [u for u in uses if u]
    if not chosen_uses or set(chosen_uses) - set(MediaConsent.Use.values):
        raise IntakeRefused(_("Choose where the photos may be used."))
    workspace = contributor.workspace
    with transaction.atomic():
        assets: list[MediaAsset] = []
        for photo in photos:
            try:
                asset, created = media.upload(workspace, None, photo, source="contributor")
            except Exception as exc:  # the library's own refusal, with its reason
                raise IntakeRefused(str(exc)) from None
            if created:  # a new file: the story's credit is its first description
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
        for asset in assets:
            consents.record(
                asset, actor=None, person=contributor.name, uses=chosen_uses,
                evidence=MediaConsent.Evidence.ONLINE,
                evidence_note=_("Confirmed on the contributor link with the story “%(title)s”") % {"title": title[:100]},
                credit=credit, credit_is_pseudonym=credit_is_pseudonym, contributor=contributor, story=story,
            )  # fmt: skip
        if assets and consents.rules_for(workspace).face_review_for_contributors:
            from chorus.media import faces

            for asset in assets:
                faces.detect(asset)
        audit.record(
            "story.submitted", workspace=workspace, obj=story, contributor=contributor.pk, photos=len(assets)
        )
        webhooks.emit(workspace, "story.received", {"story_id": story.pk, "title": story.title, "contributor": contributor.name, "photos": len(assets)})  # fmt: skip
    return story


def withdraw_story(contributor: Contributor, story: Story, *, reason: str = "") -> int:
    """The contributor withdraws their consent for a story's photos through their own link. Returns
    how many consents were withdrawn (each stops its file: see chorus.media.consent.withdraw)."""
    if story.contributor_id != contributor.pk:
        raise IntakeRefused(_("This story is not yours."))
    rows = list(
        MediaConsent.objects.filter(story=story, contributor=contributor, state=MediaConsent.State.ACTIVE)
    )
    for row in rows:
        consents.withdraw(row, actor=None, reason=reason, via="contributor")
    audit.record(
        "story.consent_withdrawn", workspace=story.workspace, obj=story, contributor=contributor.pk,
        photos=len(rows), reason=reason.strip(),
    )  # fmt: skip
    return len(rows)


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
    items = [media.as_post_media(a) for a in story.photos.filter(withdrawn_at__isnull=True)]  # not withdrawn
    if items:
        for target in post.targets.all():
            publishing.edit(target, actor=actor, media=items)
    Story.objects.filter(pk=story.pk).update(state=Story.State.ACCEPTED, post=post)
    audit.record("story.accepted", workspace=story.workspace, actor=actor, obj=story, post=post.pk)
    return post
