"""Music-like test material (drums, bass, chords) to plant defects in; answers known by construction."""

from __future__ import annotations

import math

import numpy as np

from qc.demo import SAMPLE_RATE, TEMPO_BPM, synthesise_arrangement


def music(duration_s: float = 16.0, seed: int = 7, rms_dbfs: float = -20.0) -> tuple[np.ndarray, int]:
    """A clean, balanced stereo mix with drums, float64 ``(frames, 2)`` at 44.1 kHz, and its sample rate.

    RMS is ``rms_dbfs`` (dBFS); nothing clips. Bars last 2 s (120 BPM), kicks on every beat, snares on 2
    and 4, hats on eighths.
    """
    bar_s = 4 * 60.0 / TEMPO_BPM
    x = synthesise_arrangement(max(1, math.ceil(duration_s / bar_s)), seed)
    x = x[: int(round(duration_s * SAMPLE_RATE))]
    x = x * (10 ** (rms_dbfs / 20) / np.sqrt(np.mean(x**2)))
    return x, SAMPLE_RATE
