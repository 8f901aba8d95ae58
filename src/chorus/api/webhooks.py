"""REST endpoints of outbound webhooks: endpoints (CRUD, secret rotation, test), the delivery log
and redelivery. Pagination: limit/offset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from chorus.accounts.access import workspace_of
from chorus.accounts.permissions import Perm
from chorus.api.auth import ws_perm
from chorus.webhooks import actions
from chorus.webhooks.catalogue import EXAMPLES
from chorus.webhooks.events import EVENT_TYPES
from chorus.webhooks.models import Delivery, Endpoint

router = Router(tags=["webhooks"])


class EndpointIn(Schema):
    url: str
    event_types: list[str]
    description: str = ""


class EndpointPatch(Schema):
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    active: bool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    active: bool
    disabled_reason: str
    failure_streak: int
    created_at: dt.datetime


class EndpointCreated(EndpointOut):
    secret: str  # shown once: keep it to verify signatures


class SecretOut(Schema):
    secret: str
    previous_valid_until: dt.datetime


class RotateIn(Schema):
    overlap_hours: float = 24


class AttemptOut(Schema):
    number: int
    at: dt.datetime
    status_code: int | None
    error: str
    duration_ms: int
    manual: bool
    request_headers: dict[str, str]
    response_excerpt: str


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    body: str
    log: list[AttemptOut]


class DeliveryPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[DeliveryOut]


class EventTypeOut(Schema):
    name: str
    description: str
    example: dict[str, Any]  # an example of the event's `data` (chorus.webhooks.catalogue)


class ErrorOut(Schema):
    detail: str


class DeliveryFilters(Schema):
    status: Delivery.Status | None = None
    event_type: str | None = None
    limit: int = 50
    offset: int = 0


def _endpoint(request: HttpRequest, endpoint_id: int) -> Endpoint:
    return get_object_or_404(Endpoint, pk=endpoint_id, workspace=workspace_of(request))


def _delivery_out(d: Delivery) -> dict[str, Any]:
    return {
        **{f: getattr(d, f) for f in ("id", "endpoint_id", "event_id", "event_type", "status", "attempts")},
        **{
            f: getattr(d, f)
            for f in ("next_attempt_at", "last_status_code", "created_at", "delivered_at", "body")
        },
        "log": list(d.attempt_log.all()),
    }


@router.get(
    "/workspaces/{slug}/webhooks/event-types", response=list[EventTypeOut], **ws_perm(Perm.MANAGE_WORKSPACE)
)
def list_event_types(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "description": str(text), "example": EXAMPLES[name]}
        for name, text in EVENT_TYPES.items()
    ]


@router.get("/workspaces/{slug}/webhooks", response=list[EndpointOut], **ws_perm(Perm.MANAGE_WORKSPACE))
def list_endpoints(request: HttpRequest, slug: str) -> list[Endpoint]:
    return list(Endpoint.objects.filter(workspace=workspace_of(request)).order_by("pk"))


@router.post(
    "/workspaces/{slug}/webhooks",
    response={201: EndpointCreated},
    **ws_perm(Perm.MANAGE_WORKSPACE),
)
def create_endpoint(request: HttpRequest, slug: str, payload: EndpointIn) -> Status:
    """Creates an endpoint; the response carries its signing secret, shown only this once."""
    try:
        endpoint, secret = actions.create_endpoint(
            workspace=workspace_of(request),
            actor=request.auth,  # type: ignore[attr-defined]
            url=payload.url,
            event_types=payload.event_types,
            description=payload.description,
        )
    except actions.WebhookRefused as exc:
        raise HttpError(422, f"{exc.field}: {exc.message}" if exc.field else exc.message) from None
    return Status(201, {**EndpointOut.from_orm(endpoint).dict(), "secret": secret})


@router.get(
    "/workspaces/{slug}/webhooks/{endpoint_id}", response=EndpointOut, **ws_perm(Perm.MANAGE_WORKSPACE)
)
def get_endpoint(request: HttpRequest, slug: str, endpoint_id: int) -> Endpoint:
    return _endpoint(request, endpoint_id)


@router.patch(
    "/workspaces/{slug}/webhooks/{endpoint_id}",
    response={200: EndpointOut},
    **ws_perm(Perm.MANAGE_WORKSPACE),
)
def update_endpoint(request: HttpRequest, slug: str, endpoint_id: int, payload: EndpointPatch) -> Endpoint:
    endpoint = _endpoint(request, endpoint_id)
    actor = request.auth  # type: ignore[attr-defined]
    try:
        if payload.url is not None or payload.event_types is not None or payload.description is not None:
            actions.update_endpoint(
                endpoint,
                actor=actor,
                url=payload.url,
                event_types=payload.event_types,
                description=payload.description,
            )
        if payload.active is not None and payload.active != endpoint.active:
            actions.set_active(endpoint, actor=actor, active=payload.active)
    except actions.WebhookRefused as exc:
        raise HttpError(422, f"{exc.field}: {exc.message}" if exc.field else exc.message) from None
    endpoint.refresh_from_db()
    return endpoint


@router.delete(
    "/workspaces/{slug}/webhooks/{endpoint_id}", response={204: None}, **ws_perm(Perm.MANAGE_WORKSPACE)
)
def delete_endpoint(request: HttpRequest, slug: str, endpoint_id: int) -> Status:
    actions.delete_endpoint(_endpoint(request, endpoint_id), actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)


@router.post(
    "/workspaces/{slug}/webhooks/{endpoint_id}/rotate-secret",
    response={200: SecretOut},
    **ws_perm(Perm.MANAGE_WORKSPACE),
)
def rotate_secret(request: HttpRequest, slug: str, endpoint_id: int, payload: RotateIn) -> dict[str, Any]:
    """A new secret; the previous one keeps signing next to it for `overlap_hours` (default 24)."""
    endpoint = _endpoint(request, endpoint_id)
    try:
        secret = actions.rotate_secret(endpoint, actor=request.auth, overlap_hours=payload.overlap_hours)  # type: ignore[attr-defined]
    except actions.WebhookRefused as exc:
        raise HttpError(422, exc.message) from None
    return {
        "secret": secret,
        "previous_valid_until": dt.datetime.now(dt.UTC) + dt.timedelta(hours=payload.overlap_hours),
    }


@router.post(
    "/workspaces/{slug}/webhooks/{endpoint_id}/test", response={204: None}, **ws_perm(Perm.MANAGE_WORKSPACE)
)
def send_test(request: HttpRequest, slug: str, endpoint_id: int) -> Status:
    """Queues a `webhook.test` event to this endpoint (whatever its chosen events)."""
    actions.send_test(_endpoint(request, endpoint_id), actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)


@router.get(
    "/workspaces/{slug}/webhooks/{endpoint_id}/deliveries",
    response=DeliveryPage,
    **ws_perm(Perm.MANAGE_WORKSPACE),
)
def list_deliveries(
    request: HttpRequest, slug: str, endpoint_id: int, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    """The delivery log, newest first, with each attempt. Paged with limit (≤ 200) and offset."""
    endpoint = _endpoint(request, endpoint_id)
    rows = Delivery.objects.filter(endpoint=endpoint, workspace=workspace_of(request))
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.event_type:
        rows = rows.filter(event_type=filters.event_type)
    limit, offset = max(1, min(filters.limit, 200)), max(0, filters.offset)
    page = rows.prefetch_related("attempt_log")[offset : offset + limit]
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": [_delivery_out(d) for d in page],
    }


@router.post(
    "/workspaces/{slug}/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    response={200: DeliveryOut, 409: ErrorOut},
    **ws_perm(Perm.MANAGE_WORKSPACE),
)
def redeliver(request: HttpRequest, slug: str, endpoint_id: int, delivery_id: int) -> Status:
    """Sends the same event again: same webhook-id and body, a fresh timestamp and signature."""
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(Delivery, pk=delivery_id, endpoint=endpoint, workspace=workspace_of(request))
    try:
        actions.redeliver(delivery, actor=request.auth)  # type: ignore[attr-defined]
    except actions.WebhookRefused as exc:
        raise HttpError(409, exc.message) from None
    return Status(200, _delivery_out(delivery))
