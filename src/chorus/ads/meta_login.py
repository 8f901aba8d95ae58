"""Connect Meta ad accounts through Meta's login (the Facebook app's Facebook Login for Business,
the one the Facebook and Instagram channels use), asking the ads permissions.

The flow reuses the channels' Meta plumbing rather than a copy of it: the authorization URL and
the code → long-lived user token exchange (connectors/meta/graph.py), the ad accounts listing
(connectors/meta/marketing.py), and the picker's server-side, vault-encrypted pending choice
(channels/pending.py). What differs from connecting a channel is what is kept: an ad account
(ads.actions.connect_ad_account, audited, token encrypted at rest) for the Page or Instagram
channel chosen before the login. The pasted-token form of the Ads page stays for system-user
tokens (Business Manager), which a person's login cannot give.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus.accounts.access import current_user, membership_for, workspace_of, workspace_view
from chorus.accounts.permissions import Perm, can
from chorus.ads import actions
from chorus.ads.models import ACCOUNT_STATUS_WORDS, AdAccount
from chorus.ads.refusals import AdsRefused
from chorus.channels import pending
from chorus.channels.models import Channel
from chorus.connectors.base import ConnectChoice, ConnectOption, ConnectResult, PublishError
from chorus.connectors.facebook.connector import FacebookConnector
from chorus.connectors.meta import graph, marketing

SESSION_KEY = "chorus_ads_meta_login"
PENDING_KIND = "meta_ads"
META_KINDS = ("facebook", "instagram")
MAX_STARTED = 5  # logins started and not finished, per session
MAX_REASON = 300  # characters of Meta's reason shown back


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("ads:meta_callback"))


@workspace_view(Perm.MANAGE_AD_ACCOUNTS, methods=("POST",))
def meta_connect(request: HttpRequest) -> HttpResponse:
    """Sends the user to Meta's login asking the ads permissions; the channel the accounts will
    advertise for is chosen first and kept, with the workspace, under the login's state."""
    workspace = workspace_of(request)
    channel = Channel.objects.filter(
        workspace=workspace, kind__in=META_KINDS, pk=request.POST.get("channel") or 0
    ).first()
    if channel is None:
        messages.error(
            request, _("Choose the Facebook Page or Instagram account the ad accounts advertise for.")
        )
        return redirect("ads:accounts", slug=workspace.slug)
    try:
        client_id, _secret = FacebookConnector.require_configured()
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("ads:accounts", slug=workspace.slug)
    state = secrets.token_urlsafe(24)
    started = {
        key: value
        for key, value in (request.session.get(SESSION_KEY) or {}).items()
        if isinstance(value, dict) and float(value.get("expires") or 0) > time.time()
    }
    while len(started) >= MAX_STARTED:
        del started[min(started, key=lambda key: float(started[key]["expires"]))]
    started[state] = {
        "workspace": workspace.slug,
        "channel": channel.pk,
        "expires": time.time() + pending.LIFETIME_SECONDS,
    }
    request.session[SESSION_KEY] = started
    return redirect(
        graph.facebook_authorize_url(client_id, _callback_url(request), marketing.ADS_SCOPES, state)
    )


@login_required
def meta_callback(request: HttpRequest) -> HttpResponse:
    """Meta sends the user back here. The state must be one this session started (and not
    expired); then the code becomes a long-lived user token and the ad accounts it reaches are
    offered in the picker."""
    state = request.GET.get("state", "")
    started_all = dict(request.session.get(SESSION_KEY) or {})
    started = started_all.pop(state, None)
    request.session[SESSION_KEY] = started_all
    if not isinstance(started, dict) or float(started.get("expires") or 0) <= time.time():
        messages.error(
            request, _("This connection attempt expired or was not started here; please try again.")
        )
        return redirect("home")
    membership = membership_for(request.user, str(started["workspace"]))
    if not can(membership.role, Perm.MANAGE_AD_ACCOUNTS):
        raise Http404
    workspace = membership.workspace
    back = redirect("ads:accounts", slug=workspace.slug)
    if "error" in request.GET or "code" not in request.GET:
        # Meta's refusal: error=access_denied&error_reason=user_denied&error_description=…
        reason = (
            request.GET.get("error_description")
            or request.GET.get("error_reason")
            or request.GET.get("error")
            or _("no code returned")
        )
        messages.error(
            request, _("Meta refused the connection: %(reason)s") % {"reason": reason[:MAX_REASON]}
        )
        return back
    channel = Channel.objects.filter(workspace=workspace, kind__in=META_KINDS, pk=started["channel"]).first()
    if channel is None:
        messages.error(request, _("The channel chosen for these ad accounts is no longer connected."))
        return back
    try:
        client_id, secret = FacebookConnector.require_configured()
        token = graph.facebook_user_token(
            client_id=client_id,
            client_secret=secret,
            redirect_uri=_callback_url(request),
            code=request.GET["code"],
        )
        found = marketing.ad_accounts_of(str(token["access_token"]))
    except (ValueError, PublishError) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
        return back
    if not found:
        messages.error(
            request,
            _(
                "Your Meta login reaches no ad account. Create one in Meta Business Settings (or ask "
                "its admin to give you a role that can advertise), then connect again and, in Meta's "
                "dialog, allow the ad accounts Chorus may use."
            ),
        )
        return back
    expires_at = int(time.time() + int(token["expires_in"])) if token.get("expires_in") else None
    credentials = {"access_token": str(token["access_token"])} | (
        {"expires_at": expires_at} if expires_at else {}
    )
    options = tuple(_option(row, channel, credentials) for row in found)
    pending_id = pending.keep(
        request, kind=PENDING_KIND, workspace_id=workspace.pk, choice=ConnectChoice(options)
    )
    return redirect("ads:meta_choose", slug=workspace.slug, pending_id=pending_id)


def _option(row: dict[str, Any], channel: Channel, credentials: dict[str, Any]) -> ConnectOption:
    external_id = str(row["id"])
    if not external_id.startswith("act_"):
        external_id = f"act_{external_id}"
    name = str(row.get("name") or external_id)[:200]
    business = (row.get("business") or {}).get("name") if isinstance(row.get("business"), dict) else ""
    status = marketing.account_status(row.get("account_status"))
    detail = " · ".join(
        part
        for part in (
            external_id,
            str(row.get("currency") or ""),
            str(row.get("timezone_name") or ""),
            str(ACCOUNT_STATUS_WORDS.get(status, status)),
            str(business or ""),
        )
        if part
    )
    return ConnectOption(
        key=external_id,
        name=name,
        detail=detail,
        result=ConnectResult(
            name=name, config={"channel": channel.pk}, credentials=credentials, account_id=external_id
        ),
    )


@workspace_view(Perm.MANAGE_AD_ACCOUNTS)
def meta_choose(request: HttpRequest, pending_id: str) -> HttpResponse:
    """The picker: which ad accounts of the login to connect. The form sends back only the
    options' keys; the token and the channel come from the encrypted server-side record."""
    workspace = workspace_of(request)
    choice = pending.load(request, pending_id, workspace_id=workspace.pk)
    if choice is None or choice.kind != PENDING_KIND:
        messages.error(
            request, _("This choice of ad accounts expired or is not valid here; please connect again.")
        )
        return redirect("ads:accounts", slug=workspace.slug)
    channel_id = choice.options[0].result.config.get("channel") if choice.options else None
    channel = Channel.objects.filter(workspace=workspace, kind__in=META_KINDS, pk=channel_id or 0).first()
    if channel is None:
        pending.drop(request, pending_id)
        messages.error(request, _("The channel chosen for these ad accounts is no longer connected."))
        return redirect("ads:accounts", slug=workspace.slug)
    error = ""
    if request.method == "POST":
        chosen = pending.chosen(choice, request.POST.getlist("option"))
        if chosen is None:
            pending.drop(request, pending_id)
            messages.error(request, _("That ad account was not among those offered; please connect again."))
            return redirect("ads:accounts", slug=workspace.slug)
        if chosen:
            _connect_chosen(request, workspace, channel, chosen)
            pending.drop(request, pending_id)
            return redirect("ads:accounts", slug=workspace.slug)
        error = _("Choose at least one ad account.")
    connected = set(
        AdAccount.objects.filter(workspace=workspace, channel=channel).values_list("external_id", flat=True)
    )
    return render(
        request,
        "ads/meta_choose.html",
        {
            "workspace": workspace,
            "channel": channel,
            "options": choice.options,
            "reconnects": {option.key for option in choice.options if option.key in connected},
            "error": error,
        },
    )


def _connect_chosen(
    request: HttpRequest, workspace: Any, channel: Channel, chosen: list[ConnectOption]
) -> None:
    """Each chosen account through the ads app's action (it reads the account from Meta, so
    outside one transaction: an account Meta refuses does not undo the others)."""
    added: list[str] = []
    again: list[str] = []
    refused: list[str] = []
    for option in chosen:
        credentials = option.result.credentials
        already = AdAccount.objects.filter(
            workspace=workspace, channel=channel, external_id=option.key
        ).exists()
        try:
            account = actions.connect_ad_account(
                workspace,
                actor=current_user(request),
                channel=channel,
                external_id=option.key,
                access_token=str(credentials["access_token"]),
                token_expires_at=credentials.get("expires_at"),
            )
        except (AdsRefused, PublishError) as exc:
            refused.append(f"{option.name}: {exc.message}")
            continue
        (again if already else added).append(account.name)
    if added:
        messages.success(
            request,
            ngettext("%(names)s is connected.", "%(names)s are connected.", len(added))
            % {"names": ", ".join(added)},
        )
    if again:
        messages.success(
            request,
            ngettext(
                "%(names)s was already connected: its token is renewed.",
                "%(names)s were already connected: their tokens are renewed.",
                len(again),
            )
            % {"names": ", ".join(again)},
        )
    for line in refused:
        messages.error(request, _("Not connected — %(reason)s") % {"reason": line})
