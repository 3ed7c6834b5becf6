"""Format features: sample rate and bit depth, effective bit depth, audio bandwidth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import run_extractor
from music import music
from signals import noise, silence, write

from qc.audio import iter_blocks, open_audio
from qc.features.format import Bandwidth, EffectiveBitDepth, FileFormat, cutoff_frequency
from qc.features.registry import Unavailable


def measure_file(cls, path: Path, block_frames: int = 4096, **params) -> dict:
    """Open ``path`` and run extractor ``cls`` over its blocks, as qc.analysis does."""
    info = open_audio(path)
    x = np.concatenate([samples for _, samples in iter_blocks(info, block_frames)])
    return run_extractor(cls, x, info.sample_rate, block_frames, info=info, **params)


def _quantised(x: np.ndarray, bits: int) -> np.ndarray:
    """``x`` rounded to a ``bits``-bit grid (what a ``bits``-bit export holds)."""
    scale = 2.0 ** (bits - 1)
    return np.clip(np.round(x * scale), -scale, scale - 1) / scale


@pytest.fixture(scope="module")
def mix() -> tuple[np.ndarray, int]:
    return music(12.0)


# --- Container ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("subtype", "bits"), [("PCM_16", 16), ("PCM_24", 24), ("FLOAT", 32)])
@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_sample_rate_and_bit_depth_come_from_the_container(
    tmp_path: Path, subtype: str, bits: int, sample_rate: int
) -> None:
    path = write(tmp_path / "x.wav", noise(-20.0, 0.1, sample_rate), sample_rate, subtype)
    assert measure_file(FileFormat, path) == {"sample_rate_hz": sample_rate, "bit_depth": bits}


# --- Effective bit depth ------------------------------------------------------------------------------


def test_16_bit_audio_in_a_24_bit_file_uses_16_bits(tmp_path: Path, mix) -> None:
    x, sample_rate = mix
    path = write(tmp_path / "padded.wav", _quantised(x, 16), sample_rate, "PCM_24")
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": 16}


@pytest.mark.parametrize(("bits", "subtype"), [(24, "PCM_24"), (16, "PCM_16"), (8, "PCM_U8"), (32, "PCM_32")])
@pytest.mark.parametrize("channels", [1, 2])
def test_full_resolution_pcm_uses_all_its_bits(
    tmp_path: Path, bits: int, subtype: str, channels: int
) -> None:
    x = noise(-20.0, 0.5, 48000, channels)
    path = write(tmp_path / "x.wav", _quantised(x, bits), 48000, subtype)
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": bits}


def test_20_bit_audio_in_a_24_bit_file_uses_20_bits(tmp_path: Path) -> None:
    path = write(tmp_path / "x.wav", _quantised(noise(-20.0, 0.5, 48000), 20), 48000, "PCM_24")
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": 20}


@pytest.mark.parametrize("bits", [16, 24])
def test_a_float_file_holding_integer_audio_uses_that_many_bits(tmp_path: Path, mix, bits: int) -> None:
    x, sample_rate = mix
    path = write(tmp_path / "x.wav", _quantised(x, bits), sample_rate, "FLOAT")
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": bits}


def test_a_float_file_of_float_audio_uses_its_full_resolution(tmp_path: Path, mix) -> None:
    x, sample_rate = mix
    path = write(tmp_path / "x.wav", x, sample_rate, "FLOAT")
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": 32}


@pytest.mark.parametrize("block_frames", [1024, 4096, 1 << 20])
def test_effective_bit_depth_does_not_depend_on_block_size(tmp_path: Path, mix, block_frames: int) -> None:
    x, sample_rate = mix
    x = _quantised(x, 16)
    x[-3, 0] += 2.0**-23  # one 24-bit sample, in the last block
    path = write(tmp_path / "x.wav", x, sample_rate, "PCM_24")
    assert measure_file(EffectiveBitDepth, path, block_frames) == {"effective_bit_depth": 24}


def test_lossy_files_have_no_effective_bit_depth(tmp_path: Path) -> None:
    path = write(tmp_path / "x.ogg", noise(-20.0, 1.0, 44100), 44100, "VORBIS")
    assert measure_file(EffectiveBitDepth, path) == {"effective_bit_depth": None}


def test_digital_silence_uses_no_bits(tmp_path: Path) -> None:
    path = write(tmp_path / "x.wav", silence(0.5, 48000), 48000, "PCM_24")
    value = measure_file(EffectiveBitDepth, path)["effective_bit_depth"]
    assert isinstance(value, Unavailable) and "silence" in value.reason


# --- Bandwidth ----------------------------------------------------------------------------------------


def test_cd_rate_music_resampled_to_96_khz_has_a_22_khz_bandwidth(tmp_path: Path, mix) -> None:
    from scipy.signal import resample_poly

    x, _ = mix
    upsampled = resample_poly(x, 320, 147, axis=0)  # 44.1 kHz -> 96 kHz
    path = write(tmp_path / "x.wav", upsampled, 96000, "PCM_24")
    assert 20000.0 <= measure_file(Bandwidth, path)["bandwidth_hz"] <= 22050.0


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16"])
def test_music_low_passed_at_16_khz_has_a_16_khz_bandwidth(tmp_path: Path, mix, subtype: str) -> None:
    from scipy.signal import ellip, sosfilt

    x, sample_rate = mix
    low_passed = sosfilt(ellip(12, 0.1, 100, 16000.0, fs=sample_rate, output="sos"), x, axis=0)
    path = write(tmp_path / "x.wav", low_passed, sample_rate, subtype)  # PCM_16: a dither-level floor
    assert measure_file(Bandwidth, path)["bandwidth_hz"] == pytest.approx(16000.0, abs=500.0)


def test_a_128_kbps_mp3_has_a_bandwidth_of_about_16_khz(tmp_path: Path, mix) -> None:
    import soundfile

    x, sample_rate = mix
    path = tmp_path / "x.mp3"
    soundfile.write(str(path), x, sample_rate, format="MP3", bitrate_mode="CONSTANT", compression_level=0.65)
    assert measure_file(Bandwidth, path)["bandwidth_hz"] == pytest.approx(16000.0, abs=1000.0)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_full_band_noise_reaches_nyquist(tmp_path: Path, sample_rate: int, channels: int) -> None:
    path = write(tmp_path / "x.wav", noise(-20.0, 3.0, sample_rate, channels), sample_rate, "PCM_24")
    assert measure_file(Bandwidth, path)["bandwidth_hz"] == pytest.approx(sample_rate / 2)


def test_full_band_music_reaches_nyquist(tmp_path: Path, mix) -> None:
    x, sample_rate = mix
    path = write(tmp_path / "x.wav", x, sample_rate, "PCM_16")
    assert measure_file(Bandwidth, path)["bandwidth_hz"] == pytest.approx(22050.0)


def test_a_gentle_roll_off_is_not_a_cut_off(tmp_path: Path, mix) -> None:
    from scipy.signal import butter, sosfilt

    x, sample_rate = mix
    dark = sosfilt(butter(1, 2000.0, fs=sample_rate, output="sos"), x, axis=0)  # -6 dB/octave from 2 kHz
    path = write(tmp_path / "x.wav", dark, sample_rate, "PCM_24")
    assert measure_file(Bandwidth, path)["bandwidth_hz"] == pytest.approx(22050.0)


@pytest.mark.parametrize("block_frames", [1024, 4096, 1 << 20])
def test_bandwidth_does_not_depend_on_block_size(tmp_path: Path, mix, block_frames: int) -> None:
    from scipy.signal import ellip, sosfilt

    x, sample_rate = mix
    low_passed = sosfilt(ellip(12, 0.1, 100, 16000.0, fs=sample_rate, output="sos"), x, axis=0)
    path = write(tmp_path / "x.wav", low_passed, sample_rate, "FLOAT")
    expected = measure_file(Bandwidth, path, 1 << 20)
    assert measure_file(Bandwidth, path, block_frames) == expected


def test_bandwidth_is_unavailable_without_a_loud_frame(tmp_path: Path) -> None:
    path = write(tmp_path / "x.wav", noise(-90.0, 2.0, 48000), 48000, "FLOAT")
    value = measure_file(Bandwidth, path)["bandwidth_hz"]
    assert isinstance(value, Unavailable)


@pytest.mark.parametrize("cutoff_hz", [11000.0, 15000.0, 19000.0])
def test_cutoff_of_a_spectrum_with_a_step_down_to_a_floor(cutoff_hz: float) -> None:
    sample_rate, bins = 48000, 4097
    freq = np.arange(bins) * sample_rate / (2 * (bins - 1))
    power = np.where(freq <= cutoff_hz, 1.0 / (1.0 + freq / 1000.0), 1e-9)
    assert cutoff_frequency(power, sample_rate) == pytest.approx(cutoff_hz, abs=120.0)


def test_a_flat_spectrum_has_no_cutoff() -> None:
    assert cutoff_frequency(np.ones(4097), 48000) == 24000.0
