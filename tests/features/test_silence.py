"""Silence features: head and tail silence, abrupt (unfaded) starts and ends."""

from __future__ import annotations

import numpy as np
import pytest
from harness import run_extractor
from music import music
from signals import noise, silence, sine

from qc.features.registry import FeatureUnavailable
from qc.features.silence import Silence

BLOCKS = [1024, 4096, None]  # None: the whole signal in one block


def measure(x: np.ndarray, sample_rate: int, block_frames: int | None = 4096, **params) -> dict:
    """Run the silence extractor over ``x`` block by block, with its shared stream, as qc.analysis does."""
    return run_extractor(Silence, x, sample_rate, block_frames, **params)


def _fade(x: np.ndarray, sample_rate: int, in_s: float, out_s: float) -> np.ndarray:
    """Linear fade-in over ``in_s`` and fade-out over ``out_s`` seconds."""
    gain = np.ones(len(x))
    if in_s:
        gain[: round(in_s * sample_rate)] = np.linspace(0.0, 1.0, round(in_s * sample_rate))
    if out_s:
        gain[-round(out_s * sample_rate) :] = np.linspace(1.0, 0.0, round(out_s * sample_rate))
    return x * gain[:, None]


@pytest.fixture(scope="module")
def mix() -> tuple[np.ndarray, int]:
    return music(16.0)


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_leading_and_trailing_digital_silence_are_measured(mix, block_frames: int | None) -> None:
    x, sample_rate = mix
    padded = np.concatenate((silence(1.5, sample_rate), x, silence(2.0, sample_rate)))
    result = measure(padded, sample_rate, block_frames)
    assert result["leading_silence_s"] == pytest.approx(1.5, abs=0.01)
    assert result["trailing_silence_s"] == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_silence_around_a_tone_at_any_rate_and_channel_count(sample_rate: int, channels: int) -> None:
    tone = sine(1000.0, -20.0, 1.0, sample_rate, channels, phase_rad=np.pi / 2)  # starts at its peak
    x = np.concatenate((silence(0.25, sample_rate, channels), tone, silence(0.5, sample_rate, channels)))
    result = measure(x, sample_rate)
    assert result["leading_silence_s"] == pytest.approx(0.25, abs=1 / sample_rate)
    assert result["trailing_silence_s"] == pytest.approx(0.5, abs=1.5e-3)  # the tone's last peak
    assert result["abrupt_start"] and result["abrupt_end"]


def test_noise_below_the_threshold_counts_as_silence(mix) -> None:
    x, sample_rate = mix
    padded = np.concatenate((noise(-80.0, 1.0, sample_rate), x, noise(-80.0, 1.0, sample_rate)))
    result = measure(padded, sample_rate)
    assert result["leading_silence_s"] == pytest.approx(1.0, abs=0.01)
    assert result["trailing_silence_s"] == pytest.approx(1.0, abs=0.01)


def test_a_faded_track_is_neither_abrupt_at_the_start_nor_at_the_end(mix) -> None:
    x, sample_rate = mix
    result = measure(_fade(x, sample_rate, 0.5, 2.0), sample_rate)
    assert not result["abrupt_start"] and not result["abrupt_end"]
    assert result["abrupt_start_db"] < -30.0 and result["abrupt_end_db"] < -30.0


def test_a_hard_cut_at_the_end_is_abrupt(mix) -> None:
    x, sample_rate = mix
    cut = _fade(x, sample_rate, 0.5, 0.0)[: round(13.3 * sample_rate)]  # mid-bar, chords still ringing
    result = measure(cut, sample_rate)
    assert result["abrupt_end"] and not result["abrupt_start"]
    assert result["abrupt_end_db"] > -10.0
    assert result["trailing_silence_s"] == pytest.approx(0.0, abs=1e-3)


def test_a_hard_cut_followed_by_silence_is_still_abrupt(mix) -> None:
    x, sample_rate = mix
    cut = _fade(x, sample_rate, 0.5, 0.0)[: round(13.3 * sample_rate)]
    result = measure(np.concatenate((cut, silence(2.0, sample_rate))), sample_rate)
    assert result["abrupt_end"]
    assert result["trailing_silence_s"] == pytest.approx(2.0, abs=0.01)


def test_a_start_cut_into_the_music_is_abrupt(mix) -> None:
    x, sample_rate = mix
    cut = _fade(x, sample_rate, 0.0, 2.0)[round(2.7 * sample_rate) :]
    result = measure(np.concatenate((silence(1.0, sample_rate), cut)), sample_rate)
    assert result["abrupt_start"] and not result["abrupt_end"]
    assert result["leading_silence_s"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("block_frames", [1000, 4096, None])
def test_edges_that_straddle_blocks_give_the_same_levels(mix, block_frames: int | None) -> None:
    x, sample_rate = mix
    cut = x[round(0.3 * sample_rate) : 12345 + 4 * sample_rate]  # edges land anywhere in a block
    expected = measure(cut, sample_rate, block_frames=None)
    result = measure(cut, sample_rate, block_frames=block_frames)
    for name in ("abrupt_start_db", "abrupt_end_db", "leading_silence_s", "trailing_silence_s"):
        assert result[name] == pytest.approx(expected[name], abs=1e-9), name


def test_threshold_moves_where_a_fade_in_is_heard_to_start() -> None:
    sample_rate = 48000
    ramp = np.linspace(0.0, 1.0, 2 * sample_rate)[:, None] * noise(-10.0, 2.0, sample_rate)
    x = np.concatenate((ramp, noise(-10.0, 1.0, sample_rate)))
    # the noise's peaks (about 4 sigma, -10 + 12 dBFS) cross -40 dBFS when the ramp reaches about -42 dB
    late = measure(x, sample_rate, threshold_dbfs=-40.0)["leading_silence_s"]
    early = measure(x, sample_rate)["leading_silence_s"]
    assert early < late < 2.0


def test_a_silent_file_is_unavailable() -> None:
    with pytest.raises(FeatureUnavailable, match="silent"):
        measure(noise(-90.0, 1.0, 48000), 48000)
