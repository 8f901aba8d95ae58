"""Reports through the API with a personal token: request a period's report, fetch it in each
format; an id of another workspace, or a forged one, is a 404."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client
from openpyxl import load_workbook

from chorus.accounts.models import ApiToken
from chorus.analytics import reports
from chorus.analytics.demo import load_demo
from tests.analytics.test_reports import last_full_month, raw_month_sums

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(cast):
    return load_demo(days=70, posts_per_day=1, owner=cast.owner)


@pytest.fixture
def api(cast) -> Client:
    _token, raw = ApiToken.issue(cast.owner, "reports")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def request(api: Client, slug: str, **body):
    return api.post(
        f"/api/workspaces/{slug}/analytics/reports", data=json.dumps(body), content_type="application/json"
    )


def test_a_report_is_requested_and_fetched_in_each_format(api, sample):
    start, end = last_full_month(sample)
    raw = raw_month_sums(sample, start, end)
    files = {}
    for fmt in ("pdf", "xlsx", "csv"):
        asked = request(api, sample.slug, format=fmt, start=str(start), end=str(end))
        assert asked.status_code == 201, asked.content
        body = asked.json()
        assert (
            body["format"] == fmt
            and body["start"] == str(start)
            and body["sections"] == list(reports.SECTIONS)
        )
        fetched = api.get(body["url"])
        assert fetched.status_code == 200, fetched.content
        assert fetched["Content-Disposition"].endswith(f'.{fmt}"')
        files[fmt] = fetched.content
    assert files["pdf"].startswith(b"%PDF")
    book = load_workbook(io.BytesIO(files["xlsx"]))
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["posts"] == raw["posts"] > 0 and summary["engagement"] == raw["engagement"]
    rows = list(csv.reader(io.StringIO(files["csv"].decode())))
    assert ["posts", str(raw["posts"])] == rows[rows.index(["# summary"]) + 2][:2]


def test_a_report_of_chosen_sections_and_channels(api, sample):
    start, end = last_full_month(sample)
    channel = sample.channels.order_by("pk").first()
    body = request(
        api,
        sample.slug,
        format="xlsx",
        start=str(start),
        end=str(end),
        sections=["channels"],
        channels=[channel.pk],
    ).json()
    assert body["channels"] == [channel.pk]
    book = load_workbook(io.BytesIO(api.get(body["url"]).content))
    assert book.sheetnames == ["channels"]
    assert [row[0] for row in book["channels"].iter_rows(min_row=2, values_only=True)] == [channel.name]


def test_an_invalid_request_names_the_field(api, sample, cast):
    backwards = request(api, sample.slug, format="pdf", start="2026-03-31", end="2026-03-01")
    assert backwards.status_code == 422 and "period" in backwards.json()["fields"]
    theirs = cast.other_workspace.channels.create(kind="sink", name="Theirs")
    foreign = request(
        api, sample.slug, format="csv", start="2026-03-01", end="2026-03-31", channels=[theirs.pk]
    )
    assert foreign.status_code == 422 and "channels" in foreign.json()["fields"]
    unknown = request(api, sample.slug, format="csv", start="2026-03-01", end="2026-03-31", sections=["x"])
    assert unknown.status_code == 422 and "sections" in unknown.json()["fields"]
    assert request(api, sample.slug, format="doc", start="2026-03-01", end="2026-03-31").status_code == 422


def test_another_workspace_report_is_404(api, sample, cast):
    start, end = last_full_month(sample)
    # The owner of the sample is an owner of the cast's workspace too: a report asked there...
    mine = request(api, cast.workspace.slug, format="csv", start=str(start), end=str(end)).json()
    assert api.get(mine["url"]).status_code == 200
    # ...is not a report of the sample workspace, nor of a workspace one is not a member of.
    moved = f"/api/workspaces/{sample.slug}/analytics/reports/{mine['id']}"
    assert api.get(moved).status_code == 404 and api.get(moved).json()["code"] == "not_found"
    elsewhere = f"/api/workspaces/{cast.other_workspace.slug}/analytics/reports/{mine['id']}"
    assert api.get(elsewhere).status_code == 404
    forged = mine["url"][:-3] + ("abc" if not mine["url"].endswith("abc") else "xyz")
    assert api.get(forged).status_code == 404


def test_a_contributor_may_not_ask_for_a_report(cast):
    _token, raw = ApiToken.issue(cast.members["contributor"], "r")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    response = request(client, cast.workspace.slug, format="csv", start="2026-03-01", end="2026-03-31")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
