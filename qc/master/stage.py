"""The call shape every mastering stage has, and the record of what a stage changed.

A stage is fed consecutive float64 blocks of shape ``(frames, channels)`` with ``process(start_frame, block)``
and may hold samples back (a look-ahead limiter does); ``flush()`` releases what it still holds. Over a whole
file, the frames a stage returns (from ``process`` and ``flush`` together) equal the frames it was fed, unless
the stage exists to change the length or the rate (trim, sample-rate conversion). ``change()`` is called after
``flush()`` and says, in plain language and numbers, what the stage did.

This module holds no DSP; it must not import features, rules or reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

ChangeValue = float | int | str | bool | list[Any] | dict[str, Any] | None


@dataclass(frozen=True)
class Change:
    """What one stage did to the audio.

    ``summary`` is one plain-language sentence for the report ("static gain +9.83 dB");
    ``values`` holds the numbers behind it, with the unit in each key (``gain_db``, ``max_reduction_db``).
    """

    stage: str
    summary: str
    values: dict[str, ChangeValue] = field(default_factory=dict)
    changed: bool = True


@runtime_checkable
class Stage(Protocol):
    """One step of the mastering chain (see the module docstring for the contract)."""

    name: ClassVar[str]

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Take the block that starts at ``start_frame`` (input frames); return the frames ready so far."""
        ...

    def flush(self) -> np.ndarray:
        """Return the frames still held back at the end of the file (shape ``(0, channels)`` if none)."""
        ...

    def change(self) -> Change:
        """What the stage did, after the whole file went through it."""
        ...


class Pipeline:
    """Stages in order, fed block by block: ``push`` each block, then ``finish`` once.

    Each stage sees ``start_frame`` counted in its own input frames (a stage after a trim or a
    sample-rate converter counts the frames it received, not the file's).
    """

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = list(stages)
        self._fed = [0] * len(self.stages)

    def push(self, block: np.ndarray, *, first: int = 0) -> np.ndarray:
        """Pass ``block`` through the stages from index ``first``; return what comes out of the last."""
        for index in range(first, len(self.stages)):
            out = self.stages[index].process(self._fed[index], block)
            self._fed[index] += len(block)
            block = out
        return block

    def finish(self) -> np.ndarray:
        """Flush every stage in order, passing each tail through the stages after it."""
        tails = [self.push(stage.flush(), first=index + 1) for index, stage in enumerate(self.stages)]
        return np.concatenate(tails) if tails else np.zeros((0, 0))

    def changes(self) -> list[Change]:
        """Every stage's :class:`Change`, in chain order (call after :meth:`finish`)."""
        return [stage.change() for stage in self.stages]


def run_stages(stages: list[Stage], audio: np.ndarray, *, block_frames: int = 65536) -> np.ndarray:
    """Feed a whole float64 ``(frames, channels)`` array through ``stages`` in blocks; return the output.

    For tests and small signals; ``chain.py`` streams files instead.
    """
    pipeline = Pipeline(stages)
    starts = range(0, len(audio), block_frames)
    pieces = [pipeline.push(audio[start : start + block_frames]) for start in starts]
    pieces.append(pipeline.finish())
    return np.concatenate([piece.reshape(-1, audio.shape[1]) for piece in pieces])
