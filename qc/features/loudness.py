"""Loudness features: K-weighting, integrated loudness, loudness range, momentary and short-term maxima.

Follows ITU-R BS.1770-4 (K-weighting, 400 ms gating blocks, absolute and relative gates), EBU Tech 3341
(momentary 400 ms and short-term 3 s loudness, "EBU mode") and EBU Tech 3342 (loudness range).

The measurement streams: a shared :class:`KWeighted` stream filters each block once (filter state carried
across blocks), and :class:`LoudnessMeter` keeps only the per-channel sums of squared K-weighted samples
over 10 ms ticks, so memory is O(duration / 10 ms) and never O(samples). Every window the standards need
(400 ms blocks every 100 ms, 3 s windows every 100 ms, maxima on a 10 ms grid) is a sum of whole ticks;
tick ``k`` starts at frame ``round(k * sample_rate / 100)``, which works for any sample rate and puts the
100 ms gating steps at ``round(j * sample_rate / 10)``. Results do not depend on how the file is cut
into blocks.

This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from ..audio import AudioInfo
from ..dsp.iir import lfilter
from .registry import (
    Block,
    Extractor,
    FeatureUnavailable,
    FeatureValue,
    Series,
    Stream,
    Unavailable,
    register,
    register_stream,
)

# --- K-weighting (ITU-R BS.1770-4, Annex 1, Tables 1 and 2) ------------------------------------------
# The standard gives the two biquads only at 48 kHz. These are the analogue-prototype parameters that
# reproduce that table exactly through the bilinear transform (B. De Man's fit, used by libebur128, ffmpeg
# and pyloudnorm's "DeMan" filter class), so the filter can be computed for any sample rate.
SHELF_F0_HZ = 1681.974450955533  # stage 1 (head-effect high shelf): centre frequency
SHELF_GAIN_DB = 3.999843853973347  # stage 1: high-frequency gain
SHELF_Q = 0.7071752369554196  # stage 1: quality factor
SHELF_VB_EXPONENT = 0.4996667741545416  # stage 1: band gain Vb = Vh ** exponent
HIGHPASS_F0_HZ = 38.13547087602444  # stage 2 (RLB high-pass): corner frequency
HIGHPASS_Q = 0.5003270373238773  # stage 2: quality factor

# --- Loudness and gating (ITU-R BS.1770-4, Annex 1) --------------------------------------------------
LOUDNESS_OFFSET_DB = -0.691  # BS.1770-4 Annex 1: L = -0.691 + 10 log10(sum_i G_i z_i)
ABSOLUTE_GATE_LUFS = -70.0  # BS.1770-4 Annex 1: absolute gate Γa
RELATIVE_GATE_LU = -10.0  # BS.1770-4 Annex 1: relative gate Γr, 10 LU below the Γa-gated loudness
GATING_BLOCK_S = 0.4  # BS.1770-4: gating block duration T_g (also the EBU momentary window, Tech 3341)
GATING_STEP_S = 0.1  # BS.1770-4: 75 % overlap of consecutive gating blocks
SHORT_TERM_S = 3.0  # EBU Tech 3341: short-term loudness window

# --- Loudness range (EBU Tech 3342) ------------------------------------------------------------------
LRA_ABSOLUTE_GATE_LUFS = -70.0  # Tech 3342: short-term values below -70 LUFS are ignored
LRA_RELATIVE_GATE_LU = -20.0  # Tech 3342: and those 20 LU below their (abs-gated) power mean
LRA_LOW_PERCENTILE = 0.10  # Tech 3342: LRA = L(95 %) - L(10 %) of the gated short-term values
LRA_HIGH_PERCENTILE = 0.95  # Tech 3342

# --- Our grid ----------------------------------------------------------------------------------------
TICKS_PER_SECOND = 100  # 10 ms ticks: maxima are searched on a 10 ms grid (Tech 3341 cases 10-14)
MOMENTARY_TICKS = 40  # 400 ms
SHORT_TERM_TICKS = 300  # 3 s
STEP_TICKS = 10  # 100 ms: gating-block and short-term (LRA, Series) hop
MAX_SERIES_POINTS = 6000  # short_term_lufs keeps a 0.1 s hop up to 10 min, then a coarser multiple


def k_weighting_coefficients(
    sample_rate: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads ``((b_shelf, a_shelf), (b_highpass, a_highpass))`` for ``sample_rate``.

    ITU-R BS.1770-4 Annex 1: stage 1 models the acoustic effect of the head (a +4 dB high shelf), stage 2
    is the revised low-frequency B-curve (RLB) high-pass. Both come from their analogue prototypes by the
    bilinear transform, as libebur128 does, so at 48 kHz they equal Tables 1 and 2 of the standard.

    Parameters
    ----------
    sample_rate
        Hz, > 2 * 1682 (the shelf's centre frequency must lie below Nyquist).

    Returns
    -------
    tuple
        Two ``(b, a)`` pairs of length-3 float64 arrays, ``a[0] == 1``.

    References
    ----------
    ITU-R BS.1770-4 (2015), Annex 1, Tables 1-2. B. De Man, "Evaluation of implementations of the EBU R128
    loudness measurement", AES 145th Convention (2018). libebur128, ``ebur128_init_filter``.

    Examples
    --------
    >>> (b, a), _ = k_weighting_coefficients(48000)
    >>> round(float(b[0]), 8), round(float(a[1]), 8)
    (1.53512486, -1.69065929)
    """
    # Stage 1: high shelf. K = tan(pi f0 / fs); Vh, Vb are the high and band gains (linear).
    k = math.tan(math.pi * SHELF_F0_HZ / sample_rate)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh**SHELF_VB_EXPONENT
    a0 = 1.0 + k / SHELF_Q + k * k
    b_shelf = (
        np.array([(vh + vb * k / SHELF_Q + k * k), 2.0 * (k * k - vh), (vh - vb * k / SHELF_Q + k * k)]) / a0
    )
    a_shelf = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / SHELF_Q + k * k]) / a0
    # Stage 2: high-pass, numerator (1, -2, 1) as in Table 2.
    k = math.tan(math.pi * HIGHPASS_F0_HZ / sample_rate)
    a0 = 1.0 + k / HIGHPASS_Q + k * k
    b_highpass = np.array([1.0, -2.0, 1.0])
    a_highpass = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / HIGHPASS_Q + k * k]) / a0
    return (b_shelf, a_shelf), (b_highpass, a_highpass)


class KWeightingFilter:
    """Streaming K-weighting filter (ITU-R BS.1770-4) whose state carries across calls.

    Both stages run as one 4th-order section (the product of the two biquads, as in libebur128), which
    halves the cost of filtering; ``tests/features/test_loudness.py`` checks it against the cascade.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        (b_shelf, a_shelf), (b_highpass, a_highpass) = k_weighting_coefficients(sample_rate)
        self.b = np.convolve(b_shelf, b_highpass)
        self.a = np.convolve(a_shelf, a_highpass)
        self._state = np.zeros((len(self.a) - 1, channels))

    def process(self, samples: np.ndarray) -> np.ndarray:
        """K-weight the next block, float64 ``(frames, channels)`` in and out."""
        weighted, self._state = lfilter(self.b, self.a, samples, self._state)
        return weighted


@register_stream
class KWeighted(Stream):
    """The K-weighted signal (ITU-R BS.1770-4), float64 ``(frames, channels)``, shared by loudness features.

    The filter state carries from one block to the next.
    """

    name = "k_weighted"

    def __init__(self, info: AudioInfo) -> None:
        super().__init__(info)
        self._filter = KWeightingFilter(info.sample_rate, info.channels)

    def process(self, samples: np.ndarray) -> np.ndarray:
        return self._filter.process(samples)


def power_to_lufs(power: np.ndarray | float) -> np.ndarray:
    """Channel-weighted mean square of K-weighted samples to loudness, LUFS (BS.1770-4); 0 → -inf."""
    with np.errstate(divide="ignore"):
        return LOUDNESS_OFFSET_DB + 10.0 * np.log10(np.asarray(power, dtype=np.float64))


def _lufs_to_power(lufs: float) -> float:
    """Inverse of :func:`power_to_lufs` for one value."""
    power: float = 10.0 ** ((lufs - LOUDNESS_OFFSET_DB) / 10.0)
    return power


def gated_loudness(block_powers: np.ndarray) -> float:
    """Integrated loudness in LUFS from the powers of the 400 ms gating blocks (ITU-R BS.1770-4).

    Parameters
    ----------
    block_powers
        ``(blocks,)`` channel-weighted mean squares ``sum_i G_i z_ij`` of the K-weighted signal over
        400 ms blocks overlapping by 75 %.

    Returns
    -------
    float
        Loudness of the blocks above both the absolute gate (-70 LUFS) and the relative gate (10 LU below
        the loudness of the blocks above the absolute gate), LUFS; -inf if no block is above -70 LUFS.

    References
    ----------
    ITU-R BS.1770-4 (2015), Annex 1 (gating of 400 ms blocks).
    """
    powers = np.asarray(block_powers, dtype=np.float64)
    above_absolute = powers[powers > _lufs_to_power(ABSOLUTE_GATE_LUFS)]
    if above_absolute.size == 0:
        return -math.inf
    relative_gate = float(above_absolute.mean()) * 10.0 ** (RELATIVE_GATE_LU / 10.0)
    gated = above_absolute[above_absolute > relative_gate]
    if gated.size == 0:  # pragma: no cover - the loudest block always passes a gate below the mean
        return -math.inf
    return float(power_to_lufs(gated.mean()))


def loudness_range_from_short_term(short_term_powers: np.ndarray) -> float:
    """Loudness range in LU from the powers of the 3 s short-term windows (EBU Tech 3342).

    Parameters
    ----------
    short_term_powers
        ``(windows,)`` channel-weighted mean squares of the K-weighted signal over 3 s windows at a
        10 Hz rate.

    Returns
    -------
    float
        The 95th minus the 10th percentile of the short-term loudness values that are at or above
        -70 LUFS and at or above 20 LU below their power mean, in LU; 0.0 if no value passes the gates.
        Percentiles are the nearest rank ``sorted[int((n - 1) * p + 0.5)]``, as in libebur128.

    References
    ----------
    EBU Tech 3342, "Loudness range: a measure to supplement EBU R 128 loudness normalization";
    libebur128 ``ebur128_loudness_range``.
    """
    powers = np.asarray(short_term_powers, dtype=np.float64)
    above_absolute = powers[powers >= _lufs_to_power(LRA_ABSOLUTE_GATE_LUFS)]
    if above_absolute.size == 0:
        return 0.0
    relative_gate = float(above_absolute.mean()) * 10.0 ** (LRA_RELATIVE_GATE_LU / 10.0)
    gated = np.sort(above_absolute[above_absolute >= relative_gate])
    last = gated.size - 1
    low = gated[int(last * LRA_LOW_PERCENTILE + 0.5)]
    high = gated[int(last * LRA_HIGH_PERCENTILE + 0.5)]
    return float(power_to_lufs(high) - power_to_lufs(low))


def _tick_edges(ticks: np.ndarray | int, sample_rate: int) -> np.ndarray:
    """First frame of tick ``k``: ``round(k * sample_rate / 100)`` (halves up), exact in integers."""
    k = np.asarray(ticks, dtype=np.int64)
    return (2 * k * sample_rate + TICKS_PER_SECOND) // (2 * TICKS_PER_SECOND)


class LoudnessMeter:
    """Streaming loudness accumulator: per-channel sums of squared K-weighted samples over 10 ms ticks.

    Feed it the K-weighted signal block by block with :meth:`add` (any block sizes, in order); then ask for
    integrated loudness, loudness range, maxima or the short-term series. A partial tick at the end of the
    signal is left out, as every window the standards define ends on a whole 100 ms step.

    Parameters
    ----------
    sample_rate
        Hz.
    channels
        Number of channels of the K-weighted signal.
    channel_weights
        BS.1770-4 channel weights ``G_i``; default 1.0 for every channel (L, R, C and mono; a mono file is
        measured as one channel, as pyloudnorm and libebur128 do). Use 1.41 for the surround channels.
    """

    def __init__(
        self, sample_rate: int, channels: int, channel_weights: Sequence[float] | None = None
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        weights = (
            np.ones(channels) if channel_weights is None else np.asarray(channel_weights, dtype=np.float64)
        )
        if weights.shape != (channels,):
            raise ValueError(f"{channels} channels need {channels} channel weights, got {weights.shape}")
        self.channel_weights = weights
        self.frames = 0  # frames consumed so far
        self._ticks_done = 0  # complete ticks so far
        self._partial = np.zeros(channels)  # sum of squares of the tick being filled
        self._ticks = np.zeros((1024, channels))  # sums of squares of complete ticks; grows by doubling

    def add(self, k_weighted: np.ndarray) -> None:
        """Accumulate the next block of the K-weighted signal, float64 ``(frames, channels)``."""
        frames = k_weighted.shape[0]
        if frames == 0:
            return
        end = self.frames + frames
        # Complete ticks at `end`: the largest m with edge(m) <= end.
        m = end * TICKS_PER_SECOND // self.sample_rate + 1
        while int(_tick_edges(m, self.sample_rate)) > end:
            m -= 1
        squares = np.square(k_weighted)
        if m == self._ticks_done:
            self._partial += squares.sum(axis=0)
        else:
            cuts = _tick_edges(np.arange(self._ticks_done + 1, m + 1), self.sample_rate) - self.frames
            ends_on_edge = cuts[-1] == frames
            starts = np.concatenate(([0], cuts[:-1] if ends_on_edge else cuts))
            sums = np.add.reduceat(squares, starts, axis=0)
            sums[0] += self._partial
            if ends_on_edge:
                self._partial = np.zeros(self.channels)
            else:
                self._partial = sums[-1].copy()
                sums = sums[:-1]
            self._append_ticks(sums)
        self.frames = end

    def _append_ticks(self, sums: np.ndarray) -> None:
        """Store the sums of squares of newly completed ticks (amortised O(1) per tick)."""
        needed = self._ticks_done + len(sums)
        if needed > len(self._ticks):
            grown = np.zeros((max(needed, 2 * len(self._ticks)), self.channels))
            grown[: self._ticks_done] = self._ticks[: self._ticks_done]
            self._ticks = grown
        self._ticks[self._ticks_done : needed] = sums
        self._ticks_done = needed

    def _weighted_ticks(self) -> np.ndarray:
        """``(ticks,)`` channel-weighted sums of squares of the complete ticks."""
        return self._ticks[: self._ticks_done] @ self.channel_weights

    def window_powers(self, window_ticks: int, hop_ticks: int) -> np.ndarray:
        """Channel-weighted mean square over windows of ``window_ticks`` ticks starting every ``hop_ticks``.

        Window ``j`` covers frames ``[edge(j * hop), edge(j * hop + window))``; only whole windows count.
        A hop of one tick uses running sums (its rounding, ~1e-16 of the file's energy, is irrelevant to
        the maxima it serves); coarser hops sum each window directly.
        """
        ticks = self._weighted_ticks()
        count = (ticks.size - window_ticks) // hop_ticks + 1 if ticks.size >= window_ticks else 0
        if count <= 0:
            return np.zeros(0)
        starts = np.arange(count) * hop_ticks
        frames = _tick_edges(starts + window_ticks, self.sample_rate) - _tick_edges(starts, self.sample_rate)
        if hop_ticks == 1:
            running = np.concatenate(([0.0], np.cumsum(ticks)))
            sums = np.maximum(running[window_ticks:] - running[:-window_ticks], 0.0)
        elif window_ticks % hop_ticks == 0:
            steps = (
                ticks[: (count - 1 + window_ticks // hop_ticks) * hop_ticks]
                .reshape(-1, hop_ticks)
                .sum(axis=1)
            )
            sums = np.lib.stride_tricks.sliding_window_view(steps, window_ticks // hop_ticks).sum(axis=1)
        else:
            sums = np.lib.stride_tricks.sliding_window_view(ticks, window_ticks)[::hop_ticks].sum(axis=1)
        powers: np.ndarray = sums / frames
        return powers

    def integrated_lufs(self) -> float | None:
        """Gated integrated loudness, LUFS (BS.1770-4); -inf if silent; None if shorter than 400 ms."""
        blocks = self.window_powers(MOMENTARY_TICKS, STEP_TICKS)
        return gated_loudness(blocks) if blocks.size else None

    def loudness_range_lu(self) -> float | None:
        """Loudness range, LU (EBU Tech 3342); 0.0 if silent; None if shorter than 3 s."""
        windows = self.window_powers(SHORT_TERM_TICKS, STEP_TICKS)
        return loudness_range_from_short_term(windows) if windows.size else None

    def max_momentary_lufs(self) -> float | None:
        """Highest 400 ms loudness on a 10 ms grid, LUFS (Tech 3341); -inf if silent; None if < 400 ms."""
        windows = self.window_powers(MOMENTARY_TICKS, 1)
        return float(power_to_lufs(windows.max())) if windows.size else None

    def max_short_term_lufs(self) -> float | None:
        """Highest 3 s loudness on a 10 ms grid, LUFS (Tech 3341); -inf if silent; None if < 3 s."""
        windows = self.window_powers(SHORT_TERM_TICKS, 1)
        return float(power_to_lufs(windows.max())) if windows.size else None

    def short_term_lufs(self) -> np.ndarray:
        """Short-term (3 s) loudness every 100 ms, LUFS; value ``j`` covers the 3 s ending at 3 + j/10 s."""
        return power_to_lufs(self.window_powers(SHORT_TERM_TICKS, STEP_TICKS))


def _meter_for(x: np.ndarray, sample_rate: int, channel_weights: Sequence[float] | None) -> LoudnessMeter:
    """A meter that has consumed the whole signal ``x`` (1-D mono or ``(frames, channels)``)."""
    samples = np.asarray(x, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    meter = LoudnessMeter(sample_rate, samples.shape[1], channel_weights)
    meter.add(KWeightingFilter(sample_rate, samples.shape[1]).process(samples))
    return meter


def integrated_loudness(
    x: np.ndarray, sample_rate: int, *, channel_weights: Sequence[float] | None = None
) -> float:
    """Integrated (gated) loudness of a whole signal, in LUFS (ITU-R BS.1770-4).

    Parameters
    ----------
    x
        float samples, ``(frames,)`` or ``(frames, channels)``, full scale ±1.
    sample_rate
        Hz.
    channel_weights
        ``G_i`` per channel; default 1.0 each (L, R, C, mono). 1.41 for Ls/Rs.

    Returns
    -------
    float
        LUFS; -inf for a signal with no 400 ms block above -70 LUFS (e.g. digital silence).

    Raises
    ------
    ValueError
        If the signal is shorter than one 400 ms gating block.

    References
    ----------
    ITU-R BS.1770-4 (2015), Annex 1. Checked against EBU Tech 3341 cases 1-6 in the tests.

    Examples
    --------
    >>> t = np.arange(48000 * 5) / 48000
    >>> tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> round(integrated_loudness(np.stack([tone, tone], axis=1), 48000), 1)
    -23.0
    """
    value = _meter_for(x, sample_rate, channel_weights).integrated_lufs()
    if value is None:
        raise ValueError(f"signal shorter than one {GATING_BLOCK_S * 1000:.0f} ms gating block")
    return value


def loudness_range(
    x: np.ndarray, sample_rate: int, *, channel_weights: Sequence[float] | None = None
) -> float:
    """Loudness range (LRA) of a whole signal, in LU (EBU Tech 3342).

    Parameters
    ----------
    x
        float samples, ``(frames,)`` or ``(frames, channels)``, full scale ±1.
    sample_rate
        Hz.
    channel_weights
        ``G_i`` per channel; default 1.0 each.

    Returns
    -------
    float
        LU; 0.0 when no short-term value passes the gates (e.g. digital silence).

    Raises
    ------
    ValueError
        If the signal is shorter than one 3 s short-term window.

    References
    ----------
    EBU Tech 3342. Checked against its test signals 1-4 in the tests.
    """
    value = _meter_for(x, sample_rate, channel_weights).loudness_range_lu()
    if value is None:
        raise ValueError(f"signal shorter than one {SHORT_TERM_S:.0f} s short-term window")
    return value


def _short_term_series(meter: LoudnessMeter) -> Series | None:
    """The short-term loudness as a plot series (None-for-silence), decimated past MAX_SERIES_POINTS."""
    values = meter.short_term_lufs()
    if values.size == 0:
        return None
    stride = max(1, math.ceil(values.size / MAX_SERIES_POINTS))
    kept = values[::stride]
    return Series(
        hop_s=GATING_STEP_S * stride,
        start_s=SHORT_TERM_S,
        unit="LUFS",
        values=[round(float(v), 3) if math.isfinite(v) else None for v in kept],
    )


@register
class Loudness(Extractor):
    """Streaming loudness meter: integrated loudness, loudness range, momentary and short-term maxima.

    Features (:class:`Unavailable` with the reason where the file is too short for the measurement):

    ``integrated_lufs``
        BS.1770-4 gated integrated loudness, LUFS; -inf for digital silence (JSON null).
    ``loudness_range_lu``
        EBU Tech 3342 loudness range, LU; 0.0 for silence; None if the file is shorter than 3 s.
    ``max_momentary_lufs``
        Highest momentary (400 ms) loudness on a 10 ms grid, LUFS; -inf for silence.
    ``max_short_term_lufs``
        Highest short-term (3 s) loudness on a 10 ms grid, LUFS; -inf for silence; None if shorter than 3 s.
    ``short_term_lufs``
        :class:`Series` of the short-term loudness every 0.1 s (a multiple of 0.1 s past 10 minutes), each
        value for the 3 s ending at its time, rounded to 0.001 LU; None where -inf; None if shorter than 3 s.

    Raises :class:`FeatureUnavailable` (for all five) if the file is shorter than one 400 ms gating block.
    """

    provides = (
        "integrated_lufs",
        "loudness_range_lu",
        "max_momentary_lufs",
        "max_short_term_lufs",
        "short_term_lufs",
    )
    streams = ("k_weighted",)

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._meter = LoudnessMeter(info.sample_rate, info.channels)

    def update(self, block: Block) -> None:
        self._meter.add(block.streams["k_weighted"])

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        integrated = self._meter.integrated_lufs()
        if integrated is None:
            duration_s = self._meter.frames / self._meter.sample_rate
            raise FeatureUnavailable(
                f"the file lasts {duration_s:.3f} s, shorter than one {GATING_BLOCK_S * 1000:.0f} ms "
                "loudness gating block (ITU-R BS.1770-4)"
            )
        values: dict[str, FeatureValue] = {
            "integrated_lufs": integrated,
            "loudness_range_lu": self._meter.loudness_range_lu(),
            "max_momentary_lufs": self._meter.max_momentary_lufs(),
            "max_short_term_lufs": self._meter.max_short_term_lufs(),
            "short_term_lufs": _short_term_series(self._meter),
        }
        duration_s = self._meter.frames / self._meter.sample_rate
        too_short = Unavailable(
            f"the file lasts {duration_s:.2f} s, shorter than one {SHORT_TERM_S:.0f} s short-term loudness "
            "window (EBU Tech 3342)"
        )
        return {name: too_short if value is None else value for name, value in values.items()}


__all__ = [
    "KWeighted",
    "KWeightingFilter",
    "Loudness",
    "LoudnessMeter",
    "gated_loudness",
    "integrated_loudness",
    "k_weighting_coefficients",
    "loudness_range",
    "loudness_range_from_short_term",
    "power_to_lufs",
]
