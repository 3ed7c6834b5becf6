"""The PDF report: rendered with WeasyPrint from the HTML templates, read back as text and as pixels."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from report.sample import HOSTILE_NAME, clean_report, picture_report, sample_report

from qc.branding import Branding
from qc.report import render_pdf, render_summary_pdf, summarize
from qc.report.pdf import allowed_url, html_to_pdf
from qc.resources import templates_dir

pytest.importorskip("weasyprint", reason="WeasyPrint is not installed")
pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (pip install -e '.[test]')")

BRAND = Branding(studio="Studio «Ærø» <b>", footer="Footer line & co", note='Note "quoted" <i>')


def pages_text(pdf: bytes) -> list[str]:
    """The text of every page, whitespace collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(picture_report(path=f"mixes/{HOSTILE_NAME}"), BRAND)


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return pages_text(pdf)


def test_it_is_a_pdf_of_a_sensible_length(pdf, pages):
    assert pdf.startswith(b"%PDF-")
    assert 3 <= len(pages) <= 8


def test_page_one_has_the_verdict_the_top_problems_and_the_key_numbers(pages):
    first = pages[0]
    assert "Needs a revision" in first
    assert "1 problem has to be fixed before delivery, plus 2 things worth a look." in first
    assert "What to fix first" in first
    for title in ("True peak above the delivery ceiling", "Louder than the streaming target", "Clicks"):
        assert title in first
    assert "Integrated loudness -9.1 LUFS target -14.0 LUFS ± 1.0 LU +4.9 LU" in first
    assert "True peak 0.3 dBTP ceiling -1.0 dBTP" in first


def test_the_findings_platforms_and_tonal_balance_are_in_the_document(pages):
    text = " ".join(pages)
    for expected in (
        "Findings",
        "Errors 1",
        "Warnings 2",
        "Measured 25 events Threshold 0",
        "1:01.250",
        "and 5 more",
        "On streaming platforms",
        "Spotify -14.0 LUFS -4.9 dB -4.6 dBTP",
        "Apple Music -16.0 LUFS -6.9 dB",
        "High mids 2 kHz–5 kHz +6.5 dB ± 5.5 dB too much",
        "Waveform.",
        "Stereo correlation.",
    ):
        assert expected in text, expected


def test_names_and_branding_are_shown_literally_with_non_latin_text(pages):
    text = " ".join(pages)
    assert "script> – Ærø 東京.wav" in pages[0]  # the title: the file name after the last "/"
    assert 'mixes/"<script>alert(1)</script> – Ærø 東京.wav' in text  # the File section, as text
    assert "Studio «Ærø» <b>" in pages[0] and 'Note "quoted" <i>' in pages[0]
    assert all("Footer line & co" in page for page in pages)  # the running footer
    assert all(f"of {len(pages)}" in page for page in pages)  # "Page n of N"


def test_page_one_renders_to_a_picture_that_is_not_blank(pdf, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    from PIL import Image, ImageStat

    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "report.pdf", "page"], cwd=tmp_path, check=True
    )
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    width, height = image.size
    assert height > width  # A4 portrait
    assert ImageStat.Stat(image).stddev[0] > 20  # text, rules and colour, not an empty page
    dark = sum(image.histogram()[:128]) / (width * height)
    assert 0.01 < dark < 0.5


def test_a_clean_report_is_short_and_says_it_passes():
    pages = pages_text(render_pdf(clean_report()))
    assert len(pages) <= 3 and "Pass" in pages[0]
    assert "Nothing to fix for the streaming profile: ready to deliver." in pages[0]


def test_the_summary_pdf_lists_the_tracks_and_album_checks():
    reports = [sample_report(path="one.wav"), clean_report(path="two.wav")]
    pages = pages_text(render_summary_pdf(summarize(reports), BRAND))
    text = " ".join(pages)
    assert len(pages) <= 3
    assert "2 tracks" in text and "Album checks" in text
    assert "one.wav" in text and "two.wav" in text and "-9.1 LUFS" in text


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("data:image/png;base64,AAAA", True),
        ("https://example.com/logo.png", False),
        ("http://127.0.0.1/x.css", False),
        ("ftp://example.com/x", False),
        ((templates_dir() / "report.css").as_uri(), True),
        ((templates_dir().parent / "pyproject.toml").as_uri(), False),
        ((templates_dir() / ".." / "pyproject.toml").as_uri(), False),
        ("file://server/share/x.png", False),
    ],
)
def test_the_fetcher_allows_only_embedded_data_and_the_template_folder(url, allowed):
    assert allowed_url(url) is allowed


def test_nothing_outside_is_fetched_while_rendering(monkeypatch):
    import weasyprint

    fetched: list[str] = []
    original = weasyprint.URLFetcher.fetch

    def spy(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(weasyprint.URLFetcher, "fetch", spy)
    html = (
        '<html><head><link rel="stylesheet" href="https://example.com/x.css"></head><body>'
        '<img src="http://127.0.0.1:9/x.png"><img src="file:///etc/hostname"><p>text</p></body></html>'
    )
    assert html_to_pdf(html).startswith(b"%PDF-")
    assert fetched == []  # refused before the real fetcher was asked
