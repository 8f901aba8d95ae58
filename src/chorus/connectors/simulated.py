"""The sample workspace's network: `chorus demo` channels (`config["sample"] = True`) keep their
network's kind — its rules, limits, composer options and icon — but talk to no server.

Publishing "succeeds" at once with an id of its own, checking the connection says the network is
simulated, and metrics grow with a post's age the way real ones do, so every screen of the sample
workspace behaves like a connected channel without a token or an internet connection. Anything
the simulation does not cover (inbox, listening, ads, native scheduling, amplifiers) is not
offered: the features are cut down to what is simulated here.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext

from chorus.connectors.base import Connector, Feature, PublishResult

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

# What a simulated channel can do: the rest needs a real network.
SIMULATED_FEATURES = frozenset(
    {Feature.METRICS, Feature.DELETE, Feature.THREADS, Feature.VIDEO, Feature.FIRST_COMMENT}
)


def _unit(seed: str, salt: str) -> float:
    """A stable number in [0, 1) for a seed: the same post always has the same audience."""
    digest = hashlib.blake2b(f"{seed}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SimulatedNetwork(Connector):
    """Mixed in front of a real connector class by `simulated()`; see the module docstring."""

    simulated = True
    max_concurrency = None  # nothing is sent anywhere
    quotas = ()

    def waits(self) -> bool:
        return False

    def publish(self, target: PostTarget) -> PublishResult:
        return PublishResult(
            external_id=f"sample-{target.uid}", url="", published_at=timezone.now(), extra={"simulated": True}
        )

    def delete(self, target: PostTarget) -> None:
        return None

    def check(self) -> str:
        name = str(self.channel.config.get("handle") or self.channel.name)
        return gettext(
            "%(account)s — simulated %(network)s network: nothing leaves Chorus (sample data)."
        ) % {
            "account": name,
            "network": self.label,
        }

    def setup_warning(self) -> str:
        return ""

    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        if target.external_id != f"sample-{target.uid}":
            # A post `chorus demo` invented with its metrics: they stay what the demo made them.
            return _stored_metrics(target)
        seed = str(target.uid)
        published = target.published_at or timezone.now()
        age_hours = max(0.0, (timezone.now() - published).total_seconds() / 3600)
        share = 1 - math.exp(-age_hours / 14)  # most interactions come in the first day
        likes = round((20 + 180 * _unit(seed, "likes")) * share)
        if self.kind == "wordpress":
            views = round((300 + 2000 * _unit(seed, "views")) * share)
            return {"impressions": views, "reach": round(views * 0.8), "comments": round(likes / 40)}
        metrics: dict[str, int | None] = {
            "likes": likes,
            "reposts": round(likes * (0.1 + 0.25 * _unit(seed, "reposts"))),
            "replies": round(likes * (0.05 + 0.15 * _unit(seed, "replies"))),
        }
        if self.kind == "bluesky":
            metrics["quotes"] = round(likes * 0.06 * _unit(seed, "quotes"))
        return metrics

    def account_metrics(self) -> dict[str, int | None]:
        days = max(0, (timezone.now() - self.channel.created_at).days) if self.channel.created_at else 0
        base = 800 + round(4000 * _unit(str(self.channel.pk), "followers"))
        if self.kind == "wordpress":
            return {"posts": 40 + days // 3}
        return {"followers": base + 6 * days, "posts": 500 + 2 * days}


def _stored_metrics(target: PostTarget) -> dict[str, int | None]:
    from chorus.analytics.models import POST_METRICS, PostMetrics  # the demo's own numbers

    row = PostMetrics.objects.filter(target=target).values(*POST_METRICS).first() or {}
    return {name: value for name, value in row.items() if value is not None}


_classes: dict[str, type[Connector]] = {}


def simulated(cls: type[Connector]) -> type[Connector]:
    """The network's connector class with its network calls replaced by the simulation (one
    class per network, made once)."""
    key = f"{cls.__module__}.{cls.__qualname__}"
    if key not in _classes:
        _classes[key] = _make(cls)
    return _classes[key]


def _make(cls: type[Connector]) -> type[Connector]:
    attrs: dict[str, Any] = {
        "features": frozenset(cls.features) & SIMULATED_FEATURES,
        "__module__": __name__,
        "__doc__": f"{cls.__name__}, simulated for the sample workspace.",
    }
    return type(f"Simulated{cls.__name__}", (SimulatedNetwork, cls), attrs)
