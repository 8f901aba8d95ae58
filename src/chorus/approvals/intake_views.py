from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from chorus.accounts.access import current_user, workspace_of, workspace_view
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm
from chorus.approvals import intake
from chorus.approvals.models import Contributor, Story, contributor_link_days
from chorus.channels.models import Channel
from chorus.content.models import Campaign
from chorus.media.models import MediaConsent


@workspace_view(Perm.EDIT_ANY_POST, methods=("GET",))
def queue(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    stories = Story.objects.filter(workspace=workspace).select_related("contributor", "campaign")
    contributor, language, state = (request.GET.get(k, "") for k in ("contributor", "language", "state"))
    if contributor.isdigit():
        stories = stories.filter(contributor_id=int(contributor))
    if language:
        stories = stories.filter(language=language)
    if state in Story.State.values:
        stories = stories.filter(state=state)
    return render(
        request,
        "approvals/intake_queue.html",
        {
            "workspace": workspace,
            "stories": stories.order_by("-created_at")[:300],
            "contributors": Contributor.objects.filter(workspace=workspace)
            .annotate(
                received=Count("stories", distinct=True),
                published=Count(
                    "stories", filter=Q(stories__post__targets__status="published"), distinct=True
                ),
            )
            .order_by("name"),
            "campaigns": _campaign_progress(workspace),
            "story_languages": Story.objects.filter(workspace=workspace)
            .exclude(language="")
            .order_by("language")
            .values_list("language", flat=True)
            .distinct(),
            "states": Story.State.choices,
            "params": request.GET,
            "new_link": request.session.pop("intake_new_link", None),
            "link_days": contributor_link_days(),
        },
    )


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def contributor_revoke(request: HttpRequest, contributor_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    contributor = get_object_or_404(Contributor, pk=contributor_id, workspace=workspace)
    intake.revoke(contributor, actor=current_user(request))
    messages.success(request, _("The link of %(name)s no longer works.") % {"name": contributor.name})
    return redirect("approvals:intake", slug=workspace.slug)


def _campaign_progress(workspace: Workspace) -> list[dict[str, object]]:
    rows = []
    for campaign in Campaign.objects.filter(workspace=workspace).order_by("name"):
        stories = Story.objects.filter(campaign=campaign)
        rows.append(
            {
                "campaign": campaign,
                "received": stories.count(),
                "published": stories.filter(post__targets__status="published").distinct().count(),
            }
        )
    return rows


@workspace_view(Perm.EDIT_ANY_POST, methods=("POST",))
def invite(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    raw_campaign = request.POST.get("campaign", "")
    campaign = (
        get_object_or_404(Campaign, pk=int(raw_campaign), workspace=workspace)
        if raw_campaign.isdigit()
        else None
    )
    try:
        _contributor, raw = intake.invite(
            workspace,
            actor=current_user(request),
            name=request.POST.get("name", ""),
            email=request.POST.get("email", ""),
            campaign=campaign,
            days=int(days)
            if (days := request.POST.get("days", "").strip()).isdigit() and len(days) < 6
            else None,
        )
    except intake.IntakeRefused as exc:
        messages.error(request, str(exc))
    else:
        request.session["intake_new_link"] = request.build_absolute_uri(f"/contribute/{raw}/")
    return redirect("approvals:intake", slug=workspace.slug)


@workspace_view(Perm.EDIT_ANY_POST)
def story(request: HttpRequest, story_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    item = get_object_or_404(
        Story.objects.select_related("contributor", "campaign", "post"), pk=story_id, workspace=workspace
    )
    if request.method == "POST":
        try:
            if request.POST.get("action") == "return":
                intake.return_story(item, actor=current_user(request), note=request.POST.get("note", ""))
                messages.success(request, _("Returned to the contributor."))
            elif request.POST.get("action") == "to_post":
                ids = [int(c) for c in request.POST.getlist("channels") if c.isdigit()]
                channels = list(Channel.objects.filter(workspace=workspace, pk__in=ids))
                post = intake.to_post(item, actor=current_user(request), channels=channels)
                messages.success(request, _("The story is now a draft post."))
                return redirect("approvals:target", slug=workspace.slug, target_id=post.targets.first().pk)  # type: ignore[union-attr]
        except intake.IntakeRefused as exc:
            messages.error(request, str(exc))
        return redirect("approvals:story", slug=workspace.slug, story_id=item.pk)
    return render(
        request,
        "approvals/intake_story.html",
        {
            "workspace": workspace,
            "story": item,
            "photos": item.photos.all(),
            "channels": Channel.objects.filter(workspace=workspace).order_by("name"),
        },
    )


@require_http_methods(["GET", "POST"])
def contribute(request: HttpRequest, token: str) -> HttpResponse:
    """The contributor's one page (the magic link's token is the credential): submit a story and
    see their own submissions, nothing else."""
    try:
        contributor = intake.contributor_for(token, use="submit" if request.method == "POST" else "view")
    except intake.IntakeRefused as exc:
        return render(request, "approvals/outside_refused.html", {"reason": str(exc)}, status=404)
    error = ""
    if request.method == "POST" and request.POST.get("action") == "withdraw":
        raw_story = request.POST.get("story", "")
        story = get_object_or_404(
            Story, pk=int(raw_story) if raw_story.isdigit() else 0, contributor=contributor
        )
        count = intake.withdraw_story(contributor, story, reason=request.POST.get("reason", "")[:500])
        messages.success(
            request,
            ngettext(
                "Your consent was withdrawn for %(count)s photo. The team has been told.",
                "Your consent was withdrawn for %(count)s photos. The team has been told.",
                count,
            )
            % {"count": count},
        )
        return redirect("approvals:contribute", token=token)
    if request.method == "POST":
        try:
            intake.submit(
                contributor,
                title=request.POST.get("title", ""),
                text=request.POST.get("text", ""),
                language=request.POST.get("language", ""),
                location=request.POST.get("location", ""),
                consent=bool(request.POST.get("consent")),
                credit=request.POST.get("credit", ""),
                photos=request.FILES.getlist("photos"),
                # The form offers the choice (uses_offered); a client without it agrees to all uses.
                uses=request.POST.getlist("uses") if request.POST.get("uses_offered") else None,
                credit_is_pseudonym=bool(request.POST.get("credit_is_pseudonym")),
            )
        except intake.IntakeRefused as exc:
            error = str(exc)
        else:
            return redirect("approvals:contribute", token=token)
    consents = MediaConsent.objects.filter(contributor=contributor, story__isnull=False)
    response = render(
        request,
        "approvals/contribute.html",
        {
            "contributor": contributor,
            "stories": contributor.stories.order_by("-created_at"),
            "error": error,
            "form": request.POST if error else {},
            "uses": MediaConsent.Use.choices,
            "chosen_uses": request.POST.getlist("uses") if error else [],
            "with_consent": set(consents.filter(state="active").values_list("story_id", flat=True)),
            "withdrawn": set(consents.exclude(state="active").values_list("story_id", flat=True))
            - set(consents.filter(state="active").values_list("story_id", flat=True)),
        },
        status=400 if error else 200,
    )
    response["Referrer-Policy"] = "same-origin"  # token in URL; no-referrer => Origin: null => CSRF 403
    return response


@workspace_view(Perm.MANAGE_WORKSPACE)
def contributor(request: HttpRequest, contributor_id: int) -> HttpResponse:
    """A contributor's personal data: what Chorus holds, an export (zip) and the erasure."""
    from chorus.approvals import privacy

    workspace = workspace_of(request)
    person = get_object_or_404(Contributor, pk=contributor_id, workspace=workspace)
    if request.method == "POST" and request.POST.get("action") == "erase":
        if request.POST.get("confirm") != person.name:
            messages.error(request, _("Type the contributor's name to confirm the erasure."))
        else:
            done = privacy.erase(
                person, actor=current_user(request), reason=request.POST.get("reason", "")[:500]
            )
            messages.success(
                request,
                _("Erased: %(stories)s stories, %(files)s files; %(rows)s audit rows pseudonymised.")
                % {"stories": done["stories"], "files": done["files"], "rows": done["audit_rows"]},
            )
        return redirect("approvals:contributor", slug=workspace.slug, contributor_id=person.pk)
    if request.GET.get("export") == "zip":
        response = HttpResponse(
            privacy.export(person, actor=current_user(request)), content_type="application/zip"
        )
        response["Content-Disposition"] = f'attachment; filename="contributor-{person.pk}.zip"'
        return response
    return render(
        request,
        "approvals/contributor.html",
        {
            "workspace": workspace,
            "person": person,
            "stories": person.stories.order_by("-created_at"),
            "consents": MediaConsent.objects.filter(contributor=person)
            .select_related("asset")
            .order_by("-pk"),
        },
    )
