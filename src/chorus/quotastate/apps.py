from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotaStateConfig(AppConfig):
    name = "chorus.quotastate"
    label = "quotastate"
    verbose_name = _("Quota state reported by the platforms")
