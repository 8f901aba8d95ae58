"""Experiments in a real browser: create one with two image variants, see that it cannot conclude yet, read a concluded
one, promote its winner; in English and French, on a desktop and a phone."""

from __future__ import annotations

import datetime as dt
import json
import math
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from chorus.ads import actions as ads
from chorus.ads import collect, creating
from chorus.ads.models import Boost
from chorus.analytics.collect import collect_post, store_post_snapshot
from chorus.analytics.demo import load_demo
from chorus.analytics.models import PostMetrics
from chorus.channels.actions import connect_channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.experiments import paid
from chorus.experiments.models import Experiment
from chorus.media.actions import upload
from chorus.publishing import dispatch, engine
from tests.ads.conftest import meta  # noqa: F401  (fixture: the Meta fake on the HTTP transport)
from tests.ads.fakes import MetaMarketingFake
from tests.browser.conftest import NewPage, Shot
from tests.conftest import PASSWORD, Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"


def _screen(page: Page, name: str, viewport: dict[str, int]) -> None:
    """A full-page screenshot in tests/artifacts/screens/, after checking nothing overflows."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate(
        "w => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > w + 1)"
        ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)",
        viewport["width"],
    )
    assert width <= viewport["width"] + 1, f"{name}: the page overflows ({width} px): {wide}"
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"{name}.png", full_page=True)


def _login(page: Page, email: str) -> None:
    # The live server's first request imports every app's URLs and views: on a loaded machine
    # that alone has taken more than the 10 s step budget.
    page.goto("/accounts/login/", timeout=60_000)
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_password")).to_have_count(0)


def _image(workspace, cast: Cast, name: str, colour: str):
    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return upload(workspace, cast.owner, SimpleUploadedFile(name, buffer.getvalue()))[0]


def _publish(placements) -> None:
    """The placements' posts come due and the real claim + engine publish them to the sample
    network (connectors/simulated.py); then a day passes (their published time moves back) and
    the real collector reads the network's figures for them."""
    ids = [p.target_id for p in placements]
    PostTarget.objects.filter(pk__in=ids).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    published: list[str] = []
    for _round in range(len(ids)):  # the dispatcher claims a few per channel at a time
        attempt_id, claimed = dispatch.claim_due()
        assert set(claimed) <= set(ids)
        published += [engine.publish_one(pk, attempt_id) for pk in claimed]
        if len(published) == len(ids):
            break
    assert published == ["published"] * len(ids)
    PostTarget.objects.filter(pk__in=ids).update(published_at=timezone.now() - dt.timedelta(days=1))
    PostMetrics.objects.filter(target_id__in=ids).update(published_at=timezone.now() - dt.timedelta(days=1))
    assert [collect_post(pk) for pk in ids] == ["collected"] * len(ids)


def test_one_experiment_from_the_form_to_its_promoted_winner(
    new_page: NewPage, shot: Shot, cast: Cast
) -> None:
    sample = load_demo(days=40, posts_per_day=2, owner=cast.owner)
    person, landscape = (
        _image(sample, cast, "person.png", "orange"),
        _image(sample, cast, "landscape.png", "blue"),
    )
    page = new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, cast.owner.email)

    # Created from the form: two image variants on the sample website, six slots.
    page.goto(f"/w/{sample.slug}/experiments/new/")
    page.get_by_label("Question").fill("A person or a landscape?")
    page.get_by_label("Website · News").check()
    page.get_by_label("Today's rate (%)").fill("1")
    page.get_by_label("Smallest difference worth detecting (percentage points)").fill("1")
    page.locator("#id_variant_a").fill("Meet Awa, who runs the well.")
    page.locator("#id_variant_b").fill("The valley where the well was dug.")
    page.locator("#id_image_a").select_option(str(person.pk))
    page.locator("#id_image_b").select_option(str(landscape.pk))
    first = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("First slot").fill(first)
    page.get_by_label("Number of slots").fill("6")
    shot(page, "new experiment form")
    _screen(page, "experiment-new-en-desktop", DESKTOP)
    # By the keyboard: after the full-page screenshots of this tall form, a click has landed on
    # the form's margin instead of the button (the page moved under the computed point).
    page.get_by_role("button", name="Create and schedule the variants").press("Enter")
    expect(page.locator("#status-line")).to_contain_text("Not enough data yet")
    experiment = Experiment.objects.get(question="A person or a landscape?")
    assert experiment.status == "running" and experiment.needed_per_variant == 2319  # 1 % → 2 %
    placements = list(experiment.placements.select_related("variant", "target"))
    assert [p.target.status for p in placements] == ["scheduled"] * 6
    assert sorted(p.variant.label for p in placements) == ["A", "A", "A", "B", "B", "B"]
    for placement in placements:
        image = person if placement.variant.label == "A" else landscape
        assert [m["media_id"] for m in placement.target.media] == [image.pk]

    # It runs: the first post of each variant is published on the sample network and measured.
    early = [next(p for p in placements if p.variant.label == label) for label in "AB"]
    _publish(early)
    page.reload()
    impressions = {p.variant.label: PostMetrics.objects.get(target_id=p.target_id).impressions for p in early}
    assert all(impressions.values())
    missing = 2319 - min(impressions.values())
    more = math.ceil(missing / (sum(impressions.values()) / 2))
    expect(page.locator("#status-line")).to_contain_text(
        f"Not enough data yet — about {more} more post{'s' if more != 1 else ''} per variant "
        f"({missing:,} impressions)."
    )
    expect(page.locator("#experiment-actions")).to_contain_text("Conclude")
    assert page.evaluate("() => !!Chart.getChart('chart-experiment')")
    shot(page, "running experiment not enough data")
    page.get_by_role("button", name="Conclude").click()  # refused: no winner before the horizon
    expect(page.locator(".messages .msg-error")).to_contain_text("Not enough data yet")
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.conclusion == {}

    # The remaining posts run. The sample network's figures are pseudo-random per post with no
    # difference between variants; for a conclusion the network reports a clear one for these
    # posts (1 % vs 3 % of 1,500 views), stored through the collector's own path.
    late = [p for p in placements if p not in early]
    _publish(late)
    for placement in late:
        comments = 15 if placement.variant.label == "A" else 45
        store_post_snapshot(placement.target, {"impressions": 1500, "reach": 1200, "comments": comments})
    page.reload()
    expect(page.locator("#status-line")).to_contain_text("B performed better (p = 0.000")
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    expect(page.locator("#winner")).to_have_count(0)  # the conclusion is recorded by a person
    page.get_by_role("button", name="Conclude").click()
    expect(page.locator("#winner")).to_contain_text("Winner: variant B.")
    experiment.refresh_from_db()
    assert experiment.status == "concluded" and experiment.conclusion["winner"] == "B"
    shot(page, "concluded experiment")
    _screen(page, "experiment-concluded-en-desktop", DESKTOP)

    # Promoted: variant B's text and image as a new draft on the other website, to review.
    page.locator("#experiment-actions").get_by_label("Website · Stories (FR)").check()
    page.get_by_role("button", name="Promote the winner").click()
    expect(page.locator("main")).to_contain_text("The valley where the well was dug.")
    promoted = PostTarget.objects.exclude(experiment_placement__isnull=False).get(
        workspace=sample, text="The valley where the well was dug."
    )
    assert promoted.status == "draft" and promoted.channel.name == "Website · Stories (FR)"
    assert [m["media_id"] for m in promoted.media] == [landscape.pk]
    assert page.url.endswith(f"/targets/{promoted.pk}/")
    assert AuditEvent.objects.filter(
        action="experiment.promoted", object_id=str(experiment.pk), workspace=sample
    ).exists()
    page.goto(f"/w/{sample.slug}/experiments/")
    expect(page.locator("#learning-log")).to_contain_text("A person or a landscape?: variant B")
    shot(page, "experiments and learning log")
    assert errors == []


@pytest.mark.parametrize(("locale", "viewport"), [("fr-FR", DESKTOP), ("fr-FR", PHONE), ("en-US", PHONE)])
def test_the_experiment_pages_in_french_and_on_a_phone(
    new_page: NewPage, shot: Shot, cast: Cast, locale: str, viewport: dict[str, int]
) -> None:
    sample = load_demo(days=40, posts_per_day=2, owner=cast.owner)
    page = new_page(locale=locale, viewport=viewport)
    _login(page, cast.owner.email)
    page.goto(f"/w/{sample.slug}/experiments/")
    shot(page, f"experiments {locale} {viewport['width']}")
    concluded = Experiment.objects.get(workspace=sample, status="concluded")
    page.goto(f"/w/{sample.slug}/experiments/{concluded.pk}/")
    if locale.startswith("fr"):
        expect(page.locator("#winner")).to_contain_text("Gagnante : variante B")
    shot(page, f"concluded {locale} {viewport['width']}")
    device = "desktop" if viewport == DESKTOP else "phone"
    _screen(page, f"experiment-concluded-{locale[:2]}-{device}", viewport)
    page.goto(f"/w/{sample.slug}/experiments/new/")
    if locale.startswith("fr"):
        expect(page.locator("#paid-split legend")).to_have_text(
            "Test fractionné payant sur Meta (uniquement pour ce plan d’expérience)"
        )
        expect(page.locator("label[for=id_budget]")).to_contain_text("Budget par variante")
    _screen(page, f"experiment-new-{locale[:2]}-{device}", viewport)


def test_a_paid_split_from_the_form_sends_one_split_test_and_charts_the_ads_results(
    new_page: NewPage,
    shot: Shot,
    cast: Cast,
    meta: MetaMarketingFake,  # noqa: F811
) -> None:
    facebook = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )
    account = ads.connect_ad_account(
        cast.workspace,
        actor=cast.owner,
        channel=facebook,
        external_id="1234",
        access_token="system-user-token",
    )
    ads.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=None,
    )
    page = new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, cast.owner.email)

    page.goto(f"/w/{cast.workspace.slug}/experiments/new/")
    page.get_by_label("Question").fill("Does a photo of a person beat a landscape?")
    page.get_by_label("Design").select_option("paid_split")
    page.get_by_label("Seas Alive").check()
    page.locator("#id_variant_a").fill("A person, smiling")
    page.locator("#id_variant_b").fill("A wide landscape")
    first = timezone.localtime(timezone.now() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("First slot").fill(first)
    page.get_by_label("Number of slots").fill("2")
    paid_form = page.locator("#paid-split")
    paid_form.locator("#id_ad_account").select_option(str(account.pk))
    paid_form.locator("#id_budget").fill("20.00")
    paid_form.locator("#id_days").fill("5")
    paid_form.locator("#id_countries").fill("us, CA")
    paid_form.locator("#id_age_min").fill("25")
    paid_form.locator("#id_age_max").fill("54")
    shot(page, "paid split form")
    # By the keyboard, as above.
    page.get_by_role("button", name="Create and schedule the variants").press("Enter")
    expect(page.locator("#paid-split-settings")).to_contain_text("20.00 EUR per day")
    expect(page.locator("#paid-split-settings")).to_contain_text("5 days")
    expect(page.locator("#split-test-state")).to_contain_text("not created yet")
    experiment = Experiment.objects.get()
    assert experiment.design == "paid_split"
    assert experiment.paid_split == {
        "account": account.pk,
        "objective": "engagement",
        "budget_kind": "daily",
        "budget_minor": 2000,
        "days": 5,
        "audience": {"countries": ["US", "CA"], "age_min": 25, "age_max": 54},
    }

    # The posts publish on the Page (the Meta fake), then the ads, then one split test.
    placements = list(experiment.placements.select_related("variant").order_by("variant"))
    ids = [p.target_id for p in placements]
    PostTarget.objects.filter(pk__in=ids).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, claimed = dispatch.claim_due()
    assert sorted(claimed) == sorted(ids)
    assert [engine.publish_one(pk, attempt_id) for pk in claimed] == ["published"] * 2
    assert paid.advance(experiment.pk) == "boosts requested"
    boosts = sorted(paid.boosts_of(experiment).values(), key=lambda b: b.pk)
    assert [creating.run(b.pk) for b in boosts] == ["in_review"] * 2
    assert paid.advance(experiment.pk) == "study created"

    posts = list(PostTarget.objects.filter(pk__in=ids).order_by("pk").values_list("external_id", flat=True))
    adsets = meta.creates("adset")
    assert len(meta.creates("campaign")) == len(adsets) == len(meta.creates("ad")) == 2
    assert {c["objective"] for c in meta.creates("campaign")} == {"OUTCOME_ENGAGEMENT"}
    for adset in adsets:
        assert adset["daily_budget"] == "2000"
        assert json.loads(adset["targeting"]) == {
            "geo_locations": {"countries": ["US", "CA"]},
            "age_min": 25,
            "age_max": 54,
        }
        span = dt.datetime.fromisoformat(adset["end_time"]) - dt.datetime.fromisoformat(adset["start_time"])
        assert span == dt.timedelta(days=5)
    assert len({(a["start_time"], a["end_time"]) for a in adsets}) == 1
    assert sorted(c["object_story_id"] for c in meta.creates("creative")) == sorted(posts)
    (study,) = meta.study_creates()
    assert (
        study["type"] == "SPLIT_TEST" and study["description"] == "Does a photo of a person beat a landscape?"
    )
    cells = json.loads(study["cells"])
    assert [c["treatment_percentage"] for c in cells] == [50, 50]
    assert [c["adsets"] for c in cells] == [[b.created_objects()["adset"]] for b in boosts]

    # Two days of the ads' results: the chart and the verdict read them, not the posts' metrics.
    today = timezone.localdate()
    figures = {0: (3000, 60), 1: (3000, 90)}  # per day: impressions, engagements (A 2 %, B 3 %)
    for index, boost in enumerate(boosts):
        impressions, engagements = figures[index]
        meta.insight_rows_by_ad[boost.created_objects()["ad"]] = [
            {
                "date_start": (today - dt.timedelta(days=offset)).isoformat(),
                "date_stop": (today - dt.timedelta(days=offset)).isoformat(),
                "spend": "19.50",
                "impressions": str(impressions),
                "reach": str(impressions * 3 // 4),
                "clicks": "12",
                "inline_post_engagement": str(engagements),
                "actions": [],
            }
            for offset in (1, 0)
        ]
        Boost.objects.filter(pk=boost.pk).update(starts_at=timezone.now() - dt.timedelta(days=2))
        collect.collect(boost.pk)
    page.reload()
    expect(page.locator("#split-test-state")).to_contain_text(f"created (study {meta.of('study')[0]})")
    expect(page.locator("#chart-source")).to_contain_text("From the split test's ads")
    missing = experiment.needed_per_variant - 6000
    expect(page.locator("#status-line")).to_contain_text(
        f"Not enough data yet — about {missing:,} more impressions per variant from the split test."
    )
    chart = json.loads(page.locator("#experiment-chart").text_content() or "{}")
    assert chart["source"] == "ads"
    assert chart["days"] == [(today - dt.timedelta(days=1)).isoformat(), today.isoformat()]
    # Cumulative Beta(1 + hits, 1 + misses) means: A 60/3000 then 120/6000, B 90/3000 then 180/6000.
    assert chart["series"]["A"]["mean"] == [round(100 * 61 / 3002, 3), round(100 * 121 / 6002, 3)]
    assert chart["series"]["B"]["mean"] == [round(100 * 91 / 3002, 3), round(100 * 181 / 6002, 3)]
    assert page.evaluate("() => !!Chart.getChart('chart-experiment')")
    shot(page, "paid split running with the ads results")
    assert errors == []
    for locale, viewport in [("en-US", DESKTOP), ("en-US", PHONE), ("fr-FR", DESKTOP), ("fr-FR", PHONE)]:
        other = new_page(locale=locale, viewport=viewport)
        _login(other, cast.owner.email)
        other.goto(f"/w/{cast.workspace.slug}/experiments/{experiment.pk}/")
        assert other.evaluate("() => !!Chart.getChart('chart-experiment')")
        if locale.startswith("fr"):
            expect(other.locator("#status-line")).to_contain_text(
                f"environ {missing:,} impressions de plus".replace(",", "\u00a0")
            )
            expect(other.locator("#chart-source")).to_contain_text(
                "D’après les publicités du test fractionné"
            )
            expect(other.locator("#paid-split-settings")).to_contain_text("20,00 EUR par jour")
            expect(other.locator("#paid-split-settings")).to_contain_text("5 jours")
        device = "desktop" if viewport == DESKTOP else "phone"
        _screen(other, f"experiment-paid-split-{locale[:2]}-{device}", viewport)
