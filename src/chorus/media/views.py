"""The media library screens.

The picker (for the composer, embedded with htmx):

    GET /w/<slug>/media/picker/?q=&kind=&folder=&tag=&before=&target=<css selector>

returns an HTML fragment (no <html>): a search box and a grid of ``<button class="media-pick">``,
one per asset, each carrying ``data-media-id``, ``data-path``, ``data-alt``, ``data-kind``,
``data-mime`` and ``data-thumb`` (thumbnail URL), plus ``data-item`` = the JSON of
``actions.as_post_media(asset)``. Clicking one dispatches a bubbling ``chorus:media-picked``
DOM event whose ``detail`` is that item; the composer listens for it. The "more" button and the
search box re-fetch the fragment into the element with id ``media-picker`` via hx-get.
Permission: Perm.VIEW_WORKSPACE (anyone who can see the workspace can browse its media).
"""

from __future__ import annotations

import json
import mimetypes

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.media import actions, queries, safety_views
from chorus.media.forms import AssetForm
from chorus.media.models import MediaAsset, MediaFolder, MediaTag


def _asset(request: HttpRequest, asset_id: int) -> MediaAsset:
    return get_object_or_404(MediaAsset, pk=asset_id, workspace=workspace_of(request))


def _grid_context(request: HttpRequest, usable_only: bool = False) -> dict[str, object]:
    workspace = workspace_of(request)
    filters = queries.Filters.from_params(request.GET.dict())
    filters.usable_only = usable_only  # the composer's picker: no withdrawn or unreviewed files
    return {
        "workspace": workspace,
        "page": queries.page(workspace, filters),
        "filters": filters,
        "folders": MediaFolder.objects.filter(workspace=workspace).select_related("parent"),
        "tags": MediaTag.objects.filter(workspace=workspace).values_list("name", flat=True),
        "kinds": MediaAsset.Kind.choices,
        "can_manage": can(membership_of(request).role, Perm.MANAGE_MEDIA),
        # Tiles build their links from this prefix: 48 `{% url %}` reversals cost more than the query.
        "media_base": reverse("media:library", args=[workspace.slug]),
    }


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def library(request: HttpRequest) -> HttpResponse:
    context = _grid_context(request)
    if getattr(request, "htmx", False):
        return render(request, "media/_grid.html", context)
    return render(request, "media/library.html", context)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def picker(request: HttpRequest) -> HttpResponse:
    context = _grid_context(request, usable_only=True)
    page: queries.Page = context["page"]  # type: ignore[assignment]
    context["items"] = [(a, json.dumps(actions.as_post_media(a))) for a in page.assets]
    return render(request, "media/_picker.html", context)


@workspace_view(Perm.MANAGE_MEDIA, methods=("POST",))
def upload(request: HttpRequest) -> HttpResponse:
    """Takes one or many files (field "files"). JSON for the page's script, one result per file;
    a redirect with messages for the plain form. A bad file never blocks the good ones."""
    workspace, user = workspace_of(request), current_user(request)
    results: list[dict[str, object]] = []
    for file in request.FILES.getlist("files"):
        try:
            asset, created = actions.upload(workspace, user, file)
        except actions.MediaRejected as exc:
            results.append({"name": file.name, "ok": False, "error": exc.reason})
            continue
        results.append(
            {
                "name": file.name,
                "ok": True,
                "created": created,
                "id": asset.pk,
                "message": _("Uploaded.")
                if created
                else _("Already in the library: the existing file is used."),
                "detail_url": reverse("media:detail", args=[workspace.slug, asset.pk]),
                "thumb_url": reverse("media:thumb", args=[workspace.slug, asset.pk]),
            }
        )
    if "application/json" in request.headers.get("Accept", ""):
        status = 200 if results and any(r["ok"] for r in results) else 400
        return JsonResponse({"results": results}, status=status)
    if not results:
        messages.error(request, _("Choose at least one file."))
    for result in results:
        if result["ok"]:
            messages.success(request, f"{result['name']}: {result['message']}")
        else:
            messages.error(request, f"{result['name']}: {result['error']}")
    return redirect("media:library", slug=workspace.slug)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def detail(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    return _render_detail(request, asset, _initial_form(asset))


def _initial_form(asset: MediaAsset) -> AssetForm:
    return AssetForm(
        workspace=asset.workspace,
        initial={
            "alt_text": asset.alt_text,
            "credit": asset.credit,
            "consent": asset.consent,
            "consent_note": asset.consent_note,
            "folder": asset.folder_id,
            "tags": ", ".join(asset.tags.values_list("name", flat=True)),
        },
    )


def _render_detail(
    request: HttpRequest, asset: MediaAsset, form: AssetForm, status: int = 200
) -> HttpResponse:
    usage = actions.usage_counts([asset.pk]).get(asset.pk, 0)
    return render(
        request,
        "media/detail.html",
        {
            "workspace": asset.workspace,
            "asset": asset,
            "form": form,
            "used_in": usage,
            "pending": actions.pending_uses(asset),
            "can_manage": can(membership_of(request).role, Perm.MANAGE_MEDIA),
            **safety_views.detail_context(request, asset),
        },
        status=status,
    )


@workspace_view(Perm.MANAGE_MEDIA, methods=("POST",))
def edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    form = AssetForm(request.POST, workspace=asset.workspace)
    if not form.is_valid():
        return _render_detail(request, asset, form, status=200)
    data = form.cleaned_data
    actions.update_asset(
        asset,
        actor=current_user(request),
        alt_text=data["alt_text"],
        credit=data["credit"],
        consent=data["consent"],
        consent_note=data["consent_note"],
        folder=data["folder"],
        tags=form.tag_names(),
    )
    messages.success(request, _("Saved."))
    return redirect("media:detail", slug=asset.workspace.slug, asset_id=asset.pk)


@workspace_view(Perm.MANAGE_MEDIA, methods=("POST",))
def delete(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    try:
        actions.delete_asset(asset, actor=current_user(request))
    except actions.MediaInUse as exc:
        messages.error(request, exc.reason)
        return redirect("media:detail", slug=asset.workspace.slug, asset_id=asset.pk)
    messages.success(request, _("%(name)s was deleted.") % {"name": asset.original_name})
    return redirect("media:library", slug=workspace_of(request).slug)


@workspace_view(Perm.MANAGE_MEDIA, methods=("POST",))
def folder_create(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    parent_id = request.POST.get("parent", "")
    parent = (
        get_object_or_404(MediaFolder, pk=int(parent_id), workspace=workspace)
        if parent_id.isdigit()
        else None
    )
    try:
        folder = actions.create_folder(
            workspace, actor=current_user(request), name=request.POST.get("name", ""), parent=parent
        )
    except actions.MediaRejected as exc:
        messages.error(request, exc.reason)
        return redirect("media:library", slug=workspace.slug)
    return redirect(f"{reverse('media:library', args=[workspace.slug])}?folder={folder.pk}")


def _serve(name: str, content_type: str, download_name: str) -> HttpResponse:
    if not name or not default_storage.exists(name):
        raise Http404
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    # Shown inline under our own origin; nosniff keeps the browser to the sniffed type.
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(download_name)}"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    return response  # type: ignore[return-value]  # a streaming response; workspace_view passes it through


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def file(request: HttpRequest, asset_id: int) -> HttpResponse:
    """The original file, for members of the asset's workspace only (never a public directory)."""
    asset = _asset(request, asset_id)
    return _serve(asset.path, asset.mime_type, asset.original_name)


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def thumb(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    if not asset.thumbnail:
        raise Http404
    content_type = mimetypes.guess_type(asset.thumbnail)[0] or "image/webp"
    return _serve(asset.thumbnail, content_type, f"thumb-{asset.pk}.webp")
