from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "chorus.ads"
    label = "ads"
    verbose_name = "Paid reach"

    def ready(self) -> None:
        from chorus.ads import collect, creating
        from chorus.core.scheduler import register_job

        register_job("ads-insights", collect.enqueue_due, 300)
        register_job("ads-resume", creating.resume_stalled, 120)
