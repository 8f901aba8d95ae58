"""The REST API root. Each capability adds its router here, in the same pattern as accounts."""

from ninja import NinjaAPI

from chorus.api.accounts import router as accounts_router
from chorus.api.analytics import router as analytics_router
from chorus.api.approvals import router as approvals_router
from chorus.api.audit import router as audit_router
from chorus.api.channels import router as channels_router
from chorus.api.experiments import router as experiments_router
from chorus.api.links import router as links_router
from chorus.api.media import router as media_router
from chorus.api.planning import router as planning_router
from chorus.api.publishing import router as publishing_router
from chorus.api.webhooks import router as webhooks_router

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
api.add_router("/", channels_router)
api.add_router("/", analytics_router)
api.add_router("/", audit_router)
api.add_router("/", webhooks_router)
