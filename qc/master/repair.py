"""Corrective repair stages: DC offset removal (:class:`DCBlock`) and click repair (:class:`ClickRepair`).

Both are mastering stages with the call shape of :mod:`qc.master.stage`. They change as little as they can:
``DCBlock`` subtracts one constant per channel, and ``ClickRepair`` rewrites only the samples of the click
spans it was given and leaves every other sample bit-identical. Neither reads files: the offsets and the
click events come from the check (``qc.features.signal``, ``qc.features.glitches``) or from
:class:`ChannelMeans`. This module knows nothing of rules or reports.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import numpy as np

from ..errors import MasterError
from ..features.glitches import CHUNK_S
from ..features.registry import Event
from ..units import format_mmss, frames_to_seconds, gains_to_db, seconds_to_frames
from .stage import Change

# --- DC offset ----------------------------------------------------------------------------------------


class ChannelMeans:
    """Streaming per-channel mean (the DC offset), fed block by block: ``add`` each block, then ``means``.

    >>> meter = ChannelMeans(1); meter.add(np.full((10, 1), 0.25)); meter.means().tolist()
    [0.25]
    """

    def __init__(self, channels: int) -> None:
        self._sums = np.zeros(channels)
        self._frames = 0

    def add(self, block: np.ndarray) -> None:
        """Add a float ``(frames, channels)`` block."""
        self._sums += np.asarray(block, dtype=np.float64).sum(axis=0)
        self._frames += len(block)

    def means(self) -> np.ndarray:
        """``(channels,)`` mean of everything added so far, full scale 1 (zeros before any frame)."""
        return self._sums / max(self._frames, 1)


def channel_means(audio: np.ndarray) -> np.ndarray:
    """Per-channel mean of a whole signal, full scale 1: the DC offset :class:`DCBlock` removes.

    Parameters
    ----------
    audio
        float samples ``(frames, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(channels,)`` float64 means (signed, linear).

    >>> channel_means(np.array([[0.1, -0.2], [0.3, 0.0]])).round(3).tolist()
    [0.2, -0.1]
    """
    meter = ChannelMeans(np.asarray(audio).shape[1])
    meter.add(audio)
    return meter.means()


def _channel_label(channel: int, channels: int) -> str:
    """``L``/``R`` for stereo, ``mono`` for one channel, ``channel N`` (1-based) otherwise."""
    if channels == 2:
        return "LR"[channel]
    return "mono" if channels == 1 else f"channel {channel + 1}"


@dataclass
class DCBlock:
    """Remove a DC offset by subtracting each channel's measured mean: exact, with no filter at all.

    Subtracting the mean of the whole file is the transparent way to remove DC: the output's mean is 0
    (to rounding), every frequency above 0 Hz is untouched, and there is no phase shift, ringing or
    settling time at the start, as a DC-blocking high-pass (a pole near 1) or a 20 Hz high-pass would
    bring. It assumes the offset is constant through the file, which is the case for a converter or
    plug-in offset and for the net area of synthetic sounds (``dc_offset_dbfs`` in
    :mod:`qc.features.signal` measures the same mean).

    The check's ``dc_offset_dbfs`` is ``|mean|`` in dBFS and has lost the sign, so the offsets are
    measured again: :func:`channel_means` on an array, :class:`ChannelMeans` on a stream of blocks, or
    :meth:`from_audio`.

    Parameters
    ----------
    offsets
        Per-channel DC offset to subtract, linear (full scale 1), ``(channels,)``, signed.

    >>> stage = DCBlock([0.5]); stage.process(0, np.array([[0.5], [1.0]])).tolist()
    [[0.0], [0.5]]
    """

    offsets: Sequence[float] | np.ndarray
    name: ClassVar[str] = "dc"
    _offsets: np.ndarray = field(init=False, repr=False)
    _frames: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        offsets = np.asarray(self.offsets, dtype=np.float64).reshape(-1)
        if offsets.size == 0 or not np.isfinite(offsets).all():
            raise MasterError(f"DC removal: expected one finite offset per channel, got {list(self.offsets)}")
        self._offsets = offsets

    @classmethod
    def from_audio(cls, audio: np.ndarray) -> DCBlock:
        """The stage that removes the mean of each channel of ``audio`` (float ``(frames, channels)``)."""
        return cls(channel_means(audio).tolist())

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Subtract the offsets from a float64 ``(frames, channels)`` block."""
        if block.shape[1] != self._offsets.size:
            raise MasterError(f"DC removal: built for {self._offsets.size} channel(s), fed {block.shape[1]}")
        self._frames += len(block)
        out: np.ndarray = block - self._offsets
        return out

    def flush(self) -> np.ndarray:
        """Nothing is held back."""
        return np.zeros((0, self._offsets.size))

    def change(self) -> Change:
        """The offsets removed, per channel, in dBFS and linear."""
        levels = gains_to_db(self._offsets)
        channels = self._offsets.size
        parts = [
            f"{level:.1f} dBFS ({_channel_label(c, channels)})"
            if math.isfinite(level)
            else f"none ({_channel_label(c, channels)})"
            for c, level in enumerate(levels)
        ]
        changed = bool(np.any(self._offsets != 0.0))
        summary = (
            f"removed a DC offset of {', '.join(parts)} by subtracting each channel's mean"
            if changed
            else "no DC offset to remove"
        )
        return Change(
            stage=self.name,
            summary=summary,
            values={
                "offsets": [float(v) for v in self._offsets],
                "offsets_dbfs": [float(v) if math.isfinite(v) else None for v in levels],
                "method": "subtract the per-channel mean",
            },
            changed=changed,
        )


# --- Clicks -------------------------------------------------------------------------------------------

MARGIN_MS = 0.05  # repaired beyond the outlying samples on each side (2 samples at 44.1/48 kHz)
REACH_S = CHUNK_S  # a click may start or end this much beyond its event (the detector's peak-per-chunk)
AR_ORDER_48K = 200  # AR model order at 48 kHz, scaled with the rate: 2 per partial of a polyphonic mix
CONTEXT_MS = 20.0  # known samples used on each side of a span, to fit the model and to interpolate
MAX_SPAN_MS = 5.0  # a longer event is a merged run of clicks: only its outlying samples are repaired
OUTLIER_DB = 18.0  # a sample whose residual stands this far above the local mean residual is damaged
GAP_ORDER_RATIO = 1.5  # and at least this times the gap: a shorter model loses tones inside long gaps
JOIN_MS = 0.25  # damaged samples closer than this are repaired as one span
MIN_ORDER = 2
CROSS_RIDGE = 1e-3  # regularisation of the inter-channel gain (share of the damaged channel's energy)


@dataclass(frozen=True)
class _Item:
    """The click events of one channel that are repaired together, and the frames the repair may touch.

    ``[start, end)`` is the window (events, the detector's reach and the margin); ``cores`` the events'
    own ``[start, end)`` frames.
    """

    start: int
    end: int
    channel: int
    cores: tuple[tuple[int, int], ...]


def ar_coefficients(segments: Sequence[np.ndarray], order: int) -> np.ndarray:
    """Autoregressive coefficients fitted by least squares (covariance method) on contiguous segments.

    The model is ``e[t] = x[t] + sum_k a[k] x[t - k]`` (``k = 1 .. order``); each segment gives the rows
    whose whole history lies inside it. A small ridge (1e-9 of the mean diagonal) keeps the fit stable on
    pure tones, whose covariance matrix is singular above order 2.

    Parameters
    ----------
    segments
        1-D float arrays of known samples.
    order
        Model order ``p``.

    Returns
    -------
    numpy.ndarray
        ``(order + 1,)`` prediction-error filter ``[1, a_1, ..., a_p]``; ``[1, 0, ..., 0]`` when the
        segments are silent or too short.

    >>> x = np.sin(0.3 * np.arange(200))
    >>> np.round(ar_coefficients([x], 2), 6).tolist()  # x[t] = 2 cos(0.3) x[t-1] - x[t-2]
    [1.0, -1.910673, 1.0]
    """
    covariance = np.zeros((order + 1, order + 1))
    for segment in segments:
        if len(segment) > order:
            covariance += _lag_covariance(np.asarray(segment, dtype=np.float64), order)
    filter_ = np.zeros(order + 1)
    filter_[0] = 1.0
    normal = covariance[1:, 1:]  # sum over rows of x[t-i] x[t-j], i, j = 1 .. p
    scale = float(np.trace(normal)) / order
    if scale <= 0.0:
        return filter_
    normal[np.diag_indices(order)] += 1e-9 * scale
    filter_[1:] = -np.linalg.solve(normal, covariance[1:, 0])
    return filter_


def _lag_covariance(x: np.ndarray, order: int) -> np.ndarray:
    """``C[i, j] = sum_{t=p}^{n-1} x[t-i] x[t-j]`` for ``i, j = 0 .. p``, in O(n p + p^2) without loops.

    The first row is one correlation; the rest follows along each diagonal ``d = j - i`` from
    ``C[i+1, j+1] = C[i, j] + x[p-1-i] x[p-1-j] - x[n-1-i] x[n-1-j]`` (a cumulative sum).
    """
    n, p = len(x), order
    first_row = np.correlate(x, x[p:], mode="valid")[::-1]  # C[0, d], d = 0 .. p
    head = np.concatenate((x[p - 1 :: -1] if p else x[:0], np.zeros(p + 1)))  # x[p-1-k], zero-padded
    tail = np.concatenate((x[n - 1 : n - 1 - p : -1] if p else x[:0], np.zeros(p + 1)))  # x[n-1-k]
    window = np.lib.stride_tricks.sliding_window_view
    steps = head[:p, None] * window(head, p + 1)[:p] - tail[:p, None] * window(tail, p + 1)[:p]  # [k, d]
    along = first_row + np.concatenate(
        (np.zeros((1, p + 1)), np.cumsum(steps, axis=0))
    )  # C[i, i + d] at [i, d]
    i, d = _diagonals(p)
    covariance = np.empty((p + 1, p + 1))
    covariance[i, i + d] = along[i, d]
    covariance[i + d, i] = along[i, d]
    return covariance


@cache
def _diagonals(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ``i`` and diagonal ``d`` of each upper-triangle entry ``(i, i + d)`` of a ``(p+1, p+1)`` matrix."""
    rows, diagonals = np.nonzero(np.add.outer(np.arange(order + 1), np.arange(order + 1)) <= order)
    return rows, diagonals


def lsar_interpolate(segment: np.ndarray, first: int, count: int, order: int) -> np.ndarray:
    """Least-squares autoregressive (LSAR) interpolation of ``segment[first : first + count]``.

    Fits an AR model of ``order`` to the known samples on both sides, then chooses the unknown samples
    that minimise the energy of the model's prediction error over every row that involves them (Janssen,
    Veldhuis and Vries 1986; Godsill and Rayner 1998, sec. 5.2.2). The result continues the waveform from
    both sides, so tones and their phase carry through the gap; with context on one side only, it
    extrapolates from that side.

    Parameters
    ----------
    segment
        1-D float samples: known context, the gap, known context.
    first, count
        Position and length of the gap in ``segment``.
    order
        AR model order (reduced when the context is short).

    Returns
    -------
    numpy.ndarray
        ``(count,)`` interpolated samples.

    References
    ----------
    .. [1] A. J. E. M. Janssen, R. N. J. Veldhuis and L. B. Vries, "Adaptive interpolation of
       discrete-time signals that can be modeled as autoregressive processes", IEEE Trans. ASSP 34(2),
       1986, pp. 317-330.
    .. [2] S. J. Godsill and P. J. W. Rayner, *Digital Audio Restoration*, Springer, 1998, ch. 5.

    >>> x = np.sin(0.05 * np.arange(400)); y = x.copy(); y[200:210] = 1.0
    >>> bool(np.max(np.abs(lsar_interpolate(y, 200, 10, 8) - x[200:210])) < 1e-6)
    True
    """
    z = np.asarray(segment, dtype=np.float64)
    total = len(z)
    before, after = z[:first], z[first + count :]
    known = len(before) + len(after)
    order = max(0, min(order, (max(len(before), len(after)) - 1) // 2))
    if known == 0:
        return z[first : first + count].copy()
    if order < MIN_ORDER:
        # Too little context to fit a model: hold the neighbouring value(s), linearly if both sides exist.
        if len(before) and len(after):
            return np.linspace(before[-1], after[0], count + 2)[1:-1]
        return np.full(count, before[-1] if len(before) else after[0])
    if first < order:
        # Too little before the gap for a full row of history: extrapolate backwards, by running the same
        # least squares on the time-reversed signal (rows without history are dropped, and a gap that none
        # of the remaining rows reaches first-hand would be ill-determined).
        return lsar_interpolate(z[::-1], total - first - count, count, order)[::-1]
    a = ar_coefficients([before, after], order)
    filled = z.copy()
    filled[first : first + count] = 0.0
    # Rows t of the prediction error e[t] = sum_k a[k] z[t-k] that involve an unknown and have a full history.
    t0, t1 = max(order, first), min(total, first + count + order)
    if t0 == first and t1 == first + count + order:
        # Every such row is there: the normal matrix is the banded Toeplitz autocorrelation of `a`.
        lags = np.correlate(a, a, mode="full")[order:]  # r[k] = sum_i a[i] a[i + k], k = 0 .. p
        band = np.abs(np.subtract.outer(np.arange(count), np.arange(count)))
        normal = np.where(band <= order, lags[np.minimum(band, order)], 0.0)
        known_error = np.convolve(filled, a)[t0:t1]  # e[t] of the known samples alone
        rhs = np.correlate(known_error, a, mode="valid")  # sum_k a[k] e[first + j + k]
    else:  # near the edge of the audio some rows are missing: build the rows explicitly
        t = np.arange(t0, t1)
        matrix = np.zeros((len(t), total))
        for k in range(order + 1):
            matrix[np.arange(len(t)), t - k] = a[k]
        unknown = matrix[:, first : first + count]
        normal = unknown.T @ unknown  # positive definite: every unknown has a row with coefficient a[0] = 1
        rhs = unknown.T @ (matrix @ filled)
    normal[np.diag_indices(count)] *= 1.0 + 1e-12
    return np.linalg.solve(normal, -rhs)


def cross_channel_interpolate(
    segment: np.ndarray, reference: np.ndarray, first: int, count: int, order: int
) -> np.ndarray:
    """Interpolate a gap in one channel with help from an undamaged channel, then LSAR on what is left.

    The part of ``segment`` that ``reference`` (the other channel, intact over the whole segment) explains
    is ``g * reference``, with the least-squares gain ``g`` fitted on the known samples (ridge
    :data:`CROSS_RIDGE`); that part is taken from the reference inside the gap, and only the remainder
    ``segment - g * reference`` is interpolated by :func:`lsar_interpolate`. Sources common to both
    channels (a centred vocal, kick or snare) are then restored exactly, and the AR model only has to
    bridge what differs between the channels. Uncorrelated channels give ``g`` near 0 and plain LSAR.

    Parameters
    ----------
    segment, reference
        1-D float samples of the damaged and the intact channel, same length.
    first, count
        Position and length of the gap in ``segment``.
    order
        AR model order.

    Returns
    -------
    numpy.ndarray
        ``(count,)`` interpolated samples.

    >>> t = np.arange(600); x = np.sin(0.2 * t) + 0.3 * np.sin(2.9 * t); y = x.copy(); y[300:305] += 1.0
    >>> bool(np.max(np.abs(cross_channel_interpolate(y, x, 300, 5, 8) - x[300:305])) < 1e-9)
    True
    """
    z = np.asarray(segment, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    known = np.ones(len(z), dtype=bool)
    known[first : first + count] = False
    energy = float(z[known] @ z[known])
    gain = float(z[known] @ ref[known]) / (float(ref[known] @ ref[known]) + CROSS_RIDGE * energy + 1e-300)
    rest = z - gain * ref
    interpolated: np.ndarray = gain * ref[first : first + count] + lsar_interpolate(rest, first, count, order)
    return interpolated


def _as_event(event: Event | Mapping[str, Any]) -> Event:
    """An :class:`Event` from an event or its JSON form."""
    return event if isinstance(event, Event) else Event.model_validate(event)


@dataclass
class ClickRepair:
    """Interpolate over clicks by least-squares AR interpolation, leaving every other sample bit-identical.

    For each event ``[start_s, end_s)`` (as ``click_events`` reports them: from the first to the last
    residual peak of a click; a one-sample click lasts one frame), the stage finds the damaged samples and
    replaces only them:

    1. *Extent.* The detector places an event at the peak of a 0.75 ms chunk, so a burst may begin or end
       up to one chunk (:data:`REACH_S`) beyond it. In that reach, a sample is damaged where its
       second-order residual ``|x[n] - (x[n-1] + x[n+1]) / 2|`` (the detector's) stands
       :data:`OUTLIER_DB` (18 dB) above the mean residual of the 20 ms on either side. Damaged samples
       closer than :data:`JOIN_MS` (0.25 ms) join into one span, widened by ``margin_ms`` (0.05 ms,
       2 samples at 48 kHz) on each side. An event of up to :data:`MAX_SPAN_MS` (5 ms) is one click
       and is repaired whole; a longer one is a run of clicks merged by the detector (a crackle), and
       only its outlying samples and its two ends are repaired, rather than blurring tens of ms of music.
    2. *Interpolation.* Each span is rebuilt from :data:`CONTEXT_MS` (20 ms) of audio on each side by
       least-squares autoregressive interpolation (:func:`lsar_interpolate`), the interpolator of
       declickers (Godsill and Rayner 1998, ch. 5): it carries tones and their phase through the gap,
       which linear or cubic interpolation cannot. The AR order is 200 at 48 kHz (scaled with the rate:
       two per partial of a polyphonic mix) and at least 1.5 times the gap, as a model shorter than the
       gap loses the tones in its middle. When only one channel of a stereo file is damaged there, the
       part of it that the other channel explains is taken from the other channel
       (:func:`cross_channel_interpolate`).

    Measured (``tests/master/test_repair.py``): on a sine and on a decaying harmonic note, clicks of one
    sample to 3 ms leave a residual error 40 dB or more below the click (70 dB on the note); in the
    drum mix of ``tests/music.py`` the error in a 1-3 ms gap is 13-27 dB below a 0.5 click, 7.7 dB less
    energy than linear interpolation: the hi-hat's noise inside a gap cannot be predicted by any
    interpolator, so a long click becomes a short, slightly dull patch. Cost: about 3 ms per click
    (single-threaded BLAS).

    Every sample outside the spans is returned bit-identical. The stage holds back the frames from the
    next click's reach until 20 ms after it have arrived, and releases the rest at :meth:`flush`. Place it
    before any stage that changes the length or the rate: the events are timed on its input.

    Parameters
    ----------
    clicks
        ``Event``\\ s (or their JSON dicts) with ``start_s``, ``end_s`` in seconds and ``channel`` (0-based,
        None = every channel).
    sample_rate
        Hz.
    channels
        Number of channels of the blocks.
    margin_ms
        Repaired beyond the damaged samples on each side, ms (0-10).

    Raises
    ------
    MasterError
        For an event on a channel the audio does not have, or with negative or reversed times.
    """

    clicks: Iterable[Event | Mapping[str, Any]]
    sample_rate: int
    channels: int
    margin_ms: float = MARGIN_MS
    name: ClassVar[str] = "declick"

    def __post_init__(self) -> None:
        if not 0.0 <= self.margin_ms <= 10.0:
            raise MasterError(f"click repair: margin_ms {self.margin_ms:g} outside 0-10 ms")
        rate = self.sample_rate
        self.events = sorted((_as_event(e) for e in self.clicks), key=lambda e: (e.start_s, e.end_s))
        self.order = max(MIN_ORDER, round(AR_ORDER_48K * rate / 48000))
        self.context = max(2 * self.order + 1, round(CONTEXT_MS / 1000.0 * rate))
        self._longest = max(1, round(MAX_SPAN_MS / 1000.0 * rate))
        self._margin = round(self.margin_ms / 1000.0 * rate)
        self._reach = max(1, round(REACH_S * rate))
        self._join_frames = max(1, round(JOIN_MS / 1000.0 * rate))
        items = []
        for event in self.events:
            if event.start_s < 0.0 or event.end_s < event.start_s:
                raise MasterError(
                    f"click repair: event {event.start_s:g}-{event.end_s:g} s: times must be >= 0 and ordered"
                )
            if event.channel is not None and not 0 <= event.channel < self.channels:
                raise MasterError(
                    f"click repair: event at {format_mmss(event.start_s)} is on channel {event.channel}, "
                    f"but the audio has {self.channels} channel(s)"
                )
            start = seconds_to_frames(event.start_s, rate)
            end = max(start + 1, seconds_to_frames(event.end_s, rate))
            wide = self._reach + self._margin
            for channel in range(self.channels) if event.channel is None else (event.channel,):
                items.append(_Item(max(0, start - wide), end + wide, channel, ((start, end),)))
        joined = _join(items, 1)
        self._queue = deque(joined)
        # Every item's window per channel, sorted (they do not overlap): where the next click of a channel
        # starts, and whether the other channel is intact around a span.
        self._starts = [[i.start for i in joined if i.channel == c] for c in range(self.channels)]
        self._ends = [[i.end for i in joined if i.channel == c] for c in range(self.channels)]
        self._buffer = np.zeros((0, self.channels))
        self._origin = 0  # input frame of the buffer's first row
        self._emitted = 0  # frames returned so far
        self._repaired: list[tuple[int, int, int]] = []  # (start, end, channel) of every span interpolated
        self._changed = 0
        self._largest = 0.0
        self._skipped: list[_Item] = []

    # -- streaming ----------------------------------------------------------------------------------------
    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Take the next block; return the frames before the next click's reach that are final."""
        if block.shape[1] != self.channels:
            raise MasterError(f"click repair: built for {self.channels} channel(s), fed {block.shape[1]}")
        self._buffer = np.concatenate((self._buffer, block)) if len(self._buffer) else block.copy()
        self._repair(final=False)
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """Repair the clicks still waiting (with the context there is) and release every frame held."""
        self._repair(final=True)
        return self._emit(final=True)

    def _available(self) -> int:
        return self._origin + len(self._buffer)

    def _repair(self, final: bool) -> None:
        """Repair the queued items, in order, whose context after them has arrived."""
        available = self._available()
        while self._queue:
            item = self._queue[0]
            if not final and item.end + self.context > available:
                return
            self._queue.popleft()
            if item.start >= available:
                self._skipped.append(item)  # beyond the end of the audio
                continue
            spans = self._spans(item, available)
            for (start, end), following in zip(spans, [*spans[1:], None], strict=True):
                limit = self._next_start(item.channel, end)
                if following is not None:
                    limit = min(limit, following[0])
                self._interpolate(start, end, item.channel, limit)

    def _column(self, start: int, stop: int, channel: int) -> np.ndarray:
        """A view of the buffer's frames ``[start, stop)`` of ``channel`` (input frame numbers)."""
        return self._buffer[start - self._origin : stop - self._origin, channel]

    def _spans(self, item: _Item, available: int) -> list[tuple[int, int]]:
        """The damaged frames of an item as ``[start, end)`` spans (see the class docstring, step 1)."""
        lo, hi = item.start, min(item.end, available)
        begin, stop = max(self._origin, lo - self.context), min(available, hi + self.context)
        x = self._column(begin, stop, item.channel)
        residual = np.zeros(len(x))
        if len(x) > 2:
            residual[1:-1] = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:]))
        a, b = lo - begin, hi - begin
        around = np.concatenate((residual[1:a], residual[b:-1]))
        level = float(around.mean()) if around.size else 0.0
        damaged = set((np.flatnonzero(residual[a:b] > level * 10.0 ** (OUTLIER_DB / 20.0)) + lo).tolist())
        for start, end in item.cores:
            damaged.update(range(start, end) if end - start <= self._longest else (start, end - 1))
        positions = sorted(p for p in damaged if p < hi)
        spans: list[tuple[int, int]] = []
        for p in positions:
            if spans and p - spans[-1][1] < self._join_frames:
                spans[-1] = (spans[-1][0], p + 1)
            else:
                spans.append((p, p + 1))
        return [(max(lo, s - self._margin), min(hi, e + self._margin)) for s, e in spans]

    def _next_start(self, channel: int, after: int) -> int:
        """Start of the next click window of ``channel`` at or after frame ``after`` (or a large number)."""
        starts = self._starts[channel]
        index = bisect.bisect_left(starts, after)
        return starts[index] if index < len(starts) else 1 << 62

    def _intact(self, channel: int, begin: int, stop: int) -> bool:
        """Whether ``channel`` has no click window overlapping frames ``[begin, stop)``."""
        index = bisect.bisect_right(self._ends[channel], begin)  # the first window ending after `begin`
        return index == len(self._ends[channel]) or self._starts[channel][index] >= stop

    def _interpolate(self, start: int, end: int, channel: int, limit: int) -> None:
        """Replace frames ``[start, end)`` of ``channel`` by interpolation from the context on both sides."""
        count = end - start
        begin = max(self._origin, start - self.context)
        stop = min(end + self.context, self._available(), limit)
        if count <= 0:
            return
        if begin == start and stop == end:
            self._skipped.append(_Item(start, end, channel, ()))  # no context on either side
            return
        column = self._column(begin, stop, channel)
        order = max(self.order, math.ceil(GAP_ORDER_RATIO * count))
        other = 1 - channel if self.channels == 2 else None
        if other is not None and self._intact(other, begin, stop):
            new = cross_channel_interpolate(
                column, self._column(begin, stop, other), start - begin, count, order
            )
        else:
            new = lsar_interpolate(column, start - begin, count, order)
        old = column[start - begin : end - begin].copy()
        column[start - begin : end - begin] = new
        self._changed += int(np.count_nonzero(new != old))
        self._largest = max(self._largest, float(np.max(np.abs(new - old))))
        self._repaired.append((start, end, channel))

    def _emit(self, final: bool) -> np.ndarray:
        """Release the frames before the next click's window; keep the context the next repair needs."""
        upto = self._available()
        if self._queue and not final:
            upto = min(upto, self._queue[0].start)
        upto = max(upto, self._emitted)
        out = self._buffer[self._emitted - self._origin : upto - self._origin].copy()
        self._emitted = upto
        drop = max(0, self._emitted - self.context - self._origin)
        if drop:
            self._buffer = self._buffer[drop:]
            self._origin += drop
        return out

    # -- report ---------------------------------------------------------------------------------------------
    def change(self) -> Change:
        """How many clicks were repaired and where, and how many samples changed."""
        rate = self.sample_rate
        where: list[dict[str, Any]] = [
            {
                "start_s": round(frames_to_seconds(start, rate), 6),
                "end_s": round(frames_to_seconds(end, rate), 6),
                "channel": channel,
            }
            for start, end, channel in _group_channels(self._repaired, self.channels)
        ]
        times = [format_mmss(float(item["start_s"])) for item in where]
        shown = ", ".join(times[:3]) + (f" and {len(times) - 3} more" if len(times) > 3 else "")
        summary = (
            f"repaired {len(self.events)} click(s) by autoregressive interpolation over {len(where)} span(s) "
            f"at {shown}; {self._changed} samples changed, every other sample bit-identical"
            if where
            else "no clicks to repair"
        )
        values: dict[str, Any] = {
            "clicks_count": len(self.events),
            "repaired_count": len(where),
            "repaired": where,
            "samples_changed": self._changed,
            "max_change_dbfs": float(gains_to_db(np.array(self._largest))) if self._largest else None,
            "method": f"LSAR interpolation, AR order {self.order}, margin {self.margin_ms:g} ms",
        }
        if self._skipped:
            values["skipped"] = [
                {
                    "start_s": frames_to_seconds(s.start, rate),
                    "end_s": frames_to_seconds(s.end, rate),
                    "channel": s.channel,
                }
                for s in self._skipped
            ]
            summary += f"; {len(self._skipped)} skipped (outside the audio or without context)"
        return Change(stage=self.name, summary=summary, values=values, changed=self._changed > 0)


def _join(items: list[_Item], gap: int) -> list[_Item]:
    """Sort items by start and join those of one channel whose windows are less than ``gap`` frames apart."""
    joined: list[_Item] = []
    last: dict[int, int] = {}  # channel -> index in `joined` of its latest item
    for item in sorted(items, key=lambda i: (i.start, i.channel)):
        index = last.get(item.channel)
        if index is not None and item.start - joined[index].end < gap:
            previous = joined[index]
            joined[index] = _Item(
                previous.start, max(previous.end, item.end), item.channel, previous.cores + item.cores
            )
            continue
        last[item.channel] = len(joined)
        joined.append(item)
    return sorted(joined, key=lambda i: (i.start, i.channel))


def _group_channels(spans: list[tuple[int, int, int]], channels: int) -> list[tuple[int, int, int | None]]:
    """``(start, end, channel)`` spans, those repaired identically on every channel shown once as None."""
    by_range: dict[tuple[int, int], set[int]] = {}
    for start, end, channel in spans:
        by_range.setdefault((start, end), set()).add(channel)
    out: list[tuple[int, int, int | None]] = []
    for (start, end), found in sorted(by_range.items()):
        if channels > 1 and len(found) == channels:
            out.append((start, end, None))
        else:
            out.extend((start, end, channel) for channel in sorted(found))
    return out
