"""Loudness features against the standards (EBU Tech 3341/3342 signals), pyloudnorm and ffmpeg."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from ebu import EBU_3342, ebu_3341, ebu_3341_case, ebu_3342
from harness import audio_info, run_extractor
from reference import ffmpeg_available, ffmpeg_ebur128
from signals import noise, silence, sine, write

from qc.features.loudness import (
    KWeighted,
    KWeightingFilter,
    Loudness,
    LoudnessMeter,
    gated_loudness,
    integrated_loudness,
    k_weighting_coefficients,
    loudness_range,
    loudness_range_from_short_term,
    power_to_lufs,
)
from qc.features.registry import FeatureUnavailable, Series, Unavailable

RATES = [44100, 48000, 96000]


def measure(x: np.ndarray, sample_rate: int, block_frames: int | None = 4096) -> dict:
    """Run the registered stream and extractor over ``x`` the way qc.analysis does (None = one block)."""
    return run_extractor(Loudness, x, sample_rate, block_frames)


def _meter(x: np.ndarray, sample_rate: int, channel_weights=None) -> LoudnessMeter:
    meter = LoudnessMeter(sample_rate, x.shape[1], channel_weights)
    meter.add(KWeightingFilter(sample_rate, x.shape[1]).process(x))
    return meter


# --- K-weighting --------------------------------------------------------------------------------------


def test_k_weighting_at_48_khz_equals_the_bs1770_tables() -> None:
    (b_shelf, a_shelf), (b_highpass, a_highpass) = k_weighting_coefficients(48000)
    # ITU-R BS.1770-4 Annex 1, Table 1 (pre-filter) and Table 2 (RLB filter).
    np.testing.assert_allclose(
        b_shelf, [1.53512485958697, -2.69169618940638, 1.19839281085285], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(a_shelf, [1.0, -1.69065929318241, 0.73248077421585], rtol=0, atol=1e-12)
    np.testing.assert_allclose(b_highpass, [1.0, -2.0, 1.0], rtol=0, atol=0)
    np.testing.assert_allclose(a_highpass, [1.0, -1.99004745483398, 0.99007225036621], rtol=0, atol=1e-12)


@pytest.mark.parametrize("sample_rate", [22050, 32000, 44100, 88200, 96000, 192000])
def test_k_weighting_at_other_rates_equals_pyloudnorms_deman_filters(sample_rate: int) -> None:
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(3.99984385397, 0.7071752369554193, 1681.9744509555319, sample_rate, "high_shelf_DeMan")
    highpass = IIRfilter(0.0, 0.5003270373253953, 38.13547087613982, sample_rate, "high_pass_DeMan")
    (b_shelf, a_shelf), (b_highpass, a_highpass) = k_weighting_coefficients(sample_rate)
    np.testing.assert_allclose(b_shelf, shelf.b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a_shelf, shelf.a, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b_highpass, highpass.b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a_highpass, highpass.a, rtol=0, atol=1e-9)


def test_k_weighting_gain_at_997_hz_is_the_0_691_db_that_the_loudness_offset_cancels() -> None:
    from scipy.signal import freqz

    (b_shelf, a_shelf), (b_highpass, a_highpass) = k_weighting_coefficients(48000)
    _, h_shelf = freqz(b_shelf, a_shelf, [997.0], fs=48000)
    _, h_highpass = freqz(b_highpass, a_highpass, [997.0], fs=48000)
    assert 20 * np.log10(abs(h_shelf[0] * h_highpass[0])) == pytest.approx(0.691, abs=1e-3)


@pytest.mark.parametrize("sample_rate", [44100, 192000])
def test_one_4th_order_section_equals_the_two_stage_cascade(sample_rate: int) -> None:
    from scipy.signal import lfilter

    x = noise(-20.0, 2.0, sample_rate, channels=2)
    (b_shelf, a_shelf), (b_highpass, a_highpass) = k_weighting_coefficients(sample_rate)
    cascade = lfilter(b_highpass, a_highpass, lfilter(b_shelf, a_shelf, x, axis=0), axis=0)
    combined = KWeightingFilter(sample_rate, 2).process(x)
    # Rounding the product polynomial moves the 38 Hz double pole a little: ~1e-8 of full scale at 192 kHz.
    np.testing.assert_allclose(combined, cascade, rtol=0, atol=1e-7 * np.abs(cascade).max())
    assert np.mean(combined**2) == pytest.approx(np.mean(cascade**2), rel=1e-9)


def test_k_weighted_stream_carries_its_state_across_blocks() -> None:
    x = noise(-20.0, 1.0, 44100, channels=2)
    whole = KWeighted(audio_info(x, 44100)).process(x)
    stream = KWeighted(audio_info(x, 44100))
    pieces = np.concatenate([stream.process(x[start : start + 1000]) for start in range(0, len(x), 1000)])
    assert pieces.dtype == np.float64 and pieces.shape == x.shape
    np.testing.assert_allclose(pieces, whole, rtol=0, atol=1e-12)


# --- Gating and percentiles, from hand-made block powers ------------------------------------------------


def _power(lufs: float) -> float:
    return 10 ** ((lufs + 0.691) / 10)


def test_gated_loudness_drops_blocks_below_the_relative_and_absolute_gates() -> None:
    # Ten blocks at -20 LUFS, ten at -35 (more than 10 LU below the mean: relative gate), ten at -80.
    blocks = [_power(-20.0)] * 10 + [_power(-35.0)] * 10 + [_power(-80.0)] * 10
    assert gated_loudness(np.array(blocks)) == pytest.approx(-20.0, abs=1e-9)


def test_gated_loudness_keeps_blocks_within_10_lu_of_the_mean() -> None:
    blocks = np.array([_power(-20.0), _power(-26.0)])
    expected = power_to_lufs((blocks[0] + blocks[1]) / 2)
    assert gated_loudness(blocks) == pytest.approx(float(expected), abs=1e-9)


def test_gated_loudness_of_blocks_all_below_minus_70_lufs_is_minus_inf() -> None:
    assert gated_loudness(np.array([_power(-75.0), 0.0])) == -math.inf


def test_loudness_range_uses_nearest_rank_percentiles_of_the_gated_values() -> None:
    # 101 short-term values -40.0, -39.9, ..., -30.0 LUFS plus two far below the -20 LU relative gate.
    values = np.concatenate([np.linspace(-40.0, -30.0, 101), [-65.0, -68.0]])
    # Gated set = the 101 values; 10 % -> sorted[10] = -39.0, 95 % -> sorted[95] = -30.5.
    lra = loudness_range_from_short_term(np.array([_power(v) for v in values]))
    assert lra == pytest.approx(8.5, abs=1e-9)


# --- EBU Tech 3341 (loudness meters) and Tech 3342 (loudness range) -------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("case", [1, 2, 3, 4, 5, 6])
def test_ebu_3341_integrated_loudness(case: int, sample_rate: int) -> None:
    spec = ebu_3341_case(case)
    x = ebu_3341(case, sample_rate)
    measured = integrated_loudness(x, sample_rate, channel_weights=spec.channel_weights)
    assert measured == pytest.approx(spec.expected["integrated_lufs"], abs=spec.tolerance)


@pytest.mark.parametrize("case", [1, 2])
def test_ebu_3341_momentary_and_short_term_maxima_of_steady_tones(case: int) -> None:
    spec = ebu_3341_case(case)
    result = measure(ebu_3341(case, 48000), 48000)
    assert result["max_momentary_lufs"] == pytest.approx(
        spec.expected["max_momentary_lufs"], abs=spec.tolerance
    )
    assert result["max_short_term_lufs"] == pytest.approx(
        spec.expected["max_short_term_lufs"], abs=spec.tolerance
    )


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_ebu_3341_case_9_short_term_loudness_is_constant(sample_rate: int) -> None:
    spec = ebu_3341_case(9)
    series = measure(ebu_3341(9, sample_rate), sample_rate)["short_term_lufs"]
    assert isinstance(series, Series) and series.unit == "LUFS"
    assert len(series.values) == 121  # 3 s windows ending at 3.0, 3.1, ..., 15.0 s
    assert np.allclose(series.values, spec.expected["short_term_lufs"], atol=spec.tolerance)


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_ebu_3341_case_12_momentary_loudness_is_constant(sample_rate: int) -> None:
    spec = ebu_3341_case(12)
    x = ebu_3341(12, sample_rate)
    momentary = power_to_lufs(_meter(x, sample_rate).window_powers(40, 1))  # every 10 ms
    np.testing.assert_allclose(momentary, spec.expected["momentary_lufs"], rtol=0, atol=spec.tolerance)
    assert measure(x, sample_rate)["max_momentary_lufs"] == pytest.approx(-23.0, abs=spec.tolerance)


@pytest.mark.parametrize("variant", range(1, 21))
@pytest.mark.parametrize("case", [10, 13])
def test_ebu_3341_cases_10_and_13_find_the_maximum_of_a_burst_anywhere(case: int, variant: int) -> None:
    spec = ebu_3341_case(case, variant)
    ((feature, expected),) = spec.expected.items()
    result = measure(ebu_3341(case, 48000, variant), 48000)
    assert result[feature] == pytest.approx(expected, abs=spec.tolerance)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("case", sorted(EBU_3342))
def test_ebu_3342_loudness_range(case: int, sample_rate: int) -> None:
    spec = EBU_3342[case]
    measured = loudness_range(ebu_3342(case, sample_rate), sample_rate)
    assert measured == pytest.approx(spec.expected["loudness_range_lu"], abs=spec.tolerance)


# --- Against pyloudnorm --------------------------------------------------------------------------------


def _test_signal(kind: str, sample_rate: int, channels: int) -> np.ndarray:
    if kind == "white-noise":
        return noise(-20.0, 10.0, sample_rate, channels, seed=1)
    if kind == "pink-ish-noise":
        from scipy.signal import lfilter

        return lfilter(
            [0.0499, -0.0960, 0.0506, -0.0044],
            [1.0, -2.4950, 2.0173, -0.5222],
            noise(-10, 10.0, sample_rate, channels, seed=2),
            axis=0,
        )
    if kind == "sines":
        return sum(sine(f, -20.0, 10.0, sample_rate, channels) for f in (60.0, 1000.0, 8000.0))
    if kind == "level-steps":  # exercises both gates: 2 s each at -12, -40, -18, -80 and -25 dB
        gains = np.repeat(10 ** (np.array([-12.0, -40.0, -18.0, -80.0, -25.0]) / 20), 2 * sample_rate)
        return noise(0.0, 10.0, sample_rate, channels, seed=3) * gains[:, None]
    raise ValueError(kind)


SIGNALS = ["white-noise", "pink-ish-noise", "sines", "level-steps"]


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("kind", SIGNALS)
def test_integrated_loudness_agrees_with_pyloudnorm(kind: str, sample_rate: int, channels: int) -> None:
    import pyloudnorm

    x = _test_signal(kind, sample_rate, channels)
    ours = measure(x, sample_rate)["integrated_lufs"]
    reference = x[:, 0] if channels == 1 else x
    # pyloudnorm's default filters are RBJ-cookbook approximations of BS.1770's (up to ~0.047 LU low);
    # its "DeMan" filters are BS.1770's own, and then the two meters agree to rounding.
    assert ours == pytest.approx(pyloudnorm.Meter(sample_rate).integrated_loudness(reference), abs=0.05)
    deman = pyloudnorm.Meter(sample_rate, filter_class="DeMan").integrated_loudness(reference)
    assert ours == pytest.approx(deman, abs=1e-3)


@pytest.mark.parametrize("sample_rate", [11025, 22050, 88200])
def test_any_sample_rate_agrees_with_pyloudnorm_bs1770_filters(sample_rate: int) -> None:
    import pyloudnorm

    x = _test_signal("level-steps", sample_rate, 2)
    deman = pyloudnorm.Meter(sample_rate, filter_class="DeMan").integrated_loudness(x)
    assert measure(x, sample_rate, 1000)["integrated_lufs"] == pytest.approx(deman, abs=0.01)


def test_mono_is_measured_as_one_channel() -> None:
    mono = noise(-20.0, 5.0, 48000, channels=1)
    stereo = np.repeat(mono, 2, axis=1)
    difference = measure(stereo, 48000)["integrated_lufs"] - measure(mono, 48000)["integrated_lufs"]
    assert difference == pytest.approx(10 * math.log10(2), abs=1e-9)


# --- Against ffmpeg's ebur128 filter ----------------------------------------------------------------------


def _noise_ramp(sample_rate: int) -> np.ndarray:
    """30 s of stereo noise whose level rises steadily from -40 to -10 dB (dense short-term values)."""
    gains = 10 ** (np.linspace(-40.0, -10.0, 30 * sample_rate) / 20)
    return noise(0.0, 30.0, sample_rate, 2, seed=4) * gains[:, None]


@pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed")
@pytest.mark.parametrize(("name", "sample_rate"), [("ebu-3342-4", 48000), ("noise-ramp", 44100)])
def test_integrated_loudness_and_lra_agree_with_ffmpeg(tmp_path, name: str, sample_rate: int) -> None:
    x = ebu_3342(4, sample_rate) if name == "ebu-3342-4" else _noise_ramp(sample_rate)
    reading = ffmpeg_ebur128(write(tmp_path / f"{name}.wav", x, sample_rate))
    ff_integrated, ff_lra = reading.integrated_lufs, reading.loudness_range_lu
    result = measure(x, sample_rate, 65536)
    # ffmpeg prints one decimal; its LRA percentile is rank round(p n), ours round((n - 1) p) + 1.
    assert result["integrated_lufs"] == pytest.approx(ff_integrated, abs=0.06)
    assert result["loudness_range_lu"] == pytest.approx(ff_lra, abs=0.15)


# --- Streaming, undefined cases --------------------------------------------------------------------------


def _assert_same_result(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], Series):
            assert (a[name].hop_s, a[name].start_s, len(a[name].values)) == (
                b[name].hop_s,
                b[name].start_s,
                len(b[name].values),
            )
            np.testing.assert_allclose(a[name].values, b[name].values, rtol=0, atol=2e-3)  # rounded to 0.001
        else:
            assert a[name] == pytest.approx(b[name], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("sample_rate", RATES)
def test_blocks_of_1024_or_4096_frames_give_the_same_result_as_the_whole_signal(
    sample_rate: int, channels: int
) -> None:
    x = _test_signal("level-steps", sample_rate, channels)
    whole = measure(x, sample_rate, None)
    for block_frames in (1024, 4096, 1000):
        _assert_same_result(measure(x, sample_rate, block_frames), whole)


def test_a_file_shorter_than_one_gating_block_is_unavailable() -> None:
    with pytest.raises(FeatureUnavailable, match=r"0\.350 s, shorter than one 400 ms"):
        measure(noise(-20.0, 0.35, 48000), 48000)


def test_a_file_shorter_than_3_s_has_no_loudness_range_or_short_term_values() -> None:
    result = measure(sine(1000.0, -23.0, 2.0, 48000), 48000)
    assert result["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert result["max_momentary_lufs"] == pytest.approx(-23.0, abs=0.1)
    for name in ("loudness_range_lu", "max_short_term_lufs", "short_term_lufs"):
        assert isinstance(result[name], Unavailable)
        assert "2.00 s, shorter than one 3 s short-term" in result[name].reason


def test_digital_silence_measures_minus_inf_lufs_and_zero_lra() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = measure(silence(5.0, 44100), 44100)
    assert result["integrated_lufs"] == -math.inf
    assert result["max_momentary_lufs"] == -math.inf
    assert result["max_short_term_lufs"] == -math.inf
    assert result["loudness_range_lu"] == 0.0
    assert set(result["short_term_lufs"].values) == {None}


def test_short_term_series_marks_silent_windows_as_none_and_starts_at_3_s() -> None:
    x = np.concatenate([silence(4.0, 48000), sine(1000.0, -23.0, 4.0, 48000)])
    series = measure(x, 48000)["short_term_lufs"]
    assert (series.start_s, series.hop_s) == (3.0, 0.1)
    assert series.values[:10] == [None] * 10  # windows ending at 3.0 ... 3.9 s hold only silence
    assert series.values[-1] == pytest.approx(-23.0, abs=0.1)
