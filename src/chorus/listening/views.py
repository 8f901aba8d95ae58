"""Listening pages: queries (with a preview before saving), insights, settings, stream status."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.core import textsignals
from chorus.listening import actions, ighashtags, insights, mastodon, notes, stream, xsearch
from chorus.listening.models import Alert, ListeningSettings, Match, Query, StreamCursor

FORM_FIELDS = ("name", "group", "expression", "mastodon_instance", *actions.LIST_FIELDS)


def _form_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {key: request.POST.get(key, "") for key in FORM_FIELDS}
    data["networks"] = request.POST.getlist("networks")
    data["active"] = request.POST.get("active") == "on"
    return data


def _initial(query: Query | None) -> dict[str, Any]:
    if query is None:
        return {"group": Query.Group.BRAND, "active": True, "networks": []}
    data: dict[str, Any] = {key: getattr(query, key) for key in FORM_FIELDS}
    for key in ("hashtags", "mentions", "authors_include", "authors_exclude", "languages"):
        data[key] = " ".join(data[key])
    data["active"] = query.active
    return data


@workspace_view(Perm.VIEW_LISTENING)
def home(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    return render(
        request,
        "listening/home.html",
        {
            "workspace": workspace,
            "queries": Query.objects.filter(workspace=workspace).order_by("group", "name"),
            "alerts": Alert.objects.filter(workspace=workspace)
            .select_related("query")
            .order_by("-created_at")[:20],
            "streams": stream.stream_status(),
            "may_manage": can(membership_of(request).role, Perm.MANAGE_LISTENING),
        },
    )


def _query_form(request: HttpRequest, query: Query | None) -> HttpResponse:
    workspace = workspace_of(request)
    data = _initial(query)
    preview: list[Any] | None = None
    error = ""
    if request.method == "POST":
        data = _form_data(request)
        try:
            if request.POST.get("preview"):
                preview = actions.preview(workspace, data)
            elif query is None:
                query = actions.create_query(workspace, actor=current_user(request), data=data)
                messages.success(request, _("Query saved: matching starts within seconds."))
                return redirect("listening:home", slug=workspace.slug)
            else:
                actions.update_query(query, actor=current_user(request), data=data)
                messages.success(request, _("Query saved."))
                return redirect("listening:home", slug=workspace.slug)
        except actions.QueryInvalid as exc:
            error = str(exc)
    return render(
        request,
        "listening/query_form.html",
        {
            "workspace": workspace,
            "query": query,
            "data": data,
            "preview": preview,
            "error": error,
            "groups": Query.Group.choices,
            "networks": [
                ("bluesky", "Bluesky"),
                ("mastodon", "Mastodon"),
                ("x", _("X (paid reads: tick to search it)")),
                ("instagram", _("Instagram (hashtags only: tick to search it)")),
            ],
        },
    )


@workspace_view(Perm.MANAGE_LISTENING)
def query_new(request: HttpRequest) -> HttpResponse:
    return _query_form(request, None)


@workspace_view(Perm.MANAGE_LISTENING)
def query_edit(request: HttpRequest, query_id: int) -> HttpResponse:
    return _query_form(request, get_object_or_404(Query, pk=query_id, workspace=workspace_of(request)))


@workspace_view(Perm.MANAGE_LISTENING, methods=("POST",))
def query_delete(request: HttpRequest, query_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    query = get_object_or_404(Query, pk=query_id, workspace=workspace)
    removed = actions.delete_query(query, actor=current_user(request))
    messages.success(request, _("Query deleted with its %(n)d matches.") % {"n": removed})
    return redirect("listening:home", slug=workspace.slug)


@workspace_view(Perm.VIEW_LISTENING)
def insights_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    try:
        days = min(max(int(request.GET.get("days", 7)), 1), 365)
    except ValueError:
        days = 7
    queries = Query.objects.filter(workspace=workspace).order_by("name")
    query_id = request.GET.get("query")
    selected = queries.filter(pk=query_id).first() if query_id and query_id.isdigit() else None
    result = insights.compute(workspace.pk, days=days, query_id=selected.pk if selected else None)
    peak = max([row["n"] for row in result.by_day], default=0)
    return render(
        request,
        "listening/insights.html",
        {
            "workspace": workspace,
            "insights": result,
            "queries": queries,
            "selected": selected,
            "days": days,
            "peak": peak,
            "methods": textsignals.METHOD,
            "groups": dict(Query.Group.choices),
            "may_answer": can(membership_of(request).role, Perm.ANSWER_INBOX),
        },
    )


@workspace_view(Perm.ANSWER_INBOX, methods=("POST",))
def match_to_inbox(request: HttpRequest, match_id: int) -> HttpResponse:
    """Open (or find) the inbox conversation for a match, so the team answers it there."""
    workspace = workspace_of(request)
    match = get_object_or_404(Match, pk=match_id, workspace=workspace)
    try:
        conversation = actions.send_to_inbox(match, actor=current_user(request))
    except actions.NoInboxChannel as exc:
        messages.error(request, str(exc))
        return redirect("listening:insights", slug=workspace.slug)
    messages.success(request, _("The post is in the inbox: answer it from here."))
    return redirect("inbox:conversation", slug=workspace.slug, conversation_id=conversation.pk)


@workspace_view(Perm.CREATE_POST)
def match_answer(request: HttpRequest, match_id: int) -> HttpResponse:
    """ "Reply" / "Quote" on a match: the composer, on the workspace's channel of the match's
    network, with the post it answers filled in (the connector's reply or quote option)."""
    workspace = workspace_of(request)
    match = get_object_or_404(Match, pk=match_id, workspace=workspace)
    mode = "quote" if request.GET.get("as") == "quote" else "reply"
    try:
        channel, options = actions.answer_post(match, mode)
    except actions.NoAnswerChannel as exc:
        messages.error(request, str(exc))
        return redirect("listening:insights", slug=workspace.slug)
    params = {"channel": channel.pk, **{f"opt_{name}": value for name, value in options.items()}}
    return redirect(f"{reverse('publishing:post_new', args=[workspace.slug])}?{urlencode(params)}")


def paid_notes(workspace: Any) -> list[dict[str, str]]:
    """Why this workspace's X and Instagram searches stopped short, and why a Mastodon hashtag is
    polled rather than streamed, per query or hashtag."""
    rows = []
    queries = Query.objects.filter(workspace=workspace, active=True)
    x_sources = {xsearch.source_for(q): q.name for q in queries if "x" in q.networks}
    channel = ighashtags.instagram_channel(workspace.pk)
    ig_sources = {}
    if channel is not None:
        for q in queries:
            if "instagram" in q.networks:
                for tag in stream.spec_of(q).hashtags:
                    ig_sources[ighashtags.source_for(channel, tag)] = f"{q.name} (#{tag})"
    mastodon_sources = {
        mastodon.source_for(q.mastodon_instance, tag): f"{q.name} (#{tag})"
        for q in queries
        if q.mastodon_instance
        for tag in stream.spec_of(q).hashtags
    }
    names = {**x_sources, **ig_sources, **mastodon_sources}
    labels = {"x": "X", "instagram": "Instagram", "mastodon": "Mastodon"}
    for row in StreamCursor.objects.filter(source__in=names).exclude(note="").order_by("source"):
        rows.append(
            {
                "source": labels.get(row.source.split(":", 1)[0], row.source),
                "query": names[row.source],
                "note": notes.text(row.note),
            }
        )
    return rows


@workspace_view(Perm.MANAGE_LISTENING)
def settings_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    current = ListeningSettings.objects.filter(workspace=workspace).first() or ListeningSettings(
        workspace=workspace
    )
    error = ""
    if request.method == "POST":
        try:
            actions.save_settings(workspace, actor=current_user(request), data=request.POST.dict())
            messages.success(request, _("Listening settings saved."))
            return redirect("listening:settings", slug=workspace.slug)
        except actions.QueryInvalid as exc:
            error = str(exc)
    return render(
        request,
        "listening/settings.html",
        {
            "workspace": workspace,
            "settings": current,
            "workspace_languages": " ".join(current.language_list()),
            "error": error,
            "x_budget": xsearch.spent_this_month(workspace),
            "instagram": ighashtags.usage(workspace.pk),
            "paid_notes": paid_notes(workspace),
        },
    )
