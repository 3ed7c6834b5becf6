"""Signal-condition features: DC offset, noise floor, mains hum."""

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
    Hum,
    NoiseFloor,
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
