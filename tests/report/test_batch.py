"""Album rules over the tracks of one run, the batch summary model and its JSON, HTML and Markdown."""

from __future__ import annotations

import json

import pytest
from report.sample import clean_report, sample_file, sample_report, tonal_balance

from qc.errors import RulePackError
from qc.features.registry import BandLevels
from qc.report import render_summary_html, render_summary_markdown
from qc.report.batch import evaluate_album, load_album_rules, render_summary_json, summarize

HOSTILE_TRACK = "\"<img src=x onerror=alert(1)> & 'q' – Ærø 東京.wav"


def track(
    name: str, lufs: float | None = -10.0, *, sample_rate: int = 44100, bit_depth: int | None = 24, **kw
):
    """A clean report of ``name`` at ``lufs`` integrated loudness, in the given format."""
    features = {"integrated_lufs": lufs, "true_peak_dbtp": -1.5, "loudness_range_lu": 6.0, "plr_db": 9.0}
    features.update(kw.pop("features", {}))
    return clean_report(
        file=sample_file(f"album/{name}", sample_rate=sample_rate, bit_depth=bit_depth),
        features=features,
        **kw,
    )


def bands(shift_high_mid: float = 0.0) -> BandLevels:
    base = tonal_balance()
    levels = list(base.level_db)
    levels[4] = (levels[4] or 0.0) + shift_high_mid
    return base.model_copy(update={"level_db": levels})


def by_id(findings):
    return {f.rule_id: f for f in findings}


def test_the_album_rules_load_with_their_thresholds():
    rules = {r.id: r for r in load_album_rules()}
    assert list(rules) == ["album-loudness-spread", "album-format-mismatch", "album-tonal-drift"]
    assert rules["album-loudness-spread"].threshold_for("streaming") == 4.0
    assert rules["album-loudness-spread"].threshold_for("broadcast-r128") == 1.0


def test_loudness_spread_beyond_the_bound_names_the_quietest_and_loudest():
    reports = [track("01.wav", -9.0), track("02.wav", -14.5), track("03.wav", -10.0)]
    finding = by_id(evaluate_album(reports, "streaming"))["album-loudness-spread"]
    assert finding.severity == "warning" and finding.value == pytest.approx(5.5)
    assert finding.threshold == 4.0 and finding.tracks == ["02.wav", "01.wav"]
    assert (
        "spans 5.5 LU across the 3 tracks, from 02.wav (-14.5 LUFS) to 01.wav (-9.0 LUFS)" in finding.message
    )


def test_loudness_spread_within_the_profile_bound_is_fine():
    reports = [track("01.wav", -9.0), track("02.wav", -14.5)]
    assert "album-loudness-spread" not in by_id(evaluate_album(reports, "premaster"))  # bound 6 LU


def test_format_mismatch_lists_each_format_with_its_tracks():
    reports = [track("a.wav"), track("b.wav"), track("c.wav", sample_rate=48000, bit_depth=16)]
    finding = by_id(evaluate_album(reports, "streaming"))["album-format-mismatch"]
    assert finding.message == (
        "The tracks do not share one format: 44.1 kHz 24-bit (a.wav, b.wav); 48 kHz 16-bit (c.wav)."
    )
    assert finding.tracks == ["c.wav"]


def test_tonal_drift_finds_the_track_far_from_the_album_median():
    reports = [
        track("a.wav", features={"tonal_balance": bands()}),
        track("b.wav", features={"tonal_balance": bands(0.5).model_dump()}),  # as read back from JSON
        track("c.wav", features={"tonal_balance": bands(6.0)}),
    ]
    finding = by_id(evaluate_album(reports, "streaming"))["album-tonal-drift"]
    assert finding.tracks == ["c.wav"] and finding.value == pytest.approx(5.5)
    assert "c.wav: high mids +5.5 dB" in finding.message


def test_album_rules_that_cannot_be_judged_say_why():
    findings = by_id(evaluate_album([track("a.wav", None), track("b.wav", -10.0)], "streaming"))
    assert findings["album-loudness-spread"].skipped
    assert "at least 2 tracks" in findings["album-loudness-spread"].message
    assert findings["album-tonal-drift"].skipped and "tonal balance" in findings["album-tonal-drift"].message


def test_summary_rows_carry_key_numbers_links_and_counts():
    summary = summarize([sample_report(), clean_report(path="b.wav")], links=["a.html", None])
    first, second = summary.tracks
    assert (first.name, first.report, first.verdict, first.errors, first.warnings) == (
        "final mix v3.wav",
        "a.html",
        "fail",
        1,
        2,
    )
    assert first.integrated_lufs == -9.1 and second.report is None
    assert summary.verdict == "fail"


def test_a_failed_input_makes_the_run_fail_and_is_listed():
    summary = summarize([clean_report()], failed=[("broken.wav", "broken.wav: not a readable audio file")])
    assert summary.verdict == "fail" and summary.failed[0].path == "broken.wav"


def test_summary_json_is_strict_and_round_trips():
    summary = summarize([track("a.wav", -9.0), track("b.wav", -15.0)])
    data = json.loads(render_summary_json(summary))
    assert data["kind"] == "mixqc-batch-summary" and data["verdict"] == "warn"
    assert data["album_findings"][0]["rule_id"] == "album-loudness-spread"


def test_summary_html_lists_every_track_and_the_album_findings_escaped():
    reports = [track(HOSTILE_TRACK, -9.0), track("b.wav", -15.0)]
    html = render_summary_html(summarize(reports, links=['x" onclick="alert(1).html', "b.html"]))
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="x&#34; onclick=&#34;alert(1).html"' in html and 'href="b.html"' in html
    assert "album-loudness-spread" in html and "Ærø 東京" in html


def test_summary_markdown_has_a_row_per_track():
    text = render_summary_markdown(summarize([track("a.wav", -9.0), track("b_2.wav", -15.0)]))
    assert "| 1 | `a.wav` | Pass | -9.0 LUFS |" in text
    assert "| 2 | `b_2.wav` |" in text
    assert "Tracks differ a lot in loudness" in text


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ("{id: album-loudness-spread, threshold: 4, message: '{nope}'}", "unknown template field"),
        ("{id: album-tonal-drift, threshold: 4, bands: [treble], message: m}", "unknown band 'treble'"),
        ("{id: album-loudness-spread, message: m}", "needs a threshold"),
        ("{id: album-vibes, message: m}", "rules.0.id"),
    ],
)
def test_a_malformed_album_rule_is_rejected_with_its_key(tmp_path, rule, match):
    pack = tmp_path / "album.yaml"
    common = "title: t, category: c, severity: warning, why: w, source: s"
    pack.write_text(f"pack: a\nversion: '1'\nrules:\n  - {rule[:-1]}, {common}}}\n")
    with pytest.raises(RulePackError, match=match):
        load_album_rules(pack)
