from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from chorus.core import health


def health_banner(request: HttpRequest) -> dict[str, Any]:
    """Admins see a loud banner on every page when the worker or scheduler has stopped beating.

    Posts stuck because the worker or cron was not running is the most reported failure of
    peer tools; this makes it impossible to miss.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    is_admin = user.is_staff or user.memberships.filter(role__in=("owner", "admin")).exists()
    if not is_admin:
        return {}
    # Not health.check(): the banner needs neither the database probe nor the oldest-due
    # aggregate, and this runs on every page an admin opens.
    return {"stale_roles": health.stale_roles()}
