"""The Markdown summary for an email: verdict first, problems with what to do, tables, escaping."""

from __future__ import annotations

import pytest
from report.sample import HOSTILE_NAME, clean_report, clicks_finding, loudness_finding, sample_report

from qc.branding import Branding
from qc.report import render_markdown
from qc.report.markdown import code, escape


@pytest.fixture(scope="module")
def text() -> str:
    return render_markdown(
        sample_report(), Branding(studio="Blue Room", note="Hi!\nSee below.", footer="Unit 4")
    )


def test_the_verdict_comes_first_with_what_it_means(text):
    lines = text.splitlines()
    assert lines[0] == "# `final mix v3.wav`: Needs a revision"
    assert (
        "**Needs a revision.** 1 problem has to be fixed before delivery, plus 2 things worth a look." in text
    )


def test_the_problems_to_fix_first_are_numbered_with_what_to_do(text):
    section = text.split("## What to fix first")[1].split("##")[0]
    assert "1. **True peak above the delivery ceiling** (error): True peak reaches 0.3 dBTP" in section
    assert "2. **Louder than the streaming target** (warning)" in section
    assert "3. **Clicks** (warning)" in section
    assert "   *What to do:* Lower the limiter ceiling to -1.0 dBTP" in section


def test_key_numbers_and_platforms_are_tables(text):
    assert "| Integrated loudness | -9.1 LUFS | target -14.0 LUFS ± 1.0 LU | +4.9 LU |" in text
    assert "| Spotify | -14.0 LUFS | -4.9 dB | -4.6 dBTP |" in text
    assert "6 of 6 platforms turn it down" in text


def test_findings_list_times_measurements_and_suggestions(text):
    assert "Times: at 1:01.250, 1:01.750–1:01.762, 1:02.250 and 22 more." in text
    assert "Measured 25 events (threshold 0)." in text
    assert "### Skipped checks (1)" in text


def test_the_note_and_the_signature_come_from_the_branding(text):
    assert "> **A note from Blue Room:**\n> Hi\\!\n> See below." not in text  # "!" needs no escape
    assert "> **A note from Blue Room:**\n> Hi!\n> See below." in text
    assert text.rstrip().endswith("_1 error, 2 warnings, 1 info, 1 skipped · checked by mixqc 0.1.0_")
    assert "**Blue Room**  \nUnit 4  \n" in text


def test_a_clean_report_says_so():
    text = render_markdown(clean_report())
    assert "Nothing to fix for the streaming profile: ready to deliver." in text
    assert "No findings: every check passed." in text and "What to fix first" not in text


def test_report_text_is_escaped_and_file_names_are_code_spans():
    finding = loudness_finding().model_copy(update={"title": "<b>loud</b> *mix* [x](http://e.vil)"})
    text = render_markdown(sample_report(path=f"mixes/{HOSTILE_NAME}", findings=[finding]))
    assert "\\<b\\>loud\\</b\\> \\*mix\\* \\[x\\](http://e.vil)" in text
    assert text.splitlines()[0].startswith("# `script> – Ærø 東京.wav`")
    assert "<b>" not in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a_b.wav", "`a_b.wav`"), ("x`y.wav", "``x`y.wav``"), ("`a`", "`` `a` ``")],
)
def test_code_spans_fence_with_more_backticks_than_the_text_has(name, expected):
    assert code(name) == expected


def test_escape_flattens_line_breaks():
    assert escape("one\ntwo  |three") == "one two \\|three"


def test_event_only_findings_summarise_their_times():
    text = render_markdown(sample_report(findings=[clicks_finding(2)]))
    assert "Times: at 1:01.250 and 1:01.750–1:01.762." in text
