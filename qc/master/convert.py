"""Format conversion stages: sample-rate conversion (soxr) and quantisation to PCM with TPDF dither.

:class:`Resample` changes the sample rate with libsoxr's streaming resampler; :class:`Quantize` puts the
samples on the integer grid of a 16- or 24-bit PCM file, adding triangular (TPDF) dither first so that the
rounding error is signal-independent noise instead of distortion. Both are stages in the sense of
:mod:`qc.master.stage`: float64 ``(frames, channels)`` blocks in and out, results independent of the
block size. This module does no I/O and knows nothing of rules or reports.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import MasterError
from .stage import Change, ChangeValue

SOXR_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")  # libsoxr recipes, quick to very high
PCM_BIT_DEPTHS = (16, 24)


@dataclass
class Resample:
    """Sample-rate conversion with libsoxr (streaming, float64, phase-linear, delay compensated).

    The output is time-aligned with the input (soxr removes its filter's delay) and, over a whole file,
    holds ``round(in_frames * sample_rate_out / sample_rate_in)`` frames, give or take one (soxr rounds
    the last partial output period its own way). ``VHQ`` is soxr's very-high-quality recipe: passband
    flat to well under 0.01 dB up to about 91 % of the lower Nyquist frequency, and images and aliases
    attenuated by about 170 dB. With equal rates the stage passes the audio through untouched.

    Parameters
    ----------
    sample_rate_in, sample_rate_out
        Hz, positive.
    channels
        Channels of every block (1 or more).
    quality
        A libsoxr quality recipe: ``QQ``, ``LQ``, ``MQ``, ``HQ`` or ``VHQ``.

    Raises
    ------
    MasterError
        For a rate that is not positive, no channels, or an unknown quality.

    References
    ----------
    libsoxr, the SoX Resampler library: https://sourceforge.net/projects/soxr/
    """

    sample_rate_in: int
    sample_rate_out: int
    channels: int
    quality: str = "VHQ"
    name: ClassVar[str] = "resample"
    _frames_in: int = field(default=0, init=False, repr=False)
    _frames_out: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sample_rate_in <= 0 or self.sample_rate_out <= 0:
            raise MasterError(
                f"cannot resample {self.sample_rate_in} Hz to {self.sample_rate_out} Hz: "
                "sample rates must be positive"
            )
        if self.channels < 1:
            raise MasterError(f"cannot resample audio with {self.channels} channels")
        if self.quality not in SOXR_QUALITIES:
            raise MasterError(
                f"unknown resampling quality {self.quality!r}; choose one of {', '.join(SOXR_QUALITIES)}"
            )
        self._stream = None
        if self.sample_rate_in != self.sample_rate_out:
            import soxr

            self._stream = soxr.ResampleStream(
                self.sample_rate_in,
                self.sample_rate_out,
                self.channels,
                dtype="float64",
                quality=self.quality,
            )

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Resample one block; returns the output frames soxr has ready (fewer at first: its filter fills)."""
        samples = np.ascontiguousarray(block, dtype=np.float64).reshape(-1, self.channels)
        self._frames_in += len(samples)
        out = samples if self._stream is None else self._stream.resample_chunk(samples)
        self._frames_out += len(out)
        return out

    def flush(self) -> np.ndarray:
        """The output frames soxr still holds at the end of the file."""
        if self._stream is None:
            return np.zeros((0, self.channels))
        out: np.ndarray = self._stream.resample_chunk(np.zeros((0, self.channels)), last=True).reshape(
            -1, self.channels
        )
        self._frames_out += len(out)
        return out

    def change(self) -> Change:
        values: dict[str, ChangeValue] = {
            "sample_rate_in_hz": self.sample_rate_in,
            "sample_rate_out_hz": self.sample_rate_out,
            "frames_in": self._frames_in,
            "frames_out": self._frames_out,
            "quality": self.quality,
        }
        if self._stream is None:
            return Change(self.name, f"sample rate kept at {self.sample_rate_in} Hz", values, changed=False)
        summary = f"resampled {self.sample_rate_in} → {self.sample_rate_out} Hz (soxr {self.quality})"
        return Change(self.name, summary, values)


@dataclass
class Quantize:
    """Round the samples to the grid of ``bit_depth``-bit PCM, with TPDF dither of ±1 LSB first.

    With ``LSB = 2**-(bit_depth - 1)`` (full scale = 1), each sample becomes
    ``clip(rint(x / LSB + d)) * LSB`` where the dither ``d = u1 + u2`` is the sum of two independent
    uniform variables on ``[-0.5, 0.5)`` LSB: triangular on ``(-1, 1)`` LSB, variance ``LSB²/6``. TPDF
    dither makes the first two moments of the rounding error independent of the signal: the total error
    is white noise of variance ``LSB²/12 + LSB²/6 = LSB²/4`` (-101.2 dBFS RMS at 16 bit), with no
    harmonic distortion and no noise modulation, and tones below one LSB stay audible. Without dither
    the samples are only rounded (exact if they already lie on the grid).

    The values stay float64, exactly on the grid (``x * 2**(bit_depth - 1)`` is an integer in
    ``[-2**(bit_depth-1), 2**(bit_depth-1) - 1]``), so a PCM writer stores them without further
    rounding. Samples pushed outside that range are clipped, counted and reported in :meth:`change`.
    The dither comes from ``numpy.random.default_rng(seed)``, drawn frame by frame, so the output is
    the same for any block size and the same on every run with the same seed.

    Parameters
    ----------
    bit_depth
        Bits of the PCM output: 16 or 24.
    dither
        Add TPDF dither before rounding (use it whenever the bit depth is reduced or the audio was
        processed); False only rounds.
    seed
        Seed of the dither's random generator.

    Raises
    ------
    MasterError
        For a bit depth other than 16 or 24.

    References
    ----------
    Lipshitz, Wannamaker & Vanderkooy, "Quantization and Dither: A Theoretical Survey", J. Audio Eng.
    Soc. 40(5), 1992; Vanderkooy & Lipshitz, "Dither in Digital Audio", J. Audio Eng. Soc. 35(12), 1987.
    """

    bit_depth: int
    _: KW_ONLY
    dither: bool = True
    seed: int = 0
    name: ClassVar[str] = "quantize"
    _clipped: int = field(default=0, init=False, repr=False)
    _samples: int = field(default=0, init=False, repr=False)
    _channels: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bit_depth not in PCM_BIT_DEPTHS:
            raise MasterError(
                f"cannot quantise to {self.bit_depth} bits; mixqc writes 16- or 24-bit PCM "
                "(--bit-depth 16|24)"
            )
        self._scale = 2.0 ** (self.bit_depth - 1)  # grid steps per unit of full scale
        self._rng = np.random.default_rng(self.seed)

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Dither and round one block; returns it on the PCM grid (same shape)."""
        self._channels = block.shape[1] if block.ndim == 2 else 1
        y = np.asarray(block, dtype=np.float64) * self._scale  # exact: a power of two
        if self.dither:
            # Two uniform draws per sample, frame-major, so any split into blocks draws the same numbers.
            u = self._rng.random((*y.shape, 2))
            y = y + (u[..., 0] + u[..., 1] - 1.0)
        y = np.rint(y)
        low, high = -self._scale, self._scale - 1.0
        outside = (y < low) | (y > high)
        self._clipped += int(np.count_nonzero(outside))
        self._samples += y.size
        np.clip(y, low, high, out=y)
        return y / self._scale

    def flush(self) -> np.ndarray:
        """Nothing is held back."""
        return np.zeros((0, self._channels))

    def change(self) -> Change:
        how = "with TPDF dither (±1 LSB)" if self.dither else "without dither"
        summary = f"quantised to {self.bit_depth}-bit PCM {how}"
        if self._clipped:
            summary += f"; {self._clipped} samples clipped at full scale"
        values: dict[str, ChangeValue] = {
            "bit_depth": self.bit_depth,
            "dither": "tpdf" if self.dither else "none",
            "clipped_samples": self._clipped,
            "clipped_share": self._clipped / self._samples if self._samples else 0.0,
        }
        return Change(self.name, summary, values)
