"""The report as a board reads it: a cover (organisation, logo, period, time zone), translated
labels, the reader's number and date formats, tables inside the A4 page, the same figures in the
PDF and the HTML view. The PDF is read back with poppler's pdftotext, as a person would read it."""

from __future__ import annotations

import io
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from chorus.analytics import figures, reports
from chorus.analytics.demo import load_demo
from chorus.analytics.models import Amplification, AnalyticsSettings
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, Tag
from chorus.media.models import MediaAsset
from tests.analytics.test_reports import last_full_month, raw_month_sums
from tests.test_i18n import english_left_in, ensure_compiled_catalog, visible_text

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "reports"
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


@pytest.fixture
def sample(cast):
    ensure_compiled_catalog()
    return load_demo(days=70, posts_per_day=2, owner=cast.owner)


def logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 80), (200, 30, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_text(pdf: bytes, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def render(workspace, language: str, name: str) -> bytes:
    start, end = last_full_month(workspace)
    with translation.override(language):
        pdf = reports.render_pdf(reports.build(workspace, reports.ReportSpec(start, end)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)  # to look at (pdftoppm -png -r 60)
    return pdf


def names_in(workspace) -> set[str]:
    """What the team wrote (channel, post and workspace names): not English to translate."""
    names = {workspace.name, workspace.organization.name}
    names |= set(Channel.objects.filter(workspace=workspace).values_list("name", flat=True))
    names |= {str(p) for p in Post.objects.filter(workspace=workspace)}
    names |= set(Tag.objects.filter(workspace=workspace).values_list("name", flat=True))
    names |= set(Campaign.objects.filter(workspace=workspace).values_list("name", flat=True))
    for a in Amplification.objects.filter(workspace=workspace):
        names |= {a.display_name, a.handle, a.url, a.profile_url}
    for row in figures.breakdown(figures.Filters(workspace, *last_full_month(workspace)), "author"):
        names.add(row["name"])
    return {n for n in names if n}


def without(names: set[str], text: str) -> str:
    """`text` without the names, even where a cell wrapped them."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(r"\s+".join(re.escape(word) for word in name.split()), " ", text)
    return text


def test_the_french_pdf_report_has_no_english_and_no_raw_key(sample):
    text = re.sub(r"[ \t\r\n\f]+", " ", pdf_text(render(sample, "fr", "report-fr")))
    assert "Rapport de résultats" in text and "Sample organisation" in text
    start, end = last_full_month(sample)
    month = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"][start.month - 1]  # fmt: skip
    assert f"du 1 {month} {start.year} au {end.day} {month} {end.year}" in text
    assert "Europe/Paris" in text
    without_names = without(names_in(sample), text)
    assert english_left_in(without_names, set()) == []
    assert SNAKE_CASE.findall(without_names) == []
    # French numbers: a narrow or plain no-break space groups thousands, a comma holds decimals.
    assert not re.search(r"\d,\d{3}\b", without_names), "English thousands separator"
    assert not re.search(r"\d\.\d", without_names), "English decimal point"
    assert re.search(r"\d[\u00a0\u202f ]\d{3}", text)
    engagement = raw_month_sums(sample, start, end)["engagement"]
    grouped = f"{engagement:,}".replace(",", "[\u00a0\u202f ]")  # 5 535 (pdftotext may give a plain space)
    assert re.search(grouped, text)


def test_the_english_pdf_report_names_its_labels_and_zone(sample):
    text = pdf_text(render(sample, "en", "report-en"), "-layout")
    assert "Results report" in text and "Followers at end" in text and "Engagement rate" in text
    assert "Days and times are in the workspace's time zone: Paris (Europe/Paris)." in " ".join(text.split())
    assert "followers_start" not in text and "change_pct" not in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_text_box_of_the_pdf_is_inside_the_page(sample, language):
    pdf = render(sample, language, f"layout-{language}")
    bbox = pdf_text(pdf, "-bbox")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', bbox, re.S)
    assert len(pages) >= 3
    landscape = 0
    for number, (width, height, body) in enumerate(pages, 1):
        w, h = float(width), float(height)
        landscape += w > h
        words = re.findall(
            r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>', body
        )
        assert words, f"page {number} is empty"
        for x0, y0, x1, y1, word in words:
            assert float(x0) >= 0 and float(x1) <= w, (
                f"page {number}: {word!r} runs off the page ({x1} > {w})"
            )
            assert float(y0) >= 0 and float(y1) <= h, f"page {number}: {word!r} runs off the page"
    assert landscape >= 1  # the per-channel tables have their own landscape pages


class Tables(HTMLParser):
    """The report tables of an HTML page: {section: [[cell text, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section = ""
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "report-table") in attrs:
            self.section = dict(attrs)["data-section"] or ""
            self.tables[self.section] = []
        elif tag == "tr" and self.section:
            self.tables[self.section].append([])
        elif tag in ("td", "th") and self.section:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.section][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.section = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_html_view_shows_the_same_figures_as_the_pdf(sample, cast, language):
    start, end = last_full_month(sample)
    client = cast.client_for(cast.owner)
    client.cookies["chorus_language"] = language
    url = reverse("analytics:export", args=[sample.slug])
    query = {"start": start.isoformat(), "end": end.isoformat(), "sections": list(reports.SECTIONS)}
    html = client.get(url, {**query, "format": "html"}).content.decode()
    pdf = client.get(url, {**query, "format": "pdf"}).content
    parser = Tables()
    parser.feed(html)
    assert {"summary", "growth", "channels", "top_posts"} <= set(parser.tables)
    flat = " ".join(pdf_text(pdf).split())
    checked = 0
    for section in ("summary", "growth", "channels"):
        for row in parser.tables[section][1:]:
            # The row read across the PDF page: the same figures in the same order ("not
            # available" between them may wrap differently).
            figures = [c for c in row[1:] if re.search(r"\d", c)]
            if not figures:  # a channel whose network gives none of these numbers
                continue
            assert re.search(r"\s(?:\D*\s)?".join(re.escape(c) for c in figures), flat), (section, row)
            checked += 1
    assert checked >= 20
    summary = {row[0]: row[1] for row in parser.tables["summary"][1:]}
    engagement = raw_month_sums(sample, start, end)["engagement"]
    assert re.sub(r"[\s,]", "", summary["Engagement"]) == str(engagement)
    assert "not available" in visible_text(html, language) or "non disponible" in visible_text(html, language)


def test_a_logo_uploaded_in_the_settings_is_on_the_cover(sample, cast):
    client = cast.client_for(cast.owner)
    url = reverse("analytics:settings", args=[sample.slug])
    refused = client.post(url, {"action": "logo", "logo": SimpleUploadedFile("logo.png", b"not an image")})
    assert refused.status_code == 200
    assert AnalyticsSettings.objects.filter(workspace=sample, report_logo__isnull=False).count() == 0
    response = client.post(url, {"action": "logo", "logo": SimpleUploadedFile("logo.png", logo_png())})
    assert response.status_code == 302
    asset = AnalyticsSettings.objects.get(workspace=sample).report_logo
    assert asset is not None and asset.kind == MediaAsset.Kind.IMAGE and asset.workspace_id == sample.pk
    render(sample, "en", "report-logo")
    path = ARTIFACTS / "report-logo.pdf"
    images = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, check=True
    ).stdout.decode()
    assert any(line.split()[3:5] == ["240", "80"] for line in images.splitlines()[2:]), images
    client.post(url, {"action": "remove_logo"})
    assert AnalyticsSettings.objects.get(workspace=sample).report_logo is None
