"""Webhook pages: the endpoints of a workspace, and one endpoint with its delivery log."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.access import current_user, workspace_of, workspace_view
from chorus.accounts.permissions import Perm
from chorus.webhooks import actions
from chorus.webhooks.catalogue import EXAMPLES
from chorus.webhooks.events import EVENT_TYPES
from chorus.webhooks.models import Delivery, Endpoint

LOG_SIZE = 50


def examples() -> list[tuple[str, Any, str]]:
    """(event type, its translated label, an example body) for the page's payload catalogue."""
    at = "2026-12-07T09:00:00+00:00"
    return [
        (name, label, json.dumps({"type": name, "timestamp": at, "data": EXAMPLES[name]}, indent=2))
        for name, label in EVENT_TYPES.items()
    ]


class EndpointForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[(name, format_lazy("{} — {}", name, label)) for name, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )


@workspace_view(Perm.MANAGE_WORKSPACE)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    form = EndpointForm(request.POST or None)
    secret = ""
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = actions.create_endpoint(
                workspace=workspace,
                actor=current_user(request),
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except actions.WebhookRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = EndpointForm()
    return render(
        request,
        "webhooks/list.html",
        {
            "workspace": workspace,
            "endpoints": Endpoint.objects.filter(workspace=workspace).order_by("pk"),
            "form": form,
            "created": created,
            "secret": secret,
            "examples": examples(),
        },
    )


@workspace_view(Perm.MANAGE_WORKSPACE)
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    endpoint = get_object_or_404(Endpoint, pk=endpoint_id, workspace=workspace)
    secret = ""
    if request.method == "POST":
        actor = current_user(request)
        action = request.POST.get("action", "")
        try:
            if action == "rotate":
                secret = actions.rotate_secret(endpoint, actor=actor, overlap_hours=24)
            elif action in ("enable", "disable"):
                actions.set_active(endpoint, actor=actor, active=action == "enable")
                return redirect("webhooks:detail", workspace.slug, endpoint.pk)
            elif action == "test":
                actions.send_test(endpoint, actor=actor)
                messages.success(request, _("A test event is on its way."))
                return redirect("webhooks:detail", workspace.slug, endpoint.pk)
            elif action == "redeliver":
                delivery = get_object_or_404(
                    Delivery, pk=request.POST.get("delivery_id") or 0, endpoint=endpoint, workspace=workspace
                )
                actions.redeliver(delivery, actor=actor)
                messages.success(request, _("The event will be sent again."))
                return redirect("webhooks:detail", workspace.slug, endpoint.pk)
            elif action == "delete":
                actions.delete_endpoint(endpoint, actor=actor)
                messages.success(request, _("Endpoint deleted."))
                return redirect("webhooks:list", workspace.slug)
        except actions.WebhookRefused as exc:
            messages.error(request, exc.message)
    deliveries = endpoint.deliveries.prefetch_related("attempt_log")[:LOG_SIZE]
    return render(
        request,
        "webhooks/detail.html",
        {"workspace": workspace, "endpoint": endpoint, "deliveries": deliveries, "secret": secret},
    )
