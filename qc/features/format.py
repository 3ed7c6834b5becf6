"""Format features: the delivery format (sample rate, bit depth) and how much of it the audio really uses.

A 24-bit file may hold 16-bit audio padded with zeros, and a 96 kHz file may hold a 44.1 kHz recording
(or a decoded MP3) resampled: the container promises more than the content has. ``effective_bit_depth``
reads the lowest bit any sample uses; ``bandwidth_hz`` finds the frequency where the long-term spectrum
falls off a cliff to the noise floor (22 kHz for CD-rate content, about 16 kHz for a 128 kbps MP3).

This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio import AudioInfo
from ..dsp.framing import FrameGrid
from .registry import Block, Extractor, FeatureValue, Unavailable, register
from .signal import spectrum_power

# --- Container ----------------------------------------------------------------------------------------


@register
class FileFormat(Extractor):
    """The container's sample rate and bit depth, as features a delivery rule can compare.

    ``sample_rate_hz``
        Frames per second (int).
    ``bit_depth``
        Bits per sample of the encoding (16, 24, 32 for PCM; 32/64 for float), None for lossy codecs.
    """

    provides = ("sample_rate_hz", "bit_depth")

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        return {"sample_rate_hz": self.info.sample_rate, "bit_depth": self.info.bit_depth}


# --- Effective bit depth ------------------------------------------------------------------------------

_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
_FLOAT_GRID_BITS = 32  # float files are checked for a grid of 2**-31 (and so of 2**-15, 2**-23)
# Adding 1.5 * 2**52 to an integer-valued float64 y (|y| < 2**51) puts y's two's-complement low bits in
# the low bits of the mantissa, so an OR over the int64 view reads them without a slow float->int cast.
_MAGIC = 1.5 * 2.0**52
_MAX_GRID_VALUE = 2.0**50


@register
class EffectiveBitDepth(Extractor):
    """Bits of resolution the samples actually use, e.g. 16 for 16-bit audio padded into a 24-bit file.

    ``effective_bit_depth``: for a PCM file of ``B`` bits, every sample times ``2**(B-1)`` is an integer;
    the lowest bit set in any of them is bit ``z``, so ``B - z`` bits are used (16-bit audio in a 24-bit
    file: ``z = 8``, 16 bits). A float file is first checked for a grid of ``2**-31``: if every sample is
    on it, the same count is made (16 for 16-bit audio saved as float, 24 for 24-bit audio), otherwise the
    float file uses its full resolution and the value is its ``bit_depth`` (32 or 64). None for lossy
    files (the decoder invents the low bits) and unknown encodings; unavailable for digital silence.

    Stops reading as soon as the lowest bit is seen (a true 24-bit file: after its first block).
    """

    provides = ("effective_bit_depth",)

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self._float = info.subtype in _FLOAT_SUBTYPES
        self._skip = info.lossy or info.bit_depth is None
        bits = _FLOAT_GRID_BITS if self._float else min(info.bit_depth or 0, 32)
        self._bits = bits
        self._scale = 2.0 ** (bits - 1)
        self._mask = (1 << bits) - 1
        self._used = 0  # OR of the low `bits` bits of every sample read so far
        self._off_grid = False
        self._done = self._skip
        self._buffer = np.empty(0)

    def update(self, block: Block) -> None:
        if self._done:
            return
        x = block.samples
        if self._buffer.shape != x.shape:
            self._buffer = np.empty_like(x)
        y = np.multiply(x, self._scale, out=self._buffer)
        if self._float and (np.abs(y).max() >= _MAX_GRID_VALUE or not np.array_equal(np.rint(y), y)):
            self._off_grid = True
            self._done = True
            return
        y += _MAGIC
        self._used |= int(np.bitwise_or.reduce(y.view(np.int64), axis=None)) & self._mask
        if self._used & 1:
            self._done = True  # every bit is in use: nothing left to find

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        if self._skip:
            return {"effective_bit_depth": None}
        if self._off_grid:
            return {"effective_bit_depth": self.info.bit_depth}
        if self._used == 0:
            return {"effective_bit_depth": Unavailable("the file is digital silence: no bit is used")}
        lowest = (self._used & -self._used).bit_length() - 1
        return {"effective_bit_depth": self._bits - lowest}


# --- Bandwidth ----------------------------------------------------------------------------------------

BANDWIDTH_FRAME = 8192  # FFT length, frames (5.4 Hz bins at 44.1 kHz)
BANDWIDTH_BAND_HZ = 100.0  # the spectrum is read in bands of about this width
BANDWIDTH_SMOOTH_HZ = 2000.0  # running median over this span: removes narrow lines and images, keeps edges
BANDWIDTH_TOP = 0.05  # the floor is the median level of the top 5 % of the spectrum
BANDWIDTH_REFERENCE_HZ = (200.0, 4000.0)  # the mid band the cliff is measured against
BANDWIDTH_SLOPE_SPAN_HZ = 1000.0  # the slope is measured over this span when walking down the cliff
BANDWIDTH_GATE_DBFS = -70.0  # frames quieter than this (mean of both channels) are left out
BANDWIDTH_MIN_FRAMES = 64  # a short file is read more densely than frame_stride, to average this many


class BandwidthParams(BaseModel):
    """Parameters of ``bandwidth_hz``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frame_stride: int = Field(
        8, ge=1, le=64, description="Analyse every n-th frame of 8192 (a long-term average needs few)."
    )
    cliff_db: float = Field(
        30.0,
        ge=10.0,
        le=120.0,
        description="A cut-off drops at least this far, from the content below it to the floor above, dB.",
    )
    floor_margin_db: float = Field(
        20.0, ge=3.0, le=60.0, description="The floor starts where the level is within this of it, dB."
    )
    slope_db_per_khz: float = Field(
        3.0,
        gt=0.0,
        le=100.0,
        description="The cliff is followed down while it is steeper than this, dB per kHz.",
    )


def cutoff_frequency(
    power: np.ndarray,
    sample_rate: float,
    *,
    cliff_db: float = 30.0,
    floor_margin_db: float = 20.0,
    slope_db_per_khz: float = 3.0,
) -> float:
    """The frequency where a long-term power spectrum falls off a cliff to its noise floor, Hz.

    The spectrum is averaged in ~100 Hz bands and smoothed by a 2 kHz running median (which keeps
    edges but removes lines and resampling images). The floor ``F`` is the median level of the top 5 %
    of the bands. There is a cut-off only if the mid band (200 Hz–4 kHz, median) is ``cliff_db`` above
    ``F``; then the top of the cliff is the highest band ``floor_margin_db`` above ``F``, and the edge is
    found by walking down from there while the spectrum falls faster than ``slope_db_per_khz`` (so a
    gentle resampling filter reads at its -3 dB point, not at its stop band). The edge must still be
    ``cliff_db`` above ``F``, or the top of the spectrum is only a gentle roll-off (a dark mix).

    Parameters
    ----------
    power
        ``(bins,)`` mean power spectrum from an rfft of ``2 * (bins - 1)`` points, any unit.
    sample_rate
        Hz.
    cliff_db, floor_margin_db, slope_db_per_khz
        See :class:`BandwidthParams`.

    Returns
    -------
    float
        Hz: the upper edge of the last band of content, or ``sample_rate / 2`` when there is no cut-off.
    """
    nyquist = sample_rate / 2.0
    bin_hz = sample_rate / (2 * (len(power) - 1))
    per_band = max(1, round(BANDWIDTH_BAND_HZ / bin_hz))
    band_hz = per_band * bin_hz
    bands = len(power) // per_band
    if bands < 8:
        return nyquist
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(power[: bands * per_band].reshape(bands, per_band).mean(axis=1))
    level = np.maximum(level, -400.0)
    span = max(1, round(BANDWIDTH_SMOOTH_HZ / band_hz)) | 1
    padded = np.pad(level, span // 2, mode="edge")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded, span), axis=1)
    upper_hz = (np.arange(bands) + 1) * band_hz
    floor = float(np.median(smooth[int(bands * (1.0 - BANDWIDTH_TOP)) :]))
    low, high = BANDWIDTH_REFERENCE_HZ
    mid = smooth[(upper_hz > low) & (upper_hz <= high)]
    if mid.size == 0 or float(np.median(mid)) - floor < cliff_db:
        return nyquist
    above = np.flatnonzero(smooth >= floor + floor_margin_db)
    if above.size == 0:  # pragma: no cover - the mid band is above the floor
        return nyquist
    edge = int(above[-1])
    step = max(1, round(BANDWIDTH_SLOPE_SPAN_HZ / band_hz))
    fall = slope_db_per_khz * step * band_hz / 1000.0
    while edge - step >= 0 and smooth[edge - step] - smooth[edge] >= fall:
        edge -= 1
    if smooth[edge] - floor < cliff_db or edge == bands - 1:
        return nyquist
    return float(min(upper_hz[edge], nyquist))


@register
class Bandwidth(Extractor):
    """The audio's real bandwidth: where its long-term spectrum drops to the noise floor, in Hz.

    ``bandwidth_hz``: :func:`cutoff_frequency` of the mean power spectrum of every ``frame_stride``-th
    frame of 8192 samples (Hann window, channels' powers summed; denser in files too short to give
    :data:`BANDWIDTH_MIN_FRAMES` frames that way), leaving out frames quieter than -70 dBFS.
    ``sample_rate / 2`` when the spectrum has no cliff (full-band content, or a gentle roll-off).
    About 22 kHz for CD-rate content in a 96 kHz file, 16 kHz for a 128 kbps MP3 (encoders low-pass at
    16-20 kHz by bit rate). Unavailable when no frame is loud enough or the file is shorter than one
    frame.
    """

    provides = ("bandwidth_hz",)
    Params = BandwidthParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        self.settings = cast(BandwidthParams, params)
        stride = max(
            1, min(self.settings.frame_stride, info.frames // (BANDWIDTH_FRAME * BANDWIDTH_MIN_FRAMES))
        )
        self._grid = FrameGrid(BANDWIDTH_FRAME, BANDWIDTH_FRAME * stride, info.channels)
        self._window = np.hanning(BANDWIDTH_FRAME)
        self._gate = 10.0 ** (BANDWIDTH_GATE_DBFS / 10.0) * BANDWIDTH_FRAME * info.channels
        self._sum = np.zeros(BANDWIDTH_FRAME // 2 + 1)
        self._count = 0

    def update(self, block: Block) -> None:
        for frame in self._grid.push(block.samples):
            if float(np.square(frame).sum()) <= self._gate:
                continue
            self._sum += spectrum_power(frame, self._window)
            self._count += 1

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue | Unavailable]:
        if self._count == 0:
            return {
                "bandwidth_hz": Unavailable(
                    f"no frame of {BANDWIDTH_FRAME} samples above {BANDWIDTH_GATE_DBFS:g} dBFS to analyse"
                )
            }
        settings = self.settings
        cutoff = cutoff_frequency(
            self._sum / self._count,
            self.info.sample_rate,
            cliff_db=settings.cliff_db,
            floor_margin_db=settings.floor_margin_db,
            slope_db_per_khz=settings.slope_db_per_khz,
        )
        return {"bandwidth_hz": cutoff}
