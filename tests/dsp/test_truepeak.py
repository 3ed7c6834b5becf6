"""True-peak kernels against analytic peaks, a 64x brute-force reference and the Annex 2 meter."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qc.dsp.truepeak import (
    ANNEX2_COEFFICIENTS,
    CANDIDATE_MARGIN_DB,
    CONTEXT_FRAMES,
    GRID_OVERREAD_DB,
    STAGE1_BETA,
    STAGE1_HALF_WIDTH,
    STAGE1_OFFSETS,
    STAGE1_ROUNDING,
    _stage1_matrix,
    annex2_true_peak,
    interval_peaks,
    kaiser_sinc_weights,
    refine_interval_peaks,
    true_peak,
)

RATES = [44100, 48000, 96000]


def faded_sine(freq_hz: float, phase_rad: float, sample_rate: int, frames: int = 4800) -> np.ndarray:
    """A unit-amplitude sine with raised-cosine fades of a fifth of its length: true peak 1.0 (0 dBTP).

    The fades keep it band-limited: a sine cut off abruptly overshoots near the cut (Gibbs), by up to
    0.8 dB, which is real but not what these tests measure.
    """
    n = np.arange(frames)
    ramp = frames // 5
    fade = np.ones(frames)
    fade[:ramp] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    fade[-ramp:] = fade[:ramp][::-1]
    return np.sin(2 * np.pi * freq_hz / sample_rate * n + phase_rad) * fade


def db(x: float | np.ndarray) -> np.ndarray:
    return 20 * np.log10(x)


def random_sines(count: int, sample_rate: int, seed: int) -> list[tuple[float, float]]:
    """(frequency 20 Hz … 0.45·fs, phase) pairs, the first few at the band edge."""
    rng = np.random.default_rng(seed)
    pairs = [(0.45 * sample_rate, phase) for phase in np.linspace(0, np.pi, 4, endpoint=False)]
    pairs += [(rng.uniform(20.0, 0.45 * sample_rate), rng.uniform(0, 2 * np.pi)) for _ in range(count)]
    return pairs


def test_annex2_coefficients_are_the_published_symmetric_48_tap_filter() -> None:
    prototype = ANNEX2_COEFFICIENTS.T.reshape(-1)  # h[4j + q] = phase q, tap j
    assert prototype.shape == (48,)
    np.testing.assert_array_equal(prototype, prototype[::-1])
    assert ANNEX2_COEFFICIENTS[0, 6] == 0.9721679687500  # BS.1770-4 Annex 2 table, phase 0
    assert ANNEX2_COEFFICIENTS[1, 5] == 0.4650878906250


def test_kaiser_sinc_reproduces_the_samples_at_integer_offsets() -> None:
    weights = kaiser_sinc_weights(np.array([0.0, 1.0]), 12, 3.5)
    expected = np.zeros((24, 2))
    expected[11, 0] = expected[12, 1] = 1.0  # taps n-11 … n+12: sample n is tap 11
    np.testing.assert_allclose(weights, expected, atol=1e-15)


def test_interval_peaks_equal_the_direct_interpolation() -> None:
    x = np.random.default_rng(1).standard_normal((3000, 2)) * 0.3
    first, count = 40, 2900
    got = interval_peaks(x, first, count)
    weights = kaiser_sinc_weights(np.array(STAGE1_OFFSETS), STAGE1_HALF_WIDTH, STAGE1_BETA)
    for c in range(2):
        windows = np.stack([x[n - 11 : n + 13, c] for n in range(first, first + count)])
        grid = np.abs(windows @ weights).max(axis=1)
        ends = np.maximum(np.abs(x[first : first + count, c]), np.abs(x[first + 1 : first + count + 1, c]))
        np.testing.assert_allclose(got[c], np.maximum(grid, ends), rtol=1e-5, atol=1e-6)


def test_interval_peaks_skip_only_what_is_below_the_floor() -> None:
    x = np.random.default_rng(2).standard_normal((20000, 1)) * 0.01
    x[5000:5100] *= 50.0  # one loud passage
    full = interval_peaks(x, 40, 19000)
    floored = interval_peaks(x, 40, 19000, floor=0.2)
    # The two calls run BLAS products of different shapes, so computed values may differ by float32
    # rounding (STAGE1_ROUNDING, derived in the module), never by more.
    _, gain = _stage1_matrix()
    rounding = STAGE1_ROUNDING * gain * float(np.abs(x).max())
    ends = np.maximum(np.abs(x[40:19040, 0]), np.abs(x[41:19041, 0]))
    skipped = floored[0] < full[0] - rounding
    assert np.all(np.abs(floored[0][~skipped] - full[0][~skipped]) <= rounding)  # computed: the same
    assert np.all(full[0][skipped] < 0.2)  # only intervals that could not reach the floor were skipped
    assert np.array_equal(floored[0][skipped], ends[skipped].astype(np.float32))  # read their end samples
    assert skipped.sum() > 0.3 * skipped.size  # and the quiet parts were skipped


@pytest.mark.parametrize("sample_rate", RATES)
def test_stage1_reads_each_crest_within_its_documented_error_up_to_0_45_fs(sample_rate: int) -> None:
    """The candidate search relies on this bound: the grid value of the interval holding a crest."""
    worst_under, worst_over = 0.0, 0.0
    frames = 4800
    for freq_hz, phase in random_sines(60, sample_rate, seed=3):
        x = faded_sine(freq_hz, phase, sample_rate, frames)
        grid = interval_peaks(x[:, None], 0 + 40, frames - 80)[0]
        cycles = freq_hz / sample_rate  # per sample
        crests = (np.pi / 2 - phase) / (2 * np.pi * cycles) + np.arange(-5, frames * cycles + 5) / (
            2 * cycles
        )
        crests = crests[(crests > frames / 5) & (crests < frames - frames / 5)]  # where the fades are done
        ratio = grid[np.floor(crests).astype(int) - 40]  # the crest is ±1 there, so the ratio is the grid
        worst_under = min(worst_under, float(db(ratio.min())))
        worst_over = max(worst_over, float(db(ratio.max())))
    assert worst_under > -0.65  # computed from the filter: -0.59 dB at 0.45·fs (margin: 1.0 dB)
    assert worst_under > -CANDIDATE_MARGIN_DB
    assert worst_over < GRID_OVERREAD_DB


def test_refine_finds_an_intersample_peak_and_where_it_lies() -> None:
    sample_rate, freq_hz, crest_at = 48000, 5000.0, 2400.37  # crest 0.37 of a sample after frame 2400
    n = np.arange(4800)
    envelope = np.exp(-0.5 * ((n - crest_at) / 200.0) ** 2)
    x = (0.8 * np.cos(2 * np.pi * freq_hz / sample_rate * (n - crest_at)) * envelope)[:, None]
    peak, position = refine_interval_peaks(x, np.array([0]), np.array([2400]))
    assert db(peak[0] / 0.8) == pytest.approx(0.0, abs=0.001)
    assert position[0] == pytest.approx(crest_at, abs=0.01)


@pytest.mark.parametrize("sample_rate", RATES)
def test_true_peak_of_sines_up_to_0_45_fs_is_within_0_01_db(sample_rate: int) -> None:
    errors = [
        db(true_peak(faded_sine(freq_hz, phase, sample_rate))[0])
        for freq_hz, phase in random_sines(40, sample_rate, seed=4)
    ]
    assert min(errors) > -0.01  # the requirement is -0.2 dB; measured: -0.000001 dB
    assert max(errors) < 0.01  # measured: +0.0002 dB


@pytest.mark.parametrize("sample_rate", RATES)
def test_true_peak_of_an_isolated_crest_at_any_offset_is_within_0_01_db(sample_rate: int) -> None:
    """Tone bursts (2 ms Gaussian) up to 0.45·fs, cresting at exactly 1.0 anywhere between two samples."""
    rng = np.random.default_rng(6)
    for _ in range(40):
        freq_hz = rng.uniform(100.0, 0.45 * sample_rate - 500.0)  # keeps the burst's spectrum below 0.45·fs
        t = (np.arange(4800) - 2400 - rng.uniform(0.0, 1.0)) / sample_rate
        x = np.cos(2 * np.pi * freq_hz * t) * np.exp(-0.5 * (t / 0.002) ** 2)
        assert db(true_peak(x)[0]) == pytest.approx(0.0, abs=0.01)  # measured: within 0.003 dB


def test_true_peak_agrees_with_64x_resample_poly() -> None:
    """Brute force: 64x polyphase resampling (scipy, tests only); its own filter errs by up to ±0.04 dB."""
    from scipy.signal import resample_poly

    sample_rate = 48000
    for freq_hz, phase in random_sines(30, sample_rate, seed=5):
        x = faded_sine(freq_hz, phase, sample_rate)
        reference = db(np.abs(resample_poly(x, 64, 1)).max())
        ours = db(true_peak(x)[0])
        assert abs(ours - reference) < 0.05


def test_annex2_meter_under_reads_near_nyquist_where_ours_does_not() -> None:
    sample_rate = 48000
    x = faded_sine(0.45 * sample_rate, 0.3, sample_rate)
    assert db(annex2_true_peak(x)[0]) < -0.4  # the 4x meter of the standard: its filter droops there
    assert db(true_peak(x)[0]) == pytest.approx(0.0, abs=0.01)


def test_true_peak_per_channel_and_of_silence() -> None:
    x = np.stack([0.5 * faded_sine(1000.0, 0.0, 48000), np.zeros(4800)], axis=1)
    peaks = true_peak(x)
    assert peaks[0] == pytest.approx(0.5, rel=1e-4)
    assert peaks[1] == 0.0
    assert true_peak(np.zeros(10))[0] == 0.0


def test_true_peak_includes_the_overshoot_after_an_abrupt_ending() -> None:
    """The file is zero before and after; a sine cut off abruptly rings above its amplitude (Gibbs)."""
    x = np.sin(np.pi / 2 * np.arange(400) + np.pi / 4)  # samples ±0.707, true peak 1.0 inside
    assert db(true_peak(x)[0]) > 0.05
    assert CONTEXT_FRAMES > STAGE1_HALF_WIDTH


def test_the_kernels_do_not_import_scipy_signal() -> None:
    code = "import sys, qc.dsp.truepeak, qc.features.peaks; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_refined_peaks_do_not_depend_on_which_intervals_are_asked_for_together() -> None:
    """Stage 2 is exact arithmetic: a block asking for other intervals cannot move a peak's last bit."""
    rng = np.random.default_rng(5)
    x = np.clip(rng.standard_normal((6000, 2)) * 0.4, -0.95, 0.95)
    index = np.arange(CONTEXT_FRAMES, 6000 - CONTEXT_FRAMES)
    channel = index % 2
    peak, position = refine_interval_peaks(x, channel, index)
    for parts in (7, 64, 1000):
        pieces = [refine_interval_peaks(x, channel[i::parts], index[i::parts]) for i in range(parts)]
        for i, (part_peak, part_position) in enumerate(pieces):
            assert np.array_equal(part_peak, peak[i::parts])
            assert np.array_equal(part_position, position[i::parts])


def test_hostile_float_samples_beyond_the_exact_range_are_measured_too() -> None:
    """+46 dBFS samples take the fixed-order path: same answer (relative 1e-7) as at normal scale."""
    n = np.arange(4800)
    x = 0.9 * np.sin(2 * np.pi * 0.4 * n + 0.3) * np.hanning(len(n))  # crests between the samples
    assert true_peak(x * 200.0)[0] == pytest.approx(200.0 * true_peak(x)[0], rel=1e-7)


_TRUE_PEAK_SCRIPT = """
import numpy as np
x = np.clip(np.random.default_rng(7).standard_normal((96000, 2)) * 0.3, -0.9, 0.9)
from qc.dsp.truepeak import true_peak
print(repr(float(true_peak(x).max())))
"""


@pytest.mark.parametrize("coretype", ["Prescott", "Haswell"])
def test_true_peak_is_bit_identical_whichever_blas_kernel_runs(coretype: str) -> None:
    """OpenBLAS picks its kernel by CPU at run time; forcing another one must not change the answer."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("OpenBLAS core types are named for x86-64")
    if coretype == "Haswell" and "avx2" not in Path("/proc/cpuinfo").read_text(errors="replace"):
        pytest.skip("this CPU cannot run the Haswell kernels")

    def run(env_extra: dict[str, str]) -> str:
        env = {**os.environ, **env_extra}
        done = subprocess.run(
            [sys.executable, "-c", _TRUE_PEAK_SCRIPT], capture_output=True, text=True, env=env, check=True
        )
        return done.stdout.strip()

    assert run({"OPENBLAS_CORETYPE": coretype}) == run({})
