"""Experiments in a real browser: create one with two image variants, see that it cannot conclude yet, read a concluded
one, promote its winner; in English and French, on a desktop and a phone."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from chorus.analytics.demo import load_demo
from chorus.content.models import PostTarget
from chorus.experiments.models import Experiment
from chorus.media.actions import upload
from tests.browser.conftest import NewPage, Shot
from tests.conftest import PASSWORD, Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _login(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_password")).to_have_count(0)


def _image(workspace, cast: Cast, name: str, colour: str):
    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return upload(workspace, cast.owner, SimpleUploadedFile(name, buffer.getvalue()))[0]


def test_a_team_runs_reads_and_promotes_experiments(new_page: NewPage, shot: Shot, cast: Cast) -> None:
    sample = load_demo(days=40, posts_per_day=2, owner=cast.owner)
    person, landscape = (
        _image(sample, cast, "person.png", "orange"),
        _image(sample, cast, "landscape.png", "blue"),
    )
    page = new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, cast.owner.email)

    # A new experiment on the sample website, scheduled from the form.
    page.goto(f"/w/{sample.slug}/experiments/new/")
    page.get_by_label("Question").fill("Short or long first line?")
    page.get_by_label("Website · News").check()
    page.locator("#id_variant_a").fill("Short.")
    page.locator("#id_variant_b").fill("A long first line that tells the whole story before the link.")
    page.locator("#id_image_a").select_option(str(person.pk))
    page.locator("#id_image_b").select_option(str(landscape.pk))
    first = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("First slot").fill(first)
    page.get_by_label("Number of slots").fill("4")
    shot(page, "new experiment form")
    page.get_by_role("button", name="Create and schedule the variants").click()
    expect(page.locator("#status-line")).to_contain_text("Not enough data yet")
    created = Experiment.objects.get(question="Short or long first line?")
    assert set(
        PostTarget.objects.filter(experiment_placement__experiment=created).values_list("status", flat=True)
    ) == {"scheduled"}
    for placement in created.placements.select_related("variant", "target"):
        image = person if placement.variant.label == "A" else landscape
        assert [m["media_id"] for m in placement.target.media] == [image.pk]

    # The running sample experiment: estimates with intervals, and how much is missing.
    running = Experiment.objects.exclude(pk=created.pk).get(workspace=sample, status="running")
    page.goto(f"/w/{sample.slug}/experiments/{running.pk}/")
    expect(page.locator("#status-line")).to_contain_text("more posts per variant")
    assert page.evaluate("() => !!Chart.getChart('chart-experiment')")
    shot(page, "running experiment")

    # The concluded one: its winner, promoted as a new draft on the other website.
    concluded = Experiment.objects.get(workspace=sample, status="concluded")
    page.goto(f"/w/{sample.slug}/experiments/{concluded.pk}/")
    expect(page.locator("#winner")).to_contain_text("variant B")
    shot(page, "concluded experiment")
    page.locator("#experiment-actions").get_by_label("Website · Stories (FR)").check()
    page.get_by_role("button", name="Promote the winner").click()
    expect(page.locator("main")).to_contain_text("Portrait of the storyteller")
    page.goto(f"/w/{sample.slug}/experiments/")
    expect(page.locator("#learning-log")).to_contain_text("variant B")
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
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, f"the page overflows: {width} px"
