"""The EBU loudness-meter test signals (Tech 3341 and Tech 3342), synthesised, with their expected readings.

Each case is a list of segments of 1 kHz sine (one sine for every channel, continuous phase), each
segment with a level per channel and a duration, as the EBU tables describe them. Levels are peak
levels in dBFS: a 1 kHz stereo sine at -23.0 dBFS in both channels measures -23.0 LUFS.

Sources: the test-signal tables of EBU Tech 3341 ("minimum requirements" for EBU-mode meters) and EBU
Tech 3342 (loudness range), as restated by the test suites of libloudness (a libebur128 port) and KFR,
which synthesise the same signals, and the EBU loudness test set v05 readme (files 3341-7/8 are
programme). Expected values and tolerances are the published ones.

Cases not synthesised here, because they are recordings distributed as files in the EBU loudness test
set (not tone sequences): Tech 3341 cases 7 and 8 (= Tech 3342 cases 5 and 6, "authentic programme",
expected I = -23.0 ± 0.1 LUFS, LRA = 5 ± 1 and 15 ± 1 LU) and cases 15-23 (true peak, another module).

Usage::

    x = ebu_3341(1, sample_rate=48000)         # (frames, 2) float64
    EBU_3341[1].expected                       # {"integrated_lufs": -23.0, ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# A segment: (level in dBFS for each channel, duration in seconds). Level None = digital silence.
Segment = tuple[tuple[float | None, ...], float]


@dataclass(frozen=True)
class EbuCase:
    """One EBU test signal: its published description, how to build it, and what a meter must read."""

    name: str
    description: str
    segments: tuple[Segment, ...]
    expected: dict[str, float]
    tolerance: float
    channel_weights: tuple[float, ...] | None = None  # BS.1770 G_i, for the 5-channel case
    notes: str = field(default="")

    @property
    def channels(self) -> int:
        return len(self.segments[0][0])


def tone_segments(segments: Sequence[Segment], sample_rate: int, freq_hz: float = 1000.0) -> np.ndarray:
    """A continuous-phase sine through ``segments``, ``(frames, channels)`` float64.

    Segment boundaries fall at ``round(cumulative_seconds * sample_rate)`` frames, so durations do not
    drift. A level of None is digital silence.
    """
    channels = len(segments[0][0])
    bounds = np.round(np.cumsum([0.0] + [duration for _, duration in segments]) * sample_rate).astype(
        np.int64
    )
    t = np.arange(bounds[-1]) / sample_rate
    carrier = np.sin(2 * np.pi * freq_hz * t)
    gains = np.zeros((bounds[-1], channels))
    for (levels, _), start, stop in zip(segments, bounds[:-1], bounds[1:], strict=True):
        gains[start:stop] = [0.0 if level is None else 10 ** (level / 20) for level in levels]
    return gains * carrier[:, None]


def _stereo(*pairs: tuple[float | None, float]) -> tuple[Segment, ...]:
    """Segments with the same level in L and R, from (level_dbfs, duration_s) pairs."""
    return tuple(((level, level), duration) for level, duration in pairs)


EBU_3341: dict[int, EbuCase] = {
    1: EbuCase(
        "3341-1",
        "Stereo sine, 1000 Hz, -23.0 dBFS (both channels), 20 s. Expected M, S, I = -23.0 ± 0.1 LUFS.",
        _stereo((-23.0, 20.0)),
        {"integrated_lufs": -23.0, "max_momentary_lufs": -23.0, "max_short_term_lufs": -23.0},
        0.1,
    ),
    2: EbuCase(
        "3341-2",
        "Stereo sine, 1000 Hz, -33.0 dBFS, 20 s. Expected M, S, I = -33.0 ± 0.1 LUFS.",
        _stereo((-33.0, 20.0)),
        {"integrated_lufs": -33.0, "max_momentary_lufs": -33.0, "max_short_term_lufs": -33.0},
        0.1,
    ),
    3: EbuCase(
        "3341-3",
        "Stereo sine, 1000 Hz: -36.0 dBFS 10 s, -23.0 dBFS 60 s, -36.0 dBFS 10 s. "
        "Expected I = -23.0 ± 0.1 LUFS (the quiet parts fall below the relative gate).",
        _stereo((-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)),
        {"integrated_lufs": -23.0},
        0.1,
    ),
    4: EbuCase(
        "3341-4",
        "Stereo sine, 1000 Hz: -72.0 dBFS 10 s, -36.0 dBFS 10 s, -23.0 dBFS 60 s, -36.0 dBFS 10 s, "
        "-72.0 dBFS 10 s. Expected I = -23.0 ± 0.1 LUFS (absolute and relative gates).",
        _stereo((-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)),
        {"integrated_lufs": -23.0},
        0.1,
    ),
    5: EbuCase(
        "3341-5",
        "Stereo sine, 1000 Hz: -26.0 dBFS 20 s, -20.0 dBFS 20.1 s, -26.0 dBFS 20 s. "
        "Expected I = -23.0 ± 0.1 LUFS.",
        _stereo((-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)),
        {"integrated_lufs": -23.0},
        0.1,
    ),
    6: EbuCase(
        "3341-6",
        "5.0 sine, 1000 Hz, 20 s: L and R -28.0 dBFS, C -24.0 dBFS, Ls and Rs -30.0 dBFS "
        "(channel weights 1, 1, 1, 1.41, 1.41). Expected I = -23.0 ± 0.1 LUFS.",
        (((-28.0, -28.0, -24.0, -30.0, -30.0), 20.0),),
        {"integrated_lufs": -23.0},
        0.1,
        channel_weights=(1.0, 1.0, 1.0, 1.41, 1.41),
        notes="mixqc reads mono or stereo files only; this case exercises the kernel's channel weights.",
    ),
    9: EbuCase(
        "3341-9",
        "Stereo sine, 1000 Hz: 5 × (1.34 s at -20.0 dBFS, 1.66 s at -30.0 dBFS). "
        "Expected S = -23.0 ± 0.1 LUFS, constant after the first 3 s.",
        _stereo(*[(-20.0, 1.34), (-30.0, 1.66)] * 5),
        {"short_term_lufs": -23.0, "max_short_term_lufs": -23.0},
        0.1,
    ),
    12: EbuCase(
        "3341-12",
        "Stereo sine, 1000 Hz: 25 × (0.18 s at -20.0 dBFS, 0.22 s at -30.0 dBFS). "
        "Expected M = -23.0 ± 0.1 LUFS, constant after the first 400 ms.",
        _stereo(*[(-20.0, 0.18), (-30.0, 0.22)] * 25),
        {"momentary_lufs": -23.0, "max_momentary_lufs": -23.0},
        0.1,
    ),
}
"""Tech 3341 cases by number; ``short_term_lufs``/``momentary_lufs``: every value once the window is full."""


def _burst_case(case: int, variant: int) -> EbuCase:
    """Tech 3341 case 10 (3 s bursts, max S) or 13 (0.4 s bursts, max M), ``variant`` 1-20."""
    if not 1 <= variant <= 20:
        raise ValueError("Tech 3341 cases 10 and 13 have variants 1-20")
    burst_s, feature = (3.0, "max_short_term_lufs") if case == 10 else (0.4, "max_momentary_lufs")
    lead_s = 0.5 + 0.0537 * variant  # our offsets: not multiples of 10 ms, so maxima fall between steps
    return EbuCase(
        f"3341-{case}-{variant}",
        f"Stereo sine, 1000 Hz, one {burst_s} s burst at -23.0 dBFS between silences; the 20 files of "
        f"the case differ in the burst's position. "
        f"Expected max {'S' if case == 10 else 'M'} = -23.0 ± 0.1 LUFS.",
        _stereo((None, lead_s), (-23.0, burst_s), (None, 1.0)),
        {feature: -23.0},
        0.1,
        notes="The burst offsets of the EBU files are not restated; ours move the burst off the 10 ms grid.",
    )


EBU_3342: dict[int, EbuCase] = {
    1: EbuCase(
        "3342-1",
        "Stereo sine, 1000 Hz: -20 dBFS 20 s, then -30 dBFS 20 s. Expected LRA = 10 ± 1 LU.",
        _stereo((-20.0, 20.0), (-30.0, 20.0)),
        {"loudness_range_lu": 10.0},
        1.0,
    ),
    2: EbuCase(
        "3342-2",
        "Stereo sine, 1000 Hz: -20 dBFS 20 s, then -15 dBFS 20 s. Expected LRA = 5 ± 1 LU.",
        _stereo((-20.0, 20.0), (-15.0, 20.0)),
        {"loudness_range_lu": 5.0},
        1.0,
    ),
    3: EbuCase(
        "3342-3",
        "Stereo sine, 1000 Hz: -40 dBFS 20 s, then -20 dBFS 20 s. Expected LRA = 20 ± 1 LU.",
        _stereo((-40.0, 20.0), (-20.0, 20.0)),
        {"loudness_range_lu": 20.0},
        1.0,
    ),
    4: EbuCase(
        "3342-4",
        "Stereo sine, 1000 Hz: -50 dBFS 20 s, -35 dBFS 20 s, -20 dBFS 20 s, -35 dBFS 20 s, -50 dBFS 20 s. "
        "Expected LRA = 15 ± 1 LU.",
        _stereo((-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)),
        {"loudness_range_lu": 15.0},
        1.0,
    ),
}
"""Tech 3342 cases by number (5 and 6 are the authentic-programme files, see the module docstring)."""


def ebu_3341_case(case: int, variant: int = 1) -> EbuCase:
    """Tech 3341 case ``case`` (1-6, 9, 10, 12, 13); ``variant`` picks one of the 20 files of 10 and 13."""
    if case in (10, 13):
        return _burst_case(case, variant)
    return EBU_3341[case]


def ebu_3341(case: int, sample_rate: int = 48000, variant: int = 1) -> np.ndarray:
    """Tech 3341 test signal ``case`` at ``sample_rate``, ``(frames, channels)`` float64."""
    return tone_segments(ebu_3341_case(case, variant).segments, sample_rate)


def ebu_3342(case: int, sample_rate: int = 48000) -> np.ndarray:
    """Tech 3342 test signal ``case`` (1-4) at ``sample_rate``, ``(frames, 2)`` float64."""
    return tone_segments(EBU_3342[case].segments, sample_rate)
