"""Stereo-image features: correlation (overall, low band, over time), mono compatibility, channel balance.

What a correlation meter and a mono button tell a mastering engineer: whether left and right are in
phase, whether the low end survives a mono fold-down (club systems, phone and smart speakers, vinyl
cutting), and whether one side is louder. One streaming pass keeps per-tick (~0.1 s) sums of ``L²``,
``R²`` and ``L·R`` for the full band and for the band below ``low_band_hz`` (computed on a signal
decimated to ~2.4 kHz, so the low-pass costs little), and derives everything from those sums.

This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import AudioInfo
from ..dsp.framing import Decimator, WindowSums
from ..dsp.iir import lfilter
from ..units import frames_to_seconds
from .registry import (
    Block,
    Event,
    Extractor,
    FeatureUnavailable,
    FeatureValue,
    Series,
    Unavailable,
    register,
)
from .signal import decimation_factor

TICK_S = 0.1  # sums are kept per tick of about this length (a whole number of decimated samples)
DECIMATED_HZ = 2400.0  # the low band is filtered at about this rate
MONO_LOSS_LIMIT_DB = 60.0  # mono_loudness_delta_lu is capped here (the fold-down cancels)
BALANCE_LIMIT_DB = 60.0  # channel_balance_db is capped at ± this (one channel silent)
LOW_BAND_MIN_DB = -50.0  # below this share of the full-band energy the low band is "empty"
MAX_SERIES_POINTS = 6000  # the correlation series coarsens its hop past this many windows
_BUTTERWORTH_Q = (0.5411961001461969, 1.3065629648763764)  # 1 / (2 cos(π/8)), 1 / (2 cos(3π/8))


def lowpass_coefficients(cutoff_hz: float, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """4th-order Butterworth low-pass ``(b, a)`` as the product of two RBJ-cookbook biquads.

    Parameters
    ----------
    cutoff_hz
        -3 dB frequency, Hz, below ``sample_rate / 2``.
    sample_rate
        Hz.

    Returns
    -------
    tuple
        ``b`` and ``a`` (length 5, ``a[0] == 1``).

    References
    ----------
    R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter coefficients" (LPF).

    Examples
    --------
    >>> b, a = lowpass_coefficients(150.0, 2450.0)
    >>> round(float(b.sum() / a.sum()), 12)  # unity gain at DC
    1.0
    """
    w0 = 2.0 * math.pi * cutoff_hz / sample_rate
    cos_w0 = math.cos(w0)
    b_total, a_total = np.ones(1), np.ones(1)
    for q in _BUTTERWORTH_Q:
        alpha = math.sin(w0) / (2.0 * q)
        b = np.array([(1.0 - cos_w0) / 2.0, 1.0 - cos_w0, (1.0 - cos_w0) / 2.0])
        a = np.array([1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha])
        b_total = np.convolve(b_total, b / a[0])
        a_total = np.convolve(a_total, a / a[0])
    return b_total, a_total


def correlation(left_right: np.ndarray, left_left: np.ndarray, right_right: np.ndarray) -> np.ndarray:
    """Correlation ``ΣLR / √(ΣL² ΣR²)`` from sums, element-wise; 0 where either channel is silent.

    This is the phase-meter (uncentred) correlation; for audio, whose mean is ~0, it equals Pearson's r.
    """
    denominator = np.sqrt(np.asarray(left_left) * np.asarray(right_right))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denominator > 0.0, np.asarray(left_right) / denominator, 0.0)
    return np.clip(r, -1.0, 1.0)


class StereoParams(BaseModel):
    """Parameters of the stereo features."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    silence_dbfs: float = Field(
        -70.0,
        ge=-140.0,
        le=-20.0,
        description="Ticks quieter than this (mean of both channels) are left out, dBFS.",
    )
    low_band_hz: float = Field(150.0, ge=40.0, le=500.0, description="Upper edge of the low band, Hz.")
    window_s: float = Field(
        1.2, ge=0.2, le=10.0, description="Window of the correlation series and events, s."
    )
    hop_s: float = Field(0.4, ge=0.1, le=10.0, description="Hop between windows, s.")
    event_below: float = Field(
        -0.1,
        ge=-1.0,
        le=1.0,
        description=(
            "A loud window whose correlation is below this is a phase event; slightly negative, so that "
            "decorrelated reverbs and wideners (about 0) do not count."
        ),
    )
    event_within_db: float = Field(
        20.0,
        ge=0.0,
        le=60.0,
        description="A window is loud enough for an event within this of the track's active level, dB.",
    )
    merge_gap_s: float = Field(1.0, ge=0.0, le=10.0, description="Events closer than this are one, s.")


@register
class Stereo(Extractor):
    """Correlation, mono compatibility and balance of a stereo file, from per-tick sums of L², R², L·R.

    Ticks are ~0.1 s (a whole number of samples at the decimated rate); ticks whose power (mean of both
    channels) is below ``silence_dbfs`` are left out of the whole-file values, which are therefore
    energy-weighted: ``r = ΣLR / √(ΣL² ΣR²)`` over the kept ticks.

    ``stereo_correlation``
        Full-band correlation of L and R, -1…+1: +1 mono, ~0 unrelated channels, -1 one channel inverted.
    ``low_band_correlation``
        The same below ``low_band_hz`` (4th-order Butterworth at ~2.4 kHz after decimation). Negative when
        the low end is out of phase: the bass disappears in mono and the cutting head of a lathe jumps.
        Unavailable when the low band holds less than -50 dB of the energy.
    ``mono_loudness_delta_lu``
        How much quieter the mono fold-down ``(L + R) / 2`` is than the stereo mix, in dB of mean power
        (unweighted, so the low end dominates it): ``10 log10(((L² + R²) / 2) / ((L + R)² / 4))``. 0 for
        identical channels, +3.0 for unrelated channels of equal level, positive and large for
        out-of-phase content, capped at 60 (total cancellation). Never negative: the fold-down is at most
        as loud as the stereo mix (equal only for identical channels).
    ``phase_events``
        Windows of ``window_s`` every ``hop_s`` that are within ``event_within_db`` of the track's active
        level and have correlation below ``event_below``; windows closer than ``merge_gap_s`` are merged.
        ``Event(start_s, end_s, None, value)`` with ``value`` the lowest window correlation.
    ``stereo_correlation_series``
        :class:`Series` of the window correlation at the window centres (None for windows below
        ``silence_dbfs``), for the report's plot.
    ``channel_balance_db``
        ``10 log10(ΣL² / ΣR²)`` over the kept ticks, dB; positive when the left channel is louder; capped
        at ±60 (one channel silent).

    Mono files raise :class:`FeatureUnavailable` ("mono file: no stereo image"); so does a file that is
    silent throughout.
    """

    provides = (
        "stereo_correlation",
        "low_band_correlation",
        "mono_loudness_delta_lu",
        "phase_events",
        "stereo_correlation_series",
        "channel_balance_db",
    )
    streams = ("squares",)
    Params = StereoParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self.settings = cast(StereoParams, params)
        self._stereo = info.channels == 2
        factor = decimation_factor(info.sample_rate, DECIMATED_HZ)
        self._tick_frames = factor * max(1, round(TICK_S * info.sample_rate / factor))
        self._squares = WindowSums(self._tick_frames)
        self._products = WindowSums(self._tick_frames)
        self._low_squares = WindowSums(self._tick_frames // factor)
        self._low_products = WindowSums(self._tick_frames // factor)
        self._decimator = Decimator(factor, 2)
        self._b, self._a = lowpass_coefficients(self.settings.low_band_hz, info.sample_rate / factor)
        self._state = np.zeros((len(self._a) - 1, 2))

    def update(self, block: Block) -> None:
        if not self._stereo:
            return
        x = block.samples
        self._squares.add(block.streams["squares"])
        self._products.add(x[:, 0] * x[:, 1])
        low = self._decimator.process(x)
        if len(low):
            low, self._state = lfilter(self._b, self._a, low, self._state)
            self._low_squares.add(low * low)
            self._low_products.add(low[:, 0] * low[:, 1])

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        if not self._stereo:
            raise FeatureUnavailable("mono file: no stereo image")
        full, frames = _ticks(self._squares, self._products)
        low, _ = _ticks(self._low_squares, self._low_products)
        count = min(len(full), len(low))
        full, low, frames = full[:count], low[:count], frames[:count]
        power = (full[:, 0] + full[:, 1]) / (2.0 * np.maximum(frames, 1))
        kept = power > 10.0 ** (self.settings.silence_dbfs / 10.0)
        if not kept.any():
            raise FeatureUnavailable(
                f"the file is silent (below {self.settings.silence_dbfs:g} dBFS throughout)"
            )
        left, right, cross = full[kept].sum(axis=0)
        low_left, low_right, low_cross = low[kept].sum(axis=0)

        stereo_power = (left + right) / 2.0
        mono_power = max(
            (left + right + 2.0 * cross) / 4.0, stereo_power * 10.0 ** (-MONO_LOSS_LIMIT_DB / 10.0)
        )
        floor = (left + right) * 10.0 ** (-BALANCE_LIMIT_DB / 10.0)
        low_band: FeatureValue | Unavailable
        if low_left + low_right < (left + right) * 10.0 ** (LOW_BAND_MIN_DB / 10.0):
            low_band = Unavailable(
                f"almost nothing below {self.settings.low_band_hz:g} Hz to judge "
                f"(under {LOW_BAND_MIN_DB:g} dB of the energy)"
            )
        else:
            low_band = float(correlation(low_cross, low_left, low_right))
        active_power = stereo_power / float(frames[kept].sum())
        events, series = self._windows(full, frames, active_power)
        return {
            "stereo_correlation": float(correlation(cross, left, right)),
            "low_band_correlation": low_band,
            "mono_loudness_delta_lu": 10.0 * math.log10(stereo_power / mono_power),
            "phase_events": events,
            "stereo_correlation_series": series,
            "channel_balance_db": 10.0 * math.log10(max(left, floor) / max(right, floor)),
        }

    def _windows(
        self, ticks: np.ndarray, frames: np.ndarray, active_power: float
    ) -> tuple[list[Event], Series]:
        """Phase events and the correlation series from the per-tick sums."""
        settings = self.settings
        rate = self.info.sample_rate
        tick_s = self._tick_frames / rate
        width = max(1, round(settings.window_s / tick_s))
        hop = max(1, round(settings.hop_s / tick_s))
        width = min(width, len(ticks))
        count = (len(ticks) - width) // hop + 1
        if count > MAX_SERIES_POINTS:
            hop *= math.ceil(count / MAX_SERIES_POINTS)
            count = (len(ticks) - width) // hop + 1
        starts = np.arange(count) * hop
        sums = np.lib.stride_tricks.sliding_window_view(ticks, width, axis=0)[starts].sum(axis=-1)
        window_frames = np.lib.stride_tricks.sliding_window_view(frames, width)[starts].sum(axis=-1)
        power = (sums[:, 0] + sums[:, 1]) / (2.0 * np.maximum(window_frames, 1))
        r = correlation(sums[:, 2], sums[:, 0], sums[:, 1])
        audible = power > 10.0 ** (settings.silence_dbfs / 10.0)
        loud = audible & (power >= active_power * 10.0 ** (-settings.event_within_db / 10.0))
        series = Series(
            hop_s=hop * tick_s,
            start_s=width * tick_s / 2.0,
            unit="",
            values=[round(float(v), 3) if ok else None for v, ok in zip(r, audible, strict=True)],
        )
        runs: list[list[float]] = []  # [start_s, end_s, lowest correlation]
        begin = starts * self._tick_frames
        for index in np.flatnonzero(loud & (r < settings.event_below)):
            start_s = frames_to_seconds(int(begin[index]), rate)
            end_s = frames_to_seconds(int(begin[index] + window_frames[index]), rate)
            if runs and start_s <= runs[-1][1] + settings.merge_gap_s:
                runs[-1][1] = end_s
                runs[-1][2] = min(runs[-1][2], float(r[index]))
            else:
                runs.append([start_s, end_s, float(r[index])])
        events = [Event(start_s=start, end_s=end, channel=None, value=value) for start, end, value in runs]
        return events, series


def _ticks(squares: WindowSums, products: WindowSums) -> tuple[np.ndarray, np.ndarray]:
    """``(ticks, 3)`` sums of L², R², L·R (the unfinished last tick included) and frames per tick."""
    full = np.column_stack((squares.sums(), products.sums()))
    frames = np.full(len(full), squares.window_frames)
    tail_squares, tail_frames = squares.tail()
    if tail_frames:
        tail_products, _ = products.tail()
        full = np.vstack((full, np.append(tail_squares, tail_products)))
        frames = np.append(frames, tail_frames)
    return full, frames
