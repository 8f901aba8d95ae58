"""The rules a boost is checked against before any spend (a policy: answers, never writes).

- Budgets: a boost commits, in each calendar month (the workspace's zone) its schedule touches,
  the most it may be billed there: a daily budget x its days in that month (Meta never bills more
  than 7 daily budgets over a calendar week, LinkedIn the same over its schedule), a lifetime
  budget spread over its days. The monthly forecast also shows the upper bound of one day's
  overspend (Meta: up to 25 % above a daily budget; LinkedIn: up to 50 %).
- Networks' minimums, checked before sending: Meta's `min_daily_budget` of the ad account
  (a lifetime budget needs it for each day), LinkedIn's 10 a day / 100 a campaign.
- Meta's rules for ads about social issues, elections or politics: authorization + "paid for by"
  disclaimer; none may target the EU since October 2025. LinkedIn accepts no political ads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.formats import date_format

from chorus.ads.refusals import AdsRefused
from chorus.connectors.ads import Audience, minor_per_major

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
META_NETWORKS = frozenset({"facebook", "instagram"})
BOOSTABLE = frozenset({"facebook", "instagram", "linkedin"})
DAILY_OVERSPEND = {"facebook": 1.25, "instagram": 1.25, "linkedin": 1.5}
META_DEFAULT_MIN_DAILY = 1  # in major units, when the account does not say (Meta: 1.00 for impressions)
LINKEDIN_MIN_DAILY = 10
LINKEDIN_MIN_LIFETIME = 100


def money(minor: int, currency: str) -> str:
    from chorus.ads.templatetags.ads_tags import money as fmt

    return fmt(minor, currency)


def local_days(starts_at: dt.datetime, ends_at: dt.datetime, tz: str) -> list[dt.date]:
    """The calendar days (in `tz`) the schedule touches."""
    zone = ZoneInfo(tz)
    first = starts_at.astimezone(zone).date()
    last = (ends_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(key: str) -> dt.date:
    year, month = key.split("-")
    return dt.date(int(year), int(month), 1)


def commitments(kind: str, budget_minor: int, days: list[dt.date]) -> dict[str, int]:
    """{month: minor units} this boost may be billed in each month it touches."""
    per_month: dict[str, int] = {}
    for day in days:
        per_month[month_key(day)] = per_month.get(month_key(day), 0) + 1
    if kind == "daily":
        return {month: budget_minor * count for month, count in per_month.items()}
    total, spread, left = len(days), {}, budget_minor
    for index, (month, count) in enumerate(sorted(per_month.items())):
        share = left if index == len(per_month) - 1 else budget_minor * count // total
        spread[month] = share
        left -= share
    return spread


def max_spend(kind: str, budget_minor: int, days: int) -> int:
    return budget_minor * days if kind == "daily" else budget_minor


@dataclass(frozen=True)
class Draft:
    """A boost as asked, before any row exists."""

    network: str
    account_status: str
    account_currency: str
    min_daily_minor: int | None
    spend_cap_minor: int | None
    budget_kind: str
    budget_minor: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    audience: Audience
    social_issue: bool
    authorized: bool  # the requester confirms the ad account's authorization for such ads
    disclaimer: str
    tz: str


def check(draft: Draft, now: dt.datetime) -> None:
    """Raises AdsRefused for the first rule the boost breaks."""
    if draft.network not in BOOSTABLE:
        raise AdsRefused("not_boostable", network=draft.network)
    if draft.account_status != "active":
        raise AdsRefused("account_inactive", status=draft.account_status)
    if draft.budget_minor <= 0:
        raise AdsRefused("bad_budget")
    if draft.ends_at <= draft.starts_at or draft.starts_at < now - dt.timedelta(minutes=5):
        raise AdsRefused("schedule")
    audience = draft.audience
    if not (audience.countries or audience.regions or audience.cities):
        raise AdsRefused("no_location")
    if draft.network == "linkedin" and not (audience.regions or audience.cities):
        # LinkedIn's locations facet takes its own geo URNs, not ISO codes: countries typed as
        # codes would be dropped and the campaign would have no location at all.
        raise AdsRefused("linkedin_locations", countries=", ".join(audience.countries))
    if not 13 <= audience.age_min <= audience.age_max <= 65:
        raise AdsRefused("ages")
    if draft.social_issue:
        if draft.network == "linkedin":
            raise AdsRefused("political_linkedin")
        if not draft.authorized or not draft.disclaimer.strip():
            raise AdsRefused("social_issue_authorization")
        in_eu = sorted(set(audience.countries) & EU_COUNTRIES)
        if in_eu:
            raise AdsRefused("social_issue_eu", countries=", ".join(in_eu))
    check_minimums(draft)
    days = local_days(draft.starts_at, draft.ends_at, draft.tz)
    most = max_spend(draft.budget_kind, draft.budget_minor, len(days))
    if draft.spend_cap_minor and most > draft.spend_cap_minor:
        raise AdsRefused(
            "spend_cap",
            amount=money(most, draft.account_currency),
            cap=money(draft.spend_cap_minor, draft.account_currency),
        )


def check_minimums(draft: Draft) -> None:
    currency, per = draft.account_currency, minor_per_major(draft.account_currency)
    days = len(local_days(draft.starts_at, draft.ends_at, draft.tz))
    label = "LinkedIn" if draft.network == "linkedin" else "Meta"
    if draft.network == "linkedin":
        daily_min, lifetime_min = LINKEDIN_MIN_DAILY * per, LINKEDIN_MIN_LIFETIME * per
    else:
        daily_min = draft.min_daily_minor or META_DEFAULT_MIN_DAILY * per
        lifetime_min = daily_min * days
    if draft.budget_kind == "daily" and draft.budget_minor < daily_min:
        raise AdsRefused(
            "below_daily_minimum",
            network=label,
            minimum=money(daily_min, currency),
            amount=money(draft.budget_minor, currency),
        )
    if draft.budget_kind == "lifetime" and draft.budget_minor < lifetime_min:
        raise AdsRefused(
            "below_lifetime_minimum",
            network=label,
            minimum=money(lifetime_min, currency),
            days=days,
            amount=money(draft.budget_minor, currency),
        )


def month_label(key: str) -> str:
    return date_format(month_start(key), "F Y")


@dataclass(frozen=True)
class Forecast:
    spent_minor: int  # billed so far this month (collected insights)
    expected_minor: int  # spent + what running boosts should spend by the month's end
    upper_minor: int  # the same if every remaining day overspends as much as the network allows


def forecast(
    month: dt.date, today: dt.date, spent_minor: int, running: list[tuple[str, str, int, int, list[dt.date]]]
) -> Forecast:
    """`running`: (network, budget kind, budget, spent so far by the boost, its days) per boost
    still delivering."""
    expected = upper = 0
    for network, kind, budget, boost_spent, days in running:
        ahead = [d for d in days if d >= today]
        in_month = [d for d in ahead if d.year == month.year and d.month == month.month]
        if not ahead or not in_month:
            continue
        if kind == "daily":
            expected += budget * len(in_month)
            upper += round(budget * DAILY_OVERSPEND.get(network, 1.0)) * len(in_month)
        else:
            left = max(0, budget - boost_spent)
            share = left * len(in_month) // len(ahead)
            expected += share
            upper += left if len(in_month) == len(ahead) else share
    return Forecast(spent_minor, spent_minor + expected, spent_minor + max(upper, expected))
