"""Bulk import: the file matrix, the dry run's precise report, no duplicates, Hootsuite files,
DST wall times, and export → import round trips."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from chorus.bulk import actions, exporting
from chorus.bulk.models import ImportJob
from chorus.bulk.parsing import BadFile
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTarget
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
YEAR = dt.date.today().year + 1


@pytest.fixture
def channels(cast: Cast) -> tuple[Channel, Channel]:
    a = connect_channel(workspace=cast.workspace, kind="sink", name="Sink A", config={}, credentials={})
    b = connect_channel(workspace=cast.workspace, kind="sink", name="Sink B", config={}, credentials={})
    return a, b


def run(
    cast: Cast, data: bytes, order: str = "iso", defaults: list[int] | None = None, role: str = "owner"
) -> ImportJob:
    job = actions.create_job(
        cast.workspace,
        actor=cast.members[role],
        data=data,
        filename="f.csv",
        date_order=order,
        default_channels=defaults or [],
    )
    return actions.check(job.pk)


SAMPLE = (
    f'date;channels;text;tags\n{YEAR}-05-01 09:00;Sink A|Sink B;"Été ☀️ à Paris,\nsecond line";launch|été\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_it_reads_every_encoding_and_delimiter_with_quoted_newlines(
    cast: Cast, channels, encoding, delimiter
):
    text = SAMPLE.replace(";", delimiter)
    if encoding == "cp1252":
        text = text.replace(" ☀️", "")  # Windows-1252 has no emoji
    job = run(cast, text.encode(encoding))
    assert job.report["ok"] == 1, job.report
    imported = actions.import_rows(job.pk) if actions.begin_import(job, actor=cast.owner) is None else job
    targets = PostTarget.objects.filter(workspace=cast.workspace)
    assert targets.count() == 2
    assert all(t.text.startswith("Été") and "\nsecond line" in t.text for t in targets)
    assert imported.status == ImportJob.Status.DONE


def test_it_reports_bad_rows_with_row_column_and_reason_and_keeps_the_good_ones(cast: Cast, channels):
    data = (
        "date,channels,text,link\n"
        f"{YEAR}-05-01 09:00,Sink A,Good one,\n"
        f"2001-01-01 09:00,Sink A,In the past,\n"
        f"{YEAR}-05-02 09:00,Nowhere,Unknown channel,\n"
        f"{YEAR}-05-03 09:00,Sink A,{'x' * 600},\n"
        f"{YEAR}-05-04 09:00,Sink A,Bad link,ftp://example.org/x\n"
        f"not a date,Sink A,Bad date,\n"
    ).encode()
    job = run(cast, data)
    rows = {r["row"]: r for r in job.report["rows"]}
    assert rows[2]["status"] == "ok"
    assert rows[3]["errors"][0] == {
        "column": "date",
        "reason": "Mon 1 Jan, 09:00 (Paris) has already passed: choose a later time, or publish now.",
    }
    assert rows[4]["errors"] == [
        {"column": "channels", "reason": "no channel named 'Nowhere' in this workspace"}
    ]
    assert rows[5]["errors"][0]["column"] == "text" and "600 characters" in rows[5]["errors"][0]["reason"]
    assert rows[6]["errors"][0]["column"] == "link"
    assert rows[7]["errors"][0]["column"] == "date"
    bad = actions.bad_rows_csv(job).splitlines()
    assert bad[0] == "date,channels,text,link,error" and len(bad) == 6
    actions.begin_import(job, actor=cast.owner)
    assert PostTarget.objects.filter(workspace=cast.workspace).count() == 1


def test_it_creates_no_duplicates_when_the_same_file_is_uploaded_twice(cast: Cast, channels):
    data = f"date,channels,text\n{YEAR}-05-01 09:00,Sink A,Once\n".encode()
    first = run(cast, data)
    actions.begin_import(first, actor=cast.owner)
    second = run(cast, data)
    assert second.report["duplicates"] == 1 and second.report["ok"] == 0
    assert PostTarget.objects.filter(workspace=cast.workspace).count() == 1


def test_it_reads_hootsuite_bulk_composer_files_day_first(cast: Cast, channels):
    a, _b = channels
    data = f'15/06/{YEAR} 14:30,"Hello, Hootsuite",https://example.org/story\n'.encode()
    job = run(cast, data, order="dmy", defaults=[a.pk])
    actions.begin_import(job, actor=cast.owner)
    target = PostTarget.objects.get(workspace=cast.workspace)
    assert target.channel == a and target.status == PostTarget.Status.SCHEDULED
    assert target.text == "Hello, Hootsuite https://example.org/story"
    assert target.scheduled_at == dt.datetime(YEAR, 6, 15, 12, 30, tzinfo=dt.UTC)  # Paris summer time


def test_it_moves_a_wall_time_in_the_dst_gap_forward_and_says_so(cast: Cast, channels):
    import zoneinfo

    # The last Sunday of March, 02:30 does not exist in Paris.
    day = max(d for d in (dt.date(YEAR, 3, n) for n in range(25, 32)) if d.weekday() == 6)
    job = run(cast, f"date,channels,text\n{day} 02:30,Sink A,Spring\n".encode())
    row = job.report["rows"][0]
    assert "clocks go forward" in row["note"]
    actions.begin_import(job, actor=cast.owner)
    target = PostTarget.objects.get(workspace=cast.workspace)
    local = target.scheduled_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (3, 0) and "clocks go forward" in target.schedule_note


def test_it_keeps_per_channel_text_overrides_and_offsets(cast: Cast, channels):
    job = run(
        cast,
        f"date,channels,text,text:Sink B\n{YEAR}-05-01T09:00+00:00,Sink A;Sink B,Base,Special\n".encode(),
    )
    actions.begin_import(job, actor=cast.owner)
    texts = dict(PostTarget.objects.values_list("channel__name", "text"))
    assert texts == {"Sink A": "Base", "Sink B": "Special"}
    assert PostTarget.objects.first().scheduled_at == dt.datetime(YEAR, 5, 1, 9, 0, tzinfo=dt.UTC)


def test_an_editor_import_waits_in_review_with_the_time_asked(cast: Cast, channels):
    job = run(cast, f"date,channels,text\n{YEAR}-05-01 09:00,Sink A,Editor\n".encode(), role="editor")
    actions.begin_import(job, actor=cast.members["editor"])
    target = PostTarget.objects.get(workspace=cast.workspace)
    assert target.status == PostTarget.Status.IN_REVIEW and target.options["planned_at"].startswith(str(YEAR))


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x01\x02binary\x00", b'date,text\n"unclosed,quote\n', b"[{bad json"]
)
def test_it_refuses_a_malformed_file_with_a_clear_error(cast: Cast, data):
    with pytest.raises(BadFile):
        actions.create_job(cast.workspace, actor=cast.owner, data=data, filename="x.csv")


def test_it_round_trips_export_and_import_in_csv_and_json(cast: Cast, channels):
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    data = (
        f"date,channels,text,text:Sink B,campaign,tags\n"
        f"{YEAR}-05-01 09:00,Sink A|Sink B,Base é,Special,Spring,a|b\n"
        f"{YEAR}-05-02 10:00,Sink A,Second,,,\n"
    ).encode()
    actions.begin_import(run(cast, data), actor=cast.owner)
    items = exporting.export_items(cast.workspace, exporting.targets_for(cast.workspace))
    assert items[0]["overrides"] == {"Sink B": "Special"} and items[0]["campaign"] == "Spring"
    # Into a fresh copy of the workspace's channels: delete and re-import, both formats.
    for payload in (exporting.as_csv(items).encode("utf-8"), json.dumps(items).encode()):
        PostTarget.objects.all().delete()
        from chorus.bulk.models import ImportedRow

        ImportedRow.objects.all().delete()
        job = run(cast, payload)
        assert job.report["ok"] == 2, job.report
        actions.begin_import(job, actor=cast.owner)
        again = exporting.export_items(cast.workspace, exporting.targets_for(cast.workspace))
        assert [{**i, "status": ""} for i in again] == [{**i, "status": ""} for i in items]
    assert PostTarget.objects.filter(post__campaign=campaign).count() == 2


def test_it_uploads_checks_imports_and_serves_bad_rows_through_the_pages(cast: Cast, channels, owner_client):
    url = reverse("bulk:import", kwargs={"slug": cast.workspace.slug})
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = f"date,channels,text\n{YEAR}-05-01 09:00,Sink A,Good\nnope,Sink A,Bad\n".encode()
    response = owner_client.post(url, {"file": SimpleUploadedFile("p.csv", body), "date_order": "iso"})
    job = ImportJob.objects.get(workspace=cast.workspace)
    assert response.status_code == 302 and job.status == ImportJob.Status.CHECKED
    page = owner_client.get(reverse("bulk:job", kwargs={"slug": cast.workspace.slug, "job_id": job.pk}))
    assert "Import 1 good row" in page.content.decode()
    bad = owner_client.get(reverse("bulk:bad_rows", kwargs={"slug": cast.workspace.slug, "job_id": job.pk}))
    assert "nope,Sink A,Bad," in bad.content.decode()
    owner_client.post(reverse("bulk:commit", kwargs={"slug": cast.workspace.slug, "job_id": job.pk}))
    assert PostTarget.objects.filter(workspace=cast.workspace).count() == 1
    bad_upload = owner_client.post(
        url, {"file": SimpleUploadedFile("p.csv", b"\x00\x00\x00"), "date_order": "iso"}
    )
    assert bad_upload.status_code == 200 and "could not be read as text" in bad_upload.content.decode()


def test_another_workspaces_import_is_a_404(cast: Cast, channels):
    job = ImportJob.objects.create(workspace=cast.other_workspace, filename="x.csv")
    client = cast.client_for(cast.owner)
    assert (
        client.get(reverse("bulk:job", kwargs={"slug": cast.workspace.slug, "job_id": job.pk})).status_code
        == 404
    )
