"""The master report renderers, on two real checks: a quiet sine mix with three clicks (-24 LUFS, true peak
over the ceiling) and the same sine at -14 LUFS, written as 24-bit. By construction the first fails on true
peak, loudness and clicks, the second resolves those three and is newly over-compressed (PLR 0 dB)."""

from __future__ import annotations

import io
import re

import pytest
from report.page import Page
from signals import sine, write

from qc.branding import Branding
from qc.check import Checker
from qc.master.model import MasterReport, MasterSettings, StageChange
from qc.report.filters import counts_text
from qc.report.master import (
    MAX_TABLE_ROWS,
    compare_findings,
    render_master_html,
    render_master_json,
    render_master_pdf,
    render_master_terminal,
    value_label,
    value_text,
)
from qc.report.model import ToolInfo

SAMPLE_RATE = 48000
DURATION_S = 8.0
CLICKS_AT_S = (2.0, 4.5, 6.25)
HOSTILE = "<script>alert(1)</script>"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def checks(tmp_path_factory) -> tuple:
    folder = tmp_path_factory.mktemp("master")
    quiet = sine(997.0, -24.0, DURATION_S, SAMPLE_RATE)  # stereo 997 Hz at -24 dBFS peak: -24.0 LUFS
    for at_s in CLICKS_AT_S:
        quiet[int(at_s * SAMPLE_RATE)] += 0.9  # single-sample clicks reaching about -0.3 dBFS
    loud = sine(997.0, -14.0, DURATION_S, SAMPLE_RATE)
    checker = Checker("streaming")
    before = checker.check(write(folder / "mix.wav", quiet, SAMPLE_RATE))
    after = checker.check(write(folder / "mix.master.wav", loud, SAMPLE_RATE, "PCM_24"))
    return before, after


def make_master(before, after, **overrides) -> MasterReport:
    fields = {
        "tool": ToolInfo(version="9.9"),
        "input_path": "mixes/mix.wav",
        "output_path": "masters/mix.master.wav",
        "settings": MasterSettings(
            profile="streaming",
            target_lufs=-14.0,
            ceiling_dbtp=-1.0,
            bit_depth=24,
            sample_rate=SAMPLE_RATE,
            max_limiting_db=2.0,
            max_limited_share=0.01,
        ),
        "changes": [
            StageChange(stage="dc-block", summary="no DC offset above -60 dBFS; left alone", changed=False),
            StageChange(
                stage="click-repair",
                summary=f"repaired 3 clicks {HOSTILE}",
                values={
                    "clicks": 3,
                    "regions": [{"start_s": t, "end_s": t + 0.0001, "channel": None} for t in CLICKS_AT_S],
                },
            ),
            StageChange(
                stage="gain",
                summary="static gain +9.97 dB",
                values={"gain_db": 9.97, "input_lufs": -23.97, "target_lufs": -14.0},
            ),
            StageChange(
                stage="true-peak-limiter",
                summary="limited 1 passage by at most 1.2 dB",
                values={
                    "ceiling_dbtp": -1.0,
                    "max_reduction_db": 1.234,
                    "limited_share": 0.0042,
                    "lookahead_s": 0.005,
                    "regions": [{"start_s": 62.0046, "end_s": 63.5, "max_reduction_db": 1.234, "channel": 0}],
                },
            ),
        ],
        "tags": {"artist": "Ærø & co", "title": HOSTILE, "isrc": "GB-ABC-26-00001"},
        "before": before,
        "after": after,
    }
    fields.update(overrides)
    return MasterReport(**fields)


@pytest.fixture(scope="module")
def master(checks) -> MasterReport:
    return make_master(*checks)


@pytest.fixture(scope="module")
def html(master) -> str:
    return render_master_html(master, Branding(studio="Blue <b>Room</b>"))


@pytest.fixture(scope="module")
def page(html) -> Page:
    return Page(html)


def finding_ids(report) -> set[str]:
    return {f.rule_id for f in report.findings if not f.skipped}


# --- the fixture is what it claims to be ---------------------------------------------------------------


def test_the_checks_see_what_the_signals_were_built_to_have(checks):
    before, after = checks
    assert before.features["integrated_lufs"] == pytest.approx(-24.0, abs=0.1)
    assert after.features["integrated_lufs"] == pytest.approx(-14.0, abs=0.1)
    assert {"true-peak", "loudness-target", "clicks"} <= finding_ids(before)
    assert not {"true-peak", "loudness-target", "clicks"} & finding_ids(after)
    assert "over-compressed" in finding_ids(after) - finding_ids(before)
    assert before.verdict == "fail" and after.verdict != "fail"


# --- HTML ----------------------------------------------------------------------------------------------


def test_html_has_every_section(page):
    for section in ("verdict", "key-numbers", "chain", "findings", "tags", "pictures", "settings", "files"):
        assert ("section", section) in [(t, a.get("id")) for t, a in page.tags]


def test_verdict_reads_before_then_after(page, checks):
    before, after = checks
    text = page.text("verdict")
    assert text.startswith("Needs a revision → ")
    assert f"Before {counts_text(before.findings)} After {counts_text(after.findings)}" in text
    assert text.count("1 error") == 1 and "0 errors" in text  # true peak, the one error, is gone
    resolved = len(finding_ids(before) - finding_ids(after))
    assert resolved >= 3 and f"Mastering resolved {resolved} findings;" in text


def test_key_numbers_show_before_after_target_and_marks(page):
    text = page.text("key-numbers")
    assert "Integrated loudness -24.0 LUFS warn -14.0 LUFS pass target -14.0 LUFS ± 1.0 LU +10.0 LU" in text
    assert "True peak -0.3 dBTP fail -14.0 dBTP pass ceiling -1.0 dBTP -13.7 dB" in text
    assert "Peak-to-loudness ratio (PLR)" in text and "min 8.0 dB" in text
    assert "Sample peak -0.3 dBFS -14.0 dBFS" in text
    assert "Format WAV 32-bit float 48 kHz stereo WAV 24-bit 48 kHz stereo output 24-bit 48 kHz" in text


def test_chain_lists_stages_in_order_with_readable_numbers(page, html):
    chain = page.text("chain")
    order = [chain.index(name) for name in ("dc-block", "click-repair", "gain", "true-peak-limiter")]
    assert order == sorted(order)
    assert "static gain +9.97 dB" in page.text("stage-3")
    assert "Gain +9.97 dB" in page.text("stage-3") and "Input -24.0 LUFS" in page.text("stage-3")
    limiter = page.text("stage-4")
    for shown in ("Ceiling -1.0 dBTP", "Max reduction 1.2 dB", "Limited share 0.42 %", "Lookahead 0.005 s"):
        assert shown in limiter
    assert "Start End Max reduction Channel 1:02.005 1:03.500 1.2 dB L" in limiter
    assert "0:02.000 0:02.000 all 0:04.500 0:04.500 all 0:06.250 0:06.250 all" in page.text("stage-2")


def test_a_stage_that_changed_nothing_is_marked_skipped(page):
    classes = {a.get("id"): a.get("class", "") for _, a in page.tags if a.get("id", "").startswith("stage-")}
    assert "stage-skipped" in classes["stage-1"]
    assert all("stage-skipped" not in classes[f"stage-{i}"] for i in (2, 3, 4))
    assert page.text("stage-1").startswith("1 dc-block skipped no DC offset")


def test_findings_are_compared_by_rule_id(page, checks):
    before, after = checks
    resolved = page.text("findings-resolved")
    for rule in ("true-peak", "loudness-target", "clicks"):
        assert rule in resolved
    assert "True peak reaches -0.3 dBTP" in resolved and "error" in resolved
    assert "over-compressed" in page.text("findings-new")
    assert "warning" in page.text("findings-new")
    remaining = page.text("findings-remaining")
    for rule in finding_ids(before) & finding_ids(after):
        assert rule in remaining
    shown_remaining = {i.removeprefix("remaining-") for i in page.ids() if i.startswith("remaining-")}
    assert shown_remaining == finding_ids(before) & finding_ids(after)


def test_compare_findings_matches_set_arithmetic_on_rule_ids(checks):
    before, after = checks
    comparison = compare_findings(before, after)
    assert {c.rule_id for c in comparison.resolved} == finding_ids(before) - finding_ids(after)
    assert {c.rule_id for c in comparison.remaining} == finding_ids(before) & finding_ids(after)
    assert {c.rule_id for c in comparison.new} == finding_ids(after) - finding_ids(before)
    assert comparison.resolved[0].rule_id == "true-peak"  # errors first


def test_tags_are_listed_and_hostile_text_is_escaped(page, html):
    assert "artist Ærø & co" in page.text("tags") and f"title {HOSTILE}" in page.text("tags")
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # stage summary and tag
    assert "Blue &lt;b&gt;Room&lt;/b&gt;" in html


def test_page_is_self_contained_with_before_and_after_pictures(page, html):
    assert not re.search(r"https?://", html)
    assert not [t for t, _ in page.tags if t in ("link", "iframe", "object", "embed", "script")]
    figures = [a["id"] for t, a in page.tags if t == "figure"]
    assert figures == ["loudness-before", "loudness-after", "waveform-before", "waveform-after"]
    sources = [a["src"] for t, a in page.tags if t == "img"]
    assert len(sources) == 4 and all(src.startswith("data:image/svg+xml;base64,") for src in sources)
    assert page.text("loudness-before").startswith("Before: loudness over time.")


def test_long_region_lists_are_cut_with_a_count(checks):
    regions = [{"start_s": float(i), "end_s": i + 0.5} for i in range(MAX_TABLE_ROWS + 5)]
    report = make_master(
        *checks, changes=[StageChange(stage="trim", summary="cut", values={"regions": regions})]
    )
    text = Page(render_master_html(report)).text("stage-1")
    assert f"0:{MAX_TABLE_ROWS - 1:02d}.000" in text and f"0:{MAX_TABLE_ROWS:02d}.000" not in text
    assert "and 5 more" in text


def test_an_empty_chain_and_no_tags_say_so(checks):
    page = Page(render_master_html(make_master(*checks, changes=[], tags={})))
    assert page.text("chain") == "What was done, in order No processing: nothing was changed."
    assert page.text("tags") == "Metadata written No metadata was written."


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("gain_db", 9.834, "+9.83 dB"),
        ("gain_db", -2.3, "-2.30 dB"),
        ("max_reduction_db", 1.234, "1.2 dB"),
        ("limited_share", 0.0123, "1.2 %"),
        ("limited_share", 0.0004, "0.04 %"),
        ("target_lufs", -14, "-14.0 LUFS"),
        ("ceiling_dbtp", -1, "-1.0 dBTP"),
        ("trimmed_s", 1.25, "1.25 s"),
        ("fade_s", 0.005, "0.005 s"),
        ("cutoff_hz", 20000, "20 kHz"),
        ("sample_rate_hz", 44100, "44.1 kHz"),
        ("offset_dbfs", [-40.0, -41.5], "-40.0, -41.5 dBFS"),
        ("bit_depth", 24, "24"),
        ("dc_removed", True, "yes"),
        ("method", "tpdf", "tpdf"),
        ("missing_db", None, "—"),
    ],
)
def test_stage_values_are_shown_in_the_unit_their_key_names(key, value, text):
    assert value_text(key, value) == text


@pytest.mark.parametrize(
    ("key", "label"),
    [("max_reduction_db", "Max reduction"), ("limited_share", "Limited share"), ("start_s", "Start")],
)
def test_value_labels_drop_the_unit_suffix(key, label):
    assert value_label(key) == label


# --- PDF -----------------------------------------------------------------------------------------------


def test_pdf_page_one_has_the_before_after_numbers_and_the_target(master):
    pytest.importorskip("weasyprint", reason="WeasyPrint is not installed")
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed")
    pdf = render_master_pdf(master)
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    first = " ".join((reader.pages[0].extract_text() or "").split())
    assert "Before" in first and "After" in first
    assert "target -14.0 LUFS" in first and "ceiling -1.0 dBTP" in first
    assert "-24.0 LUFS" in first and "-14.0 LUFS" in first
    everything = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "over-compressed" in everything and HOSTILE in everything


# --- terminal ------------------------------------------------------------------------------------------


def test_terminal_without_color_has_no_escape_codes_even_from_hostile_tags(checks):
    report = make_master(*checks, tags={"title": "\x1b[31mred\x1b[0m"}, input_path="in\x1b[2J.wav")
    text = render_master_terminal(report, color=False, width=100)
    assert "\x1b" not in text
    assert "\\x1b[31mred\\x1b[0m" in text


def test_terminal_summarises_numbers_chain_and_findings(master):
    text = render_master_terminal(master, color=False, width=120)
    lines = text.splitlines()
    assert lines[0] == "mixes/mix.wav -> masters/mix.master.wav"
    assert "target -14.0 LUFS" in lines[1] and "ceiling -1.0 dBTP" in lines[1]
    integrated = next(line for line in lines if line.strip().startswith("Integrated"))
    assert re.search(r"-24\.0 LUFS -> -14\.0 LUFS\s+target -14\.0 LUFS ± 1\.0 LU\s+warn -> pass$", integrated)
    peak = next(line for line in lines if line.strip().startswith("True peak"))
    assert re.search(r"-0\.3 dBTP -> -14\.0 dBTP\s+ceiling -1\.0 dBTP\s+fail -> pass$", peak)
    assert "Format       WAV 32-bit float 48 kHz stereo -> WAV 24-bit 48 kHz stereo" in text
    assert re.search(r"1\. dc-block\s+skipped: no DC offset", text)
    assert re.search(r"3\. gain\s+static gain \+9\.97 dB", text)
    verdict = next(line for line in lines if line.startswith("FAIL -> "))
    assert verdict.startswith(f"FAIL -> {master.after.verdict.upper()}  1 error,")
    resolved = (
        next(line for line in lines if line.strip().startswith("resolved")).split(None, 1)[1].split(", ")
    )
    assert resolved[0] == "true-peak"  # the error first
    assert set(resolved) == finding_ids(master.before) - finding_ids(master.after)
    new = next(line for line in lines if line.strip().startswith("new")).split(None, 1)[1].split(", ")
    assert "over-compressed" in new
    assert set(new) == finding_ids(master.after) - finding_ids(master.before)


def test_terminal_colours_when_asked_and_dims_skipped_stages(master):
    text = render_master_terminal(master, color=True, width=120)
    assert "\x1b[2mskipped: no DC offset" in text
    assert "\x1b[1m\x1b[31mFAIL\x1b[0m" in text
    plain = render_master_terminal(master, color=False, width=120)
    assert ANSI.sub("", text) == plain


def test_terminal_wraps_to_the_width(master):
    text = render_master_terminal(master, color=False, width=50)
    chain_and_findings = text.split("\nChain\n", 1)[1]
    assert max(len(line) for line in chain_and_findings.splitlines()) <= 50


# --- JSON ----------------------------------------------------------------------------------------------


def test_json_round_trips_and_renders_the_same_page(master, html):
    text = render_master_json(master)
    assert text.startswith('{\n  "schema_version": "1"')
    again = MasterReport.model_validate_json(text)
    assert render_master_json(again) == text
    assert again.changes == master.changes and again.tags == master.tags
    assert render_master_html(again, Branding(studio="Blue <b>Room</b>")) == html
