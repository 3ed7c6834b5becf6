"""Signal-condition features: DC offset, mains hum, and the noise floor of the quiet passages.

Also home of what the stereo, silence and format features share: the ``squares`` stream (``x²``,
computed once per block for every power measurement), :func:`spectrum_power` and
:func:`decimation_factor`. The block-size-independent streaming helpers (``WindowSums``, ``FrameGrid``,
``Decimator``) live in :mod:`qc.dsp.framing`.

Everything here is numpy only (``numpy.fft`` for spectra); nothing imports ``scipy.signal``. This module
does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import AudioInfo
from ..dsp.framing import Decimator, FrameGrid, WindowSums
from ..units import gains_to_db, power_to_db
from .registry import (
    Block,
    Extractor,
    FeatureUnavailable,
    FeatureValue,
    Stream,
    Unavailable,
    register,
    register_stream,
)

_FIRST = np.zeros(1, dtype=np.int64)  # reduceat index of a whole-block sum
DIGITAL_SILENCE_DBFS = -120.0  # windows quieter than this are digital silence (24-bit dither is ~-140 dBFS)

# --- Shared helpers -----------------------------------------------------------------------------------


@register_stream
class Squares(Stream):
    """The squared samples ``x²``, float64 ``(frames, channels)``: shared by every power measurement."""

    name = "squares"

    def process(self, samples: np.ndarray) -> np.ndarray:
        squares: np.ndarray = samples * samples
        return squares


def spectrum_power(frame: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Power spectrum summed over channels, ``(length // 2 + 1,)``, of a windowed ``(length, channels)``.

    One 1-D transform per channel: numpy's FFT of a 2-D array is several times slower than a loop.
    """
    power = np.zeros(frame.shape[0] // 2 + 1)
    for channel in range(frame.shape[1]):
        spectrum = np.fft.rfft(frame[:, channel] * window)
        power += spectrum.real**2 + spectrum.imag**2
    return power


def decimation_factor(sample_rate: int, target_hz: float = 2400.0) -> int:
    """The integer factor that brings ``sample_rate`` down to about ``target_hz`` (and not below it)."""
    return max(1, int(sample_rate // target_hz))


# --- DC offset ----------------------------------------------------------------------------------------


def dc_offset_dbfs(x: np.ndarray) -> np.ndarray:
    """Per-channel DC offset of a whole signal: ``|mean|`` in dBFS (-inf where the mean is exactly 0).

    Parameters
    ----------
    x
        float samples ``(frames, channels)``, full scale ±1.

    Returns
    -------
    numpy.ndarray
        ``(channels,)`` dBFS.

    Examples
    --------
    >>> dc_offset_dbfs(np.full((100, 1), 0.01)).round(2).tolist()
    [-40.0]
    """
    samples = np.asarray(x, dtype=np.float64)
    return gains_to_db(samples.mean(axis=0))


@register
class DCOffset(Extractor):
    """DC offset: the mean of each channel over the whole file.

    ``dc_offset_dbfs``
        Per channel ``[L, R]`` (``[M]`` for mono), ``|mean|`` in dBFS; -inf where the mean is exactly 0.
    ``dc_offset_max_dbfs``
        The larger of the two, dBFS (a single number a rule can compare).

    A mix of recorded (high-passed) sources has its mean far below -70 dBFS. Synthetic sounds with a net
    area add a real 0 Hz component: the sine-sweep kick of ``tests/music.py`` gives -51.5 dBFS, and the
    demo mix's drive into a soft clipper -40 dBFS. A converter or plug-in offset is typically -60 to
    -30 dBFS. Either way it costs headroom and is heard as a thump wherever the track is edited, faded,
    started or stopped; a DC filter or a 20 Hz high-pass removes it.
    """

    provides = ("dc_offset_dbfs", "dc_offset_max_dbfs")

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._sums = np.zeros(info.channels)
        self._frames = 0

    def update(self, block: Block) -> None:
        x = block.samples
        self._sums += np.add.reduceat(x, _FIRST, axis=0)[0]  # several times faster than x.sum(axis=0)
        self._frames += len(x)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        if self._frames == 0:
            raise FeatureUnavailable("the file has no frames")
        levels = gains_to_db(self._sums / self._frames)
        return {"dc_offset_dbfs": [float(v) for v in levels], "dc_offset_max_dbfs": float(levels.max())}


# --- Noise floor --------------------------------------------------------------------------------------


class NoiseFloorParams(BaseModel):
    """Parameters of ``noise_floor_dbfs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(0.05, gt=0.0, le=1.0, description="RMS window, seconds.")
    percentile: float = Field(
        5.0, ge=0.0, le=50.0, description="Which percentile of the window levels is the floor, %."
    )
    quiet_below_db: float = Field(
        30.0,
        ge=0.0,
        le=120.0,
        description=(
            "The floor must sit at least this far below the loud level (95th percentile of the windows), dB; "
            "otherwise the track has no quiet passage in which a noise floor could be heard or measured."
        ),
    )


@register
class NoiseFloor(Extractor):
    """The level of the quietest passages: hiss, hum and noise heard in intros, gaps, breaks and fades.

    ``noise_floor_dbfs``: the ``percentile`` (default 5th) of the RMS levels of consecutive ``window_s``
    (50 ms) windows, both channels' mean power, in dBFS, leaving out digital silence (windows below
    :data:`DIGITAL_SILENCE_DBFS`). Unavailable when the whole file is digital silence, or when that level is
    less than ``quiet_below_db`` below the loud level (95th percentile): a dense track with no quiet
    passage has no measurable floor, only its quietest music.
    """

    provides = ("noise_floor_dbfs",)
    streams = ("squares",)
    Params = NoiseFloorParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self.settings = cast(NoiseFloorParams, params)
        window = max(1, round(self.settings.window_s * info.sample_rate))
        self._windows = WindowSums(window)

    def update(self, block: Block) -> None:
        self._windows.add(block.streams["squares"])

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        sums = self._windows.sums()
        frames = self._windows.window_frames
        if len(sums) == 0:  # shorter than one window: use what there is
            tail, frames = self._windows.tail()
            if frames == 0:
                raise FeatureUnavailable("the file has no frames")
            sums = tail[None, :]
        powers = sums.sum(axis=1) / (sums.shape[1] * frames)
        sounding = powers[powers > 10.0 ** (DIGITAL_SILENCE_DBFS / 10.0)]
        if sounding.size == 0:
            return {"noise_floor_dbfs": Unavailable("the file is digital silence throughout")}
        levels = 10.0 * np.log10(sounding)
        floor = float(np.percentile(levels, self.settings.percentile))
        loud = float(np.percentile(levels, 95.0))
        if loud - floor < self.settings.quiet_below_db:
            return {
                "noise_floor_dbfs": Unavailable(
                    f"no quiet passage: the quietest {self.settings.percentile:g} % of the track is only "
                    f"{loud - floor:.0f} dB below its loud parts, so a noise floor cannot be told from music"
                )
            }
        return {"noise_floor_dbfs": floor}


# --- Mains hum ----------------------------------------------------------------------------------------

MAINS_HZ = (50.0, 60.0)  # mains frequencies (Europe/Asia/Africa/Australia; the Americas, parts of Japan)
HUM_MAX_HZ = 600.0  # harmonics analysed up to here: 12 of 50 Hz, 10 of 60 Hz
HUM_LOW_HARMONICS = 4  # hum needs at least two persistent lines among the first four harmonics
HUM_MIN_LINES = 2
HUM_TOLERANCE_HZ = 0.3  # a line counts within this of k * mains ...
HUM_TOLERANCE_RELATIVE = 0.002  # ... plus 0.2 % of it (mains drift; EN 50160 allows ±1 %, grids hold ~±0.1 %)
HUM_GUARD_HZ = 1.0  # the neighbourhood starts this far beyond the tolerance ...
HUM_NEIGHBOURHOOD_HZ = 5.0  # ... and spans this much on each side
HUM_DECIMATED_HZ = 2400.0  # the analysis runs on the signal decimated to about this rate
HUM_FRAME_SAMPLES = 8192  # frame length at the decimated rate: ~3.4 s, 0.3 Hz resolution
HUM_ABSENT_DB = -120.0  # hum_level_db when no hum is found (the floor of the measure)
_LOBE_BINS = 2  # a Hann window's main lobe is ±2 bins


class HumParams(BaseModel):
    """Parameters of ``hum_hz`` and ``hum_level_db``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prominence_db: float = Field(
        10.0,
        ge=3.0,
        le=40.0,
        description="A harmonic is present in a frame if it stands this far above its neighbourhood, dB.",
    )
    quiet_s: float = Field(
        10.0,
        gt=0.0,
        le=600.0,
        description="Hum is judged on the quietest this-many seconds of the file (where it is heard), s.",
    )


@register
class Hum(Extractor):
    """Mains hum: steady narrow lines at 50 or 60 Hz and their harmonics, heard in the quiet passages.

    The signal is decimated to about 2.4 kHz and cut into ~3.4 s frames (Hann window, 0.3 Hz bins). In each
    frame, each harmonic ``k * mains`` up to 600 Hz is *present* when its strongest bin within
    ±(0.3 Hz + 0.2 %) stands ``prominence_db`` above the 75th percentile of its neighbourhood (1 to 6 Hz
    beyond), and its line power is the main-lobe energy less the neighbourhood's noise. Hum is judged on
    the quietest ``quiet_s`` seconds (the quietest frames that are not digital silence), because that is
    where it is heard; under a dense mix it is masked (a -50 dBFS hum lies 5 to 20 dB *below* the test
    music's own spectrum there) and cannot be told from the music. A harmonic is *persistent* if present
    in more than half of those frames. Hum is found when at least two of the first four harmonics are
    persistent: a bass line or a held note is not at exactly ``k * 50`` / ``k * 60`` Hz for two
    harmonics (A1 is 55 Hz, G1 49 Hz, B1 61.7 Hz) and does not last through every quiet passage.

    ``hum_hz``
        50.0 or 60.0 when hum is found, else None.
    ``hum_level_db``
        Power of the persistent harmonics (median over the judged frames, summed), relative to the mean
        power of the file's non-silent frames, dB (both channels' mean). :data:`HUM_ABSENT_DB` (-120.0)
        when no hum is found, so a rule can compare it either way.

    Both are unavailable for files shorter than one frame (~3.4 s) or digital silence throughout.
    """

    provides = ("hum_hz", "hum_level_db")
    streams = ("squares",)
    Params = HumParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self.settings = cast(HumParams, params)
        factor = decimation_factor(info.sample_rate, HUM_DECIMATED_HZ)
        self._rate = info.sample_rate / factor
        self._decimator = Decimator(factor, info.channels)
        self._grid = FrameGrid(HUM_FRAME_SAMPLES, HUM_FRAME_SAMPLES, info.channels)
        self._powers = WindowSums(HUM_FRAME_SAMPLES * factor)
        self._window = np.hanning(HUM_FRAME_SAMPLES)
        self._build_table(info.sample_rate)
        self._present: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []

    def _build_table(self, sample_rate: int) -> None:
        """Bin indices of each harmonic's search range and neighbourhood, at the decimated rate."""
        bin_hz = self._rate / HUM_FRAME_SAMPLES
        mains, orders, centres, peaks, around = [], [], [], [], []
        side = max(1, round(HUM_NEIGHBOURHOOD_HZ / bin_hz))
        for f0 in MAINS_HZ:
            for order in range(1, int(HUM_MAX_HZ // f0) + 1):
                freq = order * f0
                tolerance = HUM_TOLERANCE_HZ + HUM_TOLERANCE_RELATIVE * freq
                centre = round(freq / bin_hz)
                reach = math.ceil(tolerance / bin_hz)
                guard = math.ceil((tolerance + HUM_GUARD_HZ) / bin_hz)
                mains.append(f0)
                orders.append(order)
                centres.append(freq)
                peaks.append(np.arange(centre - reach, centre + reach + 1))
                around.append(
                    np.concatenate(
                        (
                            np.arange(centre - guard - side + 1, centre - guard + 1),
                            np.arange(centre + guard, centre + guard + side),
                        )
                    )
                )
        width = max(len(p) for p in peaks)
        self._peak_bins = np.array([np.pad(p, (0, width - len(p)), mode="edge") for p in peaks])
        self._around_bins = np.array(around)
        self._mains = np.array(mains)
        self._orders = np.array(orders)
        gain = self._decimator.power_gain(np.array(centres), sample_rate)
        window_energy = float(np.sum(self._window**2))
        # Sinusoid power from its main-lobe energy: A²/2 = 2 Σ|X_k|² / (N Σw²) (Parseval), undone decimation.
        self._line_scale = 2.0 / (HUM_FRAME_SAMPLES * window_energy) / gain
        self._threshold = 10.0 ** (self.settings.prominence_db / 10.0)

    def update(self, block: Block) -> None:
        self._powers.add(block.streams["squares"])
        for frame in self._grid.push(self._decimator.process(block.samples)):
            self._analyse(frame)

    def _analyse(self, frame: np.ndarray) -> None:
        """Presence and line power of every harmonic in one frame."""
        power = spectrum_power(frame, self._window)
        candidates = power[self._peak_bins]
        best = candidates.argmax(axis=1)
        top = candidates[np.arange(len(best)), best]
        at = self._peak_bins[np.arange(len(best)), best]
        around = np.sort(power[self._around_bins], axis=1)
        count = around.shape[1]
        upper = around[:, (3 * count) // 4]  # 75th percentile
        median = around[:, count // 2]
        lobe = power[at[:, None] + np.arange(-_LOBE_BINS, _LOBE_BINS + 1)].sum(axis=1)
        noise = (2 * _LOBE_BINS + 1) * median / math.log(2.0)  # median of an exponential = mean · ln 2
        self._present.append(top >= self._threshold * upper)
        self._lines.append(np.maximum(lobe - noise, 0.0) * self._line_scale)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        powers = self._powers.sums()
        frames = min(len(self._present), len(powers))
        frame_s = HUM_FRAME_SAMPLES / self._rate
        if frames == 0:
            raise FeatureUnavailable(f"the file is shorter than one {frame_s:.1f} s hum analysis frame")
        channels = powers.shape[1]
        levels = powers[:frames].sum(axis=1) / (channels * self._powers.window_frames)
        sounding = np.flatnonzero(levels > 10.0 ** (DIGITAL_SILENCE_DBFS / 10.0))
        if sounding.size == 0:
            raise FeatureUnavailable("the file is digital silence throughout")
        judged_count = max(1, math.ceil(self.settings.quiet_s / frame_s))
        judged = sounding[np.argsort(levels[sounding], kind="stable")][:judged_count]
        present = np.array(self._present)[judged]
        lines = np.median(np.array(self._lines)[judged], axis=0)
        persistent = present.mean(axis=0) > 0.5
        mix = float(levels[sounding].mean())
        hum_hz: float | None = None
        hum_level = HUM_ABSENT_DB
        for f0 in MAINS_HZ:
            mine = self._mains == f0
            if np.count_nonzero(persistent & mine & (self._orders <= HUM_LOW_HARMONICS)) < HUM_MIN_LINES:
                continue
            level = max(power_to_db(float(lines[mine & persistent].sum()) / channels / mix), HUM_ABSENT_DB)
            if hum_hz is None or level > hum_level:
                hum_hz, hum_level = f0, level
        return {"hum_hz": hum_hz, "hum_level_db": hum_level}
