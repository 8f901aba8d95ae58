from django.contrib import admin
from django.urls import include, path

from chorus.api.api import api
from chorus.core.views import health_view
from chorus.links.views import redirect_view
from chorus.publishing.home import workspace_home

urlpatterns = [
    # First: the busiest public path resolves without trying every app's patterns (links:redirect
    # in chorus/links/urls.py is the same URL, kept for reverse()).
    path("l/<str:code>", redirect_view, name="short_link"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health_view, name="health"),
    path("w/<slug:slug>/", workspace_home, name="workspace_home"),  # what to do next (publishing)
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
    path("", include("chorus.ads.urls")),
    path("", include("chorus.listening.urls")),
    path("", include("chorus.inbox.urls")),
    path("", include("chorus.webhooks.urls")),
]
