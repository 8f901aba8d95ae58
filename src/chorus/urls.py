from django.contrib import admin
from django.urls import include, path

from chorus.api.api import api
from chorus.core.views import health_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health_view, name="health"),
    path("", include("chorus.accounts.urls")),
    path("", include("chorus.publishing.urls")),
    path("", include("chorus.channels.urls")),
    path("", include("chorus.analytics.urls")),
    path("", include("chorus.media.urls")),
    path("", include("chorus.planning.urls")),
    path("", include("chorus.approvals.urls")),
    path("", include("chorus.bulk.urls")),
    path("", include("chorus.links.urls")),
    path("", include("chorus.experiments.urls")),
    path("", include("chorus.webhooks.urls")),
]
