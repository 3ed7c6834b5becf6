"""The waveform overview: per-column minimum, maximum and RMS of the whole file, for the report's picture.

The file is cut into :data:`OVERVIEW_COLUMNS` equal columns of whole frames (fewer for a file shorter than
that many frames); each column keeps the lowest and highest sample over all channels and the RMS of all
its samples (channels' powers averaged). That is what a DAW draws at one pixel per column: the renderer
never reads audio, it draws these numbers.

Feature (extractor :class:`WaveformOverview`, no parameters):

``waveform_envelope``
    :class:`WaveformEnvelope`: ``min``/``max``/``rms`` per column in linear full-scale units (1.0 = 0 dBFS),
    column ``i`` covering ``[i * column_s, (i + 1) * column_s)`` seconds.

The column grid depends only on the file's length, so any block size gives the same columns. This module
does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..audio import AudioInfo
from ..units import frames_to_seconds
from .registry import Block, Extractor, FeatureUnavailable, FeatureValue, register

OVERVIEW_COLUMNS = 1600  # about one column per device pixel of an A4 page width at 200 dpi
DECIMALS = 5  # stored values are rounded to 1e-5 of full scale (-100 dBFS): far below a plot's resolution


class WaveformEnvelope(BaseModel):
    """The waveform drawn at one value per column: lowest sample, highest sample and RMS of each column.

    ``column_s`` is the length of one column in seconds; ``min[i]``, ``max[i]`` and ``rms[i]`` describe
    ``[i * column_s, (i + 1) * column_s)``, in linear full-scale units (1.0 = 0 dBFS), over all channels.
    """

    model_config = ConfigDict(frozen=True)

    column_s: float
    min: list[float]
    max: list[float]
    rms: list[float]


def column_frames(frames: int, columns: int = OVERVIEW_COLUMNS) -> int:
    """Frames per column so that ``frames`` fit in at most ``columns`` columns (at least 1).

    >>> column_frames(10_584_000), column_frames(100)
    (6615, 1)
    """
    return max(1, math.ceil(frames / columns))


@register
class WaveformOverview(Extractor):
    """Streaming per-column min/max/RMS of the waveform (see the module docstring).

    Raises :class:`FeatureUnavailable` for an empty file.
    """

    provides = ("waveform_envelope",)

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._width = column_frames(info.frames)
        count = max(1, math.ceil(info.frames / self._width))
        self._low = np.zeros(count)
        self._high = np.zeros(count)
        self._squares = np.zeros(count)
        self._counts = np.zeros(count, dtype=np.int64)
        self._used = 0  # columns that received at least one frame

    def update(self, block: Block) -> None:
        x = block.samples
        frames, channels = x.shape
        if not frames:
            return
        last = len(self._low) - 1
        first = min(block.start_frame // self._width, last)
        # Column boundaries inside the block; frames past the declared length (a codec's estimate) are
        # folded into the last column.
        boundary = (first + 1) * self._width - block.start_frame
        starts = np.concatenate(([0], np.arange(boundary, frames, self._width)[: last - first]))
        starts = starts.astype(np.intp)
        index = first + np.arange(len(starts))
        # One reduction over the interleaved samples: a column's frames are contiguous there, all channels
        # together (numpy's reductions along a 2-long channel axis are ~20x slower).
        flat = x.reshape(-1)
        low = np.minimum.reduceat(flat, starts * channels)
        high = np.maximum.reduceat(flat, starts * channels)
        squares = np.add.reduceat(flat * flat, starts * channels) / channels
        counts = np.diff(np.append(starts, frames))
        fresh = self._counts[index] == 0
        self._low[index] = np.where(fresh, low, np.minimum(self._low[index], low))
        self._high[index] = np.where(fresh, high, np.maximum(self._high[index], high))
        self._squares[index] += squares
        self._counts[index] += counts
        self._used = max(self._used, int(index[-1]) + 1)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        used = self._used
        if used == 0:
            raise FeatureUnavailable("the file has no samples")
        counts = np.maximum(self._counts[:used], 1)
        rms = np.sqrt(self._squares[:used] / counts)
        envelope = WaveformEnvelope(
            column_s=frames_to_seconds(self._width, self.info.sample_rate),
            min=np.round(self._low[:used], DECIMALS).tolist(),
            max=np.round(self._high[:used], DECIMALS).tolist(),
            rms=np.round(rms, DECIMALS).tolist(),
        )
        return {"waveform_envelope": envelope}  # type: ignore[dict-item]


__all__ = ["OVERVIEW_COLUMNS", "WaveformEnvelope", "WaveformOverview", "column_frames"]
