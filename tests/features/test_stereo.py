"""Stereo features: correlation, low-band correlation, mono fold-down loss, phase events, balance."""

from __future__ import annotations

import numpy as np
import pytest
from harness import run_extractor
from music import music
from signals import noise, silence, sine

from qc.features.registry import FeatureUnavailable, Series, Unavailable
from qc.features.stereo import MONO_LOSS_LIMIT_DB, Stereo, lowpass_coefficients

BLOCKS = [1024, 4096, None]  # None: the whole signal in one block


def measure(x: np.ndarray, sample_rate: int, block_frames: int | None = 4096, **params) -> dict:
    """Run the stereo extractor over ``x`` block by block, with its shared stream, as qc.analysis does."""
    return run_extractor(Stereo, x, sample_rate, block_frames, **params)


def _correlated_noise(rho: float, duration_s: float, sample_rate: int) -> np.ndarray:
    """Two noise channels of equal level whose correlation is ``rho`` by construction."""
    a, b = noise(-20.0, duration_s, sample_rate, channels=2, seed=5).T
    return np.stack((a, rho * a + np.sqrt(1.0 - rho**2) * b), axis=1)


@pytest.fixture(scope="module")
def mix() -> tuple[np.ndarray, int]:
    return music(16.0)


def test_a_normal_mix_is_well_correlated_and_has_no_phase_events(mix) -> None:
    x, sample_rate = mix
    result = measure(x, sample_rate)
    assert result["stereo_correlation"] > 0.5
    assert result["low_band_correlation"] > 0.9  # kick and bass are in the centre
    assert 0.0 <= result["mono_loudness_delta_lu"] < 1.0
    assert result["phase_events"] == []


def test_one_channel_inverted_reads_minus_one_and_cancels_in_mono(mix) -> None:
    x, sample_rate = mix
    inverted = np.stack((x[:, 0], -x[:, 0]), axis=1)
    result = measure(inverted, sample_rate)
    assert result["stereo_correlation"] == pytest.approx(-1.0, abs=1e-6)
    assert result["low_band_correlation"] == pytest.approx(-1.0, abs=1e-6)
    assert result["mono_loudness_delta_lu"] == MONO_LOSS_LIMIT_DB
    (event,) = result["phase_events"]
    assert event.start_s == pytest.approx(0.0, abs=0.5)
    assert event.end_s == pytest.approx(16.0, abs=0.5)
    assert event.value == pytest.approx(-1.0, abs=1e-6)
    assert event.channel is None


def test_only_the_low_end_inverted_reads_negative_below_150_hz_while_the_whole_stays_positive(mix) -> None:
    from scipy.signal import butter, sosfiltfilt

    x, sample_rate = mix
    centre = x.mean(axis=1)
    low = sosfiltfilt(butter(4, 150.0, fs=sample_rate, output="sos"), centre)
    high = centre - low
    low *= np.sqrt(np.sum(high**2) / np.sum(low**2) / 3.0)  # low band: a quarter of the energy
    split = np.stack((high + low, high - low), axis=1)
    result = measure(split, sample_rate)
    assert result["low_band_correlation"] < -0.5
    # (E_high - E_low) / (E_high + E_low) = (3 - 1) / (3 + 1), by construction
    assert result["stereo_correlation"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.8])
def test_correlation_of_noise_with_a_known_correlation(sample_rate: int, rho: float) -> None:
    result = measure(_correlated_noise(rho, 4.0, sample_rate), sample_rate)
    assert result["stereo_correlation"] == pytest.approx(rho, abs=0.01)
    assert result["low_band_correlation"] == pytest.approx(rho, abs=0.05)
    # fold-down power (1 + rho) / 2 of the stereo power
    assert result["mono_loudness_delta_lu"] == pytest.approx(10 * np.log10(2 / (1 + rho)), abs=0.05)


@pytest.mark.parametrize(("left_db", "right_db", "balance_db"), [(0.0, -3.0, 3.0), (-6.0, 0.0, -6.0)])
def test_channel_balance_reads_the_level_difference(
    mix, left_db: float, right_db: float, balance_db: float
) -> None:
    x, sample_rate = mix
    # The mix itself is balanced to 0.01 dB; measure against that.
    base = measure(x, sample_rate)["channel_balance_db"]
    scaled = x * 10 ** (np.array([left_db, right_db]) / 20)
    assert measure(scaled, sample_rate)["channel_balance_db"] - base == pytest.approx(balance_db, abs=1e-6)
    assert measure(scaled, sample_rate)["channel_balance_db"] == pytest.approx(balance_db, abs=0.1)


def test_a_silent_channel_caps_the_balance_at_60_db() -> None:
    x = np.concatenate((noise(-20.0, 2.0, 48000, channels=1), silence(2.0, 48000, channels=1)), axis=1)
    result = measure(x, 48000)
    assert result["channel_balance_db"] == pytest.approx(60.0)
    assert result["stereo_correlation"] == 0.0


def test_silent_passages_do_not_change_the_whole_file_values(mix) -> None:
    x, sample_rate = mix
    gapped = np.concatenate(
        (silence(3.0, sample_rate), x[: 8 * sample_rate], silence(5.0, sample_rate), x[8 * sample_rate :])
    )
    plain, result = measure(x, sample_rate), measure(gapped, sample_rate)
    for name in (
        "stereo_correlation",
        "low_band_correlation",
        "mono_loudness_delta_lu",
        "channel_balance_db",
    ):
        assert result[name] == pytest.approx(plain[name], abs=2e-3), name


def test_phase_events_cover_only_the_inverted_passage(mix) -> None:
    x, sample_rate = mix
    y = x.copy()
    start, end = 6 * sample_rate, 10 * sample_rate
    y[start:end, 1] = -y[start:end, 0]
    (event,) = measure(y, sample_rate)["phase_events"]
    assert event.start_s == pytest.approx(6.0, abs=1.2)  # windows of 1.2 s every 0.4 s
    assert event.end_s == pytest.approx(10.0, abs=1.2)
    assert event.value < -0.9


def test_correlation_series_has_a_value_per_window_and_none_in_silence(mix) -> None:
    x, sample_rate = mix
    y = np.concatenate((x, silence(4.0, sample_rate)))
    series = measure(y, sample_rate)["stereo_correlation_series"]
    assert isinstance(series, Series)
    assert series.hop_s == pytest.approx(0.4) and series.start_s == pytest.approx(0.6)
    assert len(series.values) == pytest.approx((20.0 - 1.2) / 0.4 + 1, abs=1)
    assert all(v is not None and v > 0.0 for v in series.values[:30])
    assert all(v is None for v in series.values[-5:])


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_stereo_features_do_not_depend_on_block_size(mix, block_frames: int | None) -> None:
    x, sample_rate = mix
    y = x.copy()
    y[3 * sample_rate : 5 * sample_rate, 1] *= -1.0
    expected = measure(y, sample_rate, block_frames=4096)
    result = measure(y, sample_rate, block_frames=block_frames)
    for name in (
        "stereo_correlation",
        "low_band_correlation",
        "mono_loudness_delta_lu",
        "channel_balance_db",
    ):
        assert result[name] == pytest.approx(expected[name], abs=1e-9), name
    assert result["phase_events"] == expected["phase_events"]
    np.testing.assert_allclose(
        result["stereo_correlation_series"].values, expected["stereo_correlation_series"].values, atol=1e-3
    )


def test_almost_no_low_end_makes_the_low_band_correlation_unavailable() -> None:
    x = sine(3000.0, -10.0, 3.0, 48000, channels=2)
    value = measure(x, 48000)["low_band_correlation"]
    assert isinstance(value, Unavailable) and "below 150 Hz" in value.reason


def test_mono_files_have_no_stereo_image() -> None:
    with pytest.raises(FeatureUnavailable, match="mono file"):
        measure(noise(-20.0, 2.0, 48000, channels=1), 48000)


def test_a_silent_file_has_no_stereo_image() -> None:
    with pytest.raises(FeatureUnavailable, match="silent"):
        measure(silence(2.0, 48000), 48000)


@pytest.mark.parametrize("sample_rate", [2450.0, 2400.0])
def test_low_pass_equals_a_4th_order_butterworth(sample_rate: float) -> None:
    from scipy.signal import butter

    b, a = lowpass_coefficients(150.0, sample_rate)
    b_ref, a_ref = butter(4, 150.0, fs=sample_rate)
    np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(a, a_ref, rtol=1e-9, atol=1e-12)
