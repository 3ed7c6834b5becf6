"""The HTML renderer and the shared filters: sections, escaping, formatting, grouping."""

from __future__ import annotations

import math

import pytest
from report.page import Page
from report.sample import (
    HOSTILE_NAME,
    clean_report,
    clicks_finding,
    loudness_finding,
    picture_report,
    range_finding,
    sample_file,
    sample_report,
    true_peak_finding,
)

from qc.branding import Branding
from qc.report import filters, render_html
from qc.report.html import environment
from qc.resources import templates_dir

PNG_LOGO = (  # a 1x1 PNG
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
HOSTILE_TEXT = "\"<script>alert(1)</script> – Ærø 東京 'quoted' & more"


@pytest.fixture(scope="module")
def page() -> Page:
    return Page(render_html(sample_report()))


def test_page_has_every_section(page):
    for section in (
        "verdict",
        "top-problems",
        "key-numbers",
        "pictures",
        "platforms",
        "findings",
        "file",
        "features",
    ):
        assert ("section", section) in [(t, a.get("id")) for t, a in page.tags]


def test_page_is_self_contained():
    html = render_html(picture_report(), Branding(logo=PNG_LOGO))
    page = Page(html)
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html
    assert not [t for t, _ in page.tags if t in ("link", "iframe", "object", "embed")]
    sources = [a["src"] for _, a in page.tags if "src" in a]
    assert len(sources) == 5  # logo + four pictures
    assert all(src.startswith(("data:image/svg+xml;base64,", "data:image/png;base64,")) for src in sources)
    assert all(a["href"].startswith("#") for _, a in page.tags if "href" in a)


def test_css_is_inlined_from_report_css():
    css = (templates_dir() / "report.css").read_text(encoding="utf-8")
    html = render_html(clean_report())
    assert css.strip() in html
    assert html.index("<style>") < html.index(".verdict-fail") < html.index("</style>")


def test_hostile_names_and_texts_come_out_escaped_and_intact():
    finding = loudness_finding().model_copy(
        update={
            "title": HOSTILE_TEXT,
            "message": HOSTILE_TEXT,
            "suggestion": HOSTILE_TEXT,
            "category": HOSTILE_TEXT,
        }
    )
    report = sample_report(path=f"mixes/{HOSTILE_NAME}", profile=HOSTILE_TEXT, findings=[finding])
    html = render_html(report)
    page = Page(html)
    assert "<script" not in html
    assert [t for t, _ in page.tags].count("script") == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Ærø 東京" in html  # non-Latin text is written as is (UTF-8), not mangled
    assert f"mixes/{HOSTILE_NAME}" in page.text("file")
    assert page.text("findings").count(HOSTILE_TEXT) == 4  # title, category, message, suggestion
    assert "<title>script&gt; – Ærø 東京.wav — mixqc report</title>" in html  # basename after the last "/"
    assert ("meta", {"charset": "utf-8"}) in page.tags


def test_attribute_values_cannot_be_broken_out_of():
    finding = range_finding().model_copy(update={"rule_id": 'x" onmouseover="alert(1)'})
    page = Page(render_html(sample_report(findings=[finding])))
    articles = [a for t, a in page.tags if t == "article"]
    assert articles[0]["id"] == 'rule-x" onmouseover="alert(1)'
    assert all("onmouseover" not in a for _, a in page.tags)


@pytest.mark.parametrize(
    ("findings", "verdict_class", "title"),
    [
        ([], "verdict-pass", "Pass"),
        ([range_finding()], "verdict-pass", "Pass"),
        ([loudness_finding()], "verdict-warn", "Needs attention"),
        ([loudness_finding(), true_peak_finding()], "verdict-fail", "Needs a revision"),
    ],
)
def test_verdict_section_shows_the_verdict_with_its_colour_class(findings, verdict_class, title):
    page = Page(render_html(sample_report(findings=findings)))
    section = next(a for t, a in page.tags if a.get("id") == "verdict")
    assert verdict_class in (section["class"] or "").split()
    assert page.text("verdict").startswith(title)


def test_verdict_counts_findings_by_severity_and_says_what_it_means(page):
    assert page.text("verdict") == (
        "Needs a revision 1 error 2 warnings 1 info 1 skipped "
        "1 problem has to be fixed before delivery, plus 2 things worth a look."
    )


def test_key_numbers_are_formatted_against_the_profile_targets(page):
    text = page.text("key-numbers")
    assert "Integrated loudness -9.1 LUFS target -14.0 LUFS ± 1.0 LU +4.9 LU" in text
    assert "True peak 0.3 dBTP ceiling -1.0 dBTP" in text
    assert "Loudness range (LRA) 4.2 LU" in text
    assert "Peak-to-loudness ratio (PLR) 9.4 dB min 8.0 dB —" in text
    assert "Sample peak -0.0 dBFS" in text


def test_key_number_rows_carry_the_worst_finding_on_their_feature(page):
    rows = [a["class"] for t, a in page.tags if t == "tr" and (a.get("class") or "").startswith("status-")]
    assert rows[:2] == ["status-warning", "status-error"]  # integrated (loudness-high), true peak (true-peak)
    assert rows[3] == "status-none"  # PLR: only a skipped finding, which does not count


def test_findings_are_grouped_errors_warnings_info_skipped(page):
    groups = [i for i in page.ids() if i.startswith("findings-")]
    assert groups == ["findings-error", "findings-warning", "findings-info", "findings-skipped"]
    rules = [i for i in page.ids() if i.startswith("rule-")]
    assert rules == ["rule-true-peak", "rule-loudness-high", "rule-clicks", "rule-lra-range", "rule-plr-low"]
    assert page.text("findings-warning").startswith("Warnings 2")


def test_empty_groups_are_left_out_and_no_findings_is_said():
    page = Page(render_html(clean_report()))
    assert not [i for i in page.ids() if i.startswith("findings-")]
    assert "No findings" in page.text("findings")


def test_findings_show_message_suggestion_and_value_against_threshold(page):
    assert "Measured -9.1 LUFS Threshold -13.0 LUFS" in page.text("rule-loudness-high")
    assert "Suggestion Streaming services will turn it down" in page.text("rule-loudness-high")
    assert "Measured 0.3 dBTP Threshold -1.0 dBTP" in page.text("rule-true-peak")
    assert "Measured 4.2 LU Threshold 5.0 to 15.0 LU" in page.text("rule-lra-range")
    assert "Measured 25 events Threshold 0" in page.text("rule-clicks")


def test_skipped_finding_shows_its_reason_without_a_measurement(page):
    text = page.text("rule-plr-low")
    assert "the file is silent" in text
    assert "Measured" not in text


def test_events_show_the_first_20_timestamps_and_how_many_more():
    html = render_html(sample_report(findings=[clicks_finding(25)]))
    article = html[html.index('id="rule-clicks"') : html.index("</article>")]
    assert article.count("<time>") == 20
    assert '<time>1:01.250</time> <span class="channel">L</span>' in article
    assert '<time>1:01.750–1:01.762</time> <span class="channel">R</span>' in article
    assert "<time>1:10.750–1:10.762</time>" in article and "1:11.250" not in article
    assert "and 5 more" in article


def test_twenty_events_are_all_shown_without_a_more_line():
    html = render_html(sample_report(findings=[clicks_finding(20)]))
    assert html.count("<time>") == 20
    assert "more</p>" not in html


def test_file_section_lists_format_details_and_sha256(page):
    text = page.text("file")
    for expected in (
        "mixes/final mix v3.wav",
        "WAV 24-bit 44.1 kHz stereo",
        "WAV / PCM_24",
        "3:25.040",
        "9 041 760",
        sample_file().sha256,
    ):
        assert expected in text


def test_features_table_lists_every_scalar_feature_in_its_unit(page):
    text = page.text("features")
    for expected in (
        "integrated_lufs -9.1 LUFS",
        "true_peak_per_channel_dbtp L 0.3 · R -0.5 dBTP",
        "dc_offset_dbfs -inf dBFS",
        "phase_correlation_min —",
        "stereo_correlation 0.831",
        "clipped_samples 0",
        "plr_db 9.4 dB",
    ):
        assert expected in text
    assert "click_events" not in text  # event lists are findings' business, not a scalar


def test_environment_is_confined_autoescaped_and_strict():
    import jinja2

    env = environment()
    assert env.autoescape is True
    assert env.undefined is jinja2.StrictUndefined
    assert isinstance(env.loader, jinja2.FileSystemLoader)
    assert env.loader.searchpath == [str(templates_dir())]
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nothing }}").render()


@pytest.mark.parametrize(
    ("filter_name", "args", "expected"),
    [
        ("db", (-3.0,), "-3.0 dB"),
        ("db", (-3.04567, 2), "-3.05 dB"),
        ("lufs", (-14.04,), "-14.0 LUFS"),
        ("lufs", (-math.inf,), "-inf LUFS"),
        ("lufs", (None,), "—"),
        ("lufs", (math.nan,), "—"),
        ("dbtp", (-0.04,), "-0.0 dBTP"),
        ("dbtp", (-1e-12,), "0.0 dBTP"),
        ("signed_db", (4.9, 1, "LU"), "+4.9 LU"),
        ("mmss", (62.25,), "1:02.250"),
        ("mmss", (None,), "—"),
        ("sample_rate", (44100,), "44.1 kHz"),
        ("sample_rate", (48000,), "48 kHz"),
        ("in_unit", (-1.24, "true_peak_dbtp"), "-1.2 dBTP"),
        ("in_unit", (3000.4, "cutoff_hz"), "3000 Hz"),
        ("in_unit", (12.5, "release_ms"), "12.5 ms"),
        ("in_unit", (0.25, "leading_silence_s"), "0.25 s"),
        ("in_unit", (0.8312, "stereo_correlation"), "0.831"),
        ("in_unit", (True, "is_mono"), "yes"),
        ("channel_name", (None, 2), "all"),
        ("channel_name", (1, 2), "R"),
        ("channel_name", (0, 1), "ch 1"),
        ("basename", ("C:\\mixes\\song.wav",), "song.wav"),
    ],
)
def test_filters_format_numbers(filter_name, args, expected):
    assert filters.FILTERS[filter_name](*args) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "WAV 24-bit 44.1 kHz stereo"),
        (
            {"format": "FLAC", "subtype": "FLOAT", "bit_depth": 32, "sample_rate": 48000, "channels": 1},
            "FLAC 32-bit float 48 kHz mono",
        ),
        ({"format": "MP3", "subtype": "MPEG_LAYER_III", "bit_depth": None}, "MP3 44.1 kHz stereo"),
        (
            {"format": "OGG", "subtype": "VORBIS", "bit_depth": None, "sample_rate": 96000},
            "OGG Vorbis 96 kHz stereo",
        ),
    ],
)
def test_format_line_describes_the_encoding(overrides, expected):
    assert filters.format_line(sample_file(**overrides)) == expected
