"""The codec round trip (qc/codec.py): real ffmpeg AAC and MP3 round trips where ffmpeg is installed.

Signals are a few seconds long and built so the answer is known: a bright, hard-clipped passage at
-0.1 dBFS comes back from the encoders over full scale (and only there), a master with its true peak at
-6 dBTP stays far below it. Without ffmpeg the features are unavailable with the reason, and the rule
becomes an info finding.
"""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
from music import music
from pydantic import ValidationError
from signals import write

from qc import codec
from qc.analysis import FeatureRequest, FeatureSet, extract_features
from qc.audio import open_audio
from qc.check import Checker
from qc.codec import FFMPEG_MISSING, CodecParams, choose_excerpts, codec_features, round_trip
from qc.dsp.truepeak import CONTEXT_FRAMES, true_peak
from qc.features.overview import WaveformEnvelope
from qc.features.registry import Event, Unavailable
from qc.units import db_to_gain, gain_to_db

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

CLIP_DBFS = -0.1


def planted(duration_s: float, loud_s: tuple[float, float], *, quiet_rms_dbfs: float = -32.0, seed: int = 7):
    """Quiet music with a loud, bright passage hard-clipped at -0.1 dBFS over ``loud_s`` (seconds)."""
    x, sample_rate = music(duration_s, seed=seed, rms_dbfs=quiet_rms_dbfs)
    start, stop = (int(round(s * sample_rate)) for s in loud_s)
    ceiling = db_to_gain(CLIP_DBFS)
    loud = x[start:stop] * db_to_gain(30.0)  # about -2 dBFS RMS: a crushed, clipped passage
    x[start:stop] = np.clip(loud, -ceiling, ceiling)
    return x, sample_rate


@pytest.fixture(scope="module")
def loud_file(tmp_path_factory):
    """6 s: quiet, then 2.0-3.5 s loud and clipped at -0.1 dBFS, then quiet."""
    x, sample_rate = planted(6.0, (2.0, 3.5))
    return write(tmp_path_factory.mktemp("codec") / "loud.wav", x, sample_rate)


@pytest.fixture(scope="module")
def loud_result(loud_file):
    """The default round trip of ``loud_file`` (short enough to be encoded whole)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    return round_trip(open_audio(loud_file))


# --- Choosing passages (no ffmpeg needed) --------------------------------------------------------------


def _envelope(peaks: list[float], column_s: float = 0.5, rms: list[float] | None = None) -> WaveformEnvelope:
    rms = rms if rms is not None else [p / 4 for p in peaks]
    return WaveformEnvelope(column_s=column_s, min=[-p for p in peaks], max=list(peaks), rms=rms)


def test_the_window_is_centred_on_the_loudest_column():
    peaks = [0.1] * 40
    peaks[30] = 0.9  # 15.0-15.5 s
    windows = choose_excerpts(_envelope(peaks), 20 * 1000, 1000, CodecParams(excerpts=1, excerpt_s=2.0))
    assert windows == [(14_250, 16_250)]


def test_windows_do_not_overlap_and_come_in_time_order():
    rng = np.random.default_rng(1)
    peaks = list(rng.uniform(0.1, 1.0, 120))
    windows = choose_excerpts(_envelope(peaks), 60 * 1000, 1000, CodecParams(excerpts=6, excerpt_s=3.0))
    assert len(windows) == 6
    assert all(stop - start == 3000 for start, stop in windows)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows))


def test_among_equal_peaks_the_densest_passage_is_chosen():
    peaks = [0.95] * 40
    rms = [0.1] * 40
    rms[8] = 0.5  # 4.0-4.5 s: as high a peak, far more power
    windows = choose_excerpts(_envelope(peaks, rms=rms), 20_000, 1000, CodecParams(excerpts=1, excerpt_s=1.0))
    assert windows == [(3750, 4750)]


def test_an_inter_sample_over_outranks_equal_sample_peaks():
    peaks = [0.99] * 40  # a sample-peak limiter: every column at the ceiling
    over = Event(start_s=12.1, end_s=12.2, channel=0, value=0.8)  # true peak +0.8 dBTP at 12.1 s
    windows = choose_excerpts(_envelope(peaks), 20_000, 1000, CodecParams(excerpts=1, excerpt_s=1.0), [over])
    assert windows == [(11_750, 12_750)]


def test_a_window_near_the_end_stays_inside_the_file():
    peaks = [0.1] * 20
    peaks[-1] = 1.0
    windows = choose_excerpts(_envelope(peaks), 10_000, 1000, CodecParams(excerpts=1, excerpt_s=4.0))
    assert windows == [(6000, 10_000)]


@pytest.mark.parametrize(
    ("params", "frames"),
    [(CodecParams(full=True), 600_000), (CodecParams(excerpts=4, excerpt_s=4.0), 16 * 1000)],
    ids=["full", "windows would cover the file"],
)
def test_the_whole_file_is_one_range_when_asked_or_when_short(params, frames):
    assert choose_excerpts(_envelope([0.5] * 10), frames, 1000, params) == [(0, frames)]


def test_params_with_no_codec_are_rejected():
    with pytest.raises(ValidationError, match="both null"):
        CodecParams(aac_kbps=None, mp3_kbps=None)


@pytest.mark.parametrize("bad", [{"aac_kbps": 16}, {"mp3_kbps": 640}, {"excerpts": 0}, {"preroll_s": 0.0}])
def test_params_out_of_range_are_rejected(bad):
    with pytest.raises(ValidationError):
        CodecParams(**bad)


# --- Measuring the decoded stream ----------------------------------------------------------------------


@pytest.mark.parametrize("block_frames", [1024, 4096, 1 << 20])
def test_the_meter_gives_the_same_result_for_any_block_size(block_frames):
    x, _ = planted(3.0, (1.0, 2.0))
    x = x * 1.2  # samples over full scale
    whole = codec._DecodedMeter(2, [codec._Region(0, len(x), 0)], 1.0, 0)
    whole.update(x)
    whole.finish()
    blocks = codec._DecodedMeter(2, [codec._Region(0, len(x), 0)], 1.0, 0)
    for start in range(0, len(x), block_frames):
        blocks.update(x[start : start + block_frames])
    blocks.finish()
    assert blocks.peak == pytest.approx(whole.peak, abs=1e-9)
    assert blocks.merger.finish() == whole.merger.finish()


def test_the_meter_reads_the_true_peak_of_the_whole_signal():
    x, _ = planted(3.0, (1.0, 2.0))
    meter = codec._DecodedMeter(2, [codec._Region(0, len(x), 0)], 1.0, 0)
    meter.update(x)
    meter.finish()
    assert gain_to_db(meter.peak) == pytest.approx(gain_to_db(float(true_peak(x).max())), abs=0.01)


def test_the_meter_ignores_what_lies_outside_the_regions():
    x, _ = planted(3.0, (1.0, 2.0), quiet_rms_dbfs=-40.0)
    x[1000:1010] = 1.5  # an over in the pre-roll: not measured
    region = codec._Region(20_000, 40_000, 500_000)
    meter = codec._DecodedMeter(2, [region], 1.0, 0)
    meter.update(x)
    meter.finish()
    inside = x[20_000 - CONTEXT_FRAMES : 40_000 + CONTEXT_FRAMES]
    assert meter.peak <= float(np.abs(inside).max()) * 1.2
    assert meter.peak < 1.0
    assert meter.merger.finish() == []


# --- Real round trips ---------------------------------------------------------------------------------


@needs_ffmpeg
def test_a_loud_clipped_master_goes_over_full_scale_after_encoding(loud_result):
    result = loud_result
    assert result.reasons == {}
    assert set(result.peaks_dbtp) == {"aac", "mp3"}
    features = result.features()
    assert features["codec_true_peak_dbtp"] > 0.0
    assert features["codec_true_peak_dbtp"] == max(result.peaks_dbtp.values())


@needs_ffmpeg
def test_codec_overs_are_found_only_in_the_planted_passage(loud_result):
    result = loud_result
    events = result.features()["codec_clip_events"]
    assert events, "a -0.1 dBFS clipped passage should come back over full scale"
    assert all(event.value >= 0.0 for event in events)
    assert all(event.start_s >= 2.0 - 0.005 and event.end_s <= 3.5 + 0.005 for event in events)
    for codec_name, at_s in result.peaks_s.items():
        assert 2.0 - 0.005 <= at_s <= 3.5 + 0.005, codec_name


@needs_ffmpeg
def test_decoded_audio_lines_up_with_the_file_within_a_millisecond(tmp_path):
    # Silence with one 20 ms burst of a full-scale square wave at exactly 1.000 s: its overs must be there.
    sample_rate = 44100
    x = np.zeros((3 * sample_rate, 2))
    n = np.arange(int(0.02 * sample_rate))
    square = np.sign(np.sin(2 * np.pi * 2000 * n / sample_rate))
    x[sample_rate : sample_rate + len(n)] = 0.99 * square[:, None]
    path = write(tmp_path / "burst.wav", x, sample_rate)
    result = round_trip(open_audio(path))
    events = result.features()["codec_clip_events"]
    assert events
    assert min(event.start_s for event in events) >= 1.0 - 0.001
    assert max(event.end_s for event in events) <= 1.02 + 0.001


@needs_ffmpeg
def test_a_master_peaking_at_minus_6_dbtp_stays_well_under_full_scale(tmp_path):
    x, sample_rate = music(4.0, rms_dbfs=-16.0)
    x = x * db_to_gain(-6.0) / float(true_peak(x).max())
    result = round_trip(open_audio(write(tmp_path / "quiet.wav", x, sample_rate)))
    features = result.features()
    assert features["codec_true_peak_dbtp"] < -3.0
    assert features["codec_clip_events"] == []


@needs_ffmpeg
def test_excerpt_mode_encodes_the_loudest_passage(tmp_path):
    x, sample_rate = planted(16.0, (11.0, 12.5), seed=3)
    info = open_audio(write(tmp_path / "long.wav", x, sample_rate))
    envelope = extract_features(info, [FeatureRequest("waveform_envelope")]).get("waveform_envelope")
    result = round_trip(info, CodecParams(excerpts=1, excerpt_s=2.0), envelope)
    (start_s, end_s), = result.excerpts_s
    assert start_s <= 11.0 + 0.5 and end_s >= 12.5 - 0.5  # the window sits on the planted passage
    assert result.features()["codec_true_peak_dbtp"] > 0.0
    assert all(start_s <= event.start_s and event.end_s <= end_s for event in result.events)


@needs_ffmpeg
def test_excerpt_and_full_mode_agree_on_the_planted_passage(tmp_path):
    x, sample_rate = planted(10.0, (6.0, 7.0), seed=5)
    info = open_audio(write(tmp_path / "mid.wav", x, sample_rate))
    envelope = extract_features(info, [FeatureRequest("waveform_envelope")]).get("waveform_envelope")
    excerpt = round_trip(info, CodecParams(excerpts=1, excerpt_s=2.0), envelope)
    full = round_trip(info, CodecParams(full=True), envelope)
    assert excerpt.excerpts_s != full.excerpts_s
    # Both find the over; MP3 agrees closely. AAC's overs on a passage this crushed vary by about 1 dB with
    # the encoder's state (how much audio came before), so it gets a wider tolerance.
    assert min(excerpt.peaks_dbtp.values()) > 1.0 and min(full.peaks_dbtp.values()) > 1.0
    assert excerpt.peaks_dbtp["mp3"] == pytest.approx(full.peaks_dbtp["mp3"], abs=0.3)
    assert excerpt.peaks_dbtp["aac"] == pytest.approx(full.peaks_dbtp["aac"], abs=1.5)


@needs_ffmpeg
@pytest.mark.parametrize(("sample_rate", "channels"), [(96000, 2), (48000, 1)])
def test_other_rates_and_mono_are_measured_in_file_time(tmp_path, sample_rate, channels):
    t = np.arange(int(2.0 * sample_rate)) / sample_rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    burst = (t >= 1.0) & (t < 1.05)
    x[burst] = np.sign(np.sin(2 * np.pi * 3000 * t[burst])) * 0.99
    x = np.repeat(x[:, None], channels, axis=1)
    result = round_trip(open_audio(write(tmp_path / "rate.wav", x, sample_rate)))
    events = result.features()["codec_clip_events"]
    assert events
    assert all(event.start_s >= 1.0 - 0.002 and event.end_s <= 1.05 + 0.002 for event in events)
    assert all(event.channel in range(channels) for event in events)


@needs_ffmpeg
def test_a_missing_encoder_skips_that_codec_only(loud_file, monkeypatch):
    broken = codec._Codec("mp3", "MP3", encoder="libnosuchencoder", muxer="mp3", suffix="mp3")
    monkeypatch.setattr(codec, "CODECS", (codec.CODECS[0], broken))
    result = round_trip(open_audio(loud_file))
    features = result.features()
    assert isinstance(features["codec_mp3_true_peak_dbtp"], Unavailable)
    assert "libnosuchencoder" in features["codec_mp3_true_peak_dbtp"].reason
    assert features["codec_true_peak_dbtp"] == result.peaks_dbtp["aac"]


def test_a_codec_can_be_left_out(loud_file, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    features = round_trip(open_audio(loud_file), CodecParams(mp3_kbps=None)).features()
    assert "mp3_kbps: null" in features["codec_mp3_true_peak_dbtp"].reason


# --- Without ffmpeg -----------------------------------------------------------------------------------


def test_without_ffmpeg_every_codec_feature_is_unavailable_with_the_reason(loud_file, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    found = FeatureSet()
    for key, value in codec_features(open_audio(loud_file), [FeatureRequest("codec_true_peak_dbtp")], found):
        found.add(key, value)
    for name in codec.CODEC_FEATURES:
        assert found.reason(name) == FFMPEG_MISSING


def test_without_ffmpeg_the_check_gives_an_info_finding(loud_file, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    report = Checker("streaming").check(loud_file)
    (finding,) = [f for f in report.findings if f.rule_id == "codec-clipping"]
    assert finding.severity == "info" and finding.skipped
    assert FFMPEG_MISSING in finding.message


def test_the_streaming_pass_alone_does_not_encode(loud_file):
    found = extract_features(open_audio(loud_file), [FeatureRequest("codec_true_peak_dbtp")])
    assert "after the streaming pass" in found.reason("codec_true_peak_dbtp")


# --- Through the check --------------------------------------------------------------------------------


@needs_ffmpeg
def test_the_streaming_check_reports_codec_clipping(loud_file):
    report = Checker("streaming").check(loud_file)
    (finding,) = [f for f in report.findings if f.rule_id == "codec-clipping"]
    assert finding.severity == "warning" and not finding.skipped
    assert finding.value > 0.0 and finding.threshold == 0.0
    assert "over full scale" in finding.message
    assert report.features["codec_true_peak_dbtp"] == pytest.approx(finding.value)


def test_the_premaster_check_does_not_encode(loud_file, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the premaster profile has no codec rule")

    monkeypatch.setattr(codec, "round_trip", fail)
    report = Checker("premaster").check(loud_file)
    assert not [f for f in report.findings if f.rule_id == "codec-clipping"]


def test_a_thorough_check_encodes_the_whole_file(loud_file, monkeypatch):
    asked = []

    def fake(info, params, envelope, overs):
        asked.append(params)
        return codec.CodecResult(peaks_dbtp={"aac": -3.0, "mp3": -3.0})

    monkeypatch.setattr(codec, "round_trip", fake)
    Checker("streaming", thorough=True).check(loud_file)
    Checker("streaming").check(loud_file)
    assert [params.full for params in asked] == [True, False]
