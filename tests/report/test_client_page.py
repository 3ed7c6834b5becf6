"""The client-facing parts of the report page: problems to fix first, pictures, tonal balance, platform
preview, branding, and what differs between the screen page and the printed (PDF) page."""

from __future__ import annotations

import pytest
from report.page import Page
from report.sample import clean_report, loudness_finding, picture_report, range_finding, sample_report

from qc.branding import Branding
from qc.findings import Finding
from qc.report import render_html
from qc.report.html import TEMPLATE, render_template, report_context

HOSTILE = "\"<script>alert(1)</script>\" 'x' & Ærø 東京"


def warning(n: int) -> Finding:
    return loudness_finding().model_copy(update={"rule_id": f"w{n}", "title": f"Warning {n}"})


def test_the_top_problems_are_errors_then_warnings_at_most_three():
    findings = [range_finding(), warning(1), warning(2), warning(3), *sample_report().findings[3:4]]
    page = Page(render_html(sample_report(findings=findings)))
    text = page.text("top-problems")
    assert text.startswith("What to fix first error True peak above the delivery ceiling")
    assert "Warning 1" in text and "Warning 2" in text and "Warning 3" not in text
    assert "Loudness range" not in text  # info is never a problem
    assert text.endswith("…and 1 more under Findings .")


@pytest.mark.parametrize("findings", [[], [range_finding()]], ids=["none", "info-only"])
def test_no_problems_section_without_errors_or_warnings(findings):
    page = Page(render_html(sample_report(findings=findings)))
    assert "top-problems" not in page.ids()
    assert page.text("verdict").endswith("Nothing to fix for the streaming profile: ready to deliver.")


def test_pictures_are_figures_with_captions_and_alt_text():
    page = Page(render_html(picture_report()))
    figures = [a["id"] for t, a in page.tags if t == "figure"]
    assert figures == ["waveform", "loudness", "spectrum", "stereo"]
    alts = [a["alt"] for t, a in page.tags if t == "img"]
    assert alts[0] == "Waveform overview of 3:25, with 25 marked events."
    assert page.text("loudness").startswith("Loudness over time. Short-term loudness (3 s window)")


def test_the_tonal_balance_table_marks_bands_outside_the_tolerance():
    page = Page(render_html(picture_report()))
    rows = [a["class"] for t, a in page.tags if t == "tr" and (a.get("class") or "").startswith("tone-")]
    assert rows == ["tone-ok"] * 4 + ["tone-high", "tone-ok", "tone-unknown"]
    text = page.text("tonal-balance")
    assert "High mids 2 kHz–5 kHz +6.5 dB ± 5.5 dB too much" in text
    assert "Air 10 kHz–20 kHz — ± 20.0 dB —" in text


def test_the_platform_preview_shows_gain_and_peak_for_every_platform():
    page = Page(render_html(sample_report()))
    text = page.text("platforms")
    assert "Spotify -14.0 LUFS -4.9 dB -4.6 dBTP Turned down 4.9 dB" in text
    assert "YouTube -14.0 LUFS -4.9 dB" in text
    assert "6 of 6 platforms turn it down (-4.9 dB to -6.9 dB)" in page.text("turned-down")


def test_a_quiet_master_gets_no_turned_down_note():
    page = Page(render_html(sample_report(features={"integrated_lufs": -18.0, "true_peak_dbtp": -6.0})))
    assert "turned-down" not in page.ids()
    assert "YouTube -14.0 LUFS +0.0 dB -6.0 dBTP Not raised: plays 4.0 dB quieter" in page.text("platforms")
    assert "Spotify -14.0 LUFS +4.0 dB -2.0 dBTP Raised 4.0 dB to the reference." in page.text("platforms")


def test_no_platform_section_without_loudness():
    assert "platforms" not in Page(render_html(clean_report(features={}))).ids()


def test_branding_shows_studio_contact_logo_and_note_escaped():
    logo = "data:image/png;base64,iVBORw0KGgo="
    brand = Branding(studio=HOSTILE, contact=HOSTILE, note=HOSTILE, footer=HOSTILE, logo=logo)
    html = render_html(sample_report(), brand)
    page = Page(html)
    assert "<script>alert" not in html
    assert page.text("studio") == f"{HOSTILE} {HOSTILE}"
    assert page.text("note") == f"A note from {HOSTILE} {HOSTILE}"
    assert ("img", {"class": "logo", "src": logo, "alt": HOSTILE}) in page.tags
    assert HOSTILE in page.text_by_id.get("note", "")


def test_no_studio_header_without_branding():
    page = Page(render_html(sample_report()))
    assert "studio" not in page.ids() and "note" not in page.ids()


def test_the_accent_colour_is_written_only_as_a_hex_colour():
    html = render_html(sample_report(), Branding(accent_color="#0B5394"))
    assert '<body class="medium-screen" style="--accent: #0B5394">' in html
    assert 'style="--accent' not in render_html(sample_report())


def test_the_printed_page_has_a_running_footer_and_leaves_out_the_raw_measurements():
    brand = Branding(footer="Blue Room · Unit 4")
    printed = Page(render_template(TEMPLATE, report_context(picture_report(), brand, medium="print")))
    screen = Page(render_html(picture_report(), brand))
    footer = [a for t, a in printed.tags if (a.get("class") or "") == "page-footer"]
    assert footer and not [a for t, a in screen.tags if (a.get("class") or "") == "page-footer"]
    assert "features" not in printed.ids() and "features" in screen.ids()
    printed_images = [a["src"] for t, a in printed.tags if t == "img"]
    assert printed_images and all(src.startswith("data:image/png;base64,") for src in printed_images)
