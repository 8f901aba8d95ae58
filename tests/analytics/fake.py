"""A metrics-capable connector for tests: answers from class attributes the test sets."""

from __future__ import annotations

from typing import ClassVar

from chorus.connectors.base import Amplifier, Connector, Feature, PublishResult
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


class AmplifyingConnector(MetricsConnector):
    """The metrics fake that also lists who reposted or quoted a post (Feature.AMPLIFIERS)."""

    kind = "amplifyfake"
    label = "Amplifying fake"
    features = frozenset({Feature.METRICS, Feature.AMPLIFIERS})
    amplifiers_answer: ClassVar[list[Amplifier] | Exception] = []

    def amplifiers(self, target: PostTarget) -> list[Amplifier]:
        MetricsConnector.calls.append(f"amplifiers:{target.pk}")
        if isinstance(self.amplifiers_answer, Exception):
            raise self.amplifiers_answer
        return list(self.amplifiers_answer)
