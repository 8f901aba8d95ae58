"""Per-network app credentials from settings (`<NETWORK>_CLIENT_ID`, `_CLIENT_SECRET`,
`_ENABLED`), what is missing, the setup steps shown instead of a connect button, and the system
check (chorus.W101 Facebook, W102 Instagram, W103 Threads)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.translation import gettext_lazy as _


class MetaAppSettings:
    """Mixed into the three Meta connectors: the app they connect through."""

    label: ClassVar[str]
    setting_prefix: ClassVar[str]  # "FACEBOOK", "INSTAGRAM", "THREADS"
    setup_steps: ClassVar[Any] = ""

    @classmethod
    def app_credentials(cls) -> tuple[str, str]:
        prefix = cls.setting_prefix
        return (
            str(getattr(settings, f"{prefix}_CLIENT_ID", "") or ""),
            str(getattr(settings, f"{prefix}_CLIENT_SECRET", "") or ""),
        )

    @classmethod
    def missing_settings(cls) -> list[str]:
        client_id, secret = cls.app_credentials()
        prefix = cls.setting_prefix
        missing = [] if getattr(settings, f"{prefix}_ENABLED", False) else [f"{prefix}_ENABLED"]
        missing += [] if client_id else [f"{prefix}_CLIENT_ID"]
        return missing + ([] if secret else [f"{prefix}_CLIENT_SECRET"])

    @classmethod
    def configured(cls) -> bool:
        return not cls.missing_settings()

    @classmethod
    def require_configured(cls) -> tuple[str, str]:
        if not cls.configured():
            missing = ", ".join(cls.missing_settings())
            raise ValueError(f"{cls.label} is not configured on this server (missing: {missing}).")
        return cls.app_credentials()


class PageChoiceForm(forms.Form):
    page = forms.CharField(
        label=_("Page or account"),
        required=False,
        max_length=200,
        help_text=_(
            "If you manage several, the name or id of the one to add. Leave empty if you manage one."
        ),
    )


class NoFieldsForm(forms.Form):
    """OAuth needs no input: the form is just the button that starts it."""


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
        prefix = cls.setting_prefix
        meant = getattr(settings, f"{prefix}_ENABLED", False) or any(cls.app_credentials())
        if meant and not cls.configured():
            problems.append(_warning(number, cls))
    return problems
