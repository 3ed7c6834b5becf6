"""Sample-rate conversion and TPDF-dithered quantisation, against answers known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from signals import sine

from qc.errors import MasterError
from qc.master.convert import Quantize, Resample
from qc.master.stage import run_stages
from qc.units import gain_to_db

RATE_PAIRS = [(96000, 44100), (44100, 48000), (48000, 44100), (44100, 96000)]


def _fit_tone(
    y: np.ndarray, freq_hz: float, sample_rate: int, start_frame: int
) -> tuple[float, float, float]:
    """Least-squares fit of a sine at ``freq_hz``: (amplitude, phase in rad at frame 0, residual RMS)."""
    t = (start_frame + np.arange(len(y))) / sample_rate
    basis = np.stack([np.sin(2 * np.pi * freq_hz * t), np.cos(2 * np.pi * freq_hz * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    residual = float(np.sqrt(np.mean((y - basis @ coef) ** 2)))
    return float(np.hypot(*coef)), float(np.arctan2(coef[1], coef[0])), residual


def _middle(y: np.ndarray) -> tuple[np.ndarray, int]:
    """The middle half of a signal (away from the start and end transients), and where it starts."""
    start = len(y) // 4
    return y[start : 3 * len(y) // 4], start


# --- Resample -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate_in", "rate_out"), RATE_PAIRS)
def test_resampled_1_khz_sine_keeps_frequency_level_and_timing(rate_in, rate_out):
    x = sine(1000.0, -6.0, 2.0, sample_rate=rate_in, channels=2, phase_rad=0.3)
    y = run_stages([Resample(rate_in, rate_out, 2)], x)
    for channel in range(2):
        middle, start = _middle(y[:, channel])
        amplitude, phase, residual = _fit_tone(middle, 1000.0, rate_out, start)
        assert abs(gain_to_db(amplitude) - -6.0) < 0.05  # level within 0.05 dB
        assert residual < 1e-6  # nothing but a 1 kHz sine is left (-120 dB re full scale)
        assert abs(phase - 0.3) < 1e-6  # time-aligned: soxr compensates its filter's delay


def test_tone_above_the_new_nyquist_is_removed_below_minus_100_db():
    x = sine(30000.0, 0.0, 2.0, sample_rate=96000, channels=1)
    y = run_stages([Resample(96000, 44100, 1)], x)
    middle, _ = _middle(y[:, 0])
    rms_db = gain_to_db(float(np.sqrt(np.mean(middle**2))) / np.sqrt(0.5))  # relative to the input's RMS
    assert rms_db < -100.0


def test_tone_inside_the_passband_near_20_khz_is_kept_within_0_01_db():
    x = sine(20000.0, -3.0, 2.0, sample_rate=96000, channels=1)
    y = run_stages([Resample(96000, 44100, 1)], x)
    middle, start = _middle(y[:, 0])
    amplitude, _, _ = _fit_tone(middle, 20000.0, 44100, start)
    assert abs(gain_to_db(amplitude) - -3.0) < 0.01


@pytest.mark.parametrize(("rate_in", "rate_out"), RATE_PAIRS)
@pytest.mark.parametrize("frames", [1, 7, 1000, 44100, 96001])
def test_output_length_is_the_rate_ratio_times_input_length_within_one_frame(rate_in, rate_out, frames):
    x = np.random.default_rng(frames).uniform(-0.5, 0.5, (frames, 2))
    stage = Resample(rate_in, rate_out, 2)
    y = run_stages([stage], x)
    assert y.shape[1] == 2
    assert abs(len(y) - round(frames * rate_out / rate_in)) <= 1
    values = stage.change().values
    assert (values["frames_in"], values["frames_out"]) == (frames, len(y))


@pytest.mark.parametrize(("rate_in", "rate_out"), RATE_PAIRS)
def test_resampling_does_not_depend_on_the_block_size(rate_in, rate_out):
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (rate_in * 3 + 17, 2))
    small = run_stages([Resample(rate_in, rate_out, 2)], x, block_frames=1024)
    large = run_stages([Resample(rate_in, rate_out, 2)], x, block_frames=65536)
    assert np.array_equal(small, large)


def test_resample_change_names_the_rates_and_the_quality():
    stage = Resample(96000, 44100, 2)
    run_stages([stage], np.zeros((960, 2)))
    change = stage.change()
    assert change.summary == "resampled 96000 → 44100 Hz (soxr VHQ)"
    assert change.changed
    assert change.values["sample_rate_out_hz"] == 44100


def test_equal_rates_pass_the_audio_through_untouched():
    x = np.random.default_rng(2).uniform(-1, 1, (5000, 2))
    stage = Resample(48000, 48000, 2)
    assert np.array_equal(run_stages([stage], x, block_frames=1024), x)
    assert not stage.change().changed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sample_rate_in": 0, "sample_rate_out": 44100, "channels": 2}, "positive"),
        ({"sample_rate_in": 48000, "sample_rate_out": -1, "channels": 2}, "positive"),
        ({"sample_rate_in": 48000, "sample_rate_out": 44100, "channels": 0}, "channels"),
        ({"sample_rate_in": 48000, "sample_rate_out": 44100, "channels": 2, "quality": "ultra"}, "VHQ"),
    ],
)
def test_resample_rejects_impossible_settings(kwargs, match):
    with pytest.raises(MasterError, match=match):
        Resample(**kwargs)


# --- Quantize -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bit_depth", [16, 24])
@pytest.mark.parametrize("dither", [True, False])
def test_output_lies_exactly_on_the_pcm_grid(bit_depth, dither):
    x = np.random.default_rng(3).uniform(-1.2, 1.2, (20000, 2))
    y = run_stages([Quantize(bit_depth, dither=dither)], x)
    scaled = y * 2.0 ** (bit_depth - 1)
    assert np.array_equal(scaled, np.round(scaled))
    assert scaled.min() >= -(2 ** (bit_depth - 1)) and scaled.max() <= 2 ** (bit_depth - 1) - 1


@pytest.mark.parametrize("bit_depth", [16, 24])
def test_grid_values_are_stored_exactly_by_a_pcm_writer(tmp_path, bit_depth):
    x = sine(997.0, -20.0, 0.5, sample_rate=48000)
    y = run_stages([Quantize(bit_depth)], x)
    path = tmp_path / "q.wav"
    soundfile.write(str(path), y, 48000, subtype=f"PCM_{bit_depth}")
    back, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    assert np.array_equal(back, y)


@pytest.mark.parametrize("bit_depth", [16, 24])
def test_dithered_error_power_is_a_quarter_lsb_squared(bit_depth):
    """TPDF theory: rounding (LSB²/12) plus dither (LSB²/6) gives an error of variance LSB²/4."""
    lsb = 2.0 ** -(bit_depth - 1)
    x = sine(1000.0, -20.0, 10.0, sample_rate=48000, channels=2)
    error = (run_stages([Quantize(bit_depth)], x) - x) / lsb
    assert abs(float(np.mean(error**2)) / 0.25 - 1.0) < 0.05
    assert abs(float(np.mean(error))) < 0.005


@pytest.mark.parametrize("offset_lsb", [0.0, 0.25, 0.5, 0.75])
def test_dithered_error_does_not_depend_on_the_signal(offset_lsb):
    """With TPDF dither the error's mean (0) and variance (LSB²/4) are the same for any input value."""
    lsb = 2.0**-15
    x = np.full((200000, 1), (100 + offset_lsb) * lsb)
    error = (run_stages([Quantize(16)], x) - x) / lsb
    assert abs(float(np.mean(error))) < 0.01
    assert abs(float(np.var(error)) / 0.25 - 1.0) < 0.05


def test_without_dither_the_error_is_plain_rounding():
    lsb = 2.0**-15
    x = np.full((1000, 1), 100.3 * lsb)
    y = run_stages([Quantize(16, dither=False)], x)
    assert np.all(y == 100 * lsb)


def _spectrum_db(y: np.ndarray, segment: int) -> np.ndarray:
    """Mean Hann-windowed power spectrum of ``y`` over whole segments, dB (1 Hz bins at segment = rate)."""
    frames = y[: len(y) // segment * segment].reshape(-1, segment)
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(segment), axis=1)) ** 2, axis=0)
    return 10.0 * np.log10(power + 1e-30)


def test_undithered_quiet_sine_gets_harmonics_that_dither_removes():
    """The classic demonstration at -90 dBFS (a peak of 1.04 LSB at 16 bit), 1 Hz bins."""
    rate = 48000
    x = sine(1000.0, -90.0, 10.0, sample_rate=rate, channels=1)
    plain = _spectrum_db(run_stages([Quantize(16, dither=False)], x)[:, 0], rate)
    dithered = _spectrum_db(run_stages([Quantize(16, seed=5)], x)[:, 0], rate)
    # Rounded without dither, the sine becomes a three-level wave: odd harmonics far above anything else.
    floor = float(np.median(plain))
    for harmonic_hz in (3000, 5000, 7000):
        assert plain[harmonic_hz] > plain[1000] - 30.0
        assert plain[harmonic_hz] > floor + 100.0
    # Dithered: the tone stands 40 dB over a flat floor and there is no harmonic above it.
    floor = float(np.median(dithered))
    assert dithered[1000] > floor + 40.0
    for harmonic_hz in (3000, 5000, 7000):
        assert dithered[harmonic_hz] < floor + 6.0
    low_band = float(np.mean(10 ** (dithered[100:900] / 10)))
    high_band = float(np.mean(10 ** (dithered[12000:20000] / 10)))
    assert abs(10.0 * np.log10(high_band / low_band)) < 0.5  # white: the floor is flat


def test_sine_below_half_an_lsb_vanishes_without_dither_and_survives_with_it():
    """At -100 dBFS (a peak of 0.33 LSB at 16 bit) rounding alone erases the tone; dither keeps it."""
    rate = 48000
    x = sine(1000.0, -100.0, 10.0, sample_rate=rate, channels=1)
    assert not np.any(run_stages([Quantize(16, dither=False)], x))
    dithered = _spectrum_db(run_stages([Quantize(16)], x)[:, 0], rate)
    assert dithered[1000] > float(np.median(dithered)) + 25.0


def test_quantisation_does_not_depend_on_the_block_size():
    x = sine(440.0, -30.0, 3.0, sample_rate=44100)
    small = run_stages([Quantize(16, seed=7)], x, block_frames=1024)
    large = run_stages([Quantize(16, seed=7)], x, block_frames=65536)
    assert np.array_equal(small, large)


def test_dither_is_deterministic_for_a_seed_and_differs_between_seeds():
    x = sine(440.0, -30.0, 1.0, sample_rate=44100)
    first = run_stages([Quantize(16, seed=1)], x)
    assert np.array_equal(first, run_stages([Quantize(16, seed=1)], x))
    assert not np.array_equal(first, run_stages([Quantize(16, seed=2)], x))


def test_clipped_samples_are_counted_and_reported():
    x = np.array([[0.5], [1.0], [1.5], [-1.0], [-1.2]])
    stage = Quantize(16, dither=False)
    y = run_stages([stage], x)
    assert np.array_equal(y[:, 0] * 32768, [16384, 32767, 32767, -32768, -32768])
    change = stage.change()
    assert change.values["clipped_samples"] == 3  # 1.0 and 1.5 over the top, -1.2 under the bottom
    assert "3 samples clipped" in change.summary


def test_quantize_change_says_what_was_done():
    stage = Quantize(24)
    run_stages([stage], np.zeros((10, 2)))
    change = stage.change()
    assert change.summary == "quantised to 24-bit PCM with TPDF dither (±1 LSB)"
    assert change.values["dither"] == "tpdf" and change.values["clipped_samples"] == 0


@pytest.mark.parametrize("bit_depth", [8, 20, 32])
def test_quantize_rejects_other_bit_depths(bit_depth):
    with pytest.raises(MasterError, match="16- or 24-bit"):
        Quantize(bit_depth)
