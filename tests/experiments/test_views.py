"""The experiments pages: create and schedule from the form, see what can be concluded, act."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.content.models import PostTarget
from chorus.experiments.models import Experiment

pytestmark = pytest.mark.django_db


def _form(channel, **extra):
    first = (
        timezone.localtime(timezone.now() + dt.timedelta(days=2), timezone.get_current_timezone())
    ).strftime("%Y-%m-%dT%H:%M")
    return {
        "question": "Photo of a person or a landscape?",
        "metric": "engagement_rate",
        "design": "alternation",
        "baseline_rate": "2",
        "minimum_effect": "0.4",
        "channels": [channel.pk],
        "variant_a": "A person",
        "variant_b": "A landscape",
        "first_slot": first,
        "every_days": "1",
        "slots": "6",
        **extra,
    }


def test_an_editor_creates_an_experiment_and_sees_how_much_data_it_needs(cast, sink_channel):
    client = cast.client_for(cast.members["editor"])
    response = client.post(reverse("experiments:new", args=[cast.workspace.slug]), _form(sink_channel))

    experiment = Experiment.objects.get(workspace=cast.workspace)
    assert response.status_code == 302 and str(experiment.pk) in response["Location"]
    assert PostTarget.objects.filter(experiment_placement__experiment=experiment).count() == 6
    page = client.get(response["Location"]).content.decode()
    assert "Not enough data yet" in page and "impressions per variant" in page
    assert 'id="progress"' in page
    listing = client.get(reverse("experiments:list", args=[cast.workspace.slug])).content.decode()
    assert experiment.question in listing


def test_two_image_variants_from_the_library_go_onto_their_posts(cast, sink_channel):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from chorus.media.actions import upload

    def image(name: str, colour: str):
        buffer = BytesIO()
        Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
        return upload(cast.workspace, cast.owner, SimpleUploadedFile(name, buffer.getvalue()))[0]

    person, landscape = image("person.png", "orange"), image("landscape.png", "blue")
    client = cast.client_for(cast.members["editor"])
    form = _form(sink_channel, image_a=str(person.pk), image_b=str(landscape.pk), slots="4")

    response = client.post(reverse("experiments:new", args=[cast.workspace.slug]), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.get(workspace=cast.workspace)
    assert [[m["media_id"] for m in v.media] for v in experiment.variants.all()] == [
        [person.pk],
        [landscape.pk],
    ]
    for placement in experiment.placements.select_related("variant", "target"):
        expected = person.pk if placement.variant.label == "A" else landscape.pk
        assert [m["media_id"] for m in placement.target.media] == [expected]
        assert placement.target.status == PostTarget.Status.IN_REVIEW  # an editor may not approve
    other = cast.client_for(cast.members["editor"])
    foreign = other.post(
        reverse("experiments:new", args=[cast.workspace.slug]), {**form, "image_a": str(person.pk + 999)}
    )
    assert foreign.status_code == 200 and Experiment.objects.count() == 1  # not an asset of this library


def test_a_past_first_slot_is_refused_on_the_form(cast, sink_channel):
    client = cast.client_for(cast.owner)
    response = client.post(
        reverse("experiments:new", args=[cast.workspace.slug]),
        _form(sink_channel, first_slot="2020-01-01T10:00"),
    )
    assert response.status_code == 200
    assert "must be in the future" in response.content.decode()
    assert not Experiment.objects.exists()


def test_a_viewer_reads_but_cannot_create_or_stop(cast, sink_channel):
    experiment = Experiment.objects.create(workspace=cast.workspace, question="Q?", status="running")
    viewer = cast.client_for(cast.members["viewer"])
    assert (
        viewer.get(reverse("experiments:detail", args=[cast.workspace.slug, experiment.pk])).status_code
        == 200
    )
    assert viewer.get(reverse("experiments:new", args=[cast.workspace.slug])).status_code == 403
    stop = reverse("experiments:action", args=[cast.workspace.slug, experiment.pk, "stop"])
    assert viewer.post(stop).status_code == 403


def test_another_workspace_s_experiment_is_not_found(cast):
    experiment = Experiment.objects.create(workspace=cast.other_workspace, question="Theirs?")
    client = cast.client_for(cast.owner)
    url = reverse("experiments:detail", args=[cast.workspace.slug, experiment.pk])
    assert client.get(url).status_code == 404


def test_the_api_creates_schedules_and_reads_an_experiment(cast, sink_channel):
    from chorus.accounts.models import ApiToken

    _token, raw = ApiToken.issue(cast.members["editor"], "tests")
    headers = {"Authorization": f"Bearer {raw}"}
    first = timezone.now() + dt.timedelta(days=1)
    payload = {
        "question": "Morning or evening?",
        "channel_ids": [sink_channel.pk],
        "variants": [{"text": "Morning words"}, {"text": "Evening words"}],
        "slots": [(first + dt.timedelta(days=i)).isoformat() for i in range(4)],
    }
    url = f"/api/workspaces/{cast.workspace.slug}/experiments"

    created = cast.client_for(None).post(url, payload, content_type="application/json", headers=headers)

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "running" and 20_500 <= body["needed_per_variant"] <= 21_500
    assert [v["posts_planned"] for v in body["variants"]] == [2, 2]
    early = cast.client_for(None).post(f"{url}/{body['id']}/conclude", headers=headers)
    assert early.status_code == 409 and "Not enough data yet" in early.json()["detail"]
    refused = cast.client_for(None).post(
        url, {**payload, "slots": ["2020-01-01T00:00:00Z"]}, content_type="application/json", headers=headers
    )
    assert refused.status_code == 422 and "future" in refused.json()["detail"]
    assert Experiment.objects.count() == 1  # the refused one left nothing behind


def test_the_sample_workspace_has_a_concluded_and_a_running_experiment(cast):
    from chorus.analytics.demo import load_demo

    sample = load_demo(days=40, posts_per_day=2, owner=cast.owner)

    concluded = Experiment.objects.get(workspace=sample, status="concluded")
    running = Experiment.objects.get(workspace=sample, status="running")
    assert concluded.conclusion["winner"] == "B" and concluded.learning.summary
    client = cast.client_for(cast.owner)
    page = client.get(reverse("experiments:detail", args=[sample.slug, running.pk])).content.decode()
    assert "Not enough data yet — about" in page
    assert running.placements.filter(target__status="scheduled").count() == 6


def test_a_paid_split_from_the_form_records_its_budget_duration_and_audience(cast, page, meta_account):
    client = cast.client_for(cast.owner)
    url = reverse("experiments:new", args=[cast.workspace.slug])
    form = _form(page, design="paid_split", slots="2", ad_account=meta_account.pk)
    missing = client.post(url, form)
    assert missing.status_code == 200 and not Experiment.objects.exists()
    errors = missing.context["form"].errors
    assert errors["budget"] == ["Give each variant's budget."]
    assert errors["days"] == ["Say how many days the split test runs."]
    assert errors["countries"] == ["Choose a saved audience or give the countries to reach."]
    wrong = client.post(url, {**form, "budget": "20", "days": "5", "countries": "France"})
    assert wrong.context["form"].errors["countries"] == [
        "Countries are two-letter ISO codes, such as FR, SN, CA."
    ]

    response = client.post(
        url,
        {**form, "budget": "20.50", "days": "5", "countries": "fr, sn", "age_min": "25", "age_max": "54"},
    )
    experiment = Experiment.objects.get()
    assert response.status_code == 302
    assert experiment.design == "paid_split" and list(experiment.channels.all()) == [page]
    assert experiment.paid_split == {
        "account": meta_account.pk,
        "objective": "engagement",
        "budget_kind": "daily",
        "budget_minor": 2050,
        "days": 5,
        "audience": {"countries": ["FR", "SN"], "age_min": 25, "age_max": 54},
    }
    detail = client.get(response["Location"])
    assert "20.50 EUR" in detail.content.decode() and "not created yet" in detail.content.decode()


def test_an_organic_experiment_ignores_the_paid_fields(cast, sink_channel):
    client = cast.client_for(cast.owner)
    response = client.post(
        reverse("experiments:new", args=[cast.workspace.slug]), _form(sink_channel, countries="nonsense")
    )
    assert response.status_code == 302
    assert Experiment.objects.get().paid_split == {}
