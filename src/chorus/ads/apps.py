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
        register_job("ads-token-expiry", _warn_expiring_tokens, 3600)


def _warn_expiring_tokens() -> int:
    from chorus.ads.actions import warn_expiring_tokens

    return warn_expiring_tokens()
