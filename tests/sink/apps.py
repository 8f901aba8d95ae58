from django.apps import AppConfig


class SinkConfig(AppConfig):
    name = "tests.sink"
    label = "sink"
    verbose_name = "Test sink (local publishing target)"
