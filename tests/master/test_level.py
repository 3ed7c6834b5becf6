"""Gain and the true-peak limiter on signals whose answers are known by construction.

The output's true peak is measured with the project's meter (``qc.dsp.truepeak.true_peak``) and, where it is
cheap and meaningful, with an independent one: FFT interpolation of a periodic stretch (exact for a periodic
band-limited signal) or ffmpeg's ``ebur128=peak=true``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile
from music import music
from reference import ffmpeg_available, ffmpeg_ebur128
from signals import sine

import qc.master.level as level
from qc.dsp.truepeak import true_peak
from qc.errors import MasterError
from qc.master.level import SAFETY_MARGIN_DB, Gain, TruePeakLimiter
from qc.master.stage import Stage, run_stages
from qc.units import gains_to_db

CEILING_DBTP = -1.0


def true_peak_dbtp(x: np.ndarray) -> float:
    """The largest true peak over channels, dBTP, from the project's meter."""
    return float(gains_to_db(true_peak(x)).max())


def limit(
    x: np.ndarray, sample_rate: int, *, block_frames: int = 65536, **options
) -> tuple[np.ndarray, TruePeakLimiter]:
    limiter = TruePeakLimiter(sample_rate, x.shape[1], CEILING_DBTP, **options)
    return run_stages([limiter], x, block_frames=block_frames), limiter


def square(freq_hz: float, duration_s: float, sample_rate: int) -> np.ndarray:
    """A full-scale (±1) square wave, stereo: every sample at 0 dBFS, Gibbs overshoot between them."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    wave = np.where(np.sin(2 * np.pi * freq_hz * t + 0.1) >= 0.0, 1.0, -1.0)
    return np.stack([wave, wave], axis=1)


def ffmpeg_true_peak_dbtp(path) -> float:
    """ffmpeg's ebur128 true peak, dBTP: its running maximum from frame metadata (0.001 linear steps)."""
    reading = ffmpeg_ebur128(path)
    return max(reading.max_true_peak_dbtp, reading.true_peak_dbtp - 0.05)


# --- Gain ----------------------------------------------------------------------------------------------


def test_gain_multiplies_every_sample_by_the_exact_factor() -> None:
    x = music(2.0)[0]
    stage = Gain(9.83)
    out = run_stages([stage], x, block_frames=1000)
    np.testing.assert_array_equal(out, x * 10 ** (9.83 / 20))
    change = stage.change()
    assert (change.stage, change.summary, change.values, change.changed) == (
        "gain",
        "static gain +9.83 dB",
        {"gain_db": 9.83},
        True,
    )
    assert isinstance(stage, Stage)


def test_zero_gain_is_reported_unchanged() -> None:
    assert Gain(0.0).change().changed is False
    assert Gain(-2.3).change().summary == "static gain -2.30 dB"


# --- Limiter: the ceiling --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("freq_hz", [100.0, 1000.0, 3000.0])
def test_full_scale_square_wave_comes_out_under_the_ceiling(freq_hz: float, sample_rate: int) -> None:
    x = square(freq_hz, 1.0, sample_rate)
    assert true_peak_dbtp(x) > 2.0  # the band-limited square overshoots 0 dBFS
    y, limiter = limit(x, sample_rate)
    peak = true_peak_dbtp(y)
    assert peak <= CEILING_DBTP
    assert peak >= CEILING_DBTP - 2 * SAFETY_MARGIN_DB  # holds the ceiling, does not dig far below it
    assert np.abs(y).max() < 1.0
    excess_db = true_peak_dbtp(x) - (CEILING_DBTP - SAFETY_MARGIN_DB)
    assert limiter.stats.max_reduction_db == pytest.approx(excess_db, abs=0.01)


@pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed")
def test_square_wave_output_is_under_the_ceiling_for_ffmpegs_meter(tmp_path) -> None:
    x = square(1000.0, 2.0, 48000)
    y, _ = limit(x, 48000)
    path = tmp_path / "out.wav"
    soundfile.write(path, y, 48000, subtype="FLOAT")
    assert ffmpeg_true_peak_dbtp(path) <= CEILING_DBTP


def test_intersample_peak_sine_comes_out_under_the_ceiling() -> None:
    """fs/4 at 45°: samples at ±1.0 (0 dBFS), waveform peak √2 (+3.01 dBTP) between every pair of them."""
    sample_rate = 48000
    x = sine(sample_rate / 4, 20 * np.log10(np.sqrt(2)), 1.0, sample_rate, phase_rad=np.pi / 4)
    assert np.abs(x).max() == pytest.approx(1.0)
    y, limiter = limit(x, sample_rate)
    assert true_peak_dbtp(y) <= CEILING_DBTP
    # Independent reference: FFT interpolation, exact for a band-limited periodic signal. The steady middle
    # repeats every 4 samples; the abrupt start is checked with silence before it and a slow fade after.
    from scipy.signal import resample

    middle = y[12000:36000, 0]
    np.testing.assert_allclose(np.abs(middle), np.abs(middle[0]), rtol=1e-9)  # the gain is constant there
    fine = resample(middle, 32 * len(middle))
    assert float(gains_to_db(np.abs(fine).max())) == pytest.approx(CEILING_DBTP - SAFETY_MARGIN_DB, abs=0.005)
    fade = np.minimum(1.0, (12000 - np.arange(12000)) / 3000)
    onset = np.concatenate((np.zeros(8000), y[:12000, 0] * fade, np.zeros(8000)))
    assert float(gains_to_db(np.abs(resample(onset, 16 * len(onset))).max())) <= CEILING_DBTP
    steady_db = 3.0103 - (CEILING_DBTP - SAFETY_MARGIN_DB)  # 20·log10(√2) over the target
    assert float(gains_to_db(middle[0])) == pytest.approx(-steady_db, abs=0.002)
    # The abrupt start rings higher still (the waveform rises from the silence before the file).
    onset_db = true_peak_dbtp(x) - (CEILING_DBTP - SAFETY_MARGIN_DB)
    assert onset_db > steady_db
    assert limiter.stats.max_reduction_db == pytest.approx(onset_db, abs=0.01)


@pytest.mark.parametrize("freq_hz", [5000.0, 15000.0, 19800.0])
def test_loud_sines_up_to_0_45_fs_come_out_under_the_ceiling(freq_hz: float) -> None:
    x = sine(freq_hz, 6.0, 0.5, 44100, phase_rad=0.3)
    y, _ = limit(x, 44100)
    assert CEILING_DBTP - 2 * SAFETY_MARGIN_DB <= true_peak_dbtp(y) <= CEILING_DBTP


def test_loud_music_comes_out_under_the_ceiling_and_untouched_between_peaks() -> None:
    x, sample_rate = music(8.0, rms_dbfs=-14.0)
    y, limiter = limit(x, sample_rate)
    assert true_peak_dbtp(x) > 0.0
    assert true_peak_dbtp(y) <= CEILING_DBTP
    untouched = np.mean(np.all(y == x, axis=1))  # frames passed bit-identically
    assert 0.2 < untouched <= 1.0 - limiter.stats.limited_share


def test_output_check_corrects_a_detector_that_reads_low(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: with detection made to read 0.5 dB low, the output check still holds the ceiling."""
    honest = level.detected_peaks
    monkeypatch.setattr(level, "detected_peaks", lambda *args: honest(*args) * 10 ** (-0.5 / 20))
    x, sample_rate = music(6.0, rms_dbfs=-12.0)
    outputs = [limit(x, sample_rate, block_frames=frames) for frames in (1024, 65536)]
    for y, limiter in outputs:
        assert limiter.stats.corrections > 0
        assert true_peak_dbtp(y) <= CEILING_DBTP
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])


# --- Limiter: transparency and timing ---------------------------------------------------------------------


def test_signal_below_the_ceiling_passes_bit_identically() -> None:
    x, sample_rate = music(6.0, rms_dbfs=-30.0)
    assert true_peak_dbtp(x) < CEILING_DBTP - 1.0
    y, limiter = limit(x, sample_rate, block_frames=4096)
    np.testing.assert_array_equal(y, x)
    assert limiter.stats.max_reduction_db == 0.0
    change = limiter.change()
    assert change.changed is False
    assert change.values["max_reduction_db"] == 0.0 and change.values["regions"] == []


@pytest.mark.parametrize("height", [0.5, 3.0])
def test_latency_is_compensated_impulse_stays_in_place(height: float) -> None:
    sample_rate = 48000
    x = np.zeros((sample_rate, 2))
    x[30000] = height
    y, _ = limit(x, sample_rate, block_frames=1000)
    assert y.shape == x.shape
    assert int(np.argmax(np.abs(y[:, 0]))) == 30000
    assert np.all(y[:29000] == 0.0) and np.all(y[31000:] == 0.0)
    if height < 1:
        np.testing.assert_array_equal(y, x)
    else:
        assert true_peak_dbtp(y) <= CEILING_DBTP


@pytest.mark.parametrize("frames", [0, 1, 100, 32768, 100_003])
def test_output_has_as_many_frames_as_the_input(frames: int) -> None:
    x = np.random.default_rng(1).standard_normal((frames, 2))  # peaks far over the ceiling
    y, _ = limit(x, 44100, block_frames=7000)
    assert y.shape == x.shape
    if frames > 1:
        assert true_peak_dbtp(y) <= CEILING_DBTP


def test_output_does_not_depend_on_block_size() -> None:
    x, sample_rate = music(5.0, rms_dbfs=-10.0)
    reference, _ = limit(x, sample_rate, block_frames=65536)
    for frames in (1024, 777):
        y, _ = limit(x, sample_rate, block_frames=frames)
        np.testing.assert_array_equal(y, reference)


def test_channels_get_the_same_gain() -> None:
    """Linked stereo: a peak in the left channel lowers the right one by the same factor."""
    sample_rate = 48000
    x = np.full((sample_rate, 2), 0.25)
    x[20000:20100, 0] = 1.5
    y, _ = limit(x, sample_rate)
    ratio = y[:, 1] / x[:, 1]
    assert ratio.min() < 0.6
    np.testing.assert_allclose(y[:20000, 0] / x[:20000, 0], ratio[:20000], rtol=1e-12)


# --- Limiter: how much and where ---------------------------------------------------------------------


def test_transient_burst_reports_its_known_excess_and_where() -> None:
    """A 1 kHz sine at -12 dBFS with a 50 ms burst at +2 dBFS: 3.05 dB over the limiter's target."""
    sample_rate = 48000
    x = sine(1000.0, -12.0, 4.0, sample_rate)
    start, end = 2 * sample_rate, 2 * sample_rate + sample_rate // 20
    x[start:end] *= 10 ** (14.0 / 20)
    y, limiter = limit(x, sample_rate, release_ms=50.0)
    stats = limiter.stats
    excess_db = 2.0 - (CEILING_DBTP - SAFETY_MARGIN_DB)
    assert stats.max_reduction_db == pytest.approx(excess_db, abs=0.02)
    assert len(stats.regions) == 1
    region = stats.regions[0]
    assert 2.0 - 0.006 <= region.start_s <= 2.0  # the attack starts within the 5 ms look-ahead
    assert 2.05 <= region.end_s <= 2.05 + 0.5  # the release from 3 dB to 0.1 dB takes 50 ms · ln 30
    assert stats.limited_s == pytest.approx(region.end_s - region.start_s, abs=1e-3)
    assert stats.limited_share == pytest.approx(stats.limited_s / 4.0)
    values = limiter.change().values
    assert values["regions"] == [
        {"start_s": round(region.start_s, 3), "end_s": round(region.end_s, 3),
         "max_reduction_db": round(region.max_reduction_db, 3)}
    ]  # fmt: skip
    assert values["max_reduction_db"] == round(stats.max_reduction_db, 3)
    np.testing.assert_array_equal(y[:sample_rate], x[:sample_rate])  # far from the burst: untouched


def test_regions_are_the_worst_ten_largest_first() -> None:
    sample_rate = 44100
    x = sine(500.0, -12.0, 16.0, sample_rate)
    for i in range(15):  # bursts 1 s apart, each 0.25 dB higher than the one before
        at = (i + 1) * sample_rate
        x[at : at + 2205] *= 10 ** ((12.0 + 0.25 * i) / 20)
    _, limiter = limit(x, sample_rate)
    regions = limiter.stats.regions
    assert len(regions) == 10
    assert [round(r.start_s) for r in regions] == list(range(15, 5, -1))
    assert all(a.max_reduction_db > b.max_reduction_db for a, b in itertools.pairwise(regions))


def test_occasional_peaks_keep_the_loudness_of_gain_only() -> None:
    """Drum hits over the ceiling, the rest below: the limited output is within 0.1 LU of gain alone."""
    import pyloudnorm

    x, sample_rate = music(16.0, rms_dbfs=-20.0)
    gained = run_stages([Gain(4.0)], x)
    limiter = TruePeakLimiter(sample_rate, 2, CEILING_DBTP)
    y = run_stages([Gain(4.0), limiter], x)
    assert limiter.stats.max_reduction_db > 0.0
    assert limiter.stats.limited_share < 0.5
    meter = pyloudnorm.Meter(sample_rate)
    assert meter.integrated_loudness(y) == pytest.approx(meter.integrated_loudness(gained), abs=0.1)


# --- Parameters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ceiling_dbtp": 0.5}, "ceiling_dbtp must be between"),
        ({"lookahead_ms": 0.0}, "lookahead_ms must be between"),
        ({"release_ms": float("nan")}, "release_ms must be between"),
        ({"channels": 0}, "sample_rate and channels must be positive"),
    ],
)
def test_out_of_range_parameters_are_refused(options: dict, message: str) -> None:
    arguments = {"sample_rate": 48000, "channels": 2, "ceiling_dbtp": -1.0, **options}
    with pytest.raises(MasterError, match=message):
        TruePeakLimiter(**arguments)


def test_blocks_of_the_wrong_shape_are_refused() -> None:
    limiter = TruePeakLimiter(48000, 2, -1.0)
    with pytest.raises(MasterError, match=r"shape \(frames, 2\)"):
        limiter.process(0, np.zeros((10, 1)))
