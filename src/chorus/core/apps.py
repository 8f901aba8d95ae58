from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "chorus.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from chorus.connectors import oauth2  # noqa: F401  (OAuth app checks chorus.W201-W205)
        from chorus.core import checks  # noqa: F401  (registers the system checks)
