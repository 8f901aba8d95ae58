"""The Celery app for the scaled shape (CHORUS_TASK_BACKEND=celery). Tasks are Django tasks;
django-tasks-celery registers them with this app."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.broker_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
app.conf.result_backend = app.conf.broker_url
# Django's TaskResult needs the task name in the stored result to resolve `result.task`
# (Task.get_result and TaskResult.refresh fail without it; django_tasks_celery.W002).
app.conf.result_extended = True
app.conf.task_default_queue = "default"
# A publish is at-most-once: acknowledge late so a killed worker's task is redelivered, and let
# the task's own state (attempt id committed before the network call) decide what a redelivery may do.
app.conf.task_acks_late = True
app.conf.task_reject_on_worker_lost = True
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
app.autodiscover_tasks()  # every installed app's tasks.py


@worker_process_init.connect
def _beat_from_this_pool_process(**_kwargs: object) -> None:
    """Each pool process beats as its own "worker@host:pid" (chorus.core.beats)."""
    from chorus.core.beats import start_beat_thread

    start_beat_thread("worker")
