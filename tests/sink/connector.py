"""A local 'network' for tests and benchmarks: publishing writes a row to SinkPost.

Channel config controls it:
  latency_ms     simulated network latency per request (default 0)
  fault_rate     probability of injecting a fault per publish request (default 0)
  faults         which faults: "429" (Retry-After), "500" (refused before commit),
                 "timeout_before" (connect timeout, nothing sent), "timeout_after" (the post IS
                 created, then the response is lost)
  retry_after    seconds announced by the 429 (default 1)
  reject_words   texts containing one of these are rejected permanently (ContentRejected)
  idempotent     dedupe creates by marker like Mastodon's Idempotency-Key (default false: the
                 harder case, where only our no-blind-retry rule prevents duplicates)
It supports LOOKUP by marker, like searching an account's recent posts.
"""

from __future__ import annotations

import random
import time
from typing import ClassVar

from chorus.connectors.base import (
    Connector,
    ContentRejected,
    Feature,
    OutcomeUnknown,
    PublishResult,
    RateLimited,
    Transient,
)
from chorus.content.models import PostTarget
from tests.sink.models import SinkPost, SinkRequest

ALL_FAULTS = ("429", "500", "timeout_before", "timeout_after")


class SinkConnector(Connector):
    kind = "sink"
    label = "Local sink (tests)"
    features = frozenset({Feature.LOOKUP})
    max_text_length = 500
    max_concurrency = 1000
    quotas: ClassVar = ()

    def _config(self, key: str, default: object) -> object:
        return self.channel.config.get(key, default)

    def publish(self, target: PostTarget) -> PublishResult:
        latency = float(self._config("latency_ms", 0)) / 1000  # type: ignore[arg-type]
        fault = ""
        rate = float(self._config("fault_rate", 0))  # type: ignore[arg-type]
        if rate and random.random() < rate:
            fault = random.choice(list(self._config("faults", ALL_FAULTS)))  # type: ignore[arg-type]
        SinkRequest.objects.create(channel_id=self.channel.pk, target_id=target.pk, fault=fault)
        if latency:
            time.sleep(latency)
        marker = self.idempotency_key(target)
        if fault == "429":
            raise RateLimited("sink: too many requests", retry_after=float(self._config("retry_after", 1)))  # type: ignore[arg-type]
        if fault == "500":
            raise Transient("sink: HTTP 500 before commit")
        if fault == "timeout_before":
            raise Transient("sink: connect timeout (nothing sent)")
        for word in self._config("reject_words", []):  # type: ignore[attr-defined]
            if word in target.text:
                raise ContentRejected(f"sink: the text contains the forbidden word “{word}”")
        if self._config("idempotent", False):
            post, _created = SinkPost.objects.get_or_create(
                marker=marker,
                defaults={"channel_id": self.channel.pk, "target_id": target.pk, "text": target.text},
            )
        else:
            post = SinkPost.objects.create(
                channel_id=self.channel.pk, marker=marker, target_id=target.pk, text=target.text
            )
        if fault == "timeout_after":
            raise OutcomeUnknown("sink: read timeout after the request was sent")
        return PublishResult(external_id=str(post.pk), url=f"http://sink.invalid/p/{post.pk}")

    def lookup(self, target: PostTarget) -> PublishResult | None:
        post = SinkPost.objects.filter(marker=self.idempotency_key(target)).order_by("pk").first()
        if post is None:
            return None
        return PublishResult(external_id=str(post.pk), url=f"http://sink.invalid/p/{post.pk}")
