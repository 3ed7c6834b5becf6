"""Where a single value goes wrong, end to end: ``qc.check.Checker`` on files whose events are known.

The true-peak file holds a quiet 1 kHz sine plus 10 ms bursts of a quarter-sample-rate sine at 45°
phase: their samples sit 3 dB under their true peak, so each burst is an inter-sample over at a known
time. The true-peak and headroom findings must list exactly the bursts over *their* threshold (the
profile's ceiling), within 10 ms. The codec file (as in ``tests/test_codec.py``) has one loud passage
hard-clipped at -0.1 dBFS; the codec-clipping finding must place its decoded overs inside it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from music import music
from signals import sine, write

from qc.analysis import FeatureRequest
from qc.check import Checker
from qc.codec import is_codec_feature
from qc.report import render_markdown
from qc.report.filters import measured, threshold
from qc.units import db_to_gain

RATE = 48000
BURST_S = 0.01
# (start_s, true peak of the burst alone in dBTP, channel)
BURSTS = [(1.0, 0.0, 0), (2.5, 0.0, 0), (3.0, -2.0, 1), (4.25, 0.0, 1)]
TOLERANCE_S = 0.01

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _isp_signal() -> np.ndarray:
    x = sine(1000.0, -30.0, 6.0, RATE)
    frames = int(round(BURST_S * RATE))
    n = np.arange(frames)
    for start_s, level_dbtp, channel in BURSTS:
        start = int(round(start_s * RATE))
        # fs/4 at 45°: samples at ±0.707 of the crest, which falls between them
        x[start : start + frames, channel] += db_to_gain(level_dbtp) * np.sin(np.pi / 2 * n + np.pi / 4)
    return x


@pytest.fixture(scope="module")
def isp_file(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("where") / "isp.wav", _isp_signal(), RATE)


@pytest.fixture(scope="module")
def no_codec(tmp_path_factory) -> Path:
    """A pack that leaves out the codec round trip (not what these tests are about, and slow)."""
    path = tmp_path_factory.mktemp("packs") / "no-codec.yaml"
    path.write_text("pack: no-codec\nextends: default\nrules: [{id: codec-clipping, enabled: false}]\n")
    return path


def _finding(report, rule_id: str):
    found = [finding for finding in report.findings if finding.rule_id == rule_id]
    assert len(found) == 1, [f.rule_id for f in report.findings]
    return found[0]


@pytest.mark.parametrize(
    ("profile", "rule_id", "ceiling_dbtp"),
    [("streaming", "true-peak", -1.0), ("cd", "true-peak", -0.3), ("premaster", "headroom", -3.0)],
)
def test_true_peak_finding_lists_the_inter_sample_overs_at_their_times(
    isp_file, no_codec, profile, rule_id, ceiling_dbtp
):
    report = Checker(profile, [no_codec]).check(isp_file)
    assert report.features["sample_peak_dbfs"] < -2.5  # the -1 and -0.3 dBTP overs lie between samples
    finding = _finding(report, rule_id)
    assert finding.events_feature == "true_peak_events"
    expected = [(start_s, channel) for start_s, level, channel in BURSTS if level > ceiling_dbtp]
    assert len(finding.events) == len(expected)
    for event, (start_s, channel) in zip(finding.events, expected, strict=True):
        assert event.channel == channel
        assert event.start_s == pytest.approx(start_s, abs=TOLERANCE_S)
        assert event.end_s == pytest.approx(start_s + BURST_S, abs=TOLERANCE_S)
        assert event.value > ceiling_dbtp
    assert finding.value > ceiling_dbtp  # still the scalar true peak, in dBTP


def test_the_message_says_where_the_first_over_is_and_how_many(isp_file, no_codec):
    finding = _finding(Checker("streaming", [no_codec]).check(isp_file), "true-peak")
    assert finding.message.endswith(
        "First over at 0:01.000; 3 over(s) in all: at 0:01.000 (L), 0:02.500 (L) and 0:04.250 (R)."
    )


def test_a_report_shows_the_true_peak_in_dbtp_and_lists_the_overs(isp_file, no_codec):
    report = Checker("streaming", [no_codec]).check(isp_file)
    finding = _finding(report, "true-peak")
    assert (measured(finding), threshold(finding)) == (
        f"{finding.value:.1f} dBTP",
        "-1.0 dBTP",
    )  # not "3 events"
    text = render_markdown(report)
    assert "Times: at 0:01.000–0:01.010, 0:02.500–0:02.510 and 0:04.250–0:04.260." in text


def test_true_peak_events_share_the_default_pass_when_the_ceiling_is_the_default(no_codec):
    def overs(profile: str) -> list[FeatureRequest]:
        return [r for r in Checker(profile, [no_codec]).requests() if r.name == "true_peak_events"]

    assert [dict(r.params) for r in overs("streaming")] == [{}]  # -1 dBTP is the extractor's default
    assert [dict(r.params) for r in overs("cd")] == [{"ceiling_dbtp": -0.3}]
    assert [dict(r.params) for r in overs("premaster")] == [{"ceiling_dbtp": -3.0}]


@pytest.mark.parametrize("override", ["", "    params: {full: true, mp3_kbps: 192}\n"])
def test_codec_events_come_from_the_same_round_trip(tmp_path, override):
    pack = tmp_path / "codec.yaml"
    pack.write_text("pack: codec\nextends: default\nrules:\n  - id: codec-clipping\n" + override)
    codec = [r for r in Checker("streaming", [pack]).requests() if is_codec_feature(r.name)]
    assert {r.name for r in codec} == {"codec_true_peak_dbtp", "codec_clip_events"}
    assert len({r.key[1] for r in codec}) == 1  # one set of parameters: one encode per codec


@needs_ffmpeg
def test_codec_clipping_finding_places_the_decoded_overs_in_the_loud_passage(tmp_path):
    x, sample_rate = music(6.0, seed=7, rms_dbfs=-32.0)
    start, stop = int(2.0 * sample_rate), int(3.5 * sample_rate)
    ceiling = db_to_gain(-0.1)
    x[start:stop] = np.clip(x[start:stop] * db_to_gain(30.0), -ceiling, ceiling)
    path = write(tmp_path / "loud.wav", x, sample_rate)
    finding = _finding(Checker("streaming").check(path), "codec-clipping")
    assert finding.events_feature == "codec_clip_events"
    assert finding.events, "a passage clipped at -0.1 dBFS comes back over full scale"
    assert all(e.start_s >= 2.0 - TOLERANCE_S and e.end_s <= 3.5 + TOLERANCE_S for e in finding.events)
    assert "Decoded samples reach full scale first at 0:02." in finding.message
