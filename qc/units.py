"""Unit conversions, each defined once: frames and seconds, decibels and gain, mm:ss.mmm timestamps."""

from __future__ import annotations

import math

import numpy as np


def frames_to_seconds(frames: int | float, sample_rate: int) -> float:
    """Convert a frame index or count to seconds."""
    return float(frames) / float(sample_rate)


def seconds_to_frames(seconds: float, sample_rate: int) -> int:
    """Convert seconds to the nearest whole number of frames."""
    return int(round(seconds * sample_rate))


def gain_to_db(gain: float) -> float:
    """Linear amplitude gain to dB; 0 gives -inf.

    >>> round(gain_to_db(0.5), 2)
    -6.02
    """
    gain = abs(float(gain))
    return 20.0 * math.log10(gain) if gain > 0.0 else -math.inf


def db_to_gain(db: float) -> float:
    """dB to linear amplitude gain.

    >>> db_to_gain(0.0)
    1.0
    """
    gain: float = 10.0 ** (db / 20.0)
    return gain


def power_to_db(power: float) -> float:
    """Mean-square power to dB (10·log10); 0 gives -inf."""
    power = float(power)
    return 10.0 * math.log10(power) if power > 0.0 else -math.inf


def gains_to_db(gain: np.ndarray) -> np.ndarray:
    """Element-wise linear gain to dB (-inf for zeros), without warnings."""
    gain = np.abs(np.asarray(gain, dtype=np.float64))
    with np.errstate(divide="ignore"):
        db: np.ndarray = 20.0 * np.log10(gain)
    return db


def format_mmss(seconds: float, *, millis: bool = True) -> str:
    """Format seconds as ``m:ss.mmm`` (or ``h:mm:ss.mmm`` past an hour).

    >>> format_mmss(62.0046)
    '1:02.005'
    >>> format_mmss(3725.4, millis=False)
    '1:02:05'
    """
    if not math.isfinite(seconds):
        return "--:--"
    total_ms = math.floor(max(seconds, 0.0) * 1000.0 + 0.5)
    if not millis:
        total_ms = (total_ms + 500) // 1000 * 1000
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    tail = f"{secs:02d}.{ms:03d}" if millis else f"{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{tail}"
    return f"{minutes}:{tail}"
