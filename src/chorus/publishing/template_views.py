"""The templates and snippets screens: a list, a form to create or change one, deletion.
Every write goes through chorus.publishing.post_templates."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm, can
from chorus.channels.models import Channel
from chorus.connectors.registry import connector_class
from chorus.content.models import Campaign, PostTemplate
from chorus.core.refusals import Invalid
from chorus.publishing import composer, post_templates, writing_rules


@workspace_view(Perm.CREATE_POST, methods=("GET",))
def template_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    user, role = current_user(request), membership_of(request).role
    rows = list(
        PostTemplate.objects.filter(workspace=workspace).select_related("campaign").order_by("kind", "name")
    )
    for row in rows:
        row.may_change = post_templates.may_change(row, user, role)  # type: ignore[attr-defined]
    return render(
        request,
        "publishing/templates.html",
        {
            "workspace": workspace,
            "templates": [r for r in rows if r.kind == PostTemplate.Kind.TEMPLATE],
            "snippets": [r for r in rows if r.kind == PostTemplate.Kind.SNIPPET],
        },
    )


def _option_groups(request: HttpRequest, template: PostTemplate | None) -> list[dict[str, Any]]:
    """Each network of the workspace with the options its connector declares, filled from the
    form (after a refusal) or the template."""
    workspace = workspace_of(request)
    groups = []
    for kind in post_templates.network_kinds(workspace):
        specs = composer.option_fields(kind)
        if not specs:
            continue
        if request.method == "POST":
            stored = composer.read_options(kind, request.POST, f"o-{kind}")
        else:
            stored = (template.options if template else {}).get(kind, {})
        fields = [
            {"spec": spec, "name": f"o-{kind}-{spec.name}", "value": composer.option_value(spec, stored)}
            for spec in specs
        ]
        groups.append({"kind": kind, "label": connector_class(kind).label, "fields": fields})
    return groups


def _posted_channel_texts(request: HttpRequest) -> dict[int, str]:
    """Each workspace channel's own text from the form (`ct-<channel id>` fields)."""
    ids = Channel.objects.filter(workspace=workspace_of(request)).values_list("pk", flat=True)
    return {pk: request.POST.get(f"ct-{pk}", "") for pk in ids}


def _values(request: HttpRequest, kind: str) -> post_templates.TemplateValues:
    data = request.POST
    raw_campaign = data.get("campaign", "")
    return post_templates.TemplateValues(
        kind=kind,
        name=data.get("name", ""),
        text=data.get("text", ""),
        link=data.get("link", ""),
        options=post_templates.read_form_options(workspace_of(request), data),
        campaign_id=int(raw_campaign) if raw_campaign.isdigit() else None,
        tags=data.get("tags", ""),
        # A snippet is text only; a template's form shows every channel's own text.
        channel_texts=_posted_channel_texts(request) if kind == PostTemplate.Kind.TEMPLATE else None,
    )


def _form(request: HttpRequest, template: PostTemplate | None) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    kind = template.kind if template else request.GET.get("kind", PostTemplate.Kind.TEMPLATE)
    if kind not in PostTemplate.Kind.values:
        kind = PostTemplate.Kind.TEMPLATE
    errors: dict[str, str] = {}
    own_texts = post_templates.stored_channel_texts(template)
    if request.method == "POST":
        if _too_long(request):
            return _refused_too_long()
        values = _values(request, kind)
        own_texts = values.channel_texts or {}
        try:
            if template is None:
                template = post_templates.create(workspace, values, actor=user)
                messages.success(request, _("Saved: “%(name)s”.") % {"name": template.name})
            else:
                post_templates.change(template, values, actor=user)
                messages.success(request, _("Changes saved."))
            return redirect("publishing:templates", slug=workspace.slug)
        except Invalid as exc:
            errors = {k: str(v) for k, v in exc.fields.items()} or {"name": exc.message}
        data: dict[str, Any] = {
            "name": values.name,
            "text": values.text,
            "link": values.link,
            "campaign": values.campaign_id,
            "tags": values.tags,
        }
    elif template is not None:
        data = {
            "name": template.name,
            "text": template.text,
            "link": template.link,
            "campaign": template.campaign_id,
            "tags": template.tags,
        }
    else:
        data = {"name": "", "text": request.GET.get("text", "")[: post_templates.MAX_TEXT], "link": ""}
    return render(
        request,
        "publishing/template_form.html",
        {
            "workspace": workspace,
            "template": template,
            "kind": kind,
            "is_snippet": kind == PostTemplate.Kind.SNIPPET,
            "data": data,
            "errors": errors,
            "campaigns": Campaign.objects.filter(workspace=workspace).order_by("name"),
            "option_groups": _option_groups(request, template) if kind == PostTemplate.Kind.TEMPLATE else [],
            "channel_texts": _channel_texts(workspace, kind, data, own_texts, errors),
            "max_text": post_templates.MAX_TEXT,
        },
    )


def _channel_texts(
    workspace: Workspace, kind: str, data: dict[str, Any], own: dict[int, str], errors: dict[str, str]
) -> list[post_templates.ChannelText]:
    """A template's own text per channel with its counter and the form's refusal of it."""
    if kind != PostTemplate.Kind.TEMPLATE:
        return []
    rows = post_templates.channel_texts_of(workspace, data["text"], data["link"] or "", own)
    for row in rows:
        row.error = errors.get(f"channel_texts.{row.channel.pk}", "")
    return rows


# The template form's size budget: its text, each channel's own text (post_templates' budgets)
# and the rest of its fields, with room to spare.
MAX_TEMPLATE_FORM_CHARS = post_templates.MAX_TEXT + post_templates.MAX_CHANNEL_TEXTS + 20_000


def _too_long(request: HttpRequest) -> bool:
    return sum(len(v) for _key, values in request.POST.lists() for v in values) > MAX_TEMPLATE_FORM_CHARS


def _refused_too_long() -> HttpResponse:
    return HttpResponse(_("The form is too long."), status=413, content_type="text/plain; charset=utf-8")


@workspace_view(Perm.CREATE_POST, methods=("POST",))
def template_counters(request: HttpRequest) -> HttpResponse:
    """The template form's counters while typing (htmx, debounced): each channel's copy as a post
    started from the template would read it, counted as its network counts (out-of-band)."""
    if _too_long(request):
        return _refused_too_long()
    rows = post_templates.channel_texts_of(
        workspace_of(request),
        request.POST.get("text", ""),
        request.POST.get("link", ""),
        _posted_channel_texts(request),
    )
    return render(request, "publishing/_template_counters.html", {"channel_texts": rows, "oob": True})


def _changeable(request: HttpRequest, template_id: int) -> PostTemplate | None:
    template = get_object_or_404(PostTemplate, pk=template_id, workspace=workspace_of(request))
    if not post_templates.may_change(template, current_user(request), membership_of(request).role):
        messages.error(request, _("Only its author or an editor can change it."))
        return None
    return template


@workspace_view(Perm.CREATE_POST)
def template_new(request: HttpRequest) -> HttpResponse:
    return _form(request, None)


@workspace_view(Perm.CREATE_POST)
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _changeable(request, template_id)
    if template is None:
        return redirect("publishing:templates", slug=workspace_of(request).slug)
    return _form(request, template)


@workspace_view(Perm.CREATE_POST, methods=("POST",))
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _changeable(request, template_id)
    if template is not None:
        name = template.name
        post_templates.delete(template, actor=current_user(request))
        messages.success(request, _("Deleted: “%(name)s”.") % {"name": name})
    return redirect("publishing:templates", slug=workspace_of(request).slug)


# The form's size budget: a few hundred words and a signature per channel fit well inside it.
MAX_RULES_FORM_CHARS = 64_000


@workspace_view(Perm.CREATE_POST, methods=("GET",))
def writing_rules_page(request: HttpRequest) -> HttpResponse:
    """Banned words, a signature per channel, a hashtag per campaign. Everyone who writes may read
    them (they explain the composer's problems); a workspace manager changes them (below)."""
    return _rules_form(request)


@workspace_view(Perm.MANAGE_WORKSPACE, methods=("POST",))
def writing_rules_save(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    data = request.POST
    if sum(len(v) for _key, values in data.lists() for v in values) > MAX_RULES_FORM_CHARS:
        return _rules_form(request, _("The form is too long."))
    try:
        writing_rules.save_rules(
            workspace,
            actor=current_user(request),
            banned_words=data.get("banned_words", "").splitlines(),
            signatures={
                c: data.get(f"signature-{c}", "")
                for c in Channel.objects.filter(workspace=workspace).values_list("pk", flat=True)
            },
            campaign_hashtags={
                c: data.get(f"hashtag-{c}", "")
                for c in Campaign.objects.filter(workspace=workspace).values_list("pk", flat=True)
            },
        )
    except Invalid as exc:
        return _rules_form(request, exc.message)
    messages.success(request, _("Writing rules saved."))
    return redirect("publishing:writing_rules", slug=workspace.slug)


def _rules_form(request: HttpRequest, error: str = "") -> HttpResponse:
    """The rules page; after a refusal, with what was typed and the reason (422)."""
    workspace = workspace_of(request)
    channels = list(Channel.objects.filter(workspace=workspace).order_by("name").only("id", "name", "kind"))
    campaigns = list(Campaign.objects.filter(workspace=workspace).order_by("name").only("id", "name"))
    if error:
        words = request.POST.get("banned_words", "")
        signed = {c.pk: request.POST.get(f"signature-{c.pk}", "") for c in channels}
        tagged = {c.pk: request.POST.get(f"hashtag-{c.pk}", "") for c in campaigns}
    else:
        rules = writing_rules.rules_of(workspace)
        words = "\n".join(rules.banned_words) if rules else ""
        signed = {c.pk: writing_rules.signature_for(rules, c.pk) for c in channels}
        tagged = {c.pk: str(rules.campaign_hashtags.get(str(c.pk), "")) if rules else "" for c in campaigns}
    return render(
        request,
        "publishing/writing_rules.html",
        {
            "workspace": workspace,
            "may_change": can(membership_of(request).role, Perm.MANAGE_WORKSPACE),
            "error": error,
            "banned_words": words,
            "channels": [(c, signed[c.pk]) for c in channels],
            "campaigns": [(c, tagged[c.pk]) for c in campaigns],
        },
        status=422 if error else 200,
    )
