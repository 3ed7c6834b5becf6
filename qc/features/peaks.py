"""Peak features: sample peak, RMS and crest factor; true peak and the regions over a ceiling; clipping.

Three small extractors, so that a rule with its own parameters recomputes only what those change:

- :class:`Levels` — ``sample_peak_dbfs``, ``rms_dbfs``, ``crest_factor_db`` (no parameters).
- :class:`TruePeak` — ``true_peak_dbtp`` and ``true_peak_events``, from one oversampling pass: the
  events' ceiling is a parameter that ``true_peak_dbtp`` ignores (``params_free``), so both features
  share one pass whatever the ceiling; only rules asking for events at two different ceilings cost two
  passes (≈ 0.3 s of CPU each for 4 minutes of 44.1 kHz stereo; up to twice that for a master clipped
  right at the ceiling, where most intervals need the fine pass).
- :class:`Clipping` — ``clip_events``: runs of samples at full scale.

Every extractor sees each block once, keeps O(1) state plus its events (at most :data:`MAX_EVENTS`), and
gives the same result for any block size. Detectors count in frames; seconds appear only in ``result``.
This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import AudioInfo
from ..dsp.truepeak import (
    CANDIDATE_MARGIN_DB,
    CONTEXT_FRAMES,
    GRID_OVERREAD_DB,
    interval_peaks,
    refine_interval_peaks,
)
from ..units import db_to_gain, frames_to_seconds, gain_to_db, power_to_db, seconds_to_frames
from .registry import Block, Event, Extractor, FeatureValue, Unavailable, register

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000  # events kept per feature; later ones are counted (logged), not stored
DEFAULT_MERGE_GAP_S = 0.05  # runs closer than this merge into one event (a clipped drum hit is one event)

_MARGIN = 10.0 ** (CANDIDATE_MARGIN_DB / 20.0)
_OVERREAD = 10.0 ** (GRID_OVERREAD_DB / 20.0)


class EventMerger:
    """Turns runs ``[start, end)`` (frames, in time order per channel) into events, merging close ones.

    Two runs of a channel merge when the second starts at most ``gap_frames`` after the first ends; the
    merged value is ``combine`` (``np.maximum`` or ``np.add``) of theirs. The last event of each channel
    stays open until a run too far away arrives or :meth:`finish` is called.
    """

    def __init__(self, channels: int, gap_frames: int, combine: np.ufunc) -> None:
        self.gap = gap_frames
        self.combine = combine
        self.open: list[list[float] | None] = [None] * channels  # [start, end, value] per channel
        self.closed: list[tuple[int, int, int, float]] = []  # (start, end, channel, value)
        self.dropped = 0

    def add(self, channel: int, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
        """Add runs of one channel, sorted by start and not overlapping each other or earlier runs."""
        if len(starts) == 0:
            return
        breaks = np.flatnonzero(starts[1:] - ends[:-1] > self.gap) + 1
        heads = np.concatenate(([0], breaks))
        group_start = starts[heads]
        group_end = ends[np.concatenate((breaks - 1, [len(starts) - 1]))]
        group_value = self.combine.reduceat(values, heads)
        current = self.open[channel]
        first = 0
        if current is not None and group_start[0] - current[1] <= self.gap:
            current[1] = int(group_end[0])
            current[2] = float(self.combine(current[2], group_value[0]))
            first = 1
        if first < len(group_start):
            if current is not None:
                self._close(channel, current)
            for start, end, value in zip(
                group_start[first:-1], group_end[first:-1], group_value[first:-1], strict=True
            ):
                self._close(channel, [start, end, value])
            self.open[channel] = [int(group_start[-1]), int(group_end[-1]), float(group_value[-1])]

    def _close(self, channel: int, event: list[float]) -> None:
        if len(self.closed) < MAX_EVENTS:
            self.closed.append((int(event[0]), int(event[1]), channel, float(event[2])))
        else:
            self.dropped += 1

    def finish(self) -> list[tuple[int, int, int, float]]:
        """Close every open event; return ``(start, end, channel, value)`` sorted by start, then channel."""
        for channel, current in enumerate(self.open):
            if current is not None:
                self._close(channel, current)
                self.open[channel] = None
        return sorted(self.closed, key=lambda event: (event[0], event[2]))


def _events(
    info: AudioInfo, merger: EventMerger, feature: str, value_of: Callable[[float], float]
) -> list[Event]:
    """The merger's events in seconds (clamped to the file), logging how many were not kept."""
    found = merger.finish()
    if merger.dropped:
        log.info("%s: %s: kept %d events, %d more not listed", info.path, feature, MAX_EVENTS, merger.dropped)
    rate = info.sample_rate
    return [
        Event(
            start_s=frames_to_seconds(max(start, 0), rate),
            end_s=frames_to_seconds(min(end, info.frames), rate),
            channel=channel,
            value=value_of(value),
        )
        for start, end, channel, value in found
    ]


# --- Sample peak, RMS, crest factor -------------------------------------------------------------------


@register
class Levels(Extractor):
    """Sample peak and RMS level of the whole file, and their difference (crest factor).

    ``sample_peak_dbfs``: largest ``|x|`` over all channels, dBFS (-inf for digital silence).
    ``rms_dbfs``: RMS over the whole file, dBFS, with the power averaged over channels (a stereo file's
    mean power is the mean of both channels' powers); a full-scale sine reads -3.01 dBFS (AES17
    would call that 0 dB FS; we keep the plain mean square).
    ``crest_factor_db``: ``sample_peak_dbfs - rms_dbfs``; unavailable for silence.
    """

    provides = ("sample_peak_dbfs", "rms_dbfs", "crest_factor_db")

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._peak = 0.0
        self._sum_squares = 0.0
        self._samples = 0

    def update(self, block: Block) -> None:
        x = block.samples
        if x.size == 0:
            return
        self._peak = max(self._peak, float(x.max()), -float(x.min()))
        # einsum, not np.dot: BLAS would thread the sum and stall for milliseconds on a busy machine.
        self._sum_squares += float(np.einsum("ij,ij->", x, x))
        self._samples += x.size

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        peak_db = gain_to_db(self._peak)
        rms_db = power_to_db(self._sum_squares / self._samples) if self._samples else -np.inf
        crest: FeatureValue | Unavailable
        if self._peak > 0.0:
            crest = peak_db - rms_db
        else:
            crest = Unavailable("the file is digital silence: crest factor is undefined")
        return {"sample_peak_dbfs": peak_db, "rms_dbfs": rms_db, "crest_factor_db": crest}


# --- True peak ----------------------------------------------------------------------------------------


class TruePeakParams(BaseModel):
    """Parameters of ``true_peak_events`` (``true_peak_dbtp`` takes none and ignores them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ceiling_dbtp: float = Field(
        -1.0, ge=-60.0, le=12.0, description="Level the true peak must not exceed, dBTP (EBU R 128: -1)."
    )
    merge_gap_s: float = Field(
        DEFAULT_MERGE_GAP_S, ge=0.0, le=10.0, description="Overs closer than this are one event, seconds."
    )


@register
class TruePeak(Extractor):
    """Streaming true-peak meter (ITU-R BS.1770-4 Annex 2 quantity, measured as in ``qc.dsp.truepeak``).

    ``true_peak_dbtp``: the largest ``|s(t)|`` of the band-limited waveform over all channels, dBTP;
    within 0.01 dB of the exact value for content up to 0.45·fs (the plain Annex 2 4x meter reads up
    to 0.4 dB low there on sines, more on a lone crest); -inf for digital silence. Samples before and
    after the file count as zero, so an abrupt start or end can ring above the last sample.

    ``true_peak_events``: per channel, the regions where the waveform exceeds ``ceiling_dbtp``:
    ``Event(start_s, end_s, channel, value)`` with ``value`` the region's true peak in dBTP. A region
    runs from the first to the last sample interval ``[n, n+1]`` whose peak is over the ceiling (as
    measured by the 4x grid, or by the fine interpolation where that was needed to decide); regions less
    than ``merge_gap_s`` apart are one event. At most :data:`MAX_EVENTS` events are kept.

    How the work stays small: every interval gets the cheap 4x grid (stage 1); only intervals whose
    grid value is within :data:`~qc.dsp.truepeak.CANDIDATE_MARGIN_DB` of the running maximum, or that
    may decide whether (and how far) a region exceeds the ceiling, get the fine interpolation. An
    interval is left out only when even the largest under-read of the grid could not lift it to the
    running maximum (or the ceiling), so the result is exact within the stage-1 error bound (content up
    to 0.45·fs). The filter history is carried across blocks (``CONTEXT_FRAMES`` samples), so results
    do not depend on block size.
    """

    provides = ("true_peak_dbtp", "true_peak_events")
    # The parameters only shape the events: qc.analysis reads true_peak_dbtp from whichever instance it
    # plans for true_peak_events, so a rule with its own ceiling does not cost a second pass.
    params_free = ("true_peak_dbtp",)
    Params = TruePeakParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        settings = cast(TruePeakParams, params)
        channels = info.channels
        # Frames [next - CONTEXT_FRAMES, frames seen); interval `next` is the first not yet measured. We
        # start at the interval [-1, 0] (the waveform rising from the silence before the file).
        self._next = -1
        self._carry = np.zeros((CONTEXT_FRAMES + 1, channels))
        self._buffer = np.empty((0, channels))
        self._best = np.zeros(channels)
        self._ceiling = db_to_gain(settings.ceiling_dbtp)
        gap = seconds_to_frames(settings.merge_gap_s, info.sample_rate)
        self._merger = EventMerger(channels, gap, np.maximum)

    def update(self, block: Block) -> None:
        self._scan(self._joined(block.samples))

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        self._scan(self._joined(np.zeros((CONTEXT_FRAMES, self._carry.shape[1]))))
        events = _events(self.info, self._merger, "true_peak_events", gain_to_db)
        return {"true_peak_dbtp": gain_to_db(float(self._best.max(initial=0.0))), "true_peak_events": events}

    def _joined(self, samples: np.ndarray) -> np.ndarray:
        """The carried frames followed by ``samples``, in a buffer reused from block to block.

        (A fresh megabyte per block costs more in page faults than the copy itself.)
        """
        frames = len(self._carry) + len(samples)
        if len(self._buffer) < frames:
            self._buffer = np.empty((frames, self._carry.shape[1]))
        joined = self._buffer[:frames]
        joined[: len(self._carry)] = self._carry
        joined[len(self._carry) :] = samples
        return joined

    def _scan(self, buffer: np.ndarray) -> None:
        """Measure every interval of ``buffer`` that has ``CONTEXT_FRAMES`` of context on both sides."""
        count = buffer.shape[0] - 2 * CONTEXT_FRAMES
        if count > 0:
            self._measure(buffer, count)
            self._next += count
            buffer = buffer[count:]
        self._carry = buffer.copy()

    def _measure(self, x: np.ndarray, count: int) -> None:
        """Intervals ``next … next + count - 1``, at ``x[CONTEXT_FRAMES …]``."""
        first = CONTEXT_FRAMES
        lower = float(self._best.max())  # the true peak is at least this
        grid = interval_peaks(x, first, count, floor=min(lower, self._ceiling) / _MARGIN)
        highest = float(grid.max())
        if highest == 0.0:
            return  # silent, or far below what was already found
        lower = max(lower, highest / _OVERREAD)
        for channel in range(x.shape[1]):
            self._measure_channel(x, channel, grid[channel], first, lower)

    def _measure_channel(
        self, x: np.ndarray, channel: int, grid: np.ndarray, first: int, lower: float
    ) -> None:
        ceiling, gap = self._ceiling, self._merger.gap
        # Only intervals whose grid value is within the grid's under-read of the ceiling or of the running
        # maximum can matter; everything below works on those (``index``, ``level``) alone.
        index = np.flatnonzero(grid >= min(ceiling, lower) / _MARGIN)
        level = grid[index]
        sure = level > ceiling * _OVERREAD  # over the ceiling whatever the grid error
        maybe = np.flatnonzero((level >= ceiling / _MARGIN) & ~sure)  # may be over
        # An open event from the previous block acts as an over just before this block.
        current = self._merger.open[channel]
        before = [int(current[1]) - 1 - self._next] if current is not None else []
        opening = current[2] if current is not None else 0.0

        # Round 1: intervals that may hold the file's maximum, and "maybe" overs that could start, end or
        # extend a region (a "maybe" strictly inside a run of sure overs cannot change the region).
        lo, hi = _runs(np.concatenate((before, index[sure])).astype(np.intp), gap)
        chosen = level >= lower / _MARGIN
        chosen[maybe[~_within(index[maybe], lo, hi, strict=True)]] = True
        refine = np.flatnonzero(chosen)
        values = np.full(len(index), np.nan)
        values[refine] = self._refine(x, channel, index[refine], first)

        # Round 2: in each region, every interval that could hold the region's peak.
        is_over = sure.copy()
        is_over[refine] = values[refine] > ceiling  # a refined value decides
        over = np.flatnonzero(is_over)
        if len(over) or before:
            points = np.concatenate((before, index[over])).astype(np.intp)
            known = np.concatenate(([opening] if before else [], _known(values, level, over)))
            lo, hi = _runs(points, gap)
            peak_lower = np.maximum.reduceat(known, np.searchsorted(points, lo))
            pool = np.flatnonzero(level >= ceiling / _MARGIN)
            run = np.searchsorted(lo, index[pool], side="right") - 1
            inside = (run >= 0) & (index[pool] <= hi[np.maximum(run, 0)])
            pool, run = pool[inside], run[inside]
            extra = pool[(level[pool] >= peak_lower[run] / _MARGIN) & np.isnan(values[pool])]
            values[extra] = self._refine(x, channel, index[extra], first)
            is_over[extra] = values[extra] > ceiling
            over = np.flatnonzero(is_over)
            start = self._next + index[over]
            self._merger.add(channel, start, start + 1, _known(values, level, over))
        refined = values[~np.isnan(values)]
        if len(refined):
            self._best[channel] = max(self._best[channel], float(refined.max()))

    @staticmethod
    def _refine(x: np.ndarray, channel: int, index: np.ndarray, first: int) -> np.ndarray:
        peak, _ = refine_interval_peaks(x, np.full(len(index), channel), index + first)
        return peak


def _runs(points: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last point of each run of sorted interval indices whose gaps are at most ``gap``."""
    if len(points) == 0:
        return points, points
    breaks = np.flatnonzero(points[1:] - (points[:-1] + 1) > gap) + 1
    return points[np.concatenate(([0], breaks))], points[np.concatenate((breaks - 1, [len(points) - 1]))]


def _within(index: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, strict: bool) -> np.ndarray:
    """Whether each index lies in one of the runs ``[lo, hi]`` (strictly inside if ``strict``)."""
    if len(lo) == 0:
        return np.zeros(len(index), dtype=bool)
    run = np.searchsorted(lo, index, side="right" if not strict else "left") - 1
    safe = np.maximum(run, 0)
    return (run >= 0) & ((index < hi[safe]) if strict else (index <= hi[safe]))


def _known(values: np.ndarray, grid: np.ndarray, index: np.ndarray) -> np.ndarray:
    """A lower bound of each interval's peak: the refined value, else the grid value less its error."""
    refined = values[index]
    known: np.ndarray = np.where(np.isnan(refined), grid[index] / _OVERREAD, refined)
    return known


# --- Clipping -----------------------------------------------------------------------------------------


class ClipParams(BaseModel):
    """Parameters of ``clip_events``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level_dbfs: float = Field(
        -0.01,
        ge=-6.0,
        le=0.0,
        description=(
            "A sample with |x| at or above this level counts as clipped, dBFS. -0.01 dBFS (0.99885) "
            "catches 16-bit, 24-bit and float files clipped at full scale, not a peak normalised to -0.1."
        ),
    )
    min_run_samples: int = Field(
        3,
        ge=1,
        le=10_000,
        description="Consecutive clipped samples that make a clip (1-2 happen in clean masters).",
    )
    merge_gap_s: float = Field(
        DEFAULT_MERGE_GAP_S, ge=0.0, le=10.0, description="Clips closer than this are one event, seconds."
    )


@register
class Clipping(Extractor):
    """Runs of samples stuck at full scale, per channel.

    ``clip_events``: ``Event(start_s, end_s, channel, value)`` for each group of runs of at least
    ``min_run_samples`` consecutive samples with ``|x| >= level_dbfs``; runs of one channel less than
    ``merge_gap_s`` apart are one event, and ``value`` is the clipped duration inside it in ms (the sum
    of its runs). A run that crosses a block boundary is found once and whole. At most
    :data:`MAX_EVENTS` events are kept.
    """

    provides = ("clip_events",)
    Params = ClipParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        settings = cast(ClipParams, params)
        self._level = db_to_gain(settings.level_dbfs)
        self._min_run = settings.min_run_samples
        self._run_start: list[int | None] = [None] * info.channels  # run still open at the block's end
        self._frames = 0
        gap = seconds_to_frames(settings.merge_gap_s, info.sample_rate)
        self._merger = EventMerger(info.channels, gap, np.add)

    def update(self, block: Block) -> None:
        x = block.samples
        start = block.start_frame
        if not len(x) or (
            all(run is None for run in self._run_start) and x.max() < self._level and x.min() > -self._level
        ):  # nothing clipped in this block, and no run to close: two fast reductions instead of a mask
            self._frames = start + x.shape[0]
            return
        clipped = (x >= self._level) | (x <= -self._level)
        for channel in range(x.shape[1]):
            column = clipped[:, channel]
            open_start = self._run_start[channel]
            is_open = open_start is not None
            if not is_open and not column.any():
                continue
            edges = np.diff(np.concatenate(([is_open], column, [False])).view(np.int8))
            starts = np.flatnonzero(edges == 1) + start
            ends = np.flatnonzero(edges == -1) + start
            if open_start is not None:
                starts = np.concatenate(([open_start], starts))
            self._run_start[channel] = None
            if column[-1]:  # the last run may go on in the next block
                self._run_start[channel] = int(starts[-1])
                starts, ends = starts[:-1], ends[:-1]
            self._add(channel, starts, ends)
        self._frames = start + x.shape[0]

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        for channel, run_start in enumerate(self._run_start):
            if run_start is not None:
                self._add(channel, np.array([run_start]), np.array([self._frames]))
                self._run_start[channel] = None
        rate = self.info.sample_rate
        events = _events(self.info, self._merger, "clip_events", lambda frames: 1000.0 * frames / rate)
        return {"clip_events": events}

    def _add(self, channel: int, starts: np.ndarray, ends: np.ndarray) -> None:
        long_enough = ends - starts >= self._min_run
        starts, ends = starts[long_enough], ends[long_enough]
        self._merger.add(channel, starts, ends, (ends - starts).astype(np.float64))
