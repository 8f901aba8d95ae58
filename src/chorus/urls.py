from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from chorus.api.api import api
from chorus.core.views import health_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health_view, name="health"),
    path("", include("chorus.accounts.urls")),
]

if settings.MEDIA_ROOT and not settings.MEDIA_URL.startswith("http"):
    # Embedded shape: media from var/media. The scaled shape serves media from object storage.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
