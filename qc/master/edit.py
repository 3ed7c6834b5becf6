"""Edits at the ends of a track: trim head and tail silence (:class:`Trim`), fade cut edges (:class:`Fade`).

Both are mastering stages (the call shape of :mod:`qc.master.stage`). Fades are raised-cosine
(``sin²`` in, ``cos²`` out: the two add up to 1, and the slope is 0 at both ends, so a fade adds no click of
its own), 10 ms in and 50 ms out by default: long enough to remove the step of a cut, short enough not to
soften the first hit or shorten the last note audibly. The builders :func:`trim_from_features` and
:func:`fade_from_features` read the check's ``silence`` features (:mod:`qc.features.silence`). This module
reads no files and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import MasterError
from ..units import format_mmss, frames_to_seconds, seconds_to_frames
from .stage import Change

DEFAULT_FADE_IN_MS = 10.0  # removes the step of a cut; a 10 ms fade does not soften a hit audibly
DEFAULT_FADE_OUT_MS = 50.0  # a cut-off ending needs a longer, gentler release than a start
# Kept before the first sample above the silence threshold (-60 dBFS): a breath, a pick or bow noise, the
# quiet start of a swell or reverb pre-delay may lie below the threshold; 0.2 s keeps them and still starts
# at once (the silence rule flags 2 s and suggests under 0.5 s).
HEAD_KEEP_S = 0.2
# Kept after the last sample above the threshold: -60 dBFS is where a reverb tail has decayed by about
# 60 dB from a full-scale mix (RT60), and its last audible part lies below that; the rule suggests 1-2 s.
TAIL_KEEP_S = 1.0
MAX_FADE_MS = 10_000.0


def fade_in_gains(positions: np.ndarray, length: int) -> np.ndarray:
    """Raised-cosine fade-in gains ``sin²(π/2 · (k + 1/2) / length)`` at fade positions ``k``.

    Positions below 0 get 0, positions at or past ``length`` get 1. The ``(k + 1/2)`` centring makes a
    fade-in and the matching fade-out sum to exactly 1 and be mirror images.

    >>> fade_in_gains(np.arange(-1, 5), 4).round(3).tolist()
    [0.0, 0.038, 0.309, 0.691, 0.962, 1.0]
    """
    k = np.asarray(positions, dtype=np.float64)
    phase = np.clip((k + 0.5) / max(length, 1), 0.0, 1.0)
    gains = np.sin(0.5 * math.pi * phase) ** 2
    gains[k < 0] = 0.0
    gains[k >= length] = 1.0
    return gains


def _length(ms: float, sample_rate: int, what: str) -> int:
    """A fade length in frames, refusing negative or absurd values."""
    if not 0.0 <= ms <= MAX_FADE_MS or not math.isfinite(ms):
        raise MasterError(f"{what}: {ms:g} ms; expected 0 to {MAX_FADE_MS:g} ms (e.g. 10)")
    return seconds_to_frames(ms / 1000.0, sample_rate)


def _span_text(frames: int, sample_rate: int) -> str:
    return f"{frames_to_seconds(frames, sample_rate):.3f} s"


@dataclass
class Trim:
    """Keep frames ``[start_frame, end_frame)`` and fade the new edges where the cut lands in audio.

    The head is cut at ``start_frame`` and the tail at ``end_frame`` (None: keep to the end). A fade-in
    of ``fade_in_ms`` starts at the new first frame only if the head was cut (``start_frame > 0``), and a
    fade-out of ``fade_out_ms`` ends at the new last frame only if the tail was cut (the file runs past
    ``end_frame``): an untouched end is left as it was. Where the fade region is digital silence (every
    sample exactly 0) the fade changes nothing, and the report says no fade was needed; where it holds
    low-level noise or music, the fade removes the step the cut would leave.

    The stage holds back at most ``fade_out_ms`` of frames before ``end_frame`` until it knows whether
    the file continues past it.

    Parameters
    ----------
    start_frame
        First frame kept (input frames, >= 0).
    end_frame
        First frame dropped at the tail, or None to keep everything after ``start_frame``.
    sample_rate
        Hz.
    fade_in_ms, fade_out_ms
        Raised-cosine fade lengths, ms (default 10 and 50; 0 for none).

    Raises
    ------
    MasterError
        For a negative ``start_frame``, ``end_frame <= start_frame`` or a fade outside 0-10 000 ms.
    """

    start_frame: int
    end_frame: int | None
    sample_rate: int
    fade_in_ms: float = DEFAULT_FADE_IN_MS
    fade_out_ms: float = DEFAULT_FADE_OUT_MS
    name: ClassVar[str] = "trim"
    _fed: int = field(default=0, init=False, repr=False)
    _channels: int = field(default=0, init=False, repr=False)
    _held: list[np.ndarray] = field(default_factory=list, init=False, repr=False)
    _cut_tail: bool = field(default=False, init=False, repr=False)
    _sounding_in: bool = field(default=False, init=False, repr=False)
    _sounding_out: bool = field(default=False, init=False, repr=False)
    _out: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.start_frame < 0:
            raise MasterError(f"trim: start_frame {self.start_frame} is negative")
        if self.end_frame is not None and self.end_frame <= self.start_frame:
            raise MasterError(
                f"trim: end_frame {self.end_frame} is not after start_frame {self.start_frame}: "
                "nothing would remain"
            )
        self._fade_in = (
            _length(self.fade_in_ms, self.sample_rate, "trim fade-in") if self.start_frame > 0 else 0
        )
        self._fade_out = _length(self.fade_out_ms, self.sample_rate, "trim fade-out")
        if self.end_frame is not None:  # never fade out before the first kept frame
            self._fade_out = min(self._fade_out, self.end_frame - self.start_frame)

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Return the part of the block inside ``[start_frame, end_frame)``, faded at the new edges."""
        self._channels = block.shape[1]
        first = self._fed
        self._fed += len(block)
        end = self.end_frame if self.end_frame is not None else self._fed
        lo, hi = max(first, self.start_frame), min(self._fed, end)
        kept = block[lo - first : max(lo, hi) - first].copy()
        if len(kept) and self._fade_in and lo < self.start_frame + self._fade_in:
            positions = np.arange(lo, hi) - self.start_frame
            fading = positions < self._fade_in
            self._sounding_in |= bool(np.any(kept[fading] != 0.0))
            kept *= fade_in_gains(positions, self._fade_in)[:, None]
        if self.end_frame is None or not self._fade_out:
            self._out += len(kept)
            return kept
        # The last `fade_out` frames before end_frame wait until the file is known to go on past it.
        hold_from = self.end_frame - self._fade_out
        split = min(len(kept), max(0, hold_from - lo))
        ready, waiting = kept[:split], kept[split:]
        if len(waiting):
            self._held.append(waiting)
        if self._fed > self.end_frame and not self._cut_tail:
            self._cut_tail = True
            held = np.concatenate(self._held) if self._held else np.zeros((0, block.shape[1]))
            self._held = []
            self._sounding_out = bool(np.any(held != 0.0))
            positions = np.arange(self.end_frame - len(held), self.end_frame) - hold_from
            held = held * (1.0 - fade_in_gains(positions, self._fade_out))[:, None]
            ready = np.concatenate((ready, held))
        self._out += len(ready)
        return ready

    def flush(self) -> np.ndarray:
        """Release frames held before ``end_frame`` unfaded: the file ended there, so nothing was cut."""
        held = np.concatenate(self._held) if self._held else np.zeros((0, self._channels))
        self._held = []
        self._out += len(held)
        return held

    def change(self) -> Change:
        """How much was cut at each end, and the fades applied."""
        rate = self.sample_rate
        total = self._fed
        head = min(self.start_frame, total)
        tail = total - self.end_frame if self._cut_tail and self.end_frame is not None else 0
        faded_in = bool(self._fade_in) and self._sounding_in
        faded_out = self._cut_tail and bool(self._fade_out) and self._sounding_out
        parts = []
        if head:
            parts.append(f"removed {_span_text(head, rate)} at the head")
        if tail:
            cut_at = format_mmss(frames_to_seconds(self.end_frame or 0, rate))
            parts.append(f"{_span_text(tail, rate)} at the tail (from {cut_at})")
        summary = " and ".join(parts) if parts else "nothing trimmed"
        fades = []
        if head:
            fades.append(
                f"{self.fade_in_ms:g} ms fade-in"
                if faded_in
                else "no fade-in (the cut lands in digital silence)"
            )
        if tail:
            fades.append(
                f"{self.fade_out_ms:g} ms fade-out"
                if faded_out
                else "no fade-out (the cut lands in digital silence)"
            )
        if fades:
            summary += "; " + ", ".join(fades)
        return Change(
            stage=self.name,
            summary=summary,
            values={
                "start_frame": self.start_frame,
                "end_frame": self.end_frame if self._cut_tail else None,
                "removed_head_s": frames_to_seconds(head, rate),
                "removed_tail_s": frames_to_seconds(tail, rate),
                "fade_in_ms": self.fade_in_ms if faded_in else 0.0,
                "fade_out_ms": self.fade_out_ms if faded_out else 0.0,
                "duration_s": frames_to_seconds(self._out, rate),
            },
            changed=bool(head or tail),
        )


@dataclass
class Fade:
    """Raised-cosine fades at given frames, leaving the length and everything else unchanged.

    For a track that starts or ends abruptly (``abrupt_start``, ``abrupt_end`` in
    :mod:`qc.features.silence`): a fade-in of ``fade_in_ms`` starting at ``in_start_frame`` (the first
    sample above the silence threshold) and a fade-out of ``fade_out_ms`` ending at ``out_end_frame`` (just
    after the last one; None = the end of the file). Frames before the fade-in and after the fade-out are
    left as they are: they are below the silence threshold, and muting them would change more than the
    fade needs. With ``out_end_frame`` None the stage holds back the last ``fade_out_ms`` of frames until
    :meth:`flush`.

    Parameters
    ----------
    sample_rate
        Hz.
    fade_in_ms, fade_out_ms
        Fade lengths, ms (0 for none).
    in_start_frame
        First frame of the fade-in.
    out_end_frame
        Frame after the last frame of the fade-out, or None for the end of the file.

    Raises
    ------
    MasterError
        For a fade outside 0-10 000 ms or a negative frame.
    """

    sample_rate: int
    fade_in_ms: float = DEFAULT_FADE_IN_MS
    fade_out_ms: float = DEFAULT_FADE_OUT_MS
    in_start_frame: int = 0
    out_end_frame: int | None = None
    name: ClassVar[str] = "fade"
    _fed: int = field(default=0, init=False, repr=False)
    _channels: int = field(default=0, init=False, repr=False)
    _held: np.ndarray | None = field(default=None, init=False, repr=False)
    _faded_out: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.in_start_frame < 0 or (self.out_end_frame is not None and self.out_end_frame < 0):
            raise MasterError("fade: frames must be >= 0")
        self._fade_in = _length(self.fade_in_ms, self.sample_rate, "fade-in")
        self._fade_out = _length(self.fade_out_ms, self.sample_rate, "fade-out")

    def _apply(self, first: int, block: np.ndarray) -> np.ndarray:
        """``block`` (input frames from ``first``) times the fade-in and a fade-out at a known frame."""
        positions = np.arange(first, first + len(block))
        gains = np.ones(len(block))
        if self._fade_in:
            gains *= fade_in_gains(positions - self.in_start_frame, self._fade_in)
            gains[positions < self.in_start_frame] = 1.0
        if self._fade_out and self.out_end_frame is not None:
            start = self.out_end_frame - self._fade_out
            inside = (positions >= start) & (positions < self.out_end_frame)
            gains[inside] *= 1.0 - fade_in_gains(positions[inside] - start, self._fade_out)
            self._faded_out |= bool(inside.any())
        return block * gains[:, None] if (gains != 1.0).any() else block.copy()

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Fade the block where it overlaps a fade; hold back the file's last frames if the end is unknown."""
        self._channels = block.shape[1]
        out = self._apply(self._fed, block)
        self._fed += len(block)
        if self.out_end_frame is not None or not self._fade_out:
            return out
        pending = out if self._held is None else np.concatenate((self._held, out))
        keep = min(len(pending), self._fade_out)
        self._held = pending[len(pending) - keep :]
        return pending[: len(pending) - keep]

    def flush(self) -> np.ndarray:
        """Fade out the held last frames (when the fade ends at the end of the file)."""
        if self._held is None:
            return np.zeros((0, self._channels))
        held, self._held = self._held, None
        positions = np.arange(self._fade_out - len(held), self._fade_out)
        self._faded_out = len(held) > 0
        return held * (1.0 - fade_in_gains(positions, self._fade_out))[:, None]

    def change(self) -> Change:
        """Where each fade was applied."""
        rate = self.sample_rate
        parts = []
        faded_in = bool(self._fade_in) and self.in_start_frame < self._fed
        if faded_in:
            start = format_mmss(frames_to_seconds(self.in_start_frame, rate))
            parts.append(f"{self.fade_in_ms:g} ms fade-in from {start}")
        end = self.out_end_frame if self.out_end_frame is not None else self._fed
        faded_out = bool(self._fade_out) and self._faded_out
        if faded_out:
            parts.append(
                f"{self.fade_out_ms:g} ms fade-out ending at {format_mmss(frames_to_seconds(end, rate))}"
            )
        return Change(
            stage=self.name,
            summary="; ".join(parts) if parts else "no fade",
            values={
                "fade_in_ms": self.fade_in_ms if faded_in else 0.0,
                "fade_in_start_s": frames_to_seconds(self.in_start_frame, rate) if faded_in else None,
                "fade_out_ms": self.fade_out_ms if faded_out else 0.0,
                "fade_out_end_s": frames_to_seconds(end, rate) if faded_out else None,
            },
            changed=faded_in or faded_out,
        )


def _seconds(features: Mapping[str, Any], name: str) -> float | None:
    """A finite, non-negative number of seconds from the features, or None."""
    value = features.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return max(0.0, float(value))


def trim_from_features(
    features: Mapping[str, Any],
    sample_rate: int,
    frames: int,
    *,
    head: bool = True,
    tail: bool = True,
    head_keep_s: float = HEAD_KEEP_S,
    tail_keep_s: float = TAIL_KEEP_S,
    fade_in_ms: float = DEFAULT_FADE_IN_MS,
    fade_out_ms: float = DEFAULT_FADE_OUT_MS,
) -> Trim:
    """The :class:`Trim` that shortens head and tail silence to ``head_keep_s`` and ``tail_keep_s``.

    Reads ``leading_silence_s`` and ``trailing_silence_s`` (time before the first and after the last sample
    above the silence threshold, -60 dBFS by default; :mod:`qc.features.silence`). The head is cut
    ``head_keep_s`` (0.2 s, :data:`HEAD_KEEP_S`) before the first sample above the threshold, the tail
    ``tail_keep_s`` (1.0 s, :data:`TAIL_KEEP_S`) after the last one; an end whose silence is already
    shorter, or whose feature is missing, or that is switched off (``head``/``tail`` False), is left alone.

    Parameters
    ----------
    features
        The check's features.
    sample_rate
        Hz.
    frames
        Length of the file, frames.

    Returns
    -------
    Trim
        The stage (it trims nothing when neither end needs it).

    >>> t = trim_from_features({"leading_silence_s": 3.0, "trailing_silence_s": 0.5}, 1000, 10_000)
    >>> t.start_frame, t.end_frame
    (2800, None)
    """
    start = 0
    lead = _seconds(features, "leading_silence_s")
    if head and lead is not None and lead > head_keep_s:
        start = seconds_to_frames(lead - head_keep_s, sample_rate)
    end = None
    trail = _seconds(features, "trailing_silence_s")
    if tail and trail is not None and trail > tail_keep_s:
        end = max(start + 1, frames - seconds_to_frames(trail - tail_keep_s, sample_rate))
    return Trim(start, end, sample_rate, fade_in_ms, fade_out_ms)


def fade_from_features(
    features: Mapping[str, Any],
    sample_rate: int,
    frames: int,
    *,
    fade_in_ms: float = DEFAULT_FADE_IN_MS,
    fade_out_ms: float = DEFAULT_FADE_OUT_MS,
) -> Fade:
    """The :class:`Fade` for a track the check found starting or ending abruptly.

    A fade-in starts at the first sample above the silence threshold when ``abrupt_start`` is true, and a
    fade-out ends just after the last one when ``abrupt_end`` is true (:mod:`qc.features.silence`; the
    positions come from ``leading_silence_s`` and ``trailing_silence_s``). The fade-out eats into the last
    ``fade_out_ms`` of the music, which was cut off anyway; the alternative, extending the tail, needs the
    mix session.

    Parameters
    ----------
    features
        The check's features.
    sample_rate
        Hz.
    frames
        Length of the file, frames.

    >>> f = fade_from_features({"abrupt_end": True, "trailing_silence_s": 0.5}, 1000, 10_000)
    >>> f.fade_in_ms, f.fade_out_ms, f.out_end_frame
    (0.0, 50.0, 9500)
    """
    in_ms, in_start = 0.0, 0
    if features.get("abrupt_start") is True:
        in_ms = fade_in_ms
        in_start = seconds_to_frames(_seconds(features, "leading_silence_s") or 0.0, sample_rate)
    out_ms, out_end = 0.0, None
    if features.get("abrupt_end") is True:
        out_ms = fade_out_ms
        trail = _seconds(features, "trailing_silence_s") or 0.0
        out_end = max(0, frames - seconds_to_frames(trail, sample_rate))
        if out_end >= frames:
            out_end = None  # the music runs to the last frame: fade out at the end of the file
    return Fade(sample_rate, in_ms, out_ms, in_start, out_end)
