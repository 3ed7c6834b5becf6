"""Level stages: one static gain, and a look-ahead true-peak limiter that only catches peaks.

:class:`Gain` multiplies every sample by one number. :class:`TruePeakLimiter` holds the true peak (the peak of
the band-limited waveform, ITU-R BS.1770-4 Annex 2) of its *output* at or below a ceiling:

1. **Detection.** For every interval ``[n, n+1]`` between two input samples, the largest ``|s(t)|`` over
   all channels: a 4x screen (:func:`qc.dsp.truepeak.interval_peaks`) picks the intervals that may come
   within :data:`SCREEN_MARGIN_DB` of the ceiling, and those get 8 points per sample from the meter's
   48-tap Kaiser-windowed sinc plus a parabola through the largest
   (:func:`qc.dsp.truepeak.refine_interval_peaks`, the same kernel as the check's meter). Each
   interval needs ``q[n] = max(0, peak_dB − target_dB)`` dB of reduction, where the target is the
   ceiling less :data:`SAFETY_MARGIN_DB`.
2. **Gain curve (dB of reduction, linked over channels).** ``A[k]``: the largest ``q`` over the intervals
   from ``H + 1`` before frame ``k`` to ``L + H`` after it (``L`` look-ahead frames, ``H`` =
   :data:`HOLD_FRAMES`, so the gain is flat over the interpolator's reach around a peak). ``D[k] =
   max(A[k], a·D[k−1])``: exponential release with time constant ``release_ms``. ``S``: ``D`` smoothed by
   a triangular window of ``L + 1`` frames (two boxes), so the gain falls over the look-ahead window in a
   smooth S-curve before a peak and recovers smoothly after it. Every frame in the smoothing window of
   frame ``k`` has ``A ≥`` the requirement of every interval within ``H`` of ``k``, so ``S`` never gives
   less reduction than a peak asks for. Where ``S`` is 0 the gain is exactly 1: the output is
   bit-identical to the input, only delayed inside the stage. Reduction below :data:`RELEASE_FLOOR_DB`
   left over from a release ends there (a step of at most 0.001 dB), so the gain returns to exactly 1.
3. **Output check.** A varying gain changes the waveform between samples a little, so the output is
   measured again with the project's meter kernels (:func:`~qc.dsp.truepeak.interval_peaks` and
   :func:`~qc.dsp.truepeak.refine_interval_peaks`); any interval over the ceiling less half the safety
   margin gets its requirement raised by the excess and the gain curve is computed again (at most
   :data:`MAX_CORRECTIONS` rounds). Each interval is checked once, in the chunk whose gains a raise could
   still move; later chunks can only lower the (smooth) gain near it further. On every signal measured
   (square waves, sines up to 0.45·fs, noise, impulses, music) detection alone held the ceiling and the
   check raised nothing; it is there as the guarantee. The 0.05 dB margin (outputs peak near −1.05 dBTP
   for a −1 dBTP ceiling) absorbs what one meter's interpolation can differ from another's and the
   requantisation to 16 or 24 bits after the stage. (ffmpeg's ``ebur128`` meter reads the abrupt onset of
   a high tone high: 0.4–0.5 dB on a 12 kHz sine or the fs/4 test sine switched on at full level at 48 kHz,
   where the ideal band-limited waveform, by FFT interpolation, and qc's meter agree within 0.02 dB.)

The stage works on fixed chunks of :data:`CHUNK_FRAMES` frames counted from the start of the file, so its
output does not depend on the block sizes it is fed. It returns frames as soon as their gain is final and
releases the rest from :meth:`TruePeakLimiter.flush`: over a file, output frame ``k`` is input frame ``k``
times its gain. Samples before and after the file count as zero (as in BS.1770 meters).

This module does no I/O and imports no features, rules or reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..dsp.truepeak import (
    CONTEXT_FRAMES,
    interval_peaks,
    refine_interval_peaks,
)
from ..errors import MasterError
from ..units import db_to_gain, frames_to_seconds, gains_to_db, seconds_to_frames
from .stage import Change, ChangeValue

SAFETY_MARGIN_DB = 0.05  # the limiter aims this far below the ceiling (see the module docstring)
SCREEN_MARGIN_DB = 2.0  # intervals whose 4x screen reads this far below a threshold are not refined
HOLD_FRAMES = CONTEXT_FRAMES - 1  # flat gain around a peak: the reach of the meters' interpolators
RELEASE_FLOOR_DB = 0.001  # a release tail below this ends (the gain returns to exactly 1)
LIMITED_DB = 0.5  # a frame counts as limited above this reduction (release tails below it are inaudible)
REGION_GAP_S = 0.5  # limited runs closer than this are one region
MAX_REGIONS = 10  # regions reported in change() (the worst, largest reduction first)
MAX_CORRECTIONS = 8  # rounds of the output check per chunk
CHUNK_FRAMES = 32768  # frames the gain curve is computed for at once (fixed: block-size independent)


@dataclass
class Gain:
    """Static gain: every sample times ``10^(gain_db/20)``, with no delay.

    Parameters
    ----------
    gain_db
        Gain in dB (positive makes louder).

    Examples
    --------
    >>> Gain(6.0).process(0, np.full((2, 1), 0.25)).round(4).ravel().tolist()
    [0.4988, 0.4988]
    """

    gain_db: float
    name: ClassVar[str] = "gain"
    _channels: int = field(default=0, init=False, repr=False)

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Return ``block`` times the gain."""
        self._channels = block.shape[1] if block.ndim == 2 else self._channels
        return block * db_to_gain(self.gain_db)

    def flush(self) -> np.ndarray:
        """Nothing is held back: shape ``(0, channels)``."""
        return np.zeros((0, self._channels))

    def change(self) -> Change:
        """``static gain +9.83 dB``; ``values = {"gain_db": ...}``."""
        return Change(
            stage=self.name,
            summary=f"static gain {self.gain_db:+.2f} dB",
            values={"gain_db": float(self.gain_db)},
            changed=self.gain_db != 0.0,
        )


@dataclass(frozen=True)
class LimitedRegion:
    """A stretch where the limiter reduced the gain by more than :data:`LIMITED_DB` (seconds, dB)."""

    start_s: float
    end_s: float
    max_reduction_db: float


@dataclass
class LimiterStats:
    """How much the limiter reduced and where (valid after ``flush``).

    ``max_reduction_db``: the largest gain reduction, dB (≥ 0). ``limited_s``: seconds with more than
    :data:`LIMITED_DB` of reduction; ``limited_share``: that over ``duration_s`` (0–1). ``regions``: the
    worst :data:`MAX_REGIONS` limited regions, largest reduction first. ``corrections``: intervals whose
    requirement the output check had to raise (0 when detection alone held the ceiling).
    """

    max_reduction_db: float = 0.0
    limited_s: float = 0.0
    limited_share: float = 0.0
    duration_s: float = 0.0
    regions: list[LimitedRegion] = field(default_factory=list)
    corrections: int = 0


class TruePeakLimiter:
    """Streaming look-ahead true-peak limiter with linked channels (see the module docstring).

    Parameters
    ----------
    sample_rate
        Hz.
    channels
        Channels of the blocks it will be fed.
    ceiling_dbtp
        The output's true peak stays at or below this, dBTP (−20 … 0).
    lookahead_ms
        Look-ahead (the attack: the gain starts falling this long before a peak), ms (0.5 … 50).
    release_ms
        Time constant of the exponential recovery of the gain reduction after a peak, ms (1 … 5000).

    Raises
    ------
    MasterError
        A parameter is out of range.
    """

    name: ClassVar[str] = "limiter"

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        ceiling_dbtp: float,
        *,
        lookahead_ms: float = 5.0,
        release_ms: float = 100.0,
    ) -> None:
        _check_range("ceiling_dbtp", ceiling_dbtp, -20.0, 0.0, "dBTP")
        _check_range("lookahead_ms", lookahead_ms, 0.5, 50.0, "ms")
        _check_range("release_ms", release_ms, 1.0, 5000.0, "ms")
        if sample_rate <= 0 or channels <= 0:
            raise MasterError(
                f"limiter: sample_rate and channels must be positive, got {sample_rate}, {channels}"
            )
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.ceiling_dbtp = float(ceiling_dbtp)
        self.lookahead_ms = float(lookahead_ms)
        self.release_ms = float(release_ms)

        self._lookahead = max(1, seconds_to_frames(lookahead_ms / 1000.0, sample_rate))
        self._target = db_to_gain(ceiling_dbtp - SAFETY_MARGIN_DB)  # what detection aims for
        self._check = db_to_gain(ceiling_dbtp - SAFETY_MARGIN_DB / 2.0)  # what the output check enforces
        self._release_log = -1.0 / (release_ms / 1000.0 * sample_rate)  # ln a, per frame
        # Intervals and frames each chunk needs beyond its end (see _round).
        lead = self._lookahead + HOLD_FRAMES + 1
        self._future = 2 * lead + 2 * CONTEXT_FRAMES + 4
        # Frame positions are absolute (0 = the first input frame). Chunks start `lead + 1` frames before
        # the file, so the first output check covers the interval rising from the silence before it.
        self._emit = -(lead + 1)
        keep = self._keep = self._lookahead + HOLD_FRAMES + 2 * CONTEXT_FRAMES + 8
        self._base = self._emit - keep  # absolute frame of _x[0] and of _q[0]
        self._x = np.zeros((-self._base, self.channels))  # frames [base, base + len), then _pending
        self._pending: list[np.ndarray] = []  # blocks not yet joined to _x
        self._pending_frames = 0
        self._q = np.zeros(CONTEXT_FRAMES)  # dB each interval needs, [base, base + len); starts in silence
        self._fed = 0  # real input frames received
        self._release_state = 0.0  # D at frame emit - 1 (before the floor)
        self._floored_tail = np.zeros(self._lookahead)  # D after the floor, frames [emit - L, emit)
        self._finished = False
        self._max_reduction_db = 0.0
        self._limited_frames = 0
        self._runs: list[list[float]] = []  # [start_frame, end_frame, max_db] of limited runs
        self._corrections = 0

    # --- Stage interface ---------------------------------------------------------------------------

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Take ``block`` ``(frames, channels)``; return the output frames whose gain is now final."""
        if self._finished:
            raise MasterError("limiter: process() after flush()")
        block = np.asarray(block, dtype=np.float64)
        if block.size == 0:
            return self._drain()
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise MasterError(
                f"limiter: expected blocks of shape (frames, {self.channels}), got {block.shape}"
            )
        self._pending.append(block.copy())
        self._pending_frames += len(block)
        self._fed += len(block)
        return self._drain()

    def flush(self) -> np.ndarray:
        """Return the frames still held back (the last look-ahead and chunk), the file's end as silence."""
        if self._finished:
            return np.zeros((0, self.channels))
        self._finished = True
        end = self._base + len(self._x) + self._pending_frames
        need = max(self._fed, self._emit) + CHUNK_FRAMES + self._future - end
        self._pending.append(np.zeros((max(need, 0), self.channels)))
        self._pending_frames += max(need, 0)
        return self._drain()

    def change(self) -> Change:
        """What the limiter did: ``max_reduction_db``, ``limited_s``, ``limited_share``, ``regions``."""
        stats = self.stats
        values: dict[str, ChangeValue] = {
            "ceiling_dbtp": self.ceiling_dbtp,
            "max_reduction_db": round(stats.max_reduction_db, 3),
            "limited_s": round(stats.limited_s, 3),
            "limited_share": round(stats.limited_share, 5),
            "regions": [
                {"start_s": round(r.start_s, 3), "end_s": round(r.end_s, 3),
                 "max_reduction_db": round(r.max_reduction_db, 3)}
                for r in stats.regions
            ],
            "lookahead_ms": self.lookahead_ms,
            "release_ms": self.release_ms,
            "corrections": stats.corrections,
        }  # fmt: skip
        if stats.max_reduction_db <= 0.0:
            summary = f"true-peak limiter at {self.ceiling_dbtp:.1f} dBTP: no gain reduction needed"
        else:
            summary = (
                f"true-peak limiter at {self.ceiling_dbtp:.1f} dBTP: up to {stats.max_reduction_db:.2f} dB "
                f"of gain reduction; {stats.limited_s:.2f} s ({stats.limited_share:.1%}) reduced by more "
                f"than {LIMITED_DB} dB, in {len(self._runs)} region{'s' if len(self._runs) != 1 else ''}"
            )
        return Change(self.name, summary, values, changed=stats.max_reduction_db > 0.0)

    @property
    def stats(self) -> LimiterStats:
        """:class:`LimiterStats` so far (complete after :meth:`flush`)."""
        duration_s = frames_to_seconds(self._fed, self.sample_rate)
        limited_s = frames_to_seconds(self._limited_frames, self.sample_rate)
        worst = sorted(self._runs, key=lambda run: -run[2])[:MAX_REGIONS]
        regions = [
            LimitedRegion(
                frames_to_seconds(start, self.sample_rate), frames_to_seconds(end, self.sample_rate), peak
            )
            for start, end, peak in worst
        ]
        return LimiterStats(
            max_reduction_db=self._max_reduction_db,
            limited_s=limited_s,
            limited_share=limited_s / duration_s if duration_s > 0 else 0.0,
            duration_s=duration_s,
            regions=regions,
            corrections=self._corrections,
        )

    # --- Chunks ------------------------------------------------------------------------------------

    def _drain(self) -> np.ndarray:
        """Run every chunk whose look-ahead has arrived; return the real frames they finalised."""
        pieces = [np.zeros((0, self.channels))]
        while self._base + len(self._x) + self._pending_frames >= self._emit + CHUNK_FRAMES + self._future:
            if self._finished and self._emit >= self._fed:
                break
            if self._pending:
                self._x = np.concatenate([self._x, *self._pending])
                self._pending, self._pending_frames = [], 0
            pieces.append(self._round())
        return np.concatenate(pieces)

    def _round(self) -> np.ndarray:
        """Finalise frames ``[emit, emit + C)``: detect, build the gain, check the output, commit.

        Requirements of intervals from ``emit + L + H + 1`` on may still be raised by the output check (they
        only move gains from ``emit`` on); those before were checked in the previous round.
        """
        L, H, ctx = self._lookahead, HOLD_FRAMES, CONTEXT_FRAMES  # the docstring's symbols
        emit, base = self._emit, self._base
        lead = L + H + 1
        check_first, check_end = emit + lead, emit + CHUNK_FRAMES + lead  # intervals checked this round
        gain_end = check_end + ctx + 1  # frames whose gain the check needs
        self._detect(gain_end + L + H + 1)

        for _ in range(MAX_CORRECTIONS + 1):
            reduction, release, floored = self._reduction(emit, gain_end)
            start = check_first - ctx  # >= emit since L + H + 1 >= ctx
            gain = _reduction_to_gain(reduction[start - emit :])
            y = self._x[start - base : gain_end - base] * gain[:, None]
            over, peak = self._overs(y, ctx, check_end - check_first)
            if len(over) == 0:
                break
            index = over + check_first  # absolute interval index
            frame = index - emit
            applied = np.maximum(reduction[frame], reduction[frame + 1])
            self._corrections += len(index)
            raised = applied + gains_to_db(peak / self._target)
            self._q[index - base] = np.maximum(self._q[index - base], raised)
        else:
            raise MasterError(
                f"limiter: could not hold the {self.ceiling_dbtp:.1f} dBTP ceiling near "
                f"{frames_to_seconds(max(int(index[0]), 0), self.sample_rate):.3f} s after "
                f"{MAX_CORRECTIONS} corrections (please report this input)"
            )

        # Commit frames [emit, emit + C).
        done = CHUNK_FRAMES
        final = reduction[:done]
        self._release_state = float(release[done - 1])
        self._floored_tail = floored[done - L : done]
        out = self._x[emit - base : emit + done - base] * _reduction_to_gain(final)[:, None]
        real_from = max(0, -emit)
        real_to = min(done, self._fed - emit)
        self._account(emit + real_from, final[real_from:real_to])
        self._emit = emit + done
        drop = self._emit - self._keep - self._base  # keep context before the next chunk
        if drop > 0:
            self._x = self._x[drop:]
            self._q = self._q[drop:]
            self._base += drop
        return out[real_from:real_to] if real_to > real_from else np.zeros((0, self.channels))

    def _detect(self, end: int) -> None:
        """Extend ``_q`` to intervals ``[base, end)`` (input context is there: see ``_future``)."""
        first = self._base + len(self._q)
        count = end - first
        if count <= 0:
            return
        offset = first - self._base
        peaks = np.zeros(count)
        grid = interval_peaks(self._x, offset, count, floor=self._target / _SCREEN)
        channel, index = np.nonzero(grid * _SCREEN >= self._target)
        if len(index):
            values = detected_peaks(self._x, channel, index + offset)
            np.maximum.at(peaks, index, values)
        needed = np.where(peaks > self._target, gains_to_db(peaks / self._target), 0.0)
        self._q = np.concatenate((self._q, needed))

    def _reduction(self, first: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gain reduction ``S`` (dB, ≥ 0) for frames ``[first, end)``, and ``D`` before and after the floor.

        ``first`` is ``emit``: the release starts from the committed state and the smoothing reads the
        committed ``D`` of the ``L`` frames before.
        """
        L, H = self._lookahead, HOLD_FRAMES
        frames = end - first
        # A[k] = max q[n], n in [k - H - 1, k + L + H]: one sliding maximum of width L + 2H + 2.
        lo = first - H - 1 - self._base
        q = self._q[lo : lo + frames + L + 2 * H + 1]
        need = _sliding_max(q, L + 2 * H + 2)[:frames]
        # D[k] = max(A[k], a·D[k-1]) = exp(max_j (log A[j] + (k - j)·ln a)), j ≤ k: a running maximum.
        steps = np.arange(frames) * self._release_log
        with np.errstate(divide="ignore"):
            logs = np.log(need) - steps
        if self._release_state > 0.0:
            logs[0] = max(logs[0], math.log(self._release_state) + self._release_log)
        release = np.maximum(np.exp(np.maximum.accumulate(logs) + steps), need)
        floored = np.where(release < RELEASE_FLOOR_DB, need, release)  # never below A
        # S: triangular smoothing over L + 1 frames (two boxes of lengths m1 + m2 = L + 2), causal.
        m1 = (L + 2) // 2
        smoothed = _box(_box(np.concatenate((self._floored_tail, floored)), m1), L + 2 - m1)[L:]
        hold = _sliding_max(q, 2 * H + 2)[:frames]  # R[k] = max q over [k - H - 1, k + H]: rounding guard
        return np.maximum(smoothed, hold), release, floored

    def _overs(self, y: np.ndarray, ctx: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Intervals ``ctx … ctx + count − 1`` of ``y`` over the check level, and their true peaks."""
        grid = interval_peaks(y, ctx, count, floor=self._check / _SCREEN)
        channel, index = np.nonzero(grid * _SCREEN >= self._check)
        if len(index) == 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        peak, _ = refine_interval_peaks(y, channel, index + ctx)
        above = peak > self._check
        if not np.any(above):
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        worst = np.zeros(count)
        np.maximum.at(worst, index[above], peak[above])
        over = np.flatnonzero(worst)
        return over, worst[over]

    def _account(self, first: int, reduction: np.ndarray) -> None:
        """Add committed frames ``[first, first + len)`` with ``reduction`` (dB) to the statistics."""
        if len(reduction) == 0:
            return
        self._max_reduction_db = max(self._max_reduction_db, float(reduction.max()))
        limited = reduction > LIMITED_DB
        self._limited_frames += int(np.count_nonzero(limited))
        if not limited.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate(([0], limited.view(np.int8), [0]))))
        gap = seconds_to_frames(REGION_GAP_S, self.sample_rate)
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            peak = float(reduction[start:end].max())
            if self._runs and first + start - self._runs[-1][1] <= gap:
                last = self._runs[-1]
                last[1], last[2] = first + end, max(last[2], peak)
            else:
                self._runs.append([first + start, first + end, peak])


_SCREEN = db_to_gain(SCREEN_MARGIN_DB)


def _check_range(name: str, value: float, low: float, high: float, unit: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise MasterError(f"limiter: {name} must be between {low} and {high} {unit}, got {value}")


def _reduction_to_gain(reduction_db: np.ndarray) -> np.ndarray:
    """Linear gain for a reduction in dB; exactly 1.0 where the reduction is 0."""
    gain: np.ndarray = np.where(reduction_db > 0.0, 10.0 ** (-reduction_db / 20.0), 1.0)
    return gain


def _sliding_max(values: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = max(values[i : i + width])`` for every full window."""
    from scipy.ndimage import maximum_filter1d

    if len(values) < width:
        return np.zeros(0)
    full: np.ndarray = maximum_filter1d(values, width, origin=-(width // 2), mode="nearest")
    return full[: len(values) - width + 1]


def _box(values: np.ndarray, width: int) -> np.ndarray:
    """Causal moving average over ``width`` frames: ``out[i] = mean(values[i - width + 1 : i + 1])``.

    The first ``width - 1`` outputs average fewer frames (callers drop them).
    """
    total = np.concatenate(([0.0], np.cumsum(values)))
    out = np.empty(len(values))
    out[width - 1 :] = (total[width:] - total[:-width]) / width
    out[: width - 1] = total[1:width] / np.arange(1, width)
    return np.maximum(out, 0.0)


def detected_peaks(x: np.ndarray, channel: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Detection's true peak (linear) of intervals ``[index, index + 1]`` of ``channel``: the meter's kernel.

    A seam of its own so that a test can make detection err and watch the output check catch it.
    """
    peak, _ = refine_interval_peaks(x, channel, index)
    return peak
