"""A metrics-capable connector for tests: answers from class attributes the test sets."""

from __future__ import annotations

from typing import ClassVar

from chorus.connectors.base import Connector, Feature, PublishResult
from chorus.content.models import PostTarget


class MetricsConnector(Connector):
    kind = "metricsfake"
    label = "Metrics fake"
    features = frozenset({Feature.METRICS})
    post_answer: ClassVar[dict[str, int | None] | Exception] = {}
    account_answer: ClassVar[dict[str, int | None] | Exception] = {}
    calls: ClassVar[list[str]] = []

    def publish(self, target: PostTarget) -> PublishResult:
        return PublishResult(external_id=f"fake-{target.pk}")

    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        MetricsConnector.calls.append(f"post:{target.pk}")
        if isinstance(self.post_answer, Exception):
            raise self.post_answer
        return dict(self.post_answer)

    def account_metrics(self) -> dict[str, int | None]:
        MetricsConnector.calls.append(f"account:{self.channel.pk}")
        if isinstance(self.account_answer, Exception):
            raise self.account_answer
        return dict(self.account_answer)
