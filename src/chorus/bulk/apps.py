from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkConfig(AppConfig):
    name = "chorus.bulk"
    label = "bulk"
    verbose_name = _("Bulk import and export")
