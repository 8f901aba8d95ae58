"""Budgets (monthly, per campaign, race-free) and the rules checked before any spend."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from chorus.ads import actions, creating, rules
from chorus.ads.models import Boost, CampaignAdBudget, MonthSpend
from chorus.ads.refusals import AdsRefused
from chorus.core.models import AuditEvent
from tests.ads.conftest import boost_values, published

PARIS = ZoneInfo("Europe/Paris")


def next_month_noon(day: int = 3) -> dt.datetime:
    today = timezone.localdate(timezone.now(), PARIS)
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime.combine(first.replace(day=day), dt.time(12), PARIS)


def ten_days(**overrides):
    start = next_month_noon()
    return {"starts_at": start, "ends_at": start + dt.timedelta(days=9, hours=11), **overrides}  # 10 days


# --- what a boost commits -------------------------------------------------------------------------
def test_a_daily_budget_commits_its_days_in_each_month_it_touches() -> None:
    start = dt.datetime(2027, 1, 29, 12, tzinfo=PARIS)
    days = rules.local_days(start, start + dt.timedelta(days=5), "Europe/Paris")
    assert [d.isoformat() for d in days] == [
        "2027-01-29",
        "2027-01-30",
        "2027-01-31",
        "2027-02-01",
        "2027-02-02",
        "2027-02-03",
    ]
    assert rules.commitments("daily", 1000, days) == {"2027-01": 3000, "2027-02": 3000}


def test_a_lifetime_budget_is_spread_over_its_days_and_sums_to_itself() -> None:
    start = dt.datetime(2027, 1, 30, 0, tzinfo=PARIS)
    days = rules.local_days(start, start + dt.timedelta(days=3), "Europe/Paris")
    spread = rules.commitments("lifetime", 1001, days)
    assert spread == {"2027-01": 667, "2027-02": 334}
    assert sum(spread.values()) == 1001


def test_the_forecast_counts_up_to_25_percent_daily_overspend_on_meta() -> None:
    month = dt.date(2027, 1, 1)
    days = [dt.date(2027, 1, d) for d in range(20, 32)]  # 12 days, 10 of them from the 22nd
    found = rules.forecast(month, dt.date(2027, 1, 22), 4000, [("facebook", "daily", 1000, 2000, days)])
    assert found.spent_minor == 4000
    assert found.expected_minor == 4000 + 10 * 1000
    assert found.upper_minor == 4000 + 10 * 1250


# --- refusals with the numbers ---------------------------------------------------------------------
def test_a_boost_over_the_monthly_budget_is_refused_with_the_numbers(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    actions.request_boost(
        target, actor=cast.owner, **boost_values(meta_account, budget_minor=7000, **ten_days())
    )
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target, actor=cast.owner, **boost_values(meta_account, budget_minor=4000, **ten_days())
        )
    month = rules.month_label(rules.month_key(next_month_noon().date()))
    assert refused.value.code == "budget_exceeded"
    assert refused.value.message == (
        f"This boost can spend up to 400.00 EUR in {month}: 700.00 EUR of the 1,000.00 EUR monthly ad budget is "
        "already committed, so 300.00 EUR is left."
    )
    assert MonthSpend.objects.get().reserved_minor == 70_000  # the refused boost reserved nothing
    assert Boost.objects.count() == 1


def test_a_campaign_budget_is_enforced_too(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    campaign = cast.workspace.campaigns.create(name="Reef week", slug="reef-week")
    target.post.campaign = campaign
    target.post.save()
    actions.set_campaign_ad_budget(campaign, actor=cast.owner, limit_minor=30_000)
    actions.request_boost(
        target, actor=cast.owner, **boost_values(meta_account, budget_minor=2000, **ten_days())
    )
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target, actor=cast.owner, **boost_values(meta_account, budget_minor=2000, **ten_days())
        )
    assert refused.value.code == "campaign_budget_exceeded"
    assert refused.value.params["left"] == "100.00 EUR"
    assert CampaignAdBudget.objects.get().reserved_minor == 20_000
    assert MonthSpend.objects.get().reserved_minor == 20_000  # rolled back with the campaign refusal


def test_without_a_budget_or_in_another_currency_nothing_is_boosted(cast, page, meta, meta_account) -> None:
    target = published(cast, page, "1111_2222")
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert refused.value.code == "no_ad_budget"
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="USD",
        monthly_limit_minor=10_000,
        approval_threshold_minor=None,
    )
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    assert refused.value.code == "currency_mismatch"


def test_metas_minimum_daily_budget_of_the_account_is_checked(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, budget_minor=90))
    assert refused.value.message == "Meta needs a daily budget of at least 1.00 EUR; this boost has 0.90 EUR."
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target,
            actor=cast.owner,
            **boost_values(meta_account, budget_kind="lifetime", budget_minor=900, **ten_days()),
        )
    assert refused.value.code == "below_lifetime_minimum" and refused.value.params["days"] == 10


def test_a_social_issue_boost_needs_authorization_and_a_disclaimer(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    for extra in ({"authorized": False, "disclaimer": "Seas Alive"}, {"authorized": True, "disclaimer": " "}):
        with pytest.raises(AdsRefused) as refused:
            actions.request_boost(
                target, actor=cast.owner, **boost_values(meta_account, social_issue=True, **extra)
            )
        assert refused.value.code == "social_issue_authorization"
    assert not meta.creates("campaign")


def test_a_social_issue_boost_targeting_the_eu_is_refused_with_metas_rule(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    audience = {"countries": ["US", "FR", "DE"]}
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target,
            actor=cast.owner,
            **boost_values(
                meta_account, audience=audience, social_issue=True, authorized=True, disclaimer="Seas Alive"
            ),
        )
    assert refused.value.code == "social_issue_eu"
    assert "Since October 2025 Meta does not run ads about social issues" in refused.value.message
    assert "Remove DE, FR from the audience" in refused.value.message
    assert MonthSpend.objects.count() == 0 and Boost.objects.count() == 0
    # The same audience without the flag is an ordinary boost.
    assert actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, audience=audience)).pk


def test_the_account_spend_cap_and_schedule_are_checked(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    meta_account.spend_cap_minor = 5000
    meta_account.save()
    with pytest.raises(AdsRefused) as refused:
        actions.request_boost(
            target, actor=cast.owner, **boost_values(meta_account, budget_minor=1000, **ten_days())
        )
    assert refused.value.code == "spend_cap"
    with pytest.raises(AdsRefused) as refused:
        start = timezone.now() + dt.timedelta(days=1)
        actions.request_boost(
            target, actor=cast.owner, **boost_values(meta_account, starts_at=start, ends_at=start)
        )
    assert refused.value.code == "schedule"


# --- no race --------------------------------------------------------------------------------------
# `shapes`: the reservation's conditional UPDATE is serialized differently on SQLite (IMMEDIATE
# transactions) and PostgreSQL (row lock, re-check after the first commit): `make test-scaled`
# runs this again on PostgreSQL.
@pytest.mark.shapes
@pytest.mark.django_db(transaction=True)
def test_concurrent_boosts_accept_exactly_those_that_fit(cast, page, meta, meta_account, budget) -> None:
    """Eight requests at once, each committing 250.00 EUR of a 1,000.00 EUR month: four fit."""
    target = published(cast, page, "1111_2222")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        try:
            barrier.wait()
            actions.request_boost(
                target, actor=cast.owner, **boost_values(meta_account, budget_minor=2500, **ten_days())
            )
            outcomes.append("accepted")
        except AdsRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] * 4 + ["budget_exceeded"] * 4
    assert Boost.objects.count() == 4
    assert MonthSpend.objects.get().reserved_minor == 100_000


# --- managing ---------------------------------------------------------------------------------------
def test_stopping_returns_the_rest_of_the_schedule_to_the_budget(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    start = timezone.now() - dt.timedelta(minutes=1)
    boost = actions.request_boost(
        target,
        actor=cast.owner,
        **boost_values(
            meta_account, budget_minor=1000, starts_at=start, ends_at=start + dt.timedelta(days=60)
        ),
    )
    creating.run(boost.pk)
    boost.refresh_from_db()
    reserved_before = sum(MonthSpend.objects.values_list("reserved_minor", flat=True))
    assert reserved_before == sum(boost.reserved.values())
    actions.change_status(boost, actor=cast.owner, change="stop")
    boost.refresh_from_db()
    assert boost.status == Boost.Status.STOPPED
    ad_campaign = meta.of("campaign")[0]
    assert meta.objects[ad_campaign]["fields"]["status"] == "ARCHIVED"
    assert sum(boost.reserved.values()) == 1000 * len(
        [
            d
            for d in rules.local_days(boost.starts_at, boost.ends_at, "Europe/Paris")
            if d <= timezone.localdate(timezone.now(), PARIS)
        ]
    )
    assert sum(MonthSpend.objects.values_list("reserved_minor", flat=True)) == sum(boost.reserved.values())
    assert AuditEvent.objects.filter(action="ads.boost_stopped", object_id=str(boost.pk)).exists()


def test_a_budget_raise_beyond_the_month_is_refused_and_nothing_is_sent(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(
        target, actor=cast.owner, **boost_values(meta_account, budget_minor=5000, **ten_days())
    )
    creating.run(boost.pk)
    boost.refresh_from_db()
    sent = len(meta.sent)
    with pytest.raises(AdsRefused) as refused:
        actions.change_budget(boost, actor=cast.owner, budget_minor=20_000)
    assert refused.value.code == "budget_exceeded"
    assert len(meta.sent) == sent
    actions.change_budget(boost, actor=cast.owner, budget_minor=8000)
    adset = meta.objects[meta.of("adset")[0]]["fields"]
    assert adset["daily_budget"] == "8000"
    assert MonthSpend.objects.get().reserved_minor == 80_000
    event = AuditEvent.objects.get(action="ads.boost_budget_changed")
    assert (event.data["old"]["budget_minor"], event.data["new"]["budget_minor"]) == (5000, 8000)


def test_pause_resume_and_a_new_end_date_are_sent_to_meta_and_audited(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, **ten_days()))
    meta.ad_status = "ACTIVE"
    creating.run(boost.pk)
    boost.refresh_from_db()
    campaign, adset = meta.of("campaign")[0], meta.of("adset")[0]
    actions.change_status(boost, actor=cast.owner, change="pause")
    assert meta.objects[campaign]["fields"]["status"] == "PAUSED"
    actions.change_status(boost, actor=cast.owner, change="resume")
    assert meta.objects[campaign]["fields"]["status"] == "ACTIVE"
    assert list(
        AuditEvent.objects.filter(
            object_id=str(boost.pk), action__in=["ads.boost_paused", "ads.boost_resumed"]
        )
        .order_by("pk")
        .values_list("action", "data__old", "data__new")
    ) == [("ads.boost_paused", "active", "paused"), ("ads.boost_resumed", "paused", "active")]
    later = boost.ends_at + dt.timedelta(days=2)
    actions.change_budget(boost, actor=cast.owner, ends_at=later)
    assert meta.objects[adset]["fields"]["end_time"] == later.astimezone(dt.UTC).isoformat()
    event = AuditEvent.objects.get(action="ads.boost_budget_changed", object_id=str(boost.pk))
    assert event.data["new"] == {"budget_minor": boost.budget_minor, "ends_at": later.isoformat()}
    boost.refresh_from_db()
    assert boost.ends_at == later and sum(boost.reserved.values()) == boost.budget_minor * len(
        rules.local_days(boost.starts_at, later, cast.workspace.timezone)
    )
    with pytest.raises(AdsRefused):  # resuming what runs is refused, and nothing is audited twice
        actions.change_status(boost, actor=cast.owner, change="resume")
    assert AuditEvent.objects.filter(action="ads.boost_resumed", object_id=str(boost.pk)).count() == 1
