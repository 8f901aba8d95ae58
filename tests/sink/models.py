from django.db import models
from django.utils.timezone import now


class SinkPost(models.Model):
    """What the sink 'network' accepted. Tests count duplicates and losses from this table."""

    # Only the marker is indexed (lookups by idempotency key): every index is written on each
    # accepted post, and the sink should cost the engine under test as little as possible.
    channel_id = models.BigIntegerField()
    marker = models.CharField(max_length=100, db_index=True)  # the target's idempotency key
    target_id = models.BigIntegerField()
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"sink post {self.pk} for target {self.target_id}"


class SinkRequest(models.Model):
    """Every publish request the sink received, with the fault it injected (for assertions)."""

    channel_id = models.BigIntegerField()
    target_id = models.BigIntegerField()
    fault = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"request for target {self.target_id} ({self.fault or 'ok'})"
