from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _advance_paid_splits() -> object:
    from chorus.experiments import paid

    return paid.advance_due()


def _place_approved_variants() -> object:
    from chorus.experiments import actions

    return actions.place_approved_variants()


class ExperimentsConfig(AppConfig):
    name = "chorus.experiments"
    label = "experiments"
    verbose_name = _("Experiments")

    def ready(self) -> None:
        # The jobs import the experiments' actions when they run, not at start-up: those import
        # publishing's actions, which approvals must not load by being imported
        # (tests/publishing/test_actions_layer.py).
        from chorus.core.scheduler import register_job

        register_job("experiments-paid-split", _advance_paid_splits, 300)
        register_job("experiments-place-approved", _place_approved_variants, 60)
