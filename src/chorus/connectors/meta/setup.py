"""Per-network app credentials from settings (`<NETWORK>_CLIENT_ID`, `_CLIENT_SECRET`,
`_ENABLED`, in CHORUS_OAUTH_APPS like every OAuth network's, read by `oauth2.oauth_app`), what is missing, the setup steps shown instead of a connect button, and the system
check (chorus.W101 Facebook, W102 Instagram, W103 Threads; W104 media at a private address)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.checks import Tags, Warning, register
from django.utils.translation import gettext

from chorus.connectors.meta.media import private_media_origin
from chorus.connectors.oauth2 import OAuthApp, oauth_app


class MetaAppSettings:
    """Mixed into the three Meta connectors: the app they connect through."""

    label: ClassVar[str]
    setting_prefix: ClassVar[str]  # "FACEBOOK", "INSTAGRAM", "THREADS"
    setup_steps: ClassVar[Any] = ""

    @classmethod
    def oauth_app(cls) -> OAuthApp:
        return oauth_app(cls.setting_prefix.lower())

    @classmethod
    def app_credentials(cls) -> tuple[str, str]:
        app = cls.oauth_app()
        return app.client_id, app.client_secret

    @classmethod
    def missing_settings(cls) -> list[str]:
        return cls.oauth_app().missing()

    @classmethod
    def configured(cls) -> bool:
        return not cls.missing_settings()

    @classmethod
    def require_configured(cls) -> tuple[str, str]:
        if not cls.configured():
            missing = ", ".join(cls.missing_settings())
            raise ValueError(
                gettext("%(network)s is not configured on this server (missing: %(settings)s).")
                % {"network": cls.label, "settings": missing}
            )
        return cls.app_credentials()


class NoFieldsForm(forms.Form):
    """OAuth needs no input: the form is just the button that starts it. Which Pages or accounts
    to add is asked after the login, by the picker (channels app), when there are several."""


def _warning(number: int, cls: type[MetaAppSettings]) -> Warning:
    missing = ", ".join(cls.missing_settings())
    return Warning(
        f"{cls.label} is enabled but not configured: {missing} missing.",
        hint=str(cls.setup_steps),
        id=f"chorus.W{number}",
    )


@register(Tags.compatibility)
def check_meta_apps(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Warns only for a network someone meant to use (ENABLED, or one credential set): an
    unconfigured network is otherwise simply shown as "not configured" on the channels page."""
    from chorus.connectors.facebook.connector import FacebookConnector
    from chorus.connectors.instagram.connector import InstagramConnector
    from chorus.connectors.threads.connector import ThreadsConnector

    problems: list[Any] = []
    for number, cls in ((101, FacebookConnector), (102, InstagramConnector), (103, ThreadsConnector)):
        if _meant(cls) and not cls.configured():
            problems.append(_warning(number, cls))
    fetchers = [cls.label for cls in (InstagramConnector, ThreadsConnector) if _meant(cls)]
    origin = private_media_origin() if fetchers else ""
    if origin:
        problems.append(
            Warning(
                f"{' and '.join(fetchers)} download each image and video from {origin}, a private "
                "address their servers cannot reach: posts with media will fail.",
                hint="Set CHORUS_BASE_URL to the public https address of this server (or keep media "
                "on public storage) and restart.",
                id="chorus.W104",
            )
        )
    return problems


def _meant(cls: type[MetaAppSettings]) -> bool:
    """Someone meant to use this network: it is ENABLED or one of its credentials is set."""
    return cls.oauth_app().meant
