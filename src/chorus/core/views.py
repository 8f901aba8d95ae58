from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from chorus.core import health


@never_cache
def health_view(request: HttpRequest) -> HttpResponse:
    """JSON for monitors (200 when all is well, 503 otherwise); a readable page for staff."""
    result = health.check()
    status = 200 if result.ok else 503
    wants_html = "text/html" in request.headers.get("Accept", "") and request.GET.get("format") != "json"
    if wants_html and request.user.is_authenticated and request.user.is_staff:
        return render(request, "core/health.html", {"health": result.as_json()}, status=status)
    return JsonResponse(result.as_json(), status=status)
