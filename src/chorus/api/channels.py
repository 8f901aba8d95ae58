"""REST endpoints of channels: list, connect (networks that take credentials), check the
connection, pause, resume, disconnect (through chorus.channels.actions). Credentials never
appear in the output."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.channels import actions
from chorus.channels.models import Channel
from chorus.connectors.base import CredentialsConnectRefused, CredentialsInvalid, PublishError
from chorus.connectors.registry import all_kinds, connector_class
from chorus.core.refusals import Invalid, Refused

router = Router(tags=["channels"])


class ChannelOut(Schema):
    id: int
    kind: str
    name: str
    status: str
    paused_reason: str
    last_error: str
    last_error_at: dt.datetime | None
    config: dict[str, Any]


class CheckOut(Schema):
    ok: bool
    message: str


class PauseIn(Schema):
    reason: str = ""


class ResumeOut(Schema):
    channel: ChannelOut
    released: int


class ErrorOut(Schema):
    detail: str


def _channel(request: HttpRequest, channel_id: int) -> Channel:
    return get_object_or_404(Channel, pk=channel_id, workspace=workspace_of(request))


@router.get("/workspaces/{slug}/channels", response=list[ChannelOut], **ws_perm(Perm.VIEW_WORKSPACE))
def list_channels(request: HttpRequest, slug: str) -> list[Channel]:
    return list(Channel.objects.filter(workspace=workspace_of(request)).order_by("name", "pk"))


class ConnectIn(Schema):
    """`fields`: the network's connect fields. Bluesky: `handle`, `app_password` (and `service`,
    `appview`, `web_url` for a self-hosted server); WordPress: `site_url`, `username`,
    `application_password`; Mastodon: `instance`, `access_token`. Networks whose login needs a
    person (Facebook, Instagram, Threads, LinkedIn, X, YouTube, TikTok, Pinterest) are connected
    on the Channels page."""

    kind: str
    fields: dict[str, str]


class ConnectOut(Schema):
    channel: ChannelOut
    reconnected: bool  # the account was already a channel here: new credentials, same channel
    released: int  # posts held while it was paused that now go out


@router.post(
    "/workspaces/{slug}/channels",
    response={201: ConnectOut, 200: ConnectOut},
    **ws_perm(Perm.MANAGE_CHANNELS),
)
def connect_channel(request: HttpRequest, slug: str, payload: ConnectIn) -> Status:
    """Connects an account (201), or reconnects the channel it already is (200), with the same
    checks as the Channels page: the credentials are tried on the network before anything is
    stored."""
    if payload.kind not in all_kinds():
        raise Invalid(gettext_lazy("Unknown network."), code="invalid", fields={"kind": "unknown"})
    if len(payload.fields) > 20 or any(len(k) > 100 or len(v) > 2000 for k, v in payload.fields.items()):
        raise Invalid(
            gettext_lazy("Too many or too long connect fields."), code="invalid", fields={"fields": "size"}
        )
    connector = connector_class(payload.kind)
    try:
        result = connector.connect_with_credentials(dict(payload.fields))
    except CredentialsConnectRefused:
        raise Refused(
            gettext_lazy("%(network)s connects through its own login page: connect it on the Channels page."),
            code="connect_in_browser",
            http_status=422,
            network=connector.label,
        ) from None
    except CredentialsInvalid as exc:
        raise Invalid(
            gettext_lazy("Some connect fields are not valid."), code="invalid", fields=exc.fields
        ) from None
    except (ValueError, PublishError) as exc:
        raise Refused(
            getattr(exc, "message", None) or str(exc), code="connect_refused", http_status=422
        ) from None
    connection = actions.connect_account(
        workspace=workspace_of(request),
        kind=payload.kind,
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        account_id=result.account_id,
        actor=request.auth,  # type: ignore[attr-defined]
    )
    body = {
        "channel": connection.channel,
        "reconnected": connection.reconnected,
        "released": connection.released,
    }
    return Status(200 if connection.reconnected else 201, body)


@router.get("/workspaces/{slug}/channels/{channel_id}", response=ChannelOut, **ws_perm(Perm.VIEW_WORKSPACE))
def get_channel(request: HttpRequest, slug: str, channel_id: int) -> Channel:
    return _channel(request, channel_id)


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/check", response=CheckOut, **ws_perm(Perm.MANAGE_CHANNELS)
)
def check_channel(request: HttpRequest, slug: str, channel_id: int) -> dict[str, Any]:
    """Asks the network whether the stored credentials still work (`ok` false with its reason)."""
    channel = _channel(request, channel_id)
    try:
        return {"ok": True, "message": channel.connector().check()}
    except (PublishError, ValueError) as exc:
        return {"ok": False, "message": getattr(exc, "message", None) or str(exc)}
    except NotImplementedError:
        return {"ok": False, "message": "This network cannot be checked."}


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/pause",
    response={200: ChannelOut, 409: ErrorOut},
    **ws_perm(Perm.MANAGE_CHANNELS),
)
def pause_channel(request: HttpRequest, slug: str, channel_id: int, payload: PauseIn) -> Channel:
    """Due posts of a paused channel are held until it is resumed."""
    channel = _channel(request, channel_id)
    if channel.status == Channel.Status.PAUSED:
        raise HttpError(409, "The channel is already paused.")
    actions.pause_channel(channel=channel, reason=payload.reason or "paused", actor=request.auth)  # type: ignore[attr-defined]
    channel.refresh_from_db()
    return channel


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/resume",
    response={200: ResumeOut, 409: ErrorOut},
    **ws_perm(Perm.MANAGE_CHANNELS),
)
def resume_channel(request: HttpRequest, slug: str, channel_id: int) -> dict[str, Any]:
    """Reactivates the channel; `released` says how many held posts go out again."""
    channel = _channel(request, channel_id)
    if not channel.credentials_encrypted:
        raise HttpError(409, "The channel is disconnected: connect the account again.")
    released = actions.resume_channel(channel=channel, actor=request.auth)  # type: ignore[attr-defined]
    channel.refresh_from_db()
    return {"channel": channel, "released": released}


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/disconnect",
    response=ChannelOut,
    **ws_perm(Perm.MANAGE_CHANNELS),
)
def disconnect_channel(request: HttpRequest, slug: str, channel_id: int) -> Channel:
    """Forgets the credentials and pauses the channel; its posts and figures are kept."""
    channel = _channel(request, channel_id)
    actions.disconnect_channel(channel=channel, actor=request.auth)  # type: ignore[attr-defined]
    channel.refresh_from_db()
    return channel
