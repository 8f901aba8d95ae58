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


class TwoFactorRequiredMiddleware:
    """A signed-in member of an organization that requires two-factor sign-in, without it, is
    sent to set it up before any other page. No query of its own: the user is loaded with the
    requirement (accounts/backends.py). API calls with a token are not session sign-ins and
    pass; pages the enrolment itself needs pass."""

    ALLOWED_NAMES = ("two_factor", "logout", "switch_language", "login", "login_code")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def allowed_prefixes(self) -> tuple[str, ...]:
        if self._allowed is None:
            from django.urls import reverse

            names = tuple(reverse(name) for name in self.ALLOWED_NAMES)
            self._allowed = (*names, settings.STATIC_URL or "/static/", "/jsi18n/", "/health")
        return self._allowed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "two_factor_required", False)
            and not user.two_factor_enabled
            and not request.path.startswith(self.allowed_prefixes())
        ):
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            if request.method == "GET":
                messages.warning(
                    request, _("Your organization requires two-factor sign-in. Set it up to continue.")
                )
            return redirect("two_factor")
        return self.get_response(request)
