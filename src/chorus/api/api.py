"""The REST API root. Each capability adds its router here, in the same pattern as accounts."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError, ValidationError

from chorus.api.accounts import router as accounts_router
from chorus.api.ads import router as ads_router
from chorus.api.analytics import router as analytics_router
from chorus.api.approvals import router as approvals_router
from chorus.api.audit import router as audit_router
from chorus.api.auth import RATE_HEADERS
from chorus.api.bulk import router as bulk_router
from chorus.api.channels import router as channels_router
from chorus.api.experiments import router as experiments_router
from chorus.api.inbox import router as inbox_router
from chorus.api.links import router as links_router
from chorus.api.listening import router as listening_router
from chorus.api.media import router as media_router
from chorus.api.planning import router as planning_router
from chorus.api.post_templates import router as post_templates_router
from chorus.api.publishing import router as publishing_router
from chorus.api.ratelimit import add_headers
from chorus.api.stories import router as stories_router
from chorus.api.webhooks import router as webhooks_router
from chorus.core.refusals import Refused

DESCRIPTION = """Plan, review, schedule and publish, by program: everything a person does in Chorus.

**Tokens.** Authenticate with `Authorization: Bearer <token>`. Create a personal token under
Account → API tokens, or `chorus token create --email you@example.org --scope write`. A token acts
as you (never more than your role allows) within its **scope**: `read` for GET operations, `write`
for every other method, `admin` for administering a workspace (settings, webhooks, members and
invitations, channel connections, ad accounts). A token may expire; an expired one is refused
`401` with the code `token_expired`.

**Errors.** Every 4xx answer has one body: `{"code", "message", "fields", "detail"}` — `code` is
stable for programs, `message` is for people (in the token owner's language), `fields` maps each
invalid field to its reason, and `detail` repeats the message (or, for 422, lists the validation
errors).

**Rate limits.** Per token (600 requests a minute by default) and per client address (1,200). Each
counted answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds); past
a limit the answer is `429` with `Retry-After`.

**Pagination.** Lists are paged with `limit` and `offset` (offset pagination: the newest first,
`offset` skips that many); a list answering an object also says `count`, `limit` and `offset`.

**Worked example** (the README has it in full). A token, a webhook endpoint that receives
`post.published`, and a post for two channels:

```
TOKEN=$(chorus token create --email you@example.org --scope admin --expires 30 --name automation)
API=http://127.0.0.1:8000/api/workspaces/main-workspace
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' $API/webhooks \\
  -d '{"url": "http://127.0.0.1:8123/", "event_types": ["post.published"]}'   # answers the secret
curl -s -H "Authorization: Bearer $TOKEN" $API/channels                      # the channel ids
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' $API/posts \\
  -d '{"text": "Hello from the API", "channel_ids": [1, 2], "schedule": {"mode": "now"}}'
```

Each delivery is signed with the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`,
`webhook-signature`); verify it with the endpoint's secret, e.g. in Python with the
`standardwebhooks` package: `Webhook(secret).verify(body, headers)` returns the event
`{"type": "post.published", "timestamp", "data": {"url", "channel", …}}` or raises.
"""


class ChorusAPI(NinjaAPI):
    """Adds the rate-limit headers to every answer of a counted request (chorus.api.ratelimit),
    and documents them on every success in the OpenAPI document."""

    def create_temporal_response(self, request: HttpRequest) -> HttpResponse:
        response = super().create_temporal_response(request)
        add_headers(request, response)
        return response

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        add_headers(request, response)
        return response

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                for status, response in operation.get("responses", {}).items():
                    if str(status).startswith("2") and isinstance(response, dict):
                        response.setdefault("headers", dict(RATE_HEADERS))
        return schema


api = ChorusAPI(
    title="Chorus API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    # Swagger UI from django-ninja's own static files (no CDN). Its online-validator badge (an
    # image from validator.swagger.io, off localhost) belongs to the standalone layout, which
    # ninja's BaseLayout does not show; turned off too, so a layout change cannot bring it back.
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("/", accounts_router)
api.add_router("/", publishing_router)
api.add_router("/", post_templates_router)
api.add_router("/", media_router)
api.add_router("/", planning_router)
api.add_router("/", approvals_router)
api.add_router("/", links_router)
api.add_router("/", experiments_router)
api.add_router("/", ads_router)
api.add_router("/", listening_router)
api.add_router("/", stories_router)


@api.exception_handler(Refused)
def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    """Every user-facing refusal (chorus.core.refusals): {"code", "message", "fields"} with its
    4xx status; "detail" repeats the message, as django-ninja's own errors have it."""
    return api.create_response(request, {**exc.as_json(), "detail": exc.message}, status=exc.http_status)


# Codes of the refusals django-ninja and Django raise themselves (HttpError, Http404).
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
}


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """An HttpError (the tenancy check, a handler's refusal) in the same shape as a refusal."""
    message = str(exc.message)
    body = {
        "code": _HTTP_CODES.get(exc.status_code, "error"),
        "message": message,
        "fields": {},
        "detail": message,
    }
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    message = gettext("Not found.")
    return api.create_response(
        request, {"code": "not_found", "message": message, "fields": {}, "detail": message}, status=404
    )


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A request that does not fit the operation's schema answers in the same shape as a refusal:
    {"code": "invalid", "message", "fields": {dotted location: reason}}; "detail" keeps
    django-ninja's own list of errors for clients that read it."""
    fields: dict[str, str] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", <parameter name>, field, ...) or ("path" | "query", field): name the field.
        location = loc[2:] if loc[:1] == ["body"] and len(loc) > 2 else loc[1:] or loc
        fields.setdefault(".".join(location), str(error.get("msg", "")))
    message = gettext("The request is not valid: %(fields)s.") % {"fields": ", ".join(sorted(fields))}
    body = {"code": "invalid", "message": message, "fields": fields, "detail": exc.errors}
    return api.create_response(request, body, status=422)


api.add_router("/", inbox_router)
api.add_router("/", channels_router)
api.add_router("/", analytics_router)
api.add_router("/", audit_router)
api.add_router("/", webhooks_router)
api.add_router("/", bulk_router)
