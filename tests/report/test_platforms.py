"""The streaming platform preview: the data file, the gain arithmetic, and the plain-language notes."""

from __future__ import annotations

import math

import pytest
from report.sample import sample_report

from qc.errors import RulePackError
from qc.report.platforms import (
    Platform,
    load_platforms,
    platform_preview,
    preview_one,
    turned_down_note,
)

RAISES = Platform(id="up", name="Up", reference_lufs=-14.0, turns_up=True, up_ceiling_dbtp=-1.0, source="x")
DOWN_ONLY = Platform(id="down", name="Down", reference_lufs=-14.0, turns_up=False, source="x")


def test_the_data_file_lists_the_six_platforms_with_sources():
    platforms = {p.id: p for p in load_platforms()}
    assert list(platforms) == ["spotify", "apple-music", "youtube", "tidal", "amazon-music", "deezer"]
    assert platforms["spotify"].reference_lufs == -14.0
    assert platforms["apple-music"].reference_lufs == -16.0
    assert platforms["deezer"].reference_lufs == -15.0
    assert not platforms["youtube"].turns_up
    assert all(p.source for p in platforms.values())


def test_a_loud_master_is_turned_down_by_the_difference_and_its_peak_with_it():
    row = preview_one(RAISES, loudness_lufs=-8.5, peak_dbtp=0.4)
    assert row.action == "down"
    assert row.gain_db == pytest.approx(-5.5)
    assert row.loudness_lufs == pytest.approx(-14.0)
    assert row.peak_dbtp == pytest.approx(-5.1)
    assert "thrown away" in row.advice and not row.peak_over


def test_a_quiet_master_is_left_alone_by_a_platform_that_never_raises():
    row = preview_one(DOWN_ONLY, loudness_lufs=-20.0, peak_dbtp=-3.0)
    assert (row.action, row.gain_db, row.peak_dbtp) == ("quiet", 0.0, -3.0)
    assert "6.0 dB quieter" in row.advice


def test_a_quiet_master_is_raised_only_as_far_as_its_peaks_allow():
    # Spotify's own example: -20 LUFS with peaks at -5 dBFS is lifted to -16 LUFS, not -14
    row = preview_one(RAISES, loudness_lufs=-20.0, peak_dbtp=-5.0)
    assert row.action == "limited"
    assert row.gain_db == pytest.approx(4.0)
    assert row.loudness_lufs == pytest.approx(-16.0)
    assert row.peak_dbtp == pytest.approx(-1.0)


def test_a_quiet_master_with_headroom_is_raised_to_the_reference():
    row = preview_one(RAISES, loudness_lufs=-17.0, peak_dbtp=-6.0)
    assert (row.action, row.gain_db) == ("up", pytest.approx(3.0))


def test_peaks_still_over_the_encoding_ceiling_after_normalisation_are_flagged():
    row = preview_one(DOWN_ONLY, loudness_lufs=-14.5, peak_dbtp=0.5)
    assert row.action == "quiet" and row.peak_over
    assert "may distort" in row.advice


def test_a_master_at_the_reference_is_played_as_is():
    row = preview_one(RAISES, loudness_lufs=-14.02, peak_dbtp=-1.5)
    assert row.action == "none" and row.advice == "Played at the level it was mastered."


def test_preview_uses_the_report_loudness_and_true_peak():
    rows = platform_preview(sample_report())  # -9.1 LUFS, 0.31 dBTP
    gains = {row.platform.id: row.gain_db for row in rows}
    assert gains["spotify"] == pytest.approx(-4.9)
    assert gains["apple-music"] == pytest.approx(-6.9)
    assert gains["deezer"] == pytest.approx(-5.9)


@pytest.mark.parametrize("loudness", [None, -math.inf, math.nan])
def test_no_preview_without_a_finite_loudness(loudness):
    features = {"true_peak_dbtp": -1.0} | ({} if loudness is None else {"integrated_lufs": loudness})
    assert platform_preview(sample_report(features=features)) == []


def test_the_turned_down_note_speaks_when_most_platforms_turn_it_down():
    note = turned_down_note(platform_preview(sample_report()))
    assert "6 of 6 platforms turn it down (-4.9 dB to -6.9 dB)" in note
    assert "thrown away" in note
    quiet = platform_preview(sample_report(features={"integrated_lufs": -15.5, "true_peak_dbtp": -2.0}))
    assert turned_down_note(quiet) == ""


def test_a_malformed_platform_file_names_the_key(tmp_path):
    bad = tmp_path / "platforms.yaml"
    bad.write_text(
        "version: '1'\nplatforms:\n  - {id: x, name: X, reference_lufs: 3, turns_up: no, source: s}\n"
    )
    with pytest.raises(RulePackError, match=r"platforms\.0\.reference_lufs"):
        load_platforms(bad)


def test_an_unknown_platform_key_is_rejected(tmp_path):
    bad = tmp_path / "platforms.yaml"
    platform = "{id: x, name: X, reference_lufs: -14, turns_up: no, source: s, loud: 1}"
    bad.write_text(f"version: '1'\nplatforms:\n  - {platform}\n")
    with pytest.raises(RulePackError, match="loud"):
        load_platforms(bad)
