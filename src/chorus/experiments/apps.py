from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExperimentsConfig(AppConfig):
    name = "chorus.experiments"
    label = "experiments"
    verbose_name = _("Experiments")

    def ready(self) -> None:
        from chorus.core.scheduler import register_job
        from chorus.experiments import actions, paid

        register_job("experiments-paid-split", paid.advance_due, 300)
        register_job("experiments-place-approved", actions.place_approved_variants, 60)
