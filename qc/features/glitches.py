"""Glitch detectors: clicks, pops and bad edits (``click_events``) and dropouts (``dropout_events``).

Both detectors stream: they see each block once, keep a few tens of milliseconds of context (plus, for
dropouts, the per-millisecond levels of the last ~1 s), and give the same events for any block size.
They count in frames and convert to seconds once, in ``result``. This module does no I/O and knows
nothing of rules or reports.

Clicks
    A click is an impulsive component that the music around it does not predict. The prediction residual
    is the distance of each sample from the midpoint of its two neighbours, ``r[n] = x[n] - (x[n-1] +
    x[n+1]) / 2`` (a fixed second-order linear predictor: music falls off above a few kHz, so ``r`` is
    small, while a click is broadband; a single-sample click of amplitude ``A`` gives ``r = A``). The
    residual is cut into 0.75 ms chunks; a chunk holds a click candidate when its peak ``|r|`` stands
    ``threshold_db`` above the local residual level, taken as the larger of the mean ``|r|`` over the
    12 ms before and over the 4.5 ms after the chunk, both windows kept ``max_click_ms`` clear of it. Taking
    the larger side is what keeps drum onsets out: the first sample of a snare stands out against the
    quieter music before it, but not against the noise that follows it. Three more tests make the decision:

    * *isolation* — the run of chunks around the candidate whose peaks are comparable to its own
      (within 20 dB, and 10 dB above the local level; one-chunk gaps bridged) may last at most
      ``max_click_ms``: a click is one short event, while a percussive attack (a stick on a snare, a
      tambourine) is a longer burst of comparable peaks;
    * *cross-channel evidence* (stereo) — the residual of each channel is also predicted from the other
      channel's (a least-squares gain fitted over ±1 chunk), which removes what the two channels share,
      such as centred drums, and leaves a click that is in one channel only. This second statistic is
      not used where the residual level after the chunk is 10 dB above the level before it (an onset),
      as the fitted gain cannot follow the change there;
    * *clear of the peaks before it* — the candidate's peak must also stand 8 dB above the highest chunk
      peak of the 12 ms before window (the chunks of clicks just reported left out, so a crackle is
      found whole). Saturation is what this catches: a soft clipper (``tanh``) passes noise (hi-hats,
      snare rattle) at full gain near the zero crossings of the bass and kick and squashes it near their
      peaks, so the residual of a saturated mix comes in spikes, several per 12 ms, over a low mean
      level, and a spike 22 dB above the mean is common; a click stands clear of the spikes before it.
      (The demo mix, ``qc.demo``, gave 6 such false alarms outside its clipped passage without it.)

    What it cannot tell apart: a lone percussive tick of 3–5 ms (a shaker, a rim click) is physically a
    short noise burst and can be reported, and a click buried in a loud snare hit (as loud as the snare's
    own noise) is missed, as is a weak click (reading under ~27 dB) within 15 ms after the spikes of a
    saturated transient. bench/eval_glitches.py measures the first two.

    Close candidates merge into one event (``merge_gap_s``). The method is the outlier test on a
    linear-prediction residual of Vaseghi and Rayner (1990) and Godsill and Rayner (1998, ch. 5), with a
    fixed predictor instead of a fitted one, for speed; see ``bench/eval_glitches.py`` for measured
    recall, precision and false alarms.

Dropouts
    A dropout is a short run, inside the music, of digital silence (every sample within ``silence_dbfs``
    of zero) or of a sudden level hole (each millisecond ``depth_db`` or more below the mean power of the
    50 ms before the run), at least ``min_dropout_ms`` and at most ``max_dropout_s`` long, with music on
    both sides: the 50 ms before and after the run are at least ``music_dbfs`` and ``depth_db`` above the
    run. Silence that touches the start or the end of the file is the head or tail (the ``silence``
    features report those), and a longer quiet run is an intentional break. Edges of digital silence are
    exact to the sample; edges of a level hole to 1 ms.

References
----------
.. [1] S. V. Vaseghi and P. J. W. Rayner, "Detection and suppression of impulsive noise in speech
   communication systems", IEE Proceedings I, 137(1), 1990, pp. 38-46.
.. [2] S. J. Godsill and P. J. W. Rayner, *Digital Audio Restoration*, Springer, 1998, ch. 5 ("Removal
   of clicks").
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections.abc import Mapping
from typing import NamedTuple, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import DEFAULT_BLOCK_FRAMES, AudioInfo
from ..units import db_to_gain, frames_to_seconds
from .registry import Block, Event, Extractor, FeatureValue, register

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000  # events kept per feature; later ones are counted (logged), not stored
DEFAULT_MERGE_GAP_S = 0.05  # events closer than this merge into one (a crackle is one event)

# --- Clicks: fixed analysis constants (measured in bench/eval_glitches.py; see the module docstring) --------
CHUNK_S = 0.00075  # residual chunk: peak and mean |r| are taken per chunk
BEFORE_S = 0.012  # residual level before a chunk: mean |r| over this window ...
AFTER_S = 0.0045  # ... and after it (short, so the next drum onset rarely falls inside it)
ISOLATION_S = 0.012  # the run of comparable peaks around a candidate is followed this far at most ...
ISOLATION_DB = 20.0  # ... "comparable" = within this of the candidate's peak ...
ISOLATION_FLOOR_DB = 10.0  # ... and this far above the local residual level
CROSS_HALF_CHUNKS = 1  # the inter-channel gain is fitted over the chunk and this many on each side
CROSS_RIDGE = 0.01  # regularisation of that fit: |gain| <= 1 / (2 sqrt(ridge)) = 5
CROSS_FLOOR_DB = 30.0  # the cross-channel level is taken as at least this far below the channel's own
ONSET_DB = 10.0  # the cross-channel test is skipped where the residual level jumps by this much
ATTRIBUTION_DB = 3.0  # a cross-channel-only click is put on the channel standing out by this much
SIDE_LOBE_FRAMES = 2  # a candidate this close to a stronger one of its channel is its side lobe
PRECEDING_DB = 8.0  # a click's peak stands this far above every chunk peak of the music just before it
RESIDUAL_FLOOR = 1e-7  # lowest local residual level (-140 dBFS): keeps the strength finite in silence

# --- Dropouts ------------------------------------------------------------------------------------------
DROPOUT_CHUNK_S = 0.001  # levels are measured per millisecond
DROPOUT_CONTEXT_S = 0.05  # the music level before and after a run: mean power over this window

_CLICK_HISTORY = (
    "level",
    "peak",
    "position",
    "cross_level",
    "cross_peak",
    "cross_position",
    "clicked",  # 1 on the chunk of a reported click (own residual) and on the chunks either side of it
    "cross_clicked",  # the same for the cross-channel residual
)


class ClickParams(BaseModel):
    """Parameters of ``click_events``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold_db: float = Field(
        22.0,
        ge=12.0,
        le=80.0,
        description=(
            "A click's residual peak must stand this far above the local residual level, dB. 22 dB: "
            "no false alarm in 10 min of synthetic mixes with drums, recall 0.95-0.97 for clicks of "
            "0.05-0.5 (0.93-0.95 with bad edits; bench/eval_glitches.py); raise it (26-30) for music "
            "full of sharp percussion."
        ),
    )
    max_click_ms: float = Field(
        3.0,
        ge=0.5,
        le=20.0,
        description="Longest click, ms; a residual burst lasting longer is a sound, not a click.",
    )
    min_level_dbfs: float = Field(
        -70.0,
        ge=-140.0,
        le=0.0,
        description="Ignore clicks whose residual peak (a one-sample click's amplitude) is below this, dBFS.",
    )
    cross_channel: bool = Field(
        True, description="Also look for clicks in one channel of a stereo file against the other channel."
    )
    merge_gap_s: float = Field(
        DEFAULT_MERGE_GAP_S, ge=0.0, le=10.0, description="Clicks closer than this are one event, seconds."
    )
    clip_guard_ms: float = Field(
        5.0,
        ge=0.0,
        le=100.0,
        description=(
            "Leave out clicks within this many ms of a clipped run (``clip_events`` with its default "
            "parameters): a squared-off peak jumps like a click, but the clipping rule already reports "
            "it, and de-clicking cannot repair it. 0 keeps them."
        ),
    )


class DropoutParams(BaseModel):
    """Parameters of ``dropout_events``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_dropout_ms: float = Field(5.0, ge=2.0, le=1000.0, description="Shortest dropout reported, ms.")
    max_dropout_s: float = Field(
        1.0,
        gt=0.0,
        le=10.0,
        description="Longest dropout, seconds; a longer gap inside the music is an intentional break.",
    )
    depth_db: float = Field(
        30.0,
        ge=10.0,
        le=120.0,
        description="A level hole is this far below the music on both sides, dB (power, per millisecond).",
    )
    silence_dbfs: float = Field(
        -100.0,
        ge=-200.0,
        le=-40.0,
        description="Samples within this of zero are digital silence (-100 dBFS = 1e-5), dBFS.",
    )
    music_dbfs: float = Field(
        -60.0,
        ge=-120.0,
        le=0.0,
        description="The 50 ms on each side of a dropout must be at least this loud (mean power), dBFS.",
    )
    merge_gap_s: float = Field(
        DEFAULT_MERGE_GAP_S, ge=0.0, le=10.0, description="Dropouts closer than this are one event, seconds."
    )


class _Candidate(NamedTuple):
    position: int  # frame of the residual peak
    channel: int
    strength_db: float
    own_db: tuple[float, ...]  # the own-residual strength of every channel in the same chunk
    own: bool  # found by the channel's own residual (False: by the cross-channel residual)


class _Scratch:
    """Work arrays reused from block to block (a fresh 1 MB array costs its page faults every time)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised C-contiguous float64 array of ``shape``, valid until the next ``get(name)``."""
        size = math.prod(shape)
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(size)
        return array[:size].reshape(shape)


def _window_mean(values: np.ndarray, first: int, count: int, offset: int, length: int) -> np.ndarray:
    """Mean of ``values[:, k + offset : k + offset + length]`` for ``k`` in ``[first, first + count)``.

    NaN columns (outside the signal) are left out; a window with none left gives NaN. Each window is
    summed on its own (no running sum), so the result does not depend on where a block boundary falls.
    """
    span = values[:, first + offset : first + offset + count + length - 1]
    kernel = np.ones(length)
    known = ~np.isnan(span)
    if known.all():
        return np.stack([np.convolve(row, kernel, mode="valid") for row in span]) / length
    sums = np.stack([np.convolve(row, kernel, mode="valid") for row in np.where(known, span, 0.0)])
    counts = np.stack([np.convolve(row, kernel, mode="valid") for row in known.astype(np.float64)])
    with np.errstate(invalid="ignore", divide="ignore"):
        means: np.ndarray = sums / counts
        return means


class ClickDetector:
    """Streaming click detector behind ``click_events``: feed blocks with :meth:`add`, then :meth:`finish`.

    Parameters
    ----------
    sample_rate
        Sample rate, Hz.
    channels
        Number of channels (1 or 2; the cross-channel test needs exactly 2).
    params
        The detector's :class:`ClickParams`.
    """

    def __init__(self, sample_rate: int, channels: int, params: ClickParams) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.params = params
        chunk = max(8, round(CHUNK_S * sample_rate))
        self.chunk = chunk
        self.guard = max(1, math.ceil(params.max_click_ms / 1000.0 * sample_rate / chunk))
        self.before = max(2, round(BEFORE_S * sample_rate / chunk))
        self.after = max(2, round(AFTER_S * sample_rate / chunk))
        self.half = max(self.guard + 1, round(ISOLATION_S * sample_rate / chunk))
        self.back = max(self.guard + self.before, self.half)  # history kept before the next chunk to decide
        self.ahead = max(self.guard + self.after, self.half)  # chunks needed after it
        self.cross = params.cross_channel and channels == 2
        self._min_level = db_to_gain(params.min_level_dbfs)
        self._edge: np.ndarray | None = None  # the last two input frames, (channels, 2)
        self._pending: np.ndarray | None = None  # a first block of one frame, until the next one
        self._frames = 0  # frames seen
        self._residuals = 0  # residual samples computed (one per frame that has both neighbours, + frame 0)
        # Residual not yet in emitted chunks, after CROSS_HALF_CHUNKS chunks of context (zeros at first).
        self._residual = np.zeros((channels, CROSS_HALF_CHUNKS * chunk))
        self._residual_chunk = -CROSS_HALF_CHUNKS  # chunk index of the residual buffer's first column
        self._history = {name: np.full((channels, self.back), np.nan) for name in _CLICK_HISTORY}
        self._history_chunk = -self.back  # chunk index of the history's first column
        self._next = 0  # the next chunk to decide
        self._candidates: list[_Candidate] = []
        self._scratch = _Scratch()
        self._finished = False

    # -- streaming ------------------------------------------------------------------------------------
    def add(self, samples: np.ndarray) -> None:
        """Consume the next frames, float ``(frames, channels)``."""
        frames = len(samples)
        if frames == 0:
            return
        if self._edge is None and (self._pending is not None or frames < 2):  # the first two frames
            pending = samples if self._pending is None else np.concatenate((self._pending, samples))
            self._pending = pending.copy() if len(pending) < 2 else None
            if self._pending is not None:
                return
            samples, frames = pending, len(pending)
        x = samples.T  # (channels, frames), a view
        first = self._edge is None
        # r[n] = x[n] - (x[n-1] + x[n+1]) / 2 for every frame with both neighbours; the first frame has
        # no left neighbour and gets 0 (so does the last one, in finish()). Each block completes the
        # residual of the previous block's last frame and gives those of its own frames but the last.
        count = 1 + max(0, frames - 2) if first else frames
        carry = self._residual.shape[1]
        buffer = self._scratch.get("residual", (self.channels, carry + count))
        buffer[:, :carry] = self._residual
        out = buffer[:, carry:]
        if first:
            out[:, 0] = 0.0
            out = out[:, 1:]
        else:
            edge = cast(np.ndarray, self._edge)  # set by every call after the first
            out[:, 0] = edge[:, 1] - 0.5 * (edge[:, 0] + x[:, 0])
            if frames > 1:
                out[:, 1] = x[:, 0] - 0.5 * (edge[:, 1] + x[:, 1])
            out = out[:, 2:]
        if frames > 2:
            np.add(x[:, :-2], x[:, 2:], out=out)
            out *= -0.5
            out += x[:, 1:-1]
        # fewer than 2 frames only after the first call (the first two frames are gathered above)
        tail = np.concatenate((cast(np.ndarray, self._edge), x), axis=1) if frames < 2 else x
        self._edge = tail[:, -2:].copy()
        self._frames += frames
        self._residuals += count
        self._push(buffer, final=False)

    def finish(self) -> list[Event]:
        """Flush the last frames and return the click events (sorted by start time)."""
        if not self._finished:
            self._finished = True
            if self._pending is not None:  # a one-frame file
                self._frames += len(self._pending)
            if self._frames:  # the last frame has no right neighbour: its residual is 0
                zeros = np.zeros((self.channels, self._frames - self._residuals))
                self._push(np.concatenate((self._residual, zeros), axis=1), final=True)
                self._decide(final=True)
        return self._events()

    def _push(self, buffer: np.ndarray, final: bool) -> None:
        """Emit the chunk statistics of every chunk of the residual ``buffer`` whose neighbours are known."""
        size = self.chunk
        if final:  # zero-pad the last partial chunk, then add the trailing context chunks
            pad = (-buffer.shape[1]) % size + CROSS_HALF_CHUNKS * size
            buffer = np.concatenate((buffer, np.zeros((self.channels, pad))), axis=1)
        full = buffer.shape[1] // size
        first, stop = CROSS_HALF_CHUNKS, full - CROSS_HALF_CHUNKS
        if stop > first:
            self._emit(buffer[:, : full * size].reshape(self.channels, full, size), first, stop)
            keep = (stop - CROSS_HALF_CHUNKS) * size
            self._residual_chunk += stop - CROSS_HALF_CHUNKS
            buffer = buffer[:, keep:]
        self._residual = buffer.copy()
        if not final:
            self._decide(final=False)

    def _emit(self, chunks: np.ndarray, first: int, stop: int) -> None:
        """Level, peak and peak frame of the own and cross-channel residuals of chunks [first, stop)."""
        middle = chunks[:, first:stop]
        start_chunk = self._residual_chunk + first
        offsets = (start_chunk + np.arange(stop - first)) * self.chunk
        magnitude = np.abs(middle, out=self._scratch.get("magnitude", middle.shape))
        stats = dict(zip(("level", "peak", "position"), _chunk_stats(magnitude, offsets), strict=True))
        if self.cross:
            kernel = np.ones(2 * CROSS_HALF_CHUNKS + 1)
            product = np.convolve(np.einsum("ij,ij->i", chunks[0], chunks[1]), kernel, mode="valid")
            energy = np.einsum("cij,cij->ci", chunks, chunks)
            energies = np.stack([np.convolve(e, kernel, mode="valid") for e in energy])
            # gain[c]: least-squares gain predicting channel c's residual from the other channel's
            gain = product / (energies[::-1] + CROSS_RIDGE * energies + 1e-30)
            cross = np.multiply(gain[:, :, None], middle[::-1], out=self._scratch.get("cross", middle.shape))
            np.subtract(middle, cross, out=cross)
            np.abs(cross, out=cross)
            names = ("cross_level", "cross_peak", "cross_position")
            stats.update(zip(names, _chunk_stats(cross, offsets), strict=True))
        else:
            empty = np.full(middle.shape[:2], np.nan)
            stats.update(cross_level=empty, cross_peak=empty, cross_position=empty)
        stats.update(clicked=np.zeros(middle.shape[:2]), cross_clicked=np.zeros(middle.shape[:2]))
        for name, values in stats.items():
            self._history[name] = np.concatenate((self._history[name], values), axis=1)

    def _decide(self, final: bool) -> None:
        """Decide every chunk whose windows are complete, then drop the history no later chunk needs."""
        if final:  # nothing comes after the end of the file
            for name in _CLICK_HISTORY:
                pad = np.full((self.channels, self.ahead), np.nan)
                self._history[name] = np.concatenate((self._history[name], pad), axis=1)
        columns = self._history["level"].shape[1]
        last = self._history_chunk + columns - self.ahead
        if last <= self._next:
            return
        first = self._next - self._history_chunk
        count = last - self._next
        h = self._history
        own_ref, onset = self._reference(h["level"], first, count)
        own_peak = h["peak"][:, first : first + count]
        with np.errstate(divide="ignore", invalid="ignore"):
            own_db = 20.0 * np.log10(own_peak / own_ref)
        self._find(own_db, own_peak, own_ref, h["peak"], h["position"], first, own_db, own=True)
        if self.cross:
            cross_ref, _ = self._reference(h["cross_level"], first, count)
            cross_ref = np.fmax(cross_ref, own_ref * db_to_gain(-CROSS_FLOOR_DB))
            cross_peak = h["cross_peak"][:, first : first + count]
            with np.errstate(divide="ignore", invalid="ignore"):
                cross_db = 20.0 * np.log10(cross_peak / cross_ref)
            cross_db[:, onset.any(axis=0)] = -np.inf
            self._find(
                cross_db,
                cross_peak,
                cross_ref,
                h["cross_peak"],
                h["cross_position"],
                first,
                own_db,
                own=False,
            )
        self._next = last
        drop = last - self.back - self._history_chunk
        for name in _CLICK_HISTORY:
            self._history[name] = self._history[name][:, drop:]
        self._history_chunk += drop

    def _reference(self, level: np.ndarray, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Local residual level of chunks [first, first + count) (columns), and where it rises by ONSET_DB."""
        before = _window_mean(level, first, count, -self.guard - self.before, self.before)
        after = _window_mean(level, first, count, self.guard + 1, self.after)
        reference = np.maximum(np.fmax(before, after), RESIDUAL_FLOOR)  # NaN only if both sides are empty
        rising = np.maximum(before, RESIDUAL_FLOOR) * db_to_gain(ONSET_DB)
        with np.errstate(invalid="ignore"):
            onset = after > rising  # False where a side is outside the file
        return reference, onset

    def _find(
        self,
        strength_db: np.ndarray,
        peak: np.ndarray,
        reference: np.ndarray,
        history_peak: np.ndarray,
        history_position: np.ndarray,
        first: int,
        own_db: np.ndarray,
        own: bool,
    ) -> None:
        """Record the chunks whose peak passes the threshold, the level floor and the isolation test."""
        with np.errstate(invalid="ignore"):
            found = (strength_db > self.params.threshold_db) & (peak > self._min_level)
        channel, index = np.nonzero(found)
        if channel.size == 0:
            return
        column = first + index
        # Isolation: the run of chunks with a comparable peak around the candidate (one-chunk gaps
        # bridged, at most ±half) must last at most `guard` chunks besides the candidate's own.
        around = column[:, None] + np.arange(-self.half, self.half + 1)
        level = np.maximum(
            peak[channel, index] * db_to_gain(-ISOLATION_DB),
            reference[channel, index] * db_to_gain(ISOLATION_FLOOR_DB),
        )
        comparable = history_peak[channel[:, None], around] > level[:, None]
        comparable[:, self.half] = True
        closed = comparable.copy()  # a one-chunk gap does not end a run
        closed[:, 1:-1] |= comparable[:, :-2] & comparable[:, 2:]
        left = closed[:, : self.half][:, ::-1]
        right = closed[:, self.half + 1 :]
        run = np.where(left.all(axis=1), self.half, np.argmin(left, axis=1))
        run += np.where(right.all(axis=1), self.half, np.argmin(right, axis=1))
        isolated = run <= self.guard
        # Clear of the music before it: the candidate's peak must stand PRECEDING_DB above the highest
        # chunk peak of the `before` window (kept `guard` clear), not only above their mean |r|: the
        # residual of saturated noise (a soft-clipped hi-hat or snare) is spiky, with a low mean. The
        # chunks of clicks reported just before are not music and are left out (a crackle of clicks a
        # few ms apart is found whole); hence the candidates are taken in time order, channel by channel.
        clicked = self._history["clicked" if own else "cross_clicked"]
        margin = db_to_gain(PRECEDING_DB)
        for c, i, col in zip(channel[isolated], index[isolated], column[isolated], strict=True):
            window = slice(col - self.guard - self.before, col - self.guard)
            preceding = history_peak[c, window][~(clicked[c, window] > 0.0)]
            preceding = preceding[~np.isnan(preceding)]
            if preceding.size and not peak[c, i] > preceding.max() * margin:
                continue
            clicked[c, col - 1 : col + 2] = 1.0  # and the chunks either side (a click's side lobes)
            self._candidates.append(
                _Candidate(
                    position=int(history_position[c, col]),
                    channel=int(c),
                    strength_db=float(strength_db[c, i]),
                    own_db=tuple(float(v) for v in own_db[:, i]),
                    own=own,
                )
            )

    # -- events ---------------------------------------------------------------------------------------
    def _events(self) -> list[Event]:
        """Merge the candidates into events: sorted, gaps up to ``merge_gap_s`` joined, channel attributed."""
        candidates = _without_side_lobes(self._candidates, (2 * CROSS_HALF_CHUNKS + 1) * self.chunk)
        gap = round(self.params.merge_gap_s * self.sample_rate)
        groups: list[list[_Candidate]] = []
        for candidate in candidates:
            if groups and candidate.position - groups[-1][-1].position <= gap:
                groups[-1].append(candidate)
            else:
                groups.append([candidate])
        if len(groups) > MAX_EVENTS:
            log.info("click_events: %d events, keeping the first %d", len(groups), MAX_EVENTS)
            groups = groups[:MAX_EVENTS]
        rate = self.sample_rate
        return [
            Event(
                start_s=frames_to_seconds(group[0].position, rate),
                end_s=frames_to_seconds(group[-1].position + 1, rate),
                channel=self._channel(group),
                value=max(c.strength_db for c in group),
            )
            for group in groups
        ]

    def _channel(self, group: list[_Candidate]) -> int | None:
        """The channel of a click, or None when it is in both channels."""
        if self.channels == 1:
            return 0
        own = {c.channel for c in group if c.own}
        if len(own) == 1:
            return own.pop()
        if own:
            return None
        # Found only against the other channel: the cross residual shows it in both, so use the own strengths.
        best = np.nanmax(np.array([c.own_db for c in group]), axis=0)
        if best[0] - best[1] >= ATTRIBUTION_DB:
            return 0
        if best[1] - best[0] >= ATTRIBUTION_DB:
            return 1
        return None


def _without_side_lobes(candidates: list[_Candidate], cross_frames: int) -> list[_Candidate]:
    """The candidates in time order, less the side lobes of stronger ones.

    A one-sample click of height A has residual side lobes of A/2 on its neighbours, which may fall in
    the next chunk and be found too: an own candidate within SIDE_LOBE_FRAMES of a stronger one of its
    channel is dropped. A click in one channel also upsets the inter-channel gain fitted around it, so the
    other channel's cross residual shows small peaks in the chunks next to it: a cross-channel candidate
    within ``cross_frames`` of a stronger candidate is dropped. (Candidates at the same frame are one
    peak seen by both statistics: all are kept.)
    """
    ordered = sorted(candidates, key=lambda c: (c.position, c.channel))
    reach = max(SIDE_LOBE_FRAMES, cross_frames)
    kept = []
    for i, c in enumerate(ordered):
        lo, hi = i, i
        while lo > 0 and c.position - ordered[lo - 1].position <= reach:
            lo -= 1
        while hi + 1 < len(ordered) and ordered[hi + 1].position - c.position <= reach:
            hi += 1
        window = SIDE_LOBE_FRAMES if c.own else cross_frames
        stronger = (
            o
            for o in ordered[lo : hi + 1]
            if o.position != c.position
            and abs(o.position - c.position) <= window
            and o.strength_db > c.strength_db
        )
        if not any(c.own is False or o.channel == c.channel for o in stronger):
            kept.append(c)
    return kept


def _chunk_stats(magnitude: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, peak and the peak's frame of ``|r|`` in chunks ``(channels, n, size)`` (from ``offsets``)."""
    index = magnitude.argmax(axis=2)  # argmax and a gather are much faster than max over a short axis
    peak = np.take_along_axis(magnitude, index[:, :, None], axis=2)[:, :, 0]
    level = np.einsum("cij->ci", magnitude) / magnitude.shape[2]
    return level, peak, offsets + index.astype(np.float64)


def detect_clicks(x: np.ndarray, sample_rate: int, params: ClickParams | None = None) -> list[Event]:
    """Clicks, pops and bad edits in a whole signal, as events (the streaming detector, fed in blocks).

    Parameters
    ----------
    x
        float samples ``(frames, channels)``, full scale 1.0.
    sample_rate
        Sample rate, Hz.
    params
        Detector parameters; :class:`ClickParams` defaults when None.

    Returns
    -------
    list of Event
        Sorted by time; ``value`` is the click's strength, dB above the local residual level;
        ``channel`` is None for a click in both channels.

    References
    ----------
    See the module docstring.

    >>> x = 0.1 * np.sin(np.arange(4410)[:, None] / 7); x[2205, 0] += 0.05
    >>> [(e.start_s, e.channel) for e in detect_clicks(x, 44100)]
    [(0.05, 0)]
    """
    detector = ClickDetector(sample_rate, x.shape[1], params or ClickParams())
    for start in range(0, len(x), DEFAULT_BLOCK_FRAMES):
        detector.add(x[start : start + DEFAULT_BLOCK_FRAMES])
    return detector.finish()


@register
class Clicks(Extractor):
    """Clicks, pops, digital glitches and bad edits (discontinuities): ``click_events``.

    ``click_events``
        ``Event(start_s, end_s, channel, value)`` per click (close ones merged, ``merge_gap_s``):
        ``start_s``/``end_s`` are the first and last residual peaks of the event (a single click lasts
        one sample), ``channel`` is 0 (left), 1 (right) or None (both), and ``value`` is the strength,
        dB above the local residual level (22 dB is the default threshold; a click of 0.1 between the
        beats of the tests/music.py mix reads 45-60 dB). See the module docstring for the method.
    """

    provides = ("click_events",)
    needs = ("clip_events",)
    Params = ClickParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._guard_s = cast(ClickParams, params).clip_guard_ms / 1000.0
        self._detector = ClickDetector(info.sample_rate, info.channels, cast(ClickParams, params))

    def update(self, block: Block) -> None:
        self._detector.add(block.samples)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        clicks = self._detector.finish()
        clips = needed.get("clip_events")
        if self._guard_s > 0.0 and isinstance(clips, list) and clips:
            clicks = outside_spans(clicks, cast(list[Event], clips), self._guard_s)  # clip_events: events
        return {"click_events": clicks}


def outside_spans(events: list[Event], spans: list[Event], guard_s: float) -> list[Event]:
    """The ``events`` that do not overlap any of ``spans`` widened by ``guard_s`` seconds on each side.

    >>> clicks = [Event(start_s=1.0, end_s=1.0), Event(start_s=5.0, end_s=5.0)]
    >>> [e.start_s for e in outside_spans(clicks, [Event(start_s=4.99, end_s=5.2)], 0.005)]
    [1.0]
    """

    ordered = sorted((span.start_s - guard_s, span.end_s + guard_s) for span in spans)
    starts = [start for start, _ in ordered]
    reach = list(itertools.accumulate((end for _, end in ordered), max))  # furthest end so far
    kept = []
    for event in events:
        index = bisect.bisect_right(starts, event.end_s) - 1  # last span starting before the event ends
        if index < 0 or reach[index] < event.start_s:
            kept.append(event)
    return kept


class DropoutDetector:
    """Streaming dropout detector behind ``dropout_events``: feed blocks to :meth:`add`, then :meth:`finish`.

    Parameters
    ----------
    sample_rate
        Sample rate, Hz.
    channels
        Number of channels.
    params
        The detector's :class:`DropoutParams`.
    """

    def __init__(self, sample_rate: int, channels: int, params: DropoutParams) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.params = params
        self.chunk = max(4, round(DROPOUT_CHUNK_S * sample_rate))
        self.context = max(2, round(DROPOUT_CONTEXT_S * sample_rate / self.chunk))
        self.longest = max(1, math.ceil(params.max_dropout_s * sample_rate / self.chunk))  # chunks
        self._silence = db_to_gain(params.silence_dbfs)
        self._depth = 10.0 ** (-params.depth_db / 10.0)  # power ratio
        self._music = 10.0 ** (params.music_dbfs / 10.0)
        self._shortest = int(params.min_dropout_ms / 1000.0 * sample_rate + 1e-9)  # frames
        self._longest_frames = math.ceil(params.max_dropout_s * sample_rate - 1e-9)
        self._carry = np.zeros((channels, 0))
        # Per-chunk history (channels, columns) from chunk self._start: mean power, silent flag and the
        # numbers of silent samples at the chunk's start (lead) and end (trail). NaN before the file.
        self._power = np.full((channels, self.context), np.nan)
        self._silent = np.zeros((channels, self.context), dtype=bool)
        self._lead = np.zeros((channels, self.context))
        self._trail = np.zeros((channels, self.context))
        self._last: np.ndarray | None = None  # the samples of the last chunk added, (channels, size)
        self._start = -self.context
        self._chunks = 0  # chunks seen
        self._next = [0] * channels  # per channel: the next chunk that may start a run
        self._hold: list[float | None] = [None] * channels  # reference of a too-long run being skipped
        self._runs: list[tuple[int, int, int, float]] = []  # (start frame, end frame, channel, depth dB)
        self._scratch = _Scratch()
        self._finished = False

    def add(self, samples: np.ndarray) -> None:
        """Consume the next frames, float ``(frames, channels)``."""
        if len(samples) == 0:
            return
        carry = self._carry.shape[1]
        x = self._scratch.get("samples", (self.channels, carry + len(samples)))
        x[:, :carry] = self._carry
        x[:, carry:] = samples.T
        full = x.shape[1] // self.chunk
        if full:
            self._append(x[:, : full * self.chunk].reshape(self.channels, full, self.chunk))
        self._carry = x[:, full * self.chunk :].copy()
        self._scan(final=False)

    def finish(self) -> list[Event]:
        """Flush the last frames and return the dropout events (sorted by start time)."""
        if not self._finished:
            self._finished = True
            if self._carry.shape[1]:
                self._append(self._carry[:, None, :])
            self._scan(final=True)
        return self._events()

    def _append(self, chunks: np.ndarray) -> None:
        """Add the statistics of chunks ``(channels, n, size)`` to the history.

        Whether a chunk is silent, and the silent samples at the ends of the chunks next to a silent
        one (which give the exact edges of a run), are only worked out where the power allows silence.
        """
        size = chunks.shape[2]
        power = np.einsum("cij,cij->ci", chunks, chunks) / size
        silent = np.zeros(power.shape, dtype=bool)
        channel, index = np.nonzero(power <= self._silence * self._silence)
        if channel.size:
            silent[channel, index] = (np.abs(chunks[channel, index]) <= self._silence).all(axis=1)
        lead = np.zeros(power.shape)
        trail = np.zeros(power.shape)
        if silent.any() or self._silent[:, -1].any():
            after_silent = np.concatenate((self._silent[:, -1:], silent[:, :-1]), axis=1)
            before_silent = np.concatenate((silent[:, 1:], np.zeros((self.channels, 1), dtype=bool)), axis=1)
            channel, index = np.nonzero(after_silent | before_silent)
            loud = np.abs(chunks[channel, index]) > self._silence
            any_loud = loud.any(axis=1)
            lead[channel, index] = np.where(any_loud, np.argmax(loud, axis=1), size)
            trail[channel, index] = np.where(any_loud, np.argmax(loud[:, ::-1], axis=1), size)
            for c in np.flatnonzero(silent[:, 0] & ~self._silent[:, -1]):  # the last chunk of the last block
                if self._last is not None:
                    loud_last = np.abs(self._last[c]) > self._silence
                    self._trail[c, -1] = np.argmax(loud_last[::-1]) if loud_last.any() else len(loud_last)
        self._last = chunks[:, -1].copy()
        self._power = np.concatenate((self._power, power), axis=1)
        self._silent = np.concatenate((self._silent, silent), axis=1)
        self._lead = np.concatenate((self._lead, lead), axis=1)
        self._trail = np.concatenate((self._trail, trail), axis=1)
        self._chunks += chunks.shape[1]

    def _scan(self, final: bool) -> None:
        """Find the runs that can be decided now, per channel, then drop the history no run needs."""
        end = self._chunks  # chunks [.., end) are known
        limit = end if final else end - (self.longest + 1 + self.context)
        for channel in range(self.channels):
            self._scan_channel(channel, end, limit, final)
        keep_from = min(self._next) - self.context - 1
        drop = keep_from - self._start
        if drop > 0:
            self._power = self._power[:, drop:]
            self._silent = self._silent[:, drop:]
            self._lead = self._lead[:, drop:]
            self._trail = self._trail[:, drop:]
            self._start += drop

    def _quiet(self, channel: int, first: int, stop: int, reference: float) -> np.ndarray:
        """Whether chunks [first, stop) are silent or ``depth_db`` below ``reference`` (a power)."""
        a, b = first - self._start, stop - self._start
        quiet: np.ndarray = self._silent[channel, a:b] | (self._power[channel, a:b] < reference * self._depth)
        return quiet

    def _mean_power(self, channel: int, first: int, stop: int) -> float:
        """Mean power of the known chunks in [first, stop) (NaN when there are none)."""
        values = self._power[channel, max(first, self._start) - self._start : max(stop, first) - self._start]
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan

    def _scan_channel(self, c: int, end: int, limit: int, final: bool) -> None:
        """Decide the runs of channel ``c`` that start in [next, limit); chunks up to ``end`` are known."""
        k = self._next[c]
        hold = self._hold[c]
        if hold is not None:  # skipping a run longer than max_dropout_s: find where it ends
            found = self._run_end(c, k, end, hold)
            if found is None:
                self._next[c] = max(k, end)
                return
            k, self._hold[c] = found, None
        if k >= limit:
            self._next[c] = k
            return
        first, a, b = k, k - self._start, limit - self._start
        before = _window_mean(self._power[c : c + 1], a, b - a, -self.context, self.context)[0]
        with np.errstate(invalid="ignore"):
            starts = (
                np.flatnonzero(self._silent[c, a:b] | (self._power[c, a:b] < before * self._depth)) + first
            )
        for k0 in starts.tolist():
            if k0 < k:  # inside the last run
                continue
            reference = float(before[k0 - first])
            if math.isnan(reference):  # no music before it: the head of the file
                reference = 0.0
            stop = min(k0 + self.longest + 1, end)
            k1 = self._run_end(c, k0, stop, reference)
            if k1 is not None:
                if reference > 0.0:
                    self._judge(c, k0, k1, reference)
                k = k1
                continue
            if stop == end and final:  # runs into the end of the file: the tail
                k = end
                break
            # Longer than max_dropout_s: an intentional break (or head silence); skip to its end.
            found = self._run_end(c, stop, end, reference)
            if found is None:
                self._hold[c] = reference
                k = end
                break
            k = found
        self._next[c] = max(k, limit)

    def _run_end(self, c: int, first: int, stop: int, reference: float) -> int | None:
        """The first chunk of channel ``c`` in [first, stop) that is not quiet, or None if there is none."""
        step = 16
        while first < stop:
            upto = min(stop, first + step)
            quiet = self._quiet(c, first, upto, reference)
            if not quiet.all():
                return first + int(np.argmin(quiet))
            first, step = upto, step * 8
        return None

    def _judge(self, c: int, k0: int, k1: int, before: float) -> None:
        """Record the quiet run of chunks [k0, k1) of channel ``c`` if it is a dropout."""
        after = self._mean_power(c, k1, k1 + self.context)
        if math.isnan(after):  # nothing after it: the tail
            return
        size = self.chunk
        i0, i1 = k0 - self._start, k1 - self._start
        silent = self._silent[c, i0:i1]
        # Digital silence has exact edges: they are in the chunks next to the silent ones, which are
        # either outside the run or its first/last chunk (quiet, holding a few quiet samples of music).
        first, stop_chunk = k0, k1
        if not silent[0] and len(silent) > 1 and silent[1]:
            first += 1
        if not silent[-1] and len(silent) > 1 and silent[-2]:
            stop_chunk -= 1
        start = first * size - (
            int(self._trail[c, first - 1 - self._start]) if first > k0 or silent[0] else 0
        )
        stop = stop_chunk * size + (
            int(self._lead[c, stop_chunk - self._start]) if stop_chunk < k1 or silent[-1] else 0
        )
        frames = stop - start
        if frames < self._shortest or frames > self._longest_frames:
            return
        music = min(before, after)
        if music < self._music:
            return
        run = self._mean_power(c, first, stop_chunk)
        if not silent[first - k0 : stop_chunk - k0].all() and run > music * self._depth:
            return
        floor = self._silence * self._silence
        depth_db = 10.0 * math.log10(music / max(run, floor))
        self._runs.append((start, stop, c, depth_db))

    def _events(self) -> list[Event]:
        """Sort and merge the runs: per channel within ``merge_gap_s``, then the same run in all channels."""
        gap = round(self.params.merge_gap_s * self.sample_rate)
        merged: list[list[float]] = []  # [start, end, channel (-1 = all), depth]
        per_channel: list[list[list[float]]] = [[] for _ in range(self.channels)]
        for run_start, run_stop, channel, run_depth in sorted(self._runs):
            runs = per_channel[channel]
            if runs and run_start - runs[-1][1] <= gap:
                runs[-1][1] = max(runs[-1][1], run_stop)
                runs[-1][3] = max(runs[-1][3], run_depth)
            else:
                runs.append([run_start, run_stop, channel, run_depth])
        for start, stop, c, depth in sorted(run for runs in per_channel for run in runs):
            if merged and self.channels > 1 and merged[-1][2] != c and start <= merged[-1][1] + gap:
                last = merged[-1]
                last[1], last[2], last[3] = max(last[1], stop), -1, max(last[3], depth)
            else:
                merged.append([start, stop, c, depth])
        if len(merged) > MAX_EVENTS:
            log.info("dropout_events: %d events, keeping the first %d", len(merged), MAX_EVENTS)
            merged = merged[:MAX_EVENTS]
        rate = self.sample_rate
        return [
            Event(
                start_s=frames_to_seconds(start, rate),
                end_s=frames_to_seconds(stop, rate),
                channel=None if c < 0 else int(c),
                value=depth,
            )
            for start, stop, c, depth in merged
        ]


def detect_dropouts(x: np.ndarray, sample_rate: int, params: DropoutParams | None = None) -> list[Event]:
    """Dropouts (digital silence or sudden level holes inside the music) in a whole signal, as events.

    Parameters
    ----------
    x
        float samples ``(frames, channels)``, full scale 1.0.
    sample_rate
        Sample rate, Hz.
    params
        Detector parameters; :class:`DropoutParams` defaults when None.

    Returns
    -------
    list of Event
        Sorted by time; ``value`` is the depth, dB below the quieter side's music (digital silence is
        measured as ``silence_dbfs``); ``channel`` is None for a dropout in all channels.

    >>> x = 0.1 * np.sin(np.arange(44100)[:, None] * 0.05); x[22050:22491] = 0.0
    >>> [(e.start_s, e.end_s, e.channel) for e in detect_dropouts(x, 44100)]
    [(0.5, 0.51, 0)]
    """
    detector = DropoutDetector(sample_rate, x.shape[1], params or DropoutParams())
    for start in range(0, len(x), DEFAULT_BLOCK_FRAMES):
        detector.add(x[start : start + DEFAULT_BLOCK_FRAMES])
    return detector.finish()


@register
class Dropouts(Extractor):
    """Dropouts and gaps inside the music: ``dropout_events``.

    ``dropout_events``
        ``Event(start_s, end_s, channel, value)`` per dropout (close ones merged, ``merge_gap_s``):
        the run of digital silence (exact edges) or of a level hole (1 ms edges), ``channel`` 0, 1 or
        None (all channels), and ``value`` the depth, dB below the music on the quieter side (digital
        silence counts as ``silence_dbfs``). Silence touching the file's start or end is not a dropout.
        See the module docstring for the method.
    """

    provides = ("dropout_events",)
    Params = DropoutParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._detector = DropoutDetector(info.sample_rate, info.channels, cast(DropoutParams, params))

    def update(self, block: Block) -> None:
        self._detector.add(block.samples)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        return {"dropout_events": self._detector.finish()}


__all__ = [
    "ClickDetector",
    "ClickParams",
    "Clicks",
    "DropoutDetector",
    "DropoutParams",
    "Dropouts",
    "detect_clicks",
    "detect_dropouts",
]
