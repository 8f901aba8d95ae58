"""The asset page's safety panel (metadata removed, consents, withdrawal, faces) and the workspace's
safety rules. Every change goes through chorus.media.consent / chorus.media.faces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.media import consent, faces, scrub
from chorus.media.models import MediaAsset, MediaConsent, MediaFace, SafetyRules, WithdrawalStep
from chorus.media.sniff import MediaRejected


def detail_context(request: HttpRequest, asset: MediaAsset) -> dict[str, Any]:
    """What the asset page shows about the people in the file."""
    return {
        "removed": scrub.labels(list(asset.metadata_removed or [])),
        "consents": list(
            asset.consents.select_related("contributor", "withdrawn_by").order_by("-created_at")
        ),
        "steps": list(
            WithdrawalStep.objects.filter(consent__asset=asset)
            .select_related("target__channel", "target__post")
            .order_by("pk")
        ),
        "faces": list(asset.faces.all()),
        "uses": MediaConsent.Use.choices,
        "evidences": MediaConsent.Evidence.choices,
        "can_consent": can(membership_of(request).role, Perm.EDIT_ANY_POST),
    }


def _asset(request: HttpRequest, asset_id: int) -> MediaAsset:
    return get_object_or_404(MediaAsset, pk=asset_id, workspace=workspace_of(request))


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 12 else 0


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def consent_action(request: HttpRequest, asset_id: int) -> HttpResponse:
    """action=add (a new consent record), withdraw (consent=<id>), delete_post (step=<id>)."""
    asset = _asset(request, asset_id)
    user = current_user(request)
    action = request.POST.get("action", "")
    try:
        if action == "add":
            until_raw = request.POST.get("valid_until", "")
            try:
                until = dt.date.fromisoformat(until_raw) if until_raw else None
            except ValueError:
                raise MediaRejected(_("Give the end date as YYYY-MM-DD.")) from None
            consent.record(
                asset,
                actor=user,
                person=request.POST.get("person", ""),
                uses=request.POST.getlist("uses"),
                evidence=request.POST.get("evidence", ""),
                evidence_note=request.POST.get("evidence_note", ""),
                valid_until=until,
                credit=request.POST.get("credit", ""),
                credit_is_pseudonym=bool(request.POST.get("credit_is_pseudonym")),
            )
            messages.success(request, _("Consent recorded."))
        elif action == "withdraw":
            row = get_object_or_404(MediaConsent, pk=_int(request.POST.get("consent", "")), asset=asset)
            steps = consent.withdraw(row, actor=user, reason=request.POST.get("reason", "")[:1000])
            held = sum(1 for s in steps if s.step == WithdrawalStep.Step.HELD)
            published = len(steps) - held
            messages.success(
                request,
                _(
                    "Consent withdrawn: the file is hidden from the composer, %(held)s scheduled post(s) held, "
                    "%(published)s published post(s) listed below."
                )
                % {"held": held, "published": published},
            )
        elif action == "delete_post":
            step = get_object_or_404(
                WithdrawalStep, pk=_int(request.POST.get("step", "")), consent__asset=asset
            )
            done = consent.delete_published(step, actor=user)
            if done.step == WithdrawalStep.Step.DELETED:
                messages.success(
                    request, _("Deleted from %(channel)s.") % {"channel": step.target.channel.name}
                )
            else:
                messages.error(request, _("The network refused: %(detail)s") % {"detail": done.detail})
        else:
            messages.error(request, _("Unknown action."))
    except MediaRejected as exc:
        messages.error(request, exc.reason)
    return redirect("media:detail", slug=asset.workspace.slug, asset_id=asset.pk)


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def face_action(request: HttpRequest, asset_id: int) -> HttpResponse:
    """action=detect, or blur / pixelate / keep with face=<id>."""
    asset = _asset(request, asset_id)
    action = request.POST.get("action", "")
    try:
        if action == "detect":
            found = faces.detect(asset)
            messages.success(request, _("%(count)s face(s) found.") % {"count": len(found)})
        elif action in ("blur", "pixelate", "keep"):
            face = get_object_or_404(MediaFace, pk=_int(request.POST.get("face", "")), asset=asset)
            if action == "keep":
                faces.keep(face, actor=current_user(request))
                messages.success(request, _("This face stays visible."))
            else:
                faces.blur(face, actor=current_user(request), mode=action)
                messages.success(request, _("Done: posts use the new version of the file."))
        else:
            messages.error(request, _("Unknown action."))
    except MediaRejected as exc:
        messages.error(request, exc.reason)
    return redirect("media:detail", slug=asset.workspace.slug, asset_id=asset.pk)


@workspace_view(Perm.MANAGE_WORKSPACE)
def rules(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    current = consent.rules_for(workspace)
    if request.method == "POST":
        values = {
            "keep_private_originals": bool(request.POST.get("keep_private_originals")),
            "face_review_for_contributors": bool(request.POST.get("face_review_for_contributors")),
            "unused_story_days": min(_int(request.POST.get("unused_story_days", "0")), 36500),
            "consent_reminder_days": min(_int(request.POST.get("consent_reminder_days", "30")), 3650),
        }
        consent.set_rules(workspace, actor=current_user(request), **values)
        messages.success(request, _("Saved."))
        return redirect("media:rules", slug=workspace.slug)
    return render(
        request,
        "media/rules.html",
        {
            "workspace": workspace,
            "rules": current,
            "expiring": consent.expiring(workspace).order_by("valid_until")[:100],
            "withdrawn": MediaConsent.objects.filter(workspace=workspace, state=MediaConsent.State.WITHDRAWN)
            .select_related("asset", "contributor")
            .order_by("-withdrawn_at")[:100],
        },
    )


__all__ = ["SafetyRules", "consent_action", "detail_context", "face_action", "rules"]
