"""Signal-condition features (DC offset, noise floor, mains hum) and the streaming helpers they share."""

from __future__ import annotations

import numpy as np
import pytest
from harness import run_extractor as measure  # measure(cls, x, sample_rate, block_frames=4096, **params)
from music import music
from signals import noise, silence, sine

from qc.features.registry import FeatureUnavailable, Unavailable
from qc.features.signal import (
    HUM_ABSENT_DB,
    DCOffset,
    Decimator,
    FrameGrid,
    Hum,
    NoiseFloor,
    WindowSums,
    dc_offset_dbfs,
)

BLOCKS = [1024, 4096, None]  # None: the whole signal in one block


def _with_quiet_passages(x: np.ndarray, sample_rate: int, quiet: np.ndarray) -> np.ndarray:
    """8 s of ``quiet``, the music, 8 s of ``quiet`` again (a break), the music again."""
    gap = quiet[: 8 * sample_rate]
    return np.concatenate((gap, x, gap, x))


def _hum(f0_hz: float, rms_dbfs: float, frames: int, sample_rate: int, harmonics: int = 8) -> np.ndarray:
    """Mains hum: ``f0`` and harmonics with 1/k amplitudes, of total RMS ``rms_dbfs``, on both channels."""
    t = np.arange(frames) / sample_rate
    hum = sum(np.sin(2 * np.pi * f0_hz * k * t + k) / k for k in range(1, harmonics + 1))
    hum *= 10 ** (rms_dbfs / 20) / np.sqrt(np.mean(hum**2))
    return np.repeat(hum[:, None], 2, axis=1)


# --- Streaming helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize("block_frames", [1, 999, 1000, 4096, None])
def test_window_sums_equal_direct_sums_for_any_block_size(block_frames: int | None) -> None:
    x = noise(-20.0, 0.5, 48000, channels=2)
    sums = WindowSums(1000)
    step = block_frames or len(x)
    for start in range(0, len(x), step):
        sums.add(x[start : start + step])
    whole = len(x) // 1000
    np.testing.assert_allclose(sums.sums(), x[: whole * 1000].reshape(whole, 1000, 2).sum(axis=1), atol=1e-12)
    tail, frames = sums.tail()
    assert frames == len(x) - whole * 1000
    np.testing.assert_allclose(tail, x[whole * 1000 :].sum(axis=0), atol=1e-12)


@pytest.mark.parametrize("block_frames", [1000, 8192, None])
@pytest.mark.parametrize(("length", "hop"), [(8192, 8192), (4096, 3 * 4096)])
def test_frame_grid_yields_the_same_frames_for_any_block_size(
    block_frames: int | None, length: int, hop: int
) -> None:
    x = noise(-20.0, 1.0, 48000, channels=2)
    grid = FrameGrid(length, hop, 2)
    step = block_frames or len(x)
    frames = [
        frame.copy() for start in range(0, len(x), step) for frame in grid.push(x[start : start + step])
    ]
    expected = [x[j : j + length] for j in range(0, len(x) - length + 1, hop)]
    assert len(frames) == len(expected)
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("block_frames", [7, 1000, None])
def test_decimator_equals_a_triangular_fir_sampled_every_factor_frames(block_frames: int | None) -> None:
    factor = 18
    x = noise(-20.0, 0.3, 44100, channels=2)
    decimator = Decimator(factor, 2)
    step = block_frames or len(x)
    got = np.concatenate([decimator.process(x[start : start + step]) for start in range(0, len(x), step)])
    kernel = np.concatenate((np.arange(1, factor + 1), np.arange(factor - 1, -1, -1))) / factor**2
    # Output m weighs frames (m-1)*factor ... (m+1)*factor - 1 with kernel[0 ... 2*factor-1].
    padded = np.concatenate((np.zeros((factor, 2)), x))
    expected = np.array(
        [kernel @ padded[m * factor : m * factor + 2 * factor] for m in range(len(x) // factor)]
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("freq_hz", [50.0, 300.0, 1000.0])
def test_decimator_power_gain_matches_a_measured_sine(freq_hz: float) -> None:
    sample_rate, factor = 48000, 20
    x = sine(freq_hz, 0.0, 2.0, sample_rate, channels=1)
    decimator = Decimator(factor, 1)
    y = decimator.process(x)[100:-100]
    measured = np.mean(y**2) / 0.5
    assert 10 * np.log10(measured) == pytest.approx(
        10 * np.log10(decimator.power_gain(freq_hz, sample_rate)), abs=0.02
    )


# --- DC offset ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mix() -> tuple[np.ndarray, int]:
    return music(16.0)


def test_dc_offset_of_0_01_reads_minus_40_dbfs_on_that_channel_only(mix) -> None:
    x, sample_rate = mix
    x = x - x.mean(axis=0)  # the music's own mean (asymmetric kicks, -51.5 dBFS) would add to the offset
    x[:, 0] += 0.01
    result = measure(DCOffset, x, sample_rate)
    left, right = result["dc_offset_dbfs"]
    assert left == pytest.approx(-40.0, abs=0.1)
    assert right < -120.0
    assert result["dc_offset_max_dbfs"] == left


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_dc_offset_reads_the_offset_at_any_rate_and_channel_count(sample_rate: int, channels: int) -> None:
    x = sine(997.0, -6.0, 1.0, sample_rate, channels) - 0.003  # a whole number of cycles: mean ~0
    levels = measure(DCOffset, x, sample_rate)["dc_offset_dbfs"]
    assert levels == pytest.approx([20 * np.log10(0.003)] * channels, abs=0.05)


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_dc_offset_does_not_depend_on_block_size(block_frames: int | None) -> None:
    x = noise(-20.0, 2.0, 48000) + np.array([0.002, -0.0005])
    whole = dc_offset_dbfs(x)
    assert measure(DCOffset, x, 48000, block_frames)["dc_offset_dbfs"] == pytest.approx(whole, abs=1e-9)


def test_dc_offset_of_digital_silence_is_minus_infinity() -> None:
    assert measure(DCOffset, silence(1.0, 48000), 48000)["dc_offset_dbfs"] == [-np.inf, -np.inf]


# --- Noise floor --------------------------------------------------------------------------------------


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_noise_floor_reads_the_noise_in_the_quiet_passages(mix, block_frames: int | None) -> None:
    x, sample_rate = mix
    hiss = noise(-70.0, 8.0, sample_rate, seed=3)
    result = measure(NoiseFloor, _with_quiet_passages(x, sample_rate, hiss), sample_rate, block_frames)
    assert result["noise_floor_dbfs"] == pytest.approx(-70.0, abs=2.0)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_noise_floor_at_any_rate_and_channel_count(sample_rate: int, channels: int) -> None:
    loud = sine(440.0, -10.0, 4.0, sample_rate, channels)
    hiss = noise(-80.0, 1.0, sample_rate, channels)
    x = np.concatenate((hiss, loud, silence(1.0, sample_rate, channels), loud))
    assert measure(NoiseFloor, x, sample_rate)["noise_floor_dbfs"] == pytest.approx(-80.0, abs=1.0)


def test_noise_floor_is_unavailable_for_a_dense_track_without_quiet_passages(mix) -> None:
    x, sample_rate = mix
    value = measure(NoiseFloor, x, sample_rate)["noise_floor_dbfs"]
    assert isinstance(value, Unavailable) and "no quiet passage" in value.reason


def test_noise_floor_is_unavailable_for_digital_silence() -> None:
    value = measure(NoiseFloor, silence(2.0, 48000), 48000)["noise_floor_dbfs"]
    assert isinstance(value, Unavailable) and "digital silence" in value.reason


# --- Mains hum ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def track(mix) -> tuple[np.ndarray, int]:
    """Music with two 8 s quiet passages (the music 40 dB down: an intro and a break), 48 s at 44.1 kHz."""
    x, sample_rate = mix
    return _with_quiet_passages(x, sample_rate, x * 10 ** (-40 / 20)), sample_rate


@pytest.mark.parametrize("f0_hz", [50.0, 60.0])
def test_mains_hum_under_music_is_found_at_its_frequency(track, f0_hz: float) -> None:
    x, sample_rate = track
    result = measure(Hum, x + _hum(f0_hz, -50.0, len(x), sample_rate), sample_rate)
    assert result["hum_hz"] == f0_hz
    # -50 dBFS against the mix's mean power (-21.8 dBFS over its non-silent frames): about -28 dB.
    mix_dbfs = 10 * np.log10(np.mean(x**2))
    assert result["hum_level_db"] == pytest.approx(-50.0 - mix_dbfs, abs=2.0)


def test_clean_music_with_a_bass_line_on_a1_and_g1_has_no_hum(track) -> None:
    x, sample_rate = track  # the bass plays C2, G1 (49.0 Hz), A1 (55 Hz) and F1, with harmonics
    assert measure(Hum, x, sample_rate) == {"hum_hz": None, "hum_level_db": HUM_ABSENT_DB}


def test_held_bass_notes_near_50_and_60_hz_in_the_quiet_passages_are_not_hum(track) -> None:
    x, sample_rate = track
    t = np.arange(len(x)) / sample_rate
    notes_hz = [49.0, 51.91, 55.0, 58.27, 61.74]  # G1, G#1, A1, A#1, B1: each held for 2 s, in turn
    f0 = np.array(notes_hz)[(t // 2.0).astype(int) % len(notes_hz)]
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    bass = sum(np.sin(k * phase) / k for k in range(1, 7)) * 10 ** (-45 / 20)
    assert measure(Hum, x + bass[:, None], sample_rate)["hum_hz"] is None


def test_hum_masked_by_dense_music_throughout_is_not_claimed(mix) -> None:
    x, sample_rate = mix  # no quiet passage: a -50 dBFS hum lies under the music's own spectrum
    result = measure(Hum, x + _hum(50.0, -50.0, len(x), sample_rate), sample_rate)
    assert result == {"hum_hz": None, "hum_level_db": HUM_ABSENT_DB}


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_hum_does_not_depend_on_block_size(track, block_frames: int | None) -> None:
    x, sample_rate = track
    x = x + _hum(50.0, -60.0, len(x), sample_rate)
    expected = measure(Hum, x, sample_rate, block_frames=4096)
    result = measure(Hum, x, sample_rate, block_frames=block_frames)
    assert result["hum_hz"] == expected["hum_hz"] == 50.0
    assert result["hum_level_db"] == pytest.approx(expected["hum_level_db"], abs=1e-6)


@pytest.mark.parametrize("sample_rate", [48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_hum_in_a_quiet_recording_at_any_rate_and_channel_count(sample_rate: int, channels: int) -> None:
    x = (
        noise(-70.0, 12.0, sample_rate, channels)
        + _hum(60.0, -60.0, 12 * sample_rate, sample_rate)[:, :channels]
    )
    result = measure(Hum, x, sample_rate)
    assert result["hum_hz"] == 60.0
    assert result["hum_level_db"] == pytest.approx(0.0, abs=1.0)  # the hum is most of the power


def test_hum_needs_one_analysis_frame() -> None:
    with pytest.raises(FeatureUnavailable, match="shorter than one"):
        measure(Hum, noise(-20.0, 2.0, 48000), 48000)
