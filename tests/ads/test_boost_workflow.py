"""A boost above the threshold goes through the workspace's approval workflow, as posts do:
every step in turn, its approvers told, nobody approving their own boost, a decline stopping it
with the reason; nothing reaches the network (MetaMarketingFake, a fake built from Meta's
documented Marketing API) before the last step approves. Listed in the review queue, "My work"
and the home; invisible to another workspace."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from chorus.accounts.permissions import Role
from chorus.ads import actions, creating
from chorus.ads.models import Boost, MonthSpend
from chorus.approvals import actions as approvals
from chorus.approvals import boosts as approval
from chorus.approvals.models import Decision, Run
from chorus.core.models import AuditEvent
from chorus.core.refusals import NotAllowed
from tests.ads.conftest import boost_values, published
from tests.ads.test_pages_and_api import api


@pytest.fixture
def threshold(cast, budget):
    return actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=10_000,
    )


@pytest.fixture
def two_steps(cast):
    """Communications (the approver, by name), then Finance (everyone with the admin role)."""
    return approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Spend review",
        applies_to="everyone",
        steps=[
            {"name": "Communications", "users": [cast.members[Role.APPROVER].pk], "role": "", "rule": "any"},
            {"name": "Finance", "users": [], "role": Role.ADMIN, "rule": "any"},
        ],
    )


def network_writes(meta) -> list[str]:
    """Every request that would create or change something at Meta (the fake's request log)."""
    return [f"{r.method} {r.url.path}" for r in meta.sent if r.method != "GET"]


def ask(cast, page, account, actor, budget_minor=5000) -> Boost:
    target = published(cast, page, "1111_2222")
    return actions.request_boost(target, actor=actor, **boost_values(account, budget_minor=budget_minor))


def test_a_boost_over_the_threshold_needs_both_steps_before_anything_is_sent(
    cast, page, meta, meta_account, threshold, two_steps, django_capture_on_commit_callbacks
) -> None:
    editor, approver, admin = (cast.members[r] for r in (Role.EDITOR, Role.APPROVER, Role.ADMIN))
    boost = ask(cast, page, meta_account, editor)  # may spend 200.00 EUR, above 100.00 EUR
    run = approval.open_run(boost)
    assert boost.status == Boost.Status.AWAITING_APPROVAL
    assert (run.workflow, run.step.name) == (two_steps, "Communications")
    told = approver.notifications.get(kind="ads.approval_requested")
    assert told.title == f"Your approval is needed (Communications): boost of {boost.target.post}"
    assert told.body == "It may spend up to 200.00 EUR."
    assert not admin.notifications.filter(kind="ads.approval_requested").exists()

    with django_capture_on_commit_callbacks(execute=True):
        actions.approve_boost(boost, actor=approver, comment="Good story")
    boost.refresh_from_db()
    assert boost.status == Boost.Status.AWAITING_APPROVAL  # Finance has not approved yet
    assert approval.open_run(boost).step.name == "Finance"
    assert admin.notifications.filter(kind="ads.approval_requested").count() == 1
    assert network_writes(meta) == [] and meta.creates("campaign") == []

    with django_capture_on_commit_callbacks(execute=True):
        actions.approve_boost(boost, actor=admin)
    boost.refresh_from_db()
    assert (boost.status, boost.decided_by) == (Boost.Status.QUEUED, admin)
    assert Run.objects.get(boost=boost).state == Run.State.APPROVED
    assert network_writes(meta) == []  # queued: the worker creates it
    assert creating.run(boost.pk) == "in_review"
    assert len(meta.creates("campaign")) == 1 and len(meta.of("ad")) == 1
    assert list(
        Decision.objects.filter(boost=boost).values_list("step__name", "actor__email", "verdict", "comment")
    ) == [
        ("Communications", approver.email, "approve", "Good story"),
        ("Finance", admin.email, "approve", ""),
    ]
    logged = list(
        AuditEvent.objects.filter(object_type="ads.boost", object_id=str(boost.pk))
        .order_by("pk")
        .values_list("action", "actor__email")
    )
    assert logged[:5] == [
        ("ads.boost_requested", editor.email),
        ("approval.started", editor.email),
        ("approval.approved", approver.email),
        ("approval.approved", admin.email),
        ("ads.boost_approved", admin.email),
    ]


def test_the_wrong_step_and_self_approval_are_refused_as_for_posts(
    cast, page, meta, meta_account, threshold, two_steps
) -> None:
    approver, admin = cast.members[Role.APPROVER], cast.members[Role.ADMIN]
    theirs = ask(cast, page, meta_account, cast.members[Role.EDITOR])
    with pytest.raises(NotAllowed) as early:  # Finance cannot skip Communications
        actions.approve_boost(theirs, actor=admin)
    assert (early.value.code, early.value.message) == (
        "not_an_approver",
        "You are not an approver of the step “Communications”.",
    )
    assert not Decision.objects.filter(boost=theirs).exists()

    mine = ask(cast, page, meta_account, admin)  # the admin asks: Finance is theirs by role only
    actions.approve_boost(mine, actor=approver)
    assert approval.open_run(mine).step.name == "Finance"
    with pytest.raises(NotAllowed) as own:
        actions.approve_boost(mine, actor=admin)
    assert (own.value.code, own.value.message) == (
        "own_boost",
        "You asked for this boost: someone else approves it.",
    )
    assert mine not in [run.boost for run in approval.pending_for(admin, cast.workspace)]
    assert Boost.objects.get(pk=mine.pk).status == Boost.Status.AWAITING_APPROVAL

    # Without a workflow: one approval by a role that approves ad spend, never the asker's own.
    two_steps.delete()
    owners = ask(cast, page, meta_account, cast.owner)
    with pytest.raises(NotAllowed) as own_again:
        actions.approve_boost(owners, actor=cast.owner)
    assert own_again.value.code == "own_boost"
    assert actions.approve_boost(owners, actor=admin).status == Boost.Status.QUEUED


def test_a_step_that_names_the_asker_lets_them_approve(cast, page, meta, meta_account, threshold) -> None:
    approver = cast.members[Role.APPROVER]
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Named",
        applies_to="everyone",
        steps=[{"name": "Lead", "users": [approver.pk], "role": "", "rule": "any"}],
    )
    boost = ask(cast, page, meta_account, approver)
    assert actions.approve_boost(boost, actor=approver).status == Boost.Status.QUEUED


def test_a_decline_stops_the_boost_with_the_reason(
    cast, page, meta, meta_account, threshold, two_steps, django_capture_on_commit_callbacks
) -> None:
    editor, approver = cast.members[Role.EDITOR], cast.members[Role.APPROVER]
    boost = ask(cast, page, meta_account, editor)
    with pytest.raises(NotAllowed):  # a viewer is no approver of the step
        actions.decline_boost(boost, actor=cast.members[Role.VIEWER], reason="no")
    with django_capture_on_commit_callbacks(execute=True):
        actions.decline_boost(boost, actor=approver, reason="Wrong audience for this story")
    boost.refresh_from_db()
    assert (boost.status, boost.review_reason) == (Boost.Status.DECLINED, "Wrong audience for this story")
    assert Run.objects.get(boost=boost).state == Run.State.REJECTED
    assert MonthSpend.objects.get().reserved_minor == 0
    told = editor.notifications.get(kind="ads.boost_declined")
    assert (told.title, told.body) == (
        f"Boost declined by Approver: {boost.target.post}",
        "Wrong audience for this story",
    )
    with pytest.raises(actions.AdsRefused):
        actions.approve_boost(boost, actor=approver)
    assert network_writes(meta) == []


def test_the_pages_show_the_steps_and_take_decisions_and_comments(
    cast, page, meta, meta_account, threshold, two_steps
) -> None:
    editor, approver, admin = (cast.members[r] for r in (Role.EDITOR, Role.APPROVER, Role.ADMIN))
    boost = ask(cast, page, meta_account, editor)
    slug = cast.workspace.slug
    queue = reverse("approvals:pending", kwargs={"slug": slug})
    boost_page = reverse("ads:boost", kwargs={"slug": slug, "boost_id": boost.pk})
    assert f'data-boost="{boost.pk}"' in cast.client_for(approver).get(queue).content.decode()
    assert f'data-boost="{boost.pk}"' not in cast.client_for(admin).get(queue).content.decode()  # step 2
    my_work = cast.client_for(approver).get(reverse("approvals:my_work", kwargs={"slug": slug}))
    assert f'data-boost="{boost.pk}"' in my_work.content.decode()
    home = cast.client_for(approver).get(reverse("workspace_home", kwargs={"slug": slug}))
    assert boost_page in home.content.decode()

    shown = cast.client_for(approver).get(boost_page).content.decode()
    assert "Workflow: Spend review" in shown and "This boost may spend up to 200.00 EUR." in shown
    assert 'value="approve"' in shown
    assert 'value="approve"' not in cast.client_for(admin).get(boost_page).content.decode()

    comments = reverse("ads:boost_comment", kwargs={"slug": slug, "boost_id": boost.pk})
    cast.client_for(editor).post(comments, {"body": "Budget agreed with @admin"})
    assert admin.notifications.filter(kind="mention").exists()
    decide = reverse("ads:boost_decide", kwargs={"slug": slug, "boost_id": boost.pk})
    cast.client_for(approver).post(decide, {"decision": "approve", "comment": "Fine by me"})
    assert f'data-boost="{boost.pk}"' in cast.client_for(admin).get(queue).content.decode()
    history = cast.client_for(admin).get(boost_page).content.decode()
    assert "Budget agreed with @admin" in history and "“Fine by me”" in history

    # The API gives the step a boost waits for, and takes the last approval.
    read = api(cast, admin, "get", f"/workspaces/{slug}/boosts/{boost.pk}").json()
    assert (read["status"], read["approval_step"]) == ("awaiting_approval", "Finance")
    assert api(cast, approver, "post", f"/workspaces/{slug}/boosts/{boost.pk}/approve").status_code == 403
    done = api(cast, admin, "post", f"/workspaces/{slug}/boosts/{boost.pk}/approve").json()
    assert (done["status"], done["approval_step"]) == ("queued", "")


def test_another_workspace_can_neither_see_nor_decide_a_boost(
    cast, page, meta, meta_account, threshold, two_steps
) -> None:
    boost = ask(cast, page, meta_account, cast.members[Role.EDITOR])
    slug, outsider = cast.workspace.slug, cast.outsider
    client = cast.client_for(outsider)
    assert client.get(reverse("ads:boost", kwargs={"slug": slug, "boost_id": boost.pk})).status_code == 404
    for name in ("ads:boost_decide", "ads:boost_comment"):
        url = reverse(name, kwargs={"slug": slug, "boost_id": boost.pk})
        assert client.post(url, {"decision": "approve", "body": "x"}).status_code == 404
    other = reverse("approvals:pending", kwargs={"slug": cast.other_workspace.slug})
    assert "data-boost" not in client.get(other).content.decode()
    assert approval.pending_for(outsider, cast.other_workspace) == []
    api_path = f"/workspaces/{slug}/boosts/{boost.pk}/approve"
    assert api(cast, outsider, "post", api_path).status_code == 404
    boost.refresh_from_db()
    assert (
        boost.status == Boost.Status.AWAITING_APPROVAL and not Decision.objects.filter(boost=boost).exists()
    )


def test_boosts_that_waited_before_the_migration_wait_in_a_run(
    cast, page, meta, meta_account, threshold
) -> None:
    boost = ask(cast, page, meta_account, cast.members[Role.EDITOR])
    Run.objects.filter(boost=boost).delete()  # as the ads app's own approval step left it
    migration = importlib.import_module("chorus.approvals.migrations.0004_boost_subject")
    migration.open_runs_for_waiting_boosts(apps, None)
    run = Run.objects.get(boost=boost)
    assert (run.state, run.workflow, run.step) == (Run.State.OPEN, None, None)
    assert approval.pending_for(cast.members[Role.APPROVER], cast.workspace) == [run]
    assert actions.approve_boost(boost, actor=cast.members[Role.APPROVER]).status == Boost.Status.QUEUED
