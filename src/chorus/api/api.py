"""The REST API root. Each capability adds its router here, in the same pattern as accounts."""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import ValidationError

from chorus.api.accounts import router as accounts_router
from chorus.api.ads import router as ads_router
from chorus.api.analytics import router as analytics_router
from chorus.api.approvals import router as approvals_router
from chorus.api.audit import router as audit_router
from chorus.api.channels import router as channels_router
from chorus.api.experiments import router as experiments_router
from chorus.api.inbox import router as inbox_router
from chorus.api.links import router as links_router
from chorus.api.listening import router as listening_router
from chorus.api.media import router as media_router
from chorus.api.planning import router as planning_router
from chorus.api.publishing import router as publishing_router
from chorus.api.webhooks import router as webhooks_router
from chorus.core.refusals import Refused

api = NinjaAPI(
    title="Chorus API",
    version="1",
    description="Plan, review, schedule and publish. Authenticate with `Authorization: Bearer <token>` "
    "(create a token under Account → API tokens).",
    urls_namespace="api",
)
api.add_router("/", accounts_router)
api.add_router("/", publishing_router)
api.add_router("/", media_router)
api.add_router("/", planning_router)
api.add_router("/", approvals_router)
api.add_router("/", links_router)
api.add_router("/", experiments_router)
api.add_router("/", ads_router)
api.add_router("/", listening_router)


@api.exception_handler(Refused)
def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    """Every user-facing refusal (chorus.core.refusals): {"code", "message", "fields"} with its
    4xx status; "detail" repeats the message, as django-ninja's own errors have it."""
    return api.create_response(request, {**exc.as_json(), "detail": exc.message}, status=exc.http_status)


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
