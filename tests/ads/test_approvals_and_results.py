"""A boost above the threshold waits for an approver, who sees its spend; results are collected
per day and paid and organic figures sum to what the networks reported."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chorus.accounts.permissions import Role
from chorus.ads import actions, collect, creating, results
from chorus.ads.models import AdInsightDay, Boost, MonthSpend
from chorus.analytics.collect import store_post_snapshot
from chorus.core.models import AuditEvent
from tests.ads.conftest import boost_values, published


def creation_tasks(boost: Boost) -> int:
    return DBTaskResult.objects.filter(
        task_path="chorus.ads.tasks.create_boost", args_kwargs__args=[boost.pk]
    ).count()


@pytest.fixture
def threshold(cast, budget):
    return actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=10_000,
    )


def test_a_boost_under_the_threshold_is_created_at_once(
    cast, page, meta, meta_account, threshold, django_capture_on_commit_callbacks
) -> None:
    target = published(cast, page, "1111_2222")
    with django_capture_on_commit_callbacks(execute=True):  # 60.00 EUR, under 100.00 EUR
        boost = actions.request_boost(target, actor=cast.members[Role.EDITOR], **boost_values(meta_account))
    assert boost.status == Boost.Status.QUEUED
    assert creation_tasks(boost) == 1


def test_a_boost_above_the_threshold_waits_is_approved_then_created(
    cast, page, meta, meta_account, threshold, django_capture_on_commit_callbacks
) -> None:
    target = published(cast, page, "1111_2222")
    editor, approver = cast.members[Role.EDITOR], cast.members[Role.APPROVER]
    boost = actions.request_boost(
        target, actor=editor, **boost_values(meta_account, budget_minor=5000)
    )  # 200.00 EUR
    assert boost.status == Boost.Status.AWAITING_APPROVAL
    assert creation_tasks(boost) == 0 and meta.creates("campaign") == []
    assert MonthSpend.objects.get().reserved_minor == 20_000  # held while it waits: approval cannot overrun
    assert approver.notifications.filter(kind="ads.approval_requested").exists()
    assert not editor.notifications.filter(kind="ads.approval_requested").exists()

    page_url = reverse("ads:boost", kwargs={"slug": cast.workspace.slug, "boost_id": boost.pk})
    shown = cast.client_for(approver).get(page_url)
    assert "This boost may spend up to 200.00 EUR." in shown.content.decode()
    decide = reverse("ads:boost_decide", kwargs={"slug": cast.workspace.slug, "boost_id": boost.pk})
    # An editor neither approves ad spend nor asked for this boost's step: refused, nothing moves.
    refused = cast.client_for(editor).post(decide, {"decision": "approve"}, follow=True)
    assert "Your role does not approve ad spend." in refused.content.decode()
    assert Boost.objects.get(pk=boost.pk).status == Boost.Status.AWAITING_APPROVAL
    assert cast.client_for(cast.outsider).post(decide, {"decision": "approve"}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert cast.client_for(approver).post(decide, {"decision": "approve"}).status_code == 302
    boost.refresh_from_db()
    assert (boost.status, boost.decided_by) == (Boost.Status.QUEUED, approver)
    assert creation_tasks(boost) == 1
    assert creating.run(boost.pk) == "in_review"
    assert len(meta.of("ad")) == 1
    actions_logged = list(
        AuditEvent.objects.filter(object_type="ads.boost", object_id=str(boost.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions_logged[:4] == [
        "ads.boost_requested",
        "approval.started",  # no workflow: one approval by an ads approver (the approvals engine's run)
        "approval.approved",
        "ads.boost_approved",
    ]
    # A second approval (another approver clicking at the same time) changes nothing.
    with pytest.raises(actions.AdsRefused), django_capture_on_commit_callbacks(execute=True):
        actions.approve_boost(boost, actor=cast.owner)
    assert creation_tasks(boost) == 1


def test_a_declined_boost_gives_its_reservation_back(cast, page, meta, meta_account, threshold) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, budget_minor=5000))
    actions.decline_boost(boost, actor=cast.members[Role.APPROVER], reason="Not this month")
    boost.refresh_from_db()
    assert (boost.status, boost.review_reason) == (Boost.Status.DECLINED, "Not this month")
    assert MonthSpend.objects.get().reserved_minor == 0


def test_every_boost_waits_when_the_threshold_is_zero(cast, page, meta, meta_account, budget) -> None:
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=0,
    )
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account, budget_minor=100))
    assert boost.status == Boost.Status.AWAITING_APPROVAL


# --- results ----------------------------------------------------------------------------------------
def meta_row(
    day: dt.date, spend: str, impressions: int, reach: int, clicks: int, engaged: int, views: int
) -> dict:
    """One row of GET /<ad id>/insights?time_increment=1, as Meta documents it (numbers as strings)."""
    return {
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
        "spend": spend,
        "impressions": str(impressions),
        "reach": str(reach),
        "frequency": f"{impressions / reach:.6f}",
        "clicks": str(clicks),
        "inline_post_engagement": str(engaged),
        "actions": [
            {"action_type": "video_view", "value": str(views)},
            {"action_type": "link_click", "value": "9"},
        ],
    }


def test_daily_insights_are_stored_and_paid_plus_organic_equal_the_raw_figures(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    start = timezone.now() - dt.timedelta(days=2)
    boost = actions.request_boost(
        target,
        actor=cast.owner,
        **boost_values(meta_account, starts_at=timezone.now(), ends_at=timezone.now() + dt.timedelta(days=5)),
    )
    creating.run(boost.pk)
    Boost.objects.filter(pk=boost.pk).update(starts_at=start)
    meta.ad_status = "ACTIVE"
    day1, day2 = start.date(), start.date() + dt.timedelta(days=1)
    meta.insight_rows = [
        meta_row(day1, "12.34", 1000, 800, 20, 55, 30),
        meta_row(day2, "7.66", 500, 450, 5, 21, 4),
    ]
    assert collect.collect(boost.pk) == "2 days"
    insights = next(r for r in meta.sent if r.url.path.endswith("/insights"))
    params = dict(insights.url.params)
    assert params["time_increment"] == "1"
    assert (
        params["fields"]
        == "date_start,spend,impressions,reach,frequency,clicks,inline_post_engagement,actions"
    )
    rows = list(AdInsightDay.objects.filter(boost=boost).order_by("day"))
    assert [
        (r.spend_minor, r.impressions, r.reach, r.clicks, r.engagements, r.video_views) for r in rows
    ] == [(1234, 1000, 800, 20, 55, 30), (766, 500, 450, 5, 21, 4)]
    assert rows[0].cpm_minor == 1234 and rows[0].cpc_minor == 62 and rows[0].frequency == 1.25
    boost.refresh_from_db()
    assert boost.status == Boost.Status.ACTIVE
    assert cast.owner.notifications.filter(kind="ads.boost_active").count() == 1

    store_post_snapshot(
        target, {"impressions": 4000, "reach": 3100, "reactions": 70, "comments": 9, "shares": 3}
    )
    side = results.post_side_by_side(target)
    assert side.paid["spend_minor"] == 2000
    assert side.paid["impressions"] == 1500 and side.paid["reach"] == 1250 and side.paid["engagements"] == 76
    assert side.organic["impressions"] == 4000 and side.organic["reach"] == 3100
    assert side.paid["cost_per_result_minor"] == round(2000 / 76)

    # Collected again with a revised figure: the day is replaced, never added.
    meta.insight_rows = [meta_row(day2, "8.00", 520, 460, 5, 22, 4)]
    collect.collect(boost.pk)
    assert results.boost_totals(boost)["spend_minor"] == 1234 + 800


def test_due_boosts_are_claimed_once_for_insights(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    creating.run(boost.pk)
    Boost.objects.filter(pk=boost.pk).update(next_insights_at=timezone.now() - dt.timedelta(minutes=1))
    assert collect.enqueue_due() == 1
    assert collect.enqueue_due() == 0  # claimed: not twice
    assert DBTaskResult.objects.filter(task_path="chorus.ads.tasks.collect_boost_insights").count() == 1


def test_the_month_summary_forecasts_spend_with_overspend(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(
        target,
        actor=cast.owner,
        **boost_values(
            meta_account,
            budget_minor=1000,
            starts_at=timezone.now(),
            ends_at=timezone.now() + dt.timedelta(days=2),
        ),
    )
    creating.run(boost.pk)
    today = timezone.localdate(timezone.now(), __import__("zoneinfo").ZoneInfo("Europe/Paris"))
    AdInsightDay.objects.create(
        boost=boost, workspace=cast.workspace, day=today, spend_minor=700, impressions=90
    )
    summary = results.month_summary(cast.workspace, today)
    assert summary.spent_minor == 700 and summary.limit_minor == 100_000
    future = [
        d
        for d in __import__("chorus.ads.rules").ads.rules.local_days(
            boost.starts_at, boost.ends_at, "Europe/Paris"
        )
        if d > today and d.month == today.month
    ]
    assert summary.forecast.expected_minor == 700 + 1000 * len(future)
    assert summary.forecast.upper_minor == 700 + 1250 * len(future)
    assert summary.cumulative[today.day - 1] == 700
