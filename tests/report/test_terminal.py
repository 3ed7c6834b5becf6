"""The terminal renderer: header, key numbers, ordered findings, verdict, colours only when asked, width."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from report.sample import (
    clean_report,
    clicks_finding,
    loudness_finding,
    range_finding,
    sample_report,
    skipped_finding,
    true_peak_finding,
)

from qc.report import render_batch_terminal, render_terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED, YELLOW, CYAN, DIM, GREEN = "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[2m", "\x1b[32m"


def visible(text: str) -> str:
    return ANSI.sub("", text)


def test_header_names_file_duration_format_and_profile():
    first = render_terminal(sample_report(), color=False, width=100).splitlines()[0]
    assert first == "final mix v3.wav  3:25 · WAV 24-bit 44.1 kHz stereo · profile streaming"


def test_key_numbers_are_shown_against_the_profile_targets():
    text = render_terminal(sample_report(), color=False, width=200)
    assert "Integrated -9.1 LUFS (target -14.0 LUFS ± 1.0 LU, +4.9 LU)" in text
    assert "True peak 0.3 dBTP (ceiling -1.0 dBTP)" in text
    assert "LRA 4.2 LU" in text
    assert "PLR 9.4 dB (min 8.0 dB)" in text
    assert "Sample peak -0.0 dBFS" in text  # -0.04 dBFS: just under full scale, not 0.0


def test_key_numbers_use_the_premaster_limits_when_those_are_the_targets():
    report = sample_report(profile="premaster", targets={"max_peak_dbtp": -3.0, "min_plr_db": 10.0})
    text = render_terminal(report, color=False, width=200)
    assert (
        "Integrated -9.1 LUFS   True peak 0.3 dBTP (max -3.0 dBTP)   LRA 4.2 LU   PLR 9.4 dB (min 10.0 dB)"
        in text
    )


def test_key_numbers_missing_from_the_features_are_left_out():
    report = sample_report(features={"integrated_lufs": -14.0}, targets={}, findings=[])
    text = render_terminal(report, color=False, width=100)
    assert "Integrated -14.0 LUFS" in text
    assert "(target" not in text
    assert "True peak" not in text and "PLR" not in text


def test_findings_are_listed_errors_warnings_info_then_skipped_keeping_report_order():
    text = render_terminal(sample_report(), color=False, width=100)
    order = ["true-peak", "loudness-high", "clicks", "lra-range", "plr-low"]
    positions = [text.index(f"  {rule_id}  ") for rule_id in order]
    assert positions == sorted(positions)
    rows = [
        line.split()[0]
        for line in text.splitlines()
        if line.strip().split(" ")[0] in ("ERROR", "WARNING", "INFO", "SKIPPED")
    ]
    assert rows == ["ERROR", "WARNING", "WARNING", "INFO", "SKIPPED"]


def test_suggestion_is_on_the_next_line_indented_to_the_message():
    report = sample_report(findings=[loudness_finding()])
    lines = render_terminal(report, color=False, width=120).splitlines()
    row = next(i for i, line in enumerate(lines) if "loudness-high" in line)
    message_column = lines[row].index("Integrated loudness is")
    suggestion = lines[row + 1]
    assert suggestion.index("-> Streaming services") == message_column
    assert suggestion[:message_column].strip() == ""


def test_no_escape_codes_without_color():
    assert "\x1b" not in render_terminal(sample_report(), color=False, width=100)


def test_severity_colours_with_color():
    lines = render_terminal(sample_report(), color=True, width=100).splitlines()

    def line_of(rule_id: str) -> str:
        return next(line for line in lines if rule_id in visible(line))

    assert RED in line_of("true-peak").split("ERROR")[0]
    assert YELLOW in line_of("loudness-high").split("WARNING")[0]
    assert CYAN in line_of("lra-range").split("INFO")[0]
    skipped = line_of("plr-low")
    assert DIM in skipped.split("Skipped: the file is silent")[0]
    assert lines[-1].startswith("\x1b[1m" + RED + "FAIL")


def test_key_number_with_an_error_finding_is_red():
    text = render_terminal(sample_report(), color=True, width=200)
    assert re.search(re.escape(RED) + r"True peak 0\.3 dBTP", text)
    assert not re.search(r"\x1b\[[0-9;]*mPLR", text)  # no finding on plr_db: plain


@pytest.mark.parametrize("width", [40, 57, 80, 132])
@pytest.mark.parametrize("color", [False, True])
def test_every_line_fits_the_width(width, color):
    text = render_terminal(sample_report(), color=color, width=width)
    assert max(len(visible(line)) for line in text.splitlines()) <= width


def test_narrow_width_puts_the_message_under_the_rule_id():
    lines = render_terminal(sample_report(findings=[true_peak_finding()]), color=False, width=44).splitlines()
    row = next(i for i, line in enumerate(lines) if "true-peak" in line)
    assert lines[row].split() == ["ERROR", "true-peak"]
    assert lines[row + 1].startswith("    True peak reaches")


def test_width_defaults_to_the_terminal_size(monkeypatch):
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((52, 24)))
    text = render_terminal(sample_report(), color=False)
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 52
    assert max(widths) > 44  # the width was used, not some small default


def test_wrapping_keeps_every_word_of_the_message():
    finding = clicks_finding()
    text = render_terminal(sample_report(findings=[finding]), color=False, width=48)
    assert " ".join(text.split()).count(finding.message) == 1


@pytest.mark.parametrize(
    ("findings", "verdict_line"),
    [
        ([], "PASS  0 errors, 0 warnings, 0 info"),
        ([skipped_finding()], "PASS  0 errors, 0 warnings, 0 info, 1 skipped"),
        ([range_finding()], "PASS  0 errors, 0 warnings, 1 info"),
        ([loudness_finding(), clicks_finding()], "WARN  0 errors, 2 warnings, 0 info"),
        ([loudness_finding(), true_peak_finding()], "FAIL  1 error, 1 warning, 0 info"),
    ],
)
def test_verdict_line_follows_the_findings(findings, verdict_line):
    text = render_terminal(sample_report(findings=findings), color=False, width=100)
    assert text.splitlines()[-1] == verdict_line
    assert not text.endswith("\n")  # the CLI prints it


def test_a_report_without_findings_says_so():
    assert "\n  No findings.\n" in render_terminal(clean_report(), color=False, width=80)


def test_batch_gives_one_aligned_line_per_file_and_a_total():
    reports = [
        sample_report(path="album/01 intro.wav"),
        clean_report(path="b.wav"),
        sample_report(path="c.flac", findings=[loudness_finding()]),
    ]
    lines = render_batch_terminal(reports, width=100).splitlines()
    assert lines == [
        "FAIL  album/01 intro.wav  1 error, 2 warnings, 1 info, 1 skipped",
        "PASS  b.wav               0 errors, 0 warnings, 0 info",
        "WARN  c.flac              0 errors, 1 warning, 0 info",
        "3 files: 1 fail, 1 warn, 1 pass",
    ]


def test_batch_colours_only_when_asked():
    reports = [sample_report(), clean_report(path="b.wav")]
    assert "\x1b" not in render_batch_terminal(reports, width=100)
    coloured = render_batch_terminal(reports, color=True, width=100).splitlines()
    assert RED in coloured[0].split("FAIL")[0]
    assert GREEN in coloured[1].split("PASS")[0]
