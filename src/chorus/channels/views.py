"""Connect and manage channels. Each network's connector supplies its connect form and flow
(`Connector.connect_form`, `begin_connect`, `finish_connect`); nothing here branches on kind."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus.accounts.access import current_user, membership_for, membership_of, workspace_of, workspace_view
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm, can
from chorus.channels import actions, pending
from chorus.channels.models import Channel
from chorus.connectors.base import ConnectChoice, ConnectRedirect, ConnectResult, PublishError, ReauthRequired
from chorus.connectors.registry import all_kinds, connector_class

SESSION_KEY = "chorus_oauth"


def _callback_url(request: HttpRequest, kind: str) -> str:
    return request.build_absolute_uri(reverse("channels:oauth_callback", kwargs={"kind": kind}))


def _connector_or_404(kind: str) -> Any:
    if kind not in all_kinds():
        raise Http404
    return connector_class(kind)


def _setup_steps(connector: Any) -> str:
    """'' when the network can be connected; otherwise what the server admin must set up (a
    connector whose app credentials come from the environment says so with `configured()`)."""
    configured = getattr(connector, "configured", None)
    if configured is None or configured():
        return ""
    return str(getattr(connector, "setup_steps", "") or _("Ask the server administrator to configure it."))


def _setup_warning(connector: Any) -> str:
    """'' or what stops a configured network from working here (Instagram and Threads cannot
    fetch media from a private CHORUS_BASE_URL), from the connector's `setup_warning()`."""
    warning = getattr(connector, "setup_warning", None)
    return str(warning() or "") if warning is not None else ""


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def channel_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    kinds = sorted(all_kinds())
    warnings = {kind: _setup_warning(connector_class(kind)) for kind in kinds}
    networks = [
        (kind, connector_class(kind).label, _setup_steps(connector_class(kind)), warnings[kind])
        for kind in kinds
        if connector_class(kind).connect_form is not None
    ]
    channels = list(Channel.objects.filter(workspace=workspace).order_by("name"))
    for channel in channels:
        channel.setup_warning = warnings.get(channel.kind, "")  # type: ignore[attr-defined]
        channel.has_settings = connector_class(channel.kind).settings_form is not None  # type: ignore[attr-defined]
        notes = getattr(channel.connector(), "inbox_permission_notes", None)
        channel.permission_notes = notes() if notes is not None else []  # type: ignore[attr-defined]
    return render(
        request,
        "channels/list.html",
        {
            "workspace": workspace,
            "channels": channels,
            "networks": networks,
            "can_manage": can(membership_of(request).role, Perm.MANAGE_CHANNELS),
        },
    )


def _connect(
    request: HttpRequest, workspace: Workspace, kind: str, result: ConnectResult
) -> actions.Connection:
    return actions.connect_account(
        workspace=workspace,
        kind=kind,
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        account_id=result.account_id,
        actor=current_user(request),
    )


def _finish(request: HttpRequest, workspace: Workspace, kind: str, result: ConnectResult) -> HttpResponse:
    connection = _connect(request, workspace, kind, result)
    if connection.reconnected:
        messages.success(request, _("%(name)s is reconnected.") % {"name": connection.channel.name})
    else:
        messages.success(request, _("%(name)s is connected.") % {"name": connection.channel.name})
    return redirect("channels:list", slug=workspace.slug)


def _connected_accounts(workspace: Workspace, kind: str) -> set[str]:
    """The account ids of this workspace's channels of `kind` (see actions.ACCOUNT_KEY)."""
    values = Channel.objects.filter(workspace=workspace, kind=kind).values_list("config", flat=True)
    return {str(config[actions.ACCOUNT_KEY]) for config in values if config.get(actions.ACCOUNT_KEY)}


def _offer(request: HttpRequest, workspace: Workspace, kind: str, choice: ConnectChoice) -> HttpResponse:
    """One account: connect it. Several: keep them (encrypted, server-side) and show the picker."""
    if not choice.options:
        messages.error(request, _("No account was shared with Chorus; connect again and select one."))
        return redirect("channels:list", slug=workspace.slug)
    if len(choice.options) == 1:
        return _finish(request, workspace, kind, choice.options[0].result)
    pending_id = pending.keep(request, kind=kind, workspace_id=workspace.pk, choice=choice)
    return redirect("channels:choose", slug=workspace.slug, pending_id=pending_id)


@workspace_view(Perm.MANAGE_CHANNELS)
def channel_connect(request: HttpRequest, kind: str) -> HttpResponse:
    workspace = workspace_of(request)
    connector = _connector_or_404(kind)
    if connector.connect_form is None:
        return render(
            request, "channels/connect.html", {"workspace": workspace, "label": connector.label, "form": None}
        )
    form = connector.connect_form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        state = secrets.token_urlsafe(24)
        try:
            step = connector.begin_connect(
                form.cleaned_data, callback_url=_callback_url(request, kind), state=state
            )
        except (ValueError, PublishError) as exc:
            form.add_error(None, getattr(exc, "message", None) or str(exc))
        else:
            if isinstance(step, ConnectResult):
                return _finish(request, workspace, kind, step)
            assert isinstance(step, ConnectRedirect)
            pending = request.session.get(SESSION_KEY, {})
            pending[state] = {"kind": kind, "workspace": workspace.slug, "data": step.state_data}
            request.session[SESSION_KEY] = pending
            return redirect(step.url)
    return render(
        request, "channels/connect.html", {"workspace": workspace, "label": connector.label, "form": form}
    )


@login_required
def oauth_callback(request: HttpRequest, kind: str) -> HttpResponse:
    """The network sends the user back here. The state must be one this session started."""
    state = request.GET.get("state", "")
    pending = request.session.get(SESSION_KEY, {})
    started = pending.pop(state, None)
    request.session[SESSION_KEY] = pending
    if started is None or started["kind"] != kind:
        messages.error(
            request, _("This connection attempt expired or was not started here; please try again.")
        )
        return redirect("home")
    membership = membership_for(request.user, started["workspace"])
    if not can(membership.role, Perm.MANAGE_CHANNELS):
        raise Http404
    if "error" in request.GET:
        messages.error(
            request, _("The network refused the connection: %(error)s") % {"error": request.GET["error"]}
        )
        return redirect("channels:list", slug=membership.workspace.slug)
    connector = _connector_or_404(kind)
    try:
        result = connector.finish_connect(
            dict(request.GET.items()), state_data=started["data"], callback_url=_callback_url(request, kind)
        )
    except (ValueError, PublishError) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
        return redirect("channels:list", slug=membership.workspace.slug)
    if isinstance(result, ConnectChoice):
        return _offer(request, membership.workspace, kind, result)
    return _finish(request, membership.workspace, kind, result)


@workspace_view(Perm.MANAGE_CHANNELS)
def channel_choose(request: HttpRequest, pending_id: str) -> HttpResponse:
    """The picker: which of the accounts a login reached become channels. The form sends back
    only the options' keys; names, config and tokens come from the server-side record."""
    workspace = workspace_of(request)
    choice = pending.load(request, pending_id, workspace_id=workspace.pk)
    if choice is None:
        messages.error(
            request, _("This choice of accounts expired or is not valid here; please connect again.")
        )
        return redirect("channels:list", slug=workspace.slug)
    connector = _connector_or_404(choice.kind)
    error = ""
    if request.method == "POST":
        chosen = pending.chosen(choice, request.POST.getlist("option"))
        if chosen is None:
            pending.drop(request, pending_id)
            messages.error(request, _("That account was not among those offered; please connect again."))
            return redirect("channels:list", slug=workspace.slug)
        if chosen:
            with transaction.atomic():  # all the chosen accounts, or none
                connections = [_connect(request, workspace, choice.kind, option.result) for option in chosen]
            pending.drop(request, pending_id)
            added = [c.channel.name for c in connections if not c.reconnected]
            again = [c.channel.name for c in connections if c.reconnected]
            if added:
                messages.success(
                    request,
                    ngettext("%(names)s is connected.", "%(names)s are connected.", len(added))
                    % {"names": ", ".join(added)},
                )
            if again:
                messages.success(
                    request,
                    ngettext("%(names)s is reconnected.", "%(names)s are reconnected.", len(again))
                    % {"names": ", ".join(again)},
                )
            return redirect("channels:list", slug=workspace.slug)
        error = _("Choose at least one account.")
    connected = _connected_accounts(workspace, choice.kind)
    return render(
        request,
        "channels/choose.html",
        {
            "workspace": workspace,
            "label": connector.label,
            "options": choice.options,
            "reconnects": {
                o.key for o in choice.options if o.result.account_id and o.result.account_id in connected
            },
            "error": error,
            "warning": _setup_warning(connector),
        },
    )


@workspace_view(Perm.MANAGE_CHANNELS, methods=("POST",))
def channel_check(request: HttpRequest, channel_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    channel = get_object_or_404(Channel, pk=channel_id, workspace=workspace)
    try:
        messages.success(request, channel.connector().check())
    except (PublishError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
    except NotImplementedError:
        messages.info(request, _("This network cannot be checked."))
    warning = _setup_warning(connector_class(channel.kind))
    if warning:
        messages.warning(request, warning)
    return redirect("channels:list", slug=workspace.slug)


@workspace_view(Perm.MANAGE_CHANNELS)
def channel_settings(request: HttpRequest, channel_id: int) -> HttpResponse:
    """The channel's own settings, as its connector declares them (`Connector.settings_form`)."""
    workspace = workspace_of(request)
    channel = get_object_or_404(Channel, pk=channel_id, workspace=workspace)
    form_class = connector_class(channel.kind).settings_form
    if form_class is None:  # the page says so (the Channels page offers no link to it)
        return render(request, "channels/settings.html", {"workspace": workspace, "channel": channel})
    form = form_class(request.POST or None, initial=form_class.initial_from(channel.config))
    if request.method == "POST" and form.is_valid():
        actions.update_settings(
            channel=channel, changes=form.config_changes(channel.config), actor=current_user(request)
        )
        messages.success(request, _("The settings of %(name)s are saved.") % {"name": channel.name})
        return redirect("channels:list", slug=workspace.slug)
    return render(
        request, "channels/settings.html", {"workspace": workspace, "channel": channel, "form": form}
    )


@workspace_view(Perm.MANAGE_CHANNELS, methods=("POST",))
def channel_resume(request: HttpRequest, channel_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    channel = get_object_or_404(Channel, pk=channel_id, workspace=workspace)
    try:
        channel.connector().check()
    except ReauthRequired as exc:
        # The account still cannot post (deactivated, password revoked): saying "active again"
        # would be wrong, and the engine would pause it at the next post.
        messages.error(request, exc.message)
        return redirect("channels:list", slug=workspace.slug)
    except (PublishError, ValueError, NotImplementedError):
        pass  # cannot be verified now (network unreachable, no check): resumed as asked
    released = actions.resume_channel(channel=channel, actor=current_user(request))
    messages.success(
        request,
        ngettext(
            "%(name)s is active again; %(count)s held post released.",
            "%(name)s is active again; %(count)s held posts released.",
            released,
        )
        % {"name": channel.name, "count": released},
    )
    return redirect("channels:list", slug=workspace.slug)
