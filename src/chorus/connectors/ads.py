"""The contract of Feature.ADS: what a connector's `ads(account)` object does for paid reach.

A boost is created as a chain of network objects, one step at a time (Meta: campaign -> ad set ->
creative -> ad; LinkedIn: campaign group -> campaign -> creative). The ads app records each
created object before asking for the next (at most once); `find` reads back an object whose
create may have been applied without an answer (a timeout, a crash), by the unique name Chorus
gave it, so a retry never makes a second campaign.

Money is in minor units of the account's currency (cents) everywhere in Chorus; each network's
client converts to what its wire wants (Meta: minor units; LinkedIn: a decimal string).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

# Currencies without a minor unit (ISO 4217 exponent 0) among those Meta and LinkedIn bill in.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)


def minor_per_major(currency: str) -> int:
    return 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100


def decimal_amount(minor: int, currency: str) -> str:
    """Minor units as the decimal string LinkedIn's Money type wants: 1050 EUR -> "10.50"."""
    per = minor_per_major(currency)
    if per == 1:
        return str(minor)
    return f"{minor // per}.{minor % per:02d}"


def minor_amount(value: Any, currency: str) -> int:
    """A decimal amount as a network reports it ("12.34", 12.34) -> minor units (1234)."""
    from decimal import ROUND_HALF_UP, Decimal

    per = minor_per_major(currency)
    return int((Decimal(str(value or 0)) * per).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class AdAccountInfo:
    """An ad account as the network describes it."""

    external_id: str
    name: str
    currency: str
    timezone: str
    status: str  # "active", "disabled", "unsettled", "pending_review", "closed"
    spend_cap_minor: int | None = None  # None: no cap
    min_daily_budget_minor: int | None = None  # the network's minimum for this account, if given
    raw_status: str = ""


@dataclass(frozen=True)
class Audience:
    """Who sees a boost. Interest ids are the network's (from its targeting search)."""

    countries: tuple[str, ...] = ()
    regions: tuple[dict[str, str], ...] = ()  # {"key": network id, "name": label}
    cities: tuple[dict[str, str], ...] = ()
    age_min: int = 18
    age_max: int = 65
    genders: tuple[str, ...] = ()  # "female", "male"; empty = all
    languages: tuple[dict[str, str], ...] = ()  # {"key": network id, "name": label}
    interests: tuple[dict[str, str], ...] = ()  # {"key": network id, "name": label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        def items(name: str) -> tuple[dict[str, str], ...]:
            return tuple(
                {"key": str(item.get("key", "")), "name": str(item.get("name", ""))}
                for item in data.get(name) or ()
                if isinstance(item, dict) and item.get("key")
            )

        return cls(
            countries=tuple(str(c).upper() for c in data.get("countries") or () if str(c).strip()),
            regions=items("regions"),
            cities=items("cities"),
            age_min=int(data.get("age_min") or 18),
            age_max=int(data.get("age_max") or 65),
            genders=tuple(g for g in data.get("genders") or () if g in ("female", "male")),
            languages=items("languages"),
            interests=items("interests"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "countries": list(self.countries),
            "regions": [dict(x) for x in self.regions],
            "cities": [dict(x) for x in self.cities],
            "age_min": self.age_min,
            "age_max": self.age_max,
            "genders": list(self.genders),
            "languages": [dict(x) for x in self.languages],
            "interests": [dict(x) for x in self.interests],
        }


@dataclass(frozen=True)
class AdPlan:
    """Everything a network needs to create a boost of one published post."""

    marker: str  # unique per boost: part of every object's name, for `find`
    account_id: str
    currency: str
    objective: str  # "awareness", "engagement", "traffic"
    budget_kind: str  # "daily" or "lifetime"
    budget_minor: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    audience: Audience
    post_external_id: str  # the published post's id on the network
    placements: tuple[str, ...] = ()
    social_issue: bool = False
    disclaimer: str = ""  # "paid for by", for a social-issue boost
    page_id: str = ""  # Meta: the Facebook Page the post (or the Instagram account) belongs to
    instagram_user_id: str = ""  # Meta: the Instagram professional account, for an Instagram post
    organization: str = ""  # LinkedIn: urn:li:organization:… the post belongs to
    extra: dict[str, Any] = field(default_factory=dict)

    def name(self, step: str) -> str:
        return f"Chorus {self.marker} {step}"


@dataclass(frozen=True)
class AdReview:
    """The network's verdict on a boost: "in_review", "active", "paused", "rejected", "ended"."""

    status: str
    reason: str = ""


@dataclass(frozen=True)
class AdInsightDay:
    """One day of a boost's results, as the network reports them (money in minor units)."""

    day: dt.date
    spend_minor: int
    impressions: int = 0
    reach: int = 0
    frequency: float = 0.0
    clicks: int = 0
    engagements: int = 0
    video_views: int = 0
    results: int = 0


class AdsClient(Protocol):
    """What `Connector.ads(account)` returns for a network with Feature.ADS."""

    steps: tuple[str, ...]

    def account(self) -> AdAccountInfo: ...

    def create(self, step: str, plan: AdPlan, created: dict[str, str]) -> str:
        """Creates one step's object (given the ids of the steps before it); returns its id."""
        ...

    def find(self, step: str, plan: AdPlan, created: dict[str, str]) -> str | None:
        """The id of this step's object if an earlier attempt created it, else None."""
        ...

    def set_status(self, created: dict[str, str], status: str) -> None:
        """ "active", "paused" or "stopped" (archived/completed: it cannot be resumed)."""
        ...

    def update_budget(self, created: dict[str, str], plan: AdPlan) -> None: ...

    def review(self, created: dict[str, str]) -> AdReview: ...

    def insights(
        self, created: dict[str, str], since: dt.date, until: dt.date, *, currency: str, objective: str
    ) -> list[AdInsightDay]:
        """Daily results of the boost's ad (Meta) / creative (LinkedIn), one row per day."""
        ...

    def search_targeting(self, kind: str, query: str) -> list[dict[str, str]]:
        """Looks up interests / locations / languages by name: [{"key", "name", "detail"}]."""
        ...

    def reach_estimate(self, plan: AdPlan) -> tuple[int, int] | None:
        """(low, high) people the audience reaches, when the network gives an estimate."""
        ...
