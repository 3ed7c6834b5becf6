"""Test signals whose answers are known by construction, and a helper to write them to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile


def sine(
    freq_hz: float,
    level_dbfs: float,
    duration_s: float,
    sample_rate: int = 48000,
    channels: int = 2,
    phase_rad: float = 0.0,
) -> np.ndarray:
    """A sine of peak level ``level_dbfs`` (dBFS), shaped ``(frames, channels)``, float64."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    x = 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t + phase_rad)
    return np.repeat(x[:, None], channels, axis=1)


def noise(
    level_dbfs_rms: float, duration_s: float, sample_rate: int = 48000, channels: int = 2, seed: int = 0
):
    """White Gaussian noise of RMS level ``level_dbfs_rms`` (dBFS), ``(frames, channels)``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(round(duration_s * sample_rate)), channels))
    return x * 10 ** (level_dbfs_rms / 20)


def silence(duration_s: float, sample_rate: int = 48000, channels: int = 2) -> np.ndarray:
    """Digital silence, ``(frames, channels)``."""
    return np.zeros((int(round(duration_s * sample_rate)), channels))


def write(path: Path, x: np.ndarray, sample_rate: int, subtype: str = "FLOAT") -> Path:
    """Write ``x`` to ``path`` (WAV unless the suffix says otherwise) and return the path."""
    soundfile.write(str(path), x, sample_rate, subtype=subtype)
    return path
