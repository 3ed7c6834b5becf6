"""Waveform overview: columns computed independently, block-size invariance, short and odd-length files."""

from __future__ import annotations

import numpy as np
import pytest
from harness import audio_info, run_extractor
from signals import noise, sine

from qc.features.overview import OVERVIEW_COLUMNS, WaveformOverview, column_frames
from qc.features.registry import FeatureUnavailable, extractor_for

BLOCKS = [1000, 1024, 4096, None]  # None: the whole signal as one block


def envelope(x: np.ndarray, sample_rate: int, block_frames: int | None, frames: int | None = None):
    """The overview of ``x`` (``frames``: the frame count the header declares, default ``len(x)``)."""
    info = audio_info(x, sample_rate, frames=frames)
    return run_extractor(WaveformOverview, x, sample_rate, block_frames, info=info)["waveform_envelope"]


def reference(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column min/max/RMS computed column by column over the whole signal."""
    lows, highs, rms = [], [], []
    for start in range(0, len(x), width):
        column = x[start : start + width]
        lows.append(column.min())
        highs.append(column.max())
        rms.append(np.sqrt(np.mean(column * column)))
    return np.array(lows), np.array(highs), np.array(rms)


def test_the_feature_is_registered():
    assert extractor_for("waveform_envelope") is WaveformOverview


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_columns_match_a_column_by_column_computation(sample_rate, channels):
    x = noise(-20, 3.0, sample_rate, channels, seed=1) + sine(50, -12, 3.0, sample_rate, channels)
    x[sample_rate : sample_rate + 10, -1] = 0.99  # a spike in the last channel only
    result = envelope(x, sample_rate, 4096)
    width = column_frames(len(x))
    low, high, rms = reference(x, width)
    assert len(result.max) == len(high) <= OVERVIEW_COLUMNS
    assert result.column_s == pytest.approx(width / sample_rate)
    np.testing.assert_allclose(result.min, low, atol=1e-5)
    np.testing.assert_allclose(result.max, high, atol=1e-5)
    np.testing.assert_allclose(result.rms, rms, atol=1e-5)
    assert max(result.max) == pytest.approx(0.99)


@pytest.mark.parametrize("block_frames", BLOCKS)
def test_any_block_size_gives_the_same_envelope(block_frames):
    x = noise(-18, 2.3, 44100, 2, seed=4)
    whole = envelope(x, 44100, None)
    blocked = envelope(x, 44100, block_frames)
    np.testing.assert_allclose(blocked.min, whole.min, atol=1e-5)
    np.testing.assert_allclose(blocked.max, whole.max, atol=1e-5)
    np.testing.assert_allclose(blocked.rms, whole.rms, atol=1e-5)


def test_a_file_shorter_than_the_column_count_gets_one_column_per_frame():
    x = np.linspace(-1.0, 1.0, 101)[:, None]
    result = envelope(x, 8000, 7)
    assert result.max == pytest.approx(x[:, 0].tolist())
    assert result.column_s == pytest.approx(1 / 8000)


def test_frames_beyond_the_declared_length_fold_into_the_last_column():
    x = np.zeros((3200, 1))
    x[-1] = 0.5  # past the 1600 frames the header promised
    result = envelope(x, 8000, 1000, frames=1600)
    assert len(result.max) == 1600 and result.max[-1] == 0.5


def test_an_empty_file_is_unavailable():
    with pytest.raises(FeatureUnavailable, match="no samples"):
        envelope(np.zeros((0, 2)), 44100, 1024, frames=0)
