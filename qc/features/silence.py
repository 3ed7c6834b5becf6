"""Silence and edges: how long a track waits before it starts and after it ends, and whether it is cut.

A mastering engineer checks both ends of a master: the head and tail gaps (albums and distributors
have rules for them), and that the music neither starts nor stops abruptly, which is heard as a click,
a chopped first note or a truncated reverb tail. One streaming pass finds the first and the last sample
above a threshold without storing the file (it keeps only the last ``edge_ms`` of audio), measures the
level of the ``edge_ms`` just after the first and just before the last such sample, and compares them
with the track's loud level (gated mean power over 100 ms ticks).

This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import AudioInfo
from ..dsp.framing import WindowSums
from ..units import db_to_gain, frames_to_seconds, power_to_db
from .registry import Block, Extractor, FeatureUnavailable, FeatureValue, register

TICK_S = 0.1  # the loud level is measured over ticks of this length
LOUD_ABSOLUTE_GATE_DBFS = -70.0  # ticks below this are not part of the loud level (as BS.1770-4's gate)
LOUD_RELATIVE_GATE_DB = -10.0  # nor are ticks this far below the mean of the remaining ones (BS.1770-4)
_SCAN_FRAMES = 4096  # the first/last loud sample is searched chunk by chunk from the block's edge


class SilenceParams(BaseModel):
    """Parameters of the silence and edge features."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold_dbfs: float = Field(
        -60.0, ge=-140.0, le=-20.0, description="A sample above this |level| is not silence, dBFS."
    )
    edge_ms: float = Field(
        10.0, gt=0.0, le=1000.0, description="Length of the edge whose level is measured, ms."
    )
    abrupt_within_db: float = Field(
        20.0,
        ge=0.0,
        le=60.0,
        description="An edge within this of the loud level is abrupt (no fade), dB.",
    )


def _first_loud(x: np.ndarray, level: float) -> int:
    """Index of the first frame of ``x`` with a sample above ``level`` in magnitude (one must exist)."""
    for begin in range(0, len(x), _SCAN_FRAMES):
        loud = (np.abs(x[begin : begin + _SCAN_FRAMES]) > level).any(axis=1)
        if loud.any():
            return begin + int(np.argmax(loud))
    raise ValueError("no loud sample")  # pragma: no cover - callers check the block's peak first


def _last_loud(x: np.ndarray, level: float) -> int:
    """Index of the last frame of ``x`` with a sample above ``level`` in magnitude (one must exist).

    Searches backwards in chunks that grow from 64 frames, as the last loud frame is usually near the end.
    """
    end, size = len(x), 64
    while end > 0:
        begin = max(0, end - size)
        loud = (np.abs(x[begin:end]) > level).any(axis=1)
        if loud.any():
            return begin + len(loud) - 1 - int(np.argmax(loud[::-1]))
        end, size = begin, min(4 * size, _SCAN_FRAMES)
    raise ValueError("no loud sample")  # pragma: no cover - callers check the block's peak first


@register
class Silence(Extractor):
    """Head and tail silence, and abrupt (unfaded) starts and ends.

    ``leading_silence_s``
        Time before the first sample above ``threshold_dbfs`` (any channel), s.
    ``trailing_silence_s``
        Time after the last sample above ``threshold_dbfs``, s.
    ``abrupt_start_db``
        Mean power of the ``edge_ms`` (10 ms) from the first sample above the threshold (the louder
        channel), relative to the track's loud level, dB. A fade-in or a note that swells from nothing
        reads -30 dB or lower; a start cut into the middle of the music reads about 0 dB or more.
    ``abrupt_end_db``
        The same for the ``edge_ms`` up to the last sample above the threshold: a natural decay or a fade
        reaches the threshold quietly; a tail cut off while the music still sounds (an export range set
        too short, or a hard edit before the silence) reads near 0 dB.
    ``abrupt_start``, ``abrupt_end``
        True when the edge is within ``abrupt_within_db`` (20 dB) of the loud level: the track starts or
        ends at full level without a fade, which is heard as a click or a chopped note.

    The loud level is the mean power (both channels) of the 100 ms ticks above -70 dBFS and above 10 dB
    under the mean of those (the gates of ITU-R BS.1770-4, unweighted). Raises
    :class:`FeatureUnavailable` when no sample is above the threshold (a silent file).
    """

    provides = (
        "leading_silence_s",
        "trailing_silence_s",
        "abrupt_start",
        "abrupt_end",
        "abrupt_start_db",
        "abrupt_end_db",
    )
    streams = ("squares",)
    Params = SilenceParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self.settings = cast(SilenceParams, params)
        self._level = db_to_gain(self.settings.threshold_dbfs)
        self._edge = max(1, round(self.settings.edge_ms / 1000.0 * info.sample_rate))
        self._ticks = WindowSums(max(1, round(TICK_S * info.sample_rate)))
        self._frames = 0
        self._first: int | None = None
        self._last: int | None = None
        self._start_squares = np.zeros(info.channels)
        self._start_frames = 0
        self._end_edge = np.zeros((0, info.channels))  # the `edge` frames up to the last loud one
        self._carry = np.zeros((0, info.channels))  # the last `edge` frames before the current block

    def update(self, block: Block) -> None:
        x = block.samples
        squares = block.streams["squares"]
        self._ticks.add(squares)
        if float(squares.max()) > self._level * self._level:
            if self._first is None:
                first = _first_loud(x, self._level)
                self._first = block.start_frame + first
                self._add_start(x[first:])
            else:
                self._add_start(x)
            last = _last_loud(x, self._level)
            self._last = block.start_frame + last
            self._end_edge = self._edge_before(x, last + 1)
        elif self._first is not None:
            self._add_start(x)
        self._frames = block.start_frame + len(x)
        if len(x) >= self._edge:
            self._carry = x[-self._edge :].copy()
        else:
            self._carry = np.concatenate((self._carry, x))[-self._edge :]

    def _add_start(self, x: np.ndarray) -> None:
        """Add frames to the start edge until it holds ``edge`` frames."""
        take = min(self._edge - self._start_frames, len(x))
        if take > 0:
            self._start_squares += np.square(x[:take]).sum(axis=0)
            self._start_frames += take

    def _edge_before(self, x: np.ndarray, end: int) -> np.ndarray:
        """A copy of the ``edge`` frames before ``x[end]``, the carried frames included."""
        if end >= self._edge:
            return x[end - self._edge : end].copy()
        return np.concatenate((self._carry[len(self._carry) - (self._edge - end) :], x[:end]))

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        if self._first is None or self._last is None:
            raise FeatureUnavailable(
                f"no sample above {self.settings.threshold_dbfs:g} dBFS: the file is silent"
            )
        loud = self._loud_power()
        start_power = float((self._start_squares / max(self._start_frames, 1)).max())
        start_db = power_to_db(start_power) - power_to_db(loud)
        end_power = float(np.square(self._end_edge).mean(axis=0).max())
        end_db = power_to_db(end_power) - power_to_db(loud)
        rate = self.info.sample_rate
        return {
            "leading_silence_s": frames_to_seconds(self._first, rate),
            "trailing_silence_s": frames_to_seconds(self._frames - self._last - 1, rate),
            "abrupt_start": bool(start_db >= -self.settings.abrupt_within_db),
            "abrupt_end": bool(end_db >= -self.settings.abrupt_within_db),
            "abrupt_start_db": start_db,
            "abrupt_end_db": end_db,
        }

    def _loud_power(self) -> float:
        """Gated mean power of the 100 ms ticks (the unfinished last tick included), both channels' mean."""
        sums = self._ticks.sums()
        frames = np.full(len(sums), self._ticks.window_frames)
        tail, tail_frames = self._ticks.tail()
        if tail_frames:
            sums = np.vstack((sums, tail[None, :])) if len(sums) else tail[None, :]
            frames = np.append(frames, tail_frames)
        powers = sums.sum(axis=1) / (sums.shape[1] * frames)
        gated = powers[powers > 10.0 ** (LOUD_ABSOLUTE_GATE_DBFS / 10.0)]
        if gated.size == 0:  # only clicks or very quiet content: measure against the loudest tick
            return float(powers.max())
        gated = gated[gated > gated.mean() * 10.0 ** (LOUD_RELATIVE_GATE_DB / 10.0)]
        return float(gated.mean())
