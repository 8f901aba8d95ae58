"""Bulk import as real campaign files arrive: several channels in one cell with `,`, `;` or `|`
(unless a channel's name holds that character), the errors file in the upload's own delimiter,
encoding and BOM, media alt text, and the composer's network rules on every row."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from chorus.bulk import actions
from chorus.bulk.models import ImportJob
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.media.actions import upload
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
YEAR = dt.date.today().year + 1


def _sink(cast: Cast, name: str) -> Channel:
    return connect_channel(workspace=cast.workspace, kind="sink", name=name, config={}, credentials={})


@pytest.fixture
def channels(cast: Cast) -> tuple[Channel, Channel, Channel]:
    return _sink(cast, "Sink A"), _sink(cast, "Sink B"), _sink(cast, "Sink C")


def run(cast: Cast, data: bytes, filename: str = "f.csv") -> ImportJob:
    job = actions.create_job(cast.workspace, actor=cast.owner, data=data, filename=filename)
    return actions.check(job.pk)


@pytest.mark.parametrize(
    "cell", ['"Sink A,Sink B"', "Sink A|Sink B", '"Sink A ; Sink B"', '" sink a , SINK B "']
)
def test_several_channels_in_one_cell_of_a_semicolon_file(cast: Cast, channels, cell) -> None:
    """The campaign file that failed: a semicolon-delimited CSV with `"a,b"` in its channel cell."""
    data = f"date;channels;text\n{YEAR}-05-01 09:00;{cell};Launch day\n".encode()
    job = run(cast, data)
    assert job.report["ok"] == 1, job.report
    assert job.report["rows"][0]["channels"] == ["Sink A", "Sink B"]
    actions.begin_import(job, actor=cast.owner)
    imported = PostTarget.objects.filter(workspace=cast.workspace).values_list("channel__name", flat=True)
    assert sorted(imported) == ["Sink A", "Sink B"]


def test_a_separator_inside_a_channel_name_is_not_a_separator(cast: Cast, channels) -> None:
    _sink(cast, "Paris, FR")
    data = (
        "date,channels,text\n"
        f'{YEAR}-05-01 09:00,"Paris, FR",One channel with a comma in its name\n'
        f'{YEAR}-05-02 09:00,"Paris, FR|Sink C",Two channels\n'
        f'{YEAR}-05-03 09:00,"Sink A,Sink B",Comma is no separator in this workspace\n'
    ).encode()
    rows = {r["row"]: r for r in run(cast, data).report["rows"]}
    assert rows[2]["channels"] == ["Paris, FR"] and rows[2]["status"] == "ok"
    assert rows[3]["channels"] == ["Paris, FR", "Sink C"] and rows[3]["status"] == "ok"
    assert rows[4]["errors"] == [
        {"column": "channels", "reason": "no channel named 'Sink A,Sink B' in this workspace"}
    ]


def test_a_semicolon_file_with_bom_gets_a_semicolon_errors_file_with_bom(
    cast: Cast, channels, owner_client
) -> None:
    page = owner_client.get(reverse("bulk:import", kwargs={"slug": cast.workspace.slug})).content.decode()
    assert "separate them with a comma, a semicolon or |" in page  # the accepted separators, documented
    text = (
        "date;channels;text\r\n"
        f"{YEAR}-05-01 09:00;Sink A,Sink B;Été à Paris\r\n"
        "pas une date;Sink A;Mauvaise date, avec virgule\r\n"
        f"{YEAR}-05-02 09:00;Nulle part;Canal inconnu\r\n"
    )
    response = owner_client.post(
        reverse("bulk:import", kwargs={"slug": cast.workspace.slug}),
        {"file": SimpleUploadedFile("campagne.csv", text.encode("utf-8-sig")), "date_order": "iso"},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get(workspace=cast.workspace)
    assert job.file_format == {"delimiter": ";", "encoding": "utf-8-sig"}
    assert job.report["ok"] == 1 and job.report["bad"] == 2
    bad = owner_client.get(reverse("bulk:bad_rows", kwargs={"slug": cast.workspace.slug, "job_id": job.pk}))
    assert bad["Content-Type"] == "text/csv; charset=utf-8"
    body = bad.content
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body[3:].decode("utf-8").splitlines()
    assert lines[0] == "date;channels;text;error"
    assert lines[1].startswith("pas une date;Sink A;Mauvaise date, avec virgule;date: ")
    assert lines[2].startswith(f"{YEAR}-05-02 09:00;Nulle part;Canal inconnu;channels: ")
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("encoding", "delimiter", "head"),
    [("cp1252", ",", b"date,channels"), ("utf-16", ";", b"\xff\xfe"), ("utf-8", "\t", b"date\tchannels")],
)
def test_the_errors_file_keeps_the_encoding_and_delimiter_of_the_upload(
    cast: Cast, channels, encoding, delimiter, head
) -> None:
    text = f"date{delimiter}channels{delimiter}text\nhier{delimiter}Sink A{delimiter}Crème brûlée\n"
    job = run(cast, text.encode(encoding))
    body = actions.bad_rows_file(job)
    assert body.startswith(head)
    assert (
        body.decode(encoding)
        .lstrip("\ufeff")
        .splitlines()[1]
        .startswith(delimiter.join(["hier", "Sink A", "Crème brûlée", "date: "]))
    )


def test_an_xlsx_upload_gets_a_comma_errors_file(cast: Cast, channels) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["date", "channels", "text"])
    sheet.append(["yesterday", "Sink A", "Bad date"])
    buffer = BytesIO()
    book.save(buffer)
    job = run(cast, buffer.getvalue(), "f.xlsx")
    assert actions.bad_rows_file(job).decode("utf-8").splitlines()[0] == "date,channels,text,error"


def test_rows_get_the_composers_network_rules(cast: Cast, channels) -> None:
    bluesky = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="NGO on Bluesky",
        config={"handle": "ngo.bsky.social", "did": "did:plc:x"},
        credentials={},
    )
    buffer = BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG")
    upload(cast.workspace, cast.owner, SimpleUploadedFile("oak.png", buffer.getvalue()))
    data = (
        "date,channels,text,media,alt\n"
        f"{YEAR}-05-01 09:00,{bluesky.name},{'é' * 301},,\n"
        f"{YEAR}-05-02 09:00,{bluesky.name},An oak,oak.png,\n"
        f"{YEAR}-05-03 09:00,{bluesky.name},An oak,oak.png,A young oak in the park\n"
    ).encode()
    job = run(cast, data)
    rows = {r["row"]: r for r in job.report["rows"]}
    assert rows[2]["errors"] == [
        {
            "column": "text",
            "reason": "NGO on Bluesky: 301 characters; Bluesky allows 300 (or post it as a thread).",
        }
    ]
    assert rows[3]["errors"] == [
        {"column": "media", "reason": "NGO on Bluesky: This workspace requires alt text on every image."}
    ]
    assert rows[4]["status"] == "ok"
    actions.begin_import(job, actor=cast.owner)
    target = PostTarget.objects.get(workspace=cast.workspace)
    assert target.media[0]["alt"] == "A young oak in the park"
    assert target.status == PostTarget.Status.SCHEDULED
