from django.apps import AppConfig


class MetaConfig(AppConfig):
    name = "chorus.connectors.meta"
    label = "meta_connectors"
    verbose_name = "Meta connectors (Facebook, Instagram, Threads)"

    def ready(self) -> None:
        from chorus.connectors.meta import setup  # noqa: F401  (registers the system check)
