from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's Accept-Language.

    Runs before LocaleMiddleware and only touches the language cookie's value in the request,
    so LocaleMiddleware stays the one place that activates a language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.contrib.auth import get_user

        user = get_user(request) if hasattr(request, "session") else None
        if user is not None:
            request._cached_user = user  # type: ignore[attr-defined]  # AuthenticationMiddleware reuses it: one lookup per request
        language = getattr(user, "language", "") if user is not None else ""
        if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = language
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Pages show times in the user's IANA time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tz_name = getattr(request.user, "timezone", "") if hasattr(request, "user") else ""
        if tz_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
