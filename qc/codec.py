"""Codec round trip: encode a file's loudest passages to AAC and MP3 with ffmpeg, decode them, measure overs.

A lossy encoder adds quantisation noise and band-limits the signal, so a master whose true peak sits
just under 0 dBTP comes back from the decoder *above* full scale: a floating-point decoder passes the
over to the DAC, a fixed-point one (most phones, cars and hardware players) clips it. This module
estimates it with ffmpeg's encoders:

1. **Choose passages** (:func:`choose_excerpts`): codec overs happen where the peaks are highest and the
   signal densest, so the streaming pass's waveform overview (``waveform_envelope``: per-column peak
   and RMS) and its inter-sample overs (``true_peak_events``) rank the file, and the ``excerpts`` best
   non-overlapping windows of ``excerpt_s`` seconds are kept. A whole AAC round trip of a 4-minute
   track costs about 12 s of CPU (MP3 about 4 s), far more than the rest of a check, so only these
   windows are encoded unless ``full`` is set (or they would cover the file anyway).
2. **Encode and decode** each codec in its own pair of ffmpeg processes, the codecs in parallel: the
   windows are read from the file by seeking, each with ``preroll_s`` of audio before it (so the
   encoder's state has settled when the measured part starts) and :data:`POSTROLL_S` after it, faded
   in and out over :data:`FADE_S` and separated by :data:`GAP_S` of silence, and piped to ffmpeg as
   32-bit float. The bitstream goes to a temporary file in a container that records the encoder delay
   and padding (MP4 edit list, LAME gapless header), and ffmpeg decodes it back to 32-bit float with
   that delay removed, so decoded frame ``n`` is input frame ``n``: event times are exact to a sample
   or two (tested). Floating-point decoders keep values above full scale, so overs are measured, not
   clipped away.
3. **Measure** only the windows (never the pre- or post-roll): the true peak with the kernels of
   :mod:`qc.dsp.truepeak` (the same two-stage measurement as ``true_peak_dbtp``), and the runs of
   decoded samples at or above full scale (:data:`CLIP_LEVEL`), which a fixed-point decoder would clip.

Features (all from one round trip per set of parameters; :class:`CodecParams`):

``codec_true_peak_dbtp``
    The highest true peak after the AAC and the MP3 round trip, dBTP (max over codecs and channels).
``codec_aac_true_peak_dbtp``, ``codec_mp3_true_peak_dbtp``
    The same for one codec.
``codec_clip_events``
    ``Event(start_s, end_s, channel, value)`` where a decoded sample of either codec reaches 0 dBFS;
    ``value`` is the highest decoded sample there, dBFS; runs closer than ``merge_gap_s`` are one event.

Defaults: AAC at 256 kb/s (Apple Music and YouTube Music stream AAC 256) with ffmpeg's native encoder
(options :data:`AAC_OPTIONS`), MP3 at 320 kb/s CBR with LAME (the usual download and store quality), and
4 passages of 3 s with 0.5 s of pre-roll: about 0.8 s of wall time on two cores for any track length
(ffmpeg's AAC encoder is most of it), against 10 s for ``full`` on a 4-minute track.

How far to trust the figures: ffmpeg's AAC encoder is not Apple's or Fraunhofer's, and its overs vary
with the encoder's state (on crushed, noisy material by up to about 1 dB between two encodes of the same
passage; LAME's by a few hundredths), so they are an estimate of what a platform's encoder does. Against
``full`` on 8 real recordings, their loud versions and two synthetic 4-minute tracks, the passages gave
the highest decoded true peak within 0.2 dB in 81 % of cases (MP3: all within 0.17 dB), never more than
0.45 dB low, and up to 0.7 dB high where AAC's state made the difference (``bench/bench_codec.py``).

When ffmpeg (or one encoder) is missing, the features are unavailable with the reason
(:data:`FFMPEG_MISSING`), so a rule on them gives an ``info`` finding instead of failing. This module
reads the audio file and runs ffmpeg; it knows nothing of rules or reports, and it is run by
``qc.check`` after the streaming pass (``extract_features`` alone does not encode).
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .audio import AudioInfo, iter_blocks
from .dsp.truepeak import (
    CANDIDATE_MARGIN_DB,
    CONTEXT_FRAMES,
    GRID_OVERREAD_DB,
    interval_peaks,
    refine_interval_peaks,
)
from .features.peaks import DEFAULT_MERGE_GAP_S, EventMerger
from .features.registry import (
    Event,
    Extractor,
    FeatureUnavailable,
    FeatureValue,
    Unavailable,
    params_key,
    register,
)
from .units import db_to_gain, frames_to_seconds, gain_to_db, seconds_to_frames

if TYPE_CHECKING:
    from .analysis import FeatureRequest, FeatureSet
    from .features.overview import WaveformEnvelope

log = logging.getLogger(__name__)

FFMPEG_MISSING = "ffmpeg not installed: codec round trip skipped"
CODEC_FEATURES = (
    "codec_true_peak_dbtp",
    "codec_aac_true_peak_dbtp",
    "codec_mp3_true_peak_dbtp",
    "codec_clip_events",
)
# Features of the streaming pass the codec stage reads (to choose the passages to encode).
CODEC_NEEDS = ("waveform_envelope", "true_peak_events")

CLIP_LEVEL = 1.0  # 0 dBFS: the largest magnitude a fixed-point decoder can output; at or above it clips
POSTROLL_S = 0.1  # encoded after each window and not measured (the end of the last transform frame)
FADE_S = 0.02  # fade at the outer ends of the pre- and post-roll, so the encoder never sees a step
GAP_S = 0.1  # silence between excerpts in the encoded stream (more than one AAC/MP3 frame)
# Sample rates both encoders accept for music; other rates are resampled by ffmpeg (as platforms do).
CODEC_RATES = (32000, 44100, 48000)
# Passage ranking: a column's peak (its true peak where the pass found one over -1 dBTP) plus this share
# of its RMS (linear). Codec noise grows with the signal's power, so among equally high peaks the densest
# passage tends to overshoot most; the weight barely matters on real music (bench/bench_codec.py).
RMS_WEIGHT = 0.25
DECODE_BLOCK_FRAMES = 1 << 16

_MARGIN = 10.0 ** (CANDIDATE_MARGIN_DB / 20.0)
_OVERREAD = 10.0 ** (GRID_OVERREAD_DB / 20.0)


@dataclass(frozen=True)
class _Codec:
    """One lossy format: how ffmpeg encodes it, and the container that records the encoder delay."""

    name: str  # "aac": the params key prefix (aac_kbps) and the per-codec feature's infix
    label: str
    encoder: str
    muxer: str
    suffix: str
    options: tuple[str, ...] = ()

    @property
    def feature(self) -> str:
        return f"codec_{self.name}_true_peak_dbtp"


# ffmpeg's AAC encoder without perceptual noise substitution and intensity stereo (low-bitrate tools that
# high-bitrate encoders leave off: they replace waveforms by noise or by the other channel) and without
# its temporal noise shaping, whose overs are erratic: on a clipped passage of true peak +2.8 dBTP it
# gave +2.8 to +7.7 dBTP depending on the encoder's state (pre-roll length), +2.2 to +3.4 without
# (bench/bench_codec.py). What is left follows the source's peaks as a good encoder does.
AAC_OPTIONS = ("-aac_pns", "0", "-aac_is", "0", "-aac_tns", "0")
CODECS = (
    # the MP4 edit list carries the AAC encoder delay, the LAME gapless header the MP3 one
    _Codec("aac", "AAC", encoder="aac", muxer="ipod", suffix="m4a", options=AAC_OPTIONS),
    _Codec("mp3", "MP3", encoder="libmp3lame", muxer="mp3", suffix="mp3"),
)


class CodecParams(BaseModel):
    """Parameters of the codec round trip (every codec feature; one round trip per distinct set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aac_kbps: int | None = Field(
        256,
        ge=32,
        le=320,
        description=(
            "AAC bitrate, kb/s (ffmpeg's native encoder); 256 is what Apple Music and YouTube Music "
            "stream. null skips AAC."
        ),
    )
    mp3_kbps: int | None = Field(
        320,
        ge=32,
        le=320,
        description="MP3 bitrate, kb/s (LAME, CBR); 320 is the usual download quality. null skips MP3.",
    )
    excerpts: int = Field(4, ge=1, le=64, description="How many of the loudest passages to encode.")
    excerpt_s: float = Field(3.0, ge=0.5, le=60.0, description="Length of each passage, seconds.")
    preroll_s: float = Field(
        0.5,
        ge=0.1,
        le=5.0,
        description="Audio encoded before each passage and not measured (encoder settling), seconds.",
    )
    full: bool = Field(
        False, description="Encode the whole file instead of passages (thorough; ~4 s of CPU per minute)."
    )
    merge_gap_s: float = Field(
        DEFAULT_MERGE_GAP_S, ge=0.0, le=10.0, description="Overs closer than this are one event, seconds."
    )

    @model_validator(mode="after")
    def _some_codec(self) -> CodecParams:
        if self.aac_kbps is None and self.mp3_kbps is None:
            raise ValueError("aac_kbps and mp3_kbps are both null: there is nothing to encode")
        return self

    def kbps(self, codec: _Codec) -> int | None:
        """The bitrate asked for ``codec``, or None if it is skipped."""
        return self.aac_kbps if codec.name == "aac" else self.mp3_kbps


@register
class CodecRoundTrip(Extractor):
    """The registry's entry for the codec features (names and :class:`CodecParams`, for rule packs).

    They are computed after the streaming pass by :func:`codec_features` (``qc.check`` does this); the
    streaming pass alone reports them unavailable.
    """

    provides = CODEC_FEATURES
    Params = CodecParams

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        raise FeatureUnavailable("codec features are computed after the streaming pass, by qc.codec")


def is_codec_feature(name: str) -> bool:
    """Whether ``name`` is computed by the codec stage rather than the streaming pass."""
    return name in CODEC_FEATURES


# --- Choosing the passages ----------------------------------------------------------------------------


def choose_excerpts(
    envelope: WaveformEnvelope | None,
    frames: int,
    sample_rate: int,
    params: CodecParams,
    overs: Sequence[Event] = (),
) -> list[tuple[int, int]]:
    """The passages to encode: sorted, non-overlapping ``[start, stop)`` frame ranges.

    Each column of the waveform overview is scored by its peak plus :data:`RMS_WEIGHT` times its RMS
    (linear), the peak being the true peak of any of ``overs`` in the column if that is higher than its
    sample peak (a sample-peak limiter leaves every loud column at the same sample peak; the inter-sample
    overs differ). The best column gets a window of ``excerpt_s`` centred on it (moved inside the file
    if needed), the columns that would give an overlapping window are dropped, and so on ``excerpts``
    times. Windows closer than their pre- and post-roll are joined. The whole file is one range when
    ``full`` is set or the windows would cover it; without an overview, windows are spread evenly.

    Parameters
    ----------
    envelope
        The ``waveform_envelope`` feature (per-column min, max and RMS), or None.
    frames, sample_rate
        Length of the file (frames) and its sample rate (Hz).
    params
        ``excerpts``, ``excerpt_s``, ``preroll_s`` and ``full``.
    overs
        The ``true_peak_events`` feature (regions over -1 dBTP, with their true peak in dBTP).

    Returns
    -------
    list of (int, int)
        Frame ranges in time order.

    Examples
    --------
    >>> choose_excerpts(None, 441000, 44100, CodecParams(excerpts=2, excerpt_s=1.0))
    [(88200, 132300), (308700, 352800)]
    """
    length = seconds_to_frames(params.excerpt_s, sample_rate)
    if params.full or params.excerpts * length >= frames:
        return [(0, frames)]
    if envelope is None or not envelope.max:
        spacing = frames / params.excerpts
        starts = [int((i + 0.5) * spacing) - length // 2 for i in range(params.excerpts)]
        return _joined([(start, start + length) for start in starts], 0)
    peak = np.maximum(np.abs(np.asarray(envelope.min)), np.abs(np.asarray(envelope.max)))
    for event in overs:
        if event.value is not None:
            low = min(int(event.start_s / envelope.column_s), len(peak) - 1)
            high = min(int(event.end_s / envelope.column_s), len(peak) - 1) + 1
            peak[low:high] = np.maximum(peak[low:high], db_to_gain(event.value))
    score = peak + RMS_WEIGHT * np.asarray(envelope.rms)
    column = envelope.column_s * sample_rate  # frames per column
    windows = []
    for _ in range(params.excerpts):
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        centre = (best + 0.5) * column
        start = int(min(max(round(centre - length / 2), 0), frames - length))
        windows.append((start, start + length))
        # a window centred in [start - length/2, stop + length/2) would overlap this one
        low = max(0, math.floor((start - length / 2) / column))
        high = math.ceil((start + 1.5 * length) / column)
        score[low:high] = -np.inf
    roll = seconds_to_frames(params.preroll_s + POSTROLL_S, sample_rate)
    return _joined(windows, roll)


def _joined(windows: Sequence[tuple[int, int]], roll: int) -> list[tuple[int, int]]:
    """Sort ranges and join those that overlap or are less than ``roll`` frames apart."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(windows):
        if out and start - out[-1][1] < roll:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out


# --- Measuring the decoded signal ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    """Decoded frames ``[decoded_start, decoded_stop)`` are file frames from ``file_start`` on."""

    decoded_start: int
    decoded_stop: int
    file_start: int


class _DecodedMeter:
    """True peak and full-scale runs of a decoded stream, inside the measured regions only.

    Fed in blocks (any size); keeps :data:`~qc.dsp.truepeak.CONTEXT_FRAMES` of context across them,
    so the result does not depend on the block size. The stream is taken as zero before its start and
    after its end. ``scale`` is file frames per decoded frame (1 unless ffmpeg resampled).
    """

    def __init__(self, channels: int, regions: Sequence[_Region], scale: float, gap_frames: int) -> None:
        self._regions = regions
        self._scale = scale
        self._carry = np.zeros((CONTEXT_FRAMES, channels))
        self._origin = -CONTEXT_FRAMES  # decoded frame of carry[0]
        self._next = 0  # first interval [n, n+1] not yet measured
        self.peak = 0.0  # linear true peak so far
        self.peak_at = 0.0  # where it is, file frames
        self.merger = EventMerger(channels, gap_frames, np.maximum)

    def update(self, block: np.ndarray) -> None:
        buffer = np.concatenate((self._carry, block))
        limit = self._origin + len(buffer) - CONTEXT_FRAMES  # intervals below this have full context
        for region in self._regions:
            start, stop = max(self._next, region.decoded_start), min(limit, region.decoded_stop)
            if start < stop:
                self._measure(buffer, start - self._origin, stop - start, region, start)
        self._next = max(self._next, limit)
        keep = self._next - CONTEXT_FRAMES
        self._carry = buffer[keep - self._origin :]
        self._origin = keep

    def finish(self) -> None:
        self.update(np.zeros((CONTEXT_FRAMES, self._carry.shape[1])))

    def _measure(self, x: np.ndarray, first: int, count: int, region: _Region, start: int) -> None:
        # True peak: the stage-1 grid everywhere, the fine interpolation where it may beat the maximum.
        grid = interval_peaks(x, first, count, floor=self.peak / _MARGIN)
        lower = max(self.peak, float(grid.max()) / _OVERREAD)
        channel, index = np.nonzero((grid >= lower / _MARGIN) & (grid > 0.0))
        if len(index):
            peak, position = refine_interval_peaks(x, channel, index + first)
            best = int(np.argmax(peak))
            if peak[best] > self.peak:
                self.peak = float(peak[best])
                decoded = self._origin + float(position[best])
                self.peak_at = region.file_start + (decoded - region.decoded_start) * self._scale
        # Runs of samples at or above full scale.
        samples = np.abs(x[first : first + count])
        over = samples >= CLIP_LEVEL
        if not over.any():
            return
        for c in range(x.shape[1]):
            column = over[:, c]
            if not column.any():
                continue
            edges = np.diff(np.concatenate(([False], column, [False])).view(np.int8))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            values = np.maximum.reduceat(samples[:, c], starts)  # between runs every sample is lower
            offset = start - region.decoded_start
            file_starts = region.file_start + np.round((offset + starts) * self._scale).astype(np.intp)
            file_ends = region.file_start + np.round((offset + ends) * self._scale).astype(np.intp)
            self.merger.add(c, file_starts, np.maximum(file_ends, file_starts + 1), values)


# --- Running ffmpeg -----------------------------------------------------------------------------------


class _CodecFailed(Exception):
    """One codec could not be run; the message is the reason shown to the user."""


@dataclass
class _Source:
    """What to encode: blocks at the file's rate, and where the measured regions lie once decoded."""

    sample_rate: int
    channels: int
    codec_rate: int
    blocks: Callable[[], Iterable[np.ndarray]]
    regions: list[_Region]


@dataclass
class _Measured:
    peak: float
    peak_at: float  # file frames
    events: list[tuple[int, int, int, float]]  # (start, end, channel, value) in file frames, linear value
    dropped: int
    seconds: float


def _tail(path: Path) -> str:
    """The last line ffmpeg wrote to its log, for an error message."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _run_codec(ffmpeg: str, codec: _Codec, kbps: int, source: _Source, workdir: Path, gap: int) -> _Measured:
    """Encode ``source`` with one codec, decode it and measure the regions."""
    began = time.perf_counter()
    encoded = workdir / f"round-trip.{codec.suffix}"
    log_path = workdir / f"{codec.name}.log"
    encode = [ffmpeg, "-hide_banner", "-nostats", "-v", "error", "-f", "f32le"]
    encode += ["-ar", str(source.sample_rate), "-ac", str(source.channels), "-i", "pipe:0"]
    if source.codec_rate != source.sample_rate:
        encode += ["-ar", str(source.codec_rate)]
    encode += ["-c:a", codec.encoder, "-b:a", f"{kbps}k", *codec.options]
    encode += ["-f", codec.muxer, "-y", str(encoded)]
    # Popen as a context manager closes the pipes and waits for ffmpeg, also when reading the file fails.
    with (
        log_path.open("wb") as errors,
        subprocess.Popen(encode, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors) as process,
    ):
        assert process.stdin is not None  # Popen with stdin=PIPE
        # If ffmpeg stops early (BrokenPipeError), its exit status and log say why.
        with contextlib.suppress(BrokenPipeError):
            for block in source.blocks():
                process.stdin.write(np.ascontiguousarray(block, dtype=np.float32).tobytes())
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        status = process.wait()
    if status != 0:
        detail = _tail(log_path)
        if "Unknown encoder" in detail or "Encoder not found" in detail:
            raise _CodecFailed(f"ffmpeg has no {codec.encoder} encoder: {codec.label} round trip skipped")
        raise _CodecFailed(f"ffmpeg could not encode {codec.label} at {kbps} kb/s ({detail or status})")

    decode = [ffmpeg, "-hide_banner", "-nostats", "-nostdin", "-v", "error", "-i", str(encoded)]
    decode += ["-f", "f32le", "-ac", str(source.channels), "pipe:1"]
    meter = _DecodedMeter(source.channels, source.regions, source.sample_rate / source.codec_rate, gap)
    frame_bytes = 4 * source.channels
    with (
        log_path.open("wb") as errors,
        subprocess.Popen(decode, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors) as process,
    ):
        assert process.stdout is not None  # Popen with stdout=PIPE
        while chunk := process.stdout.read(DECODE_BLOCK_FRAMES * frame_bytes):
            usable = len(chunk) - len(chunk) % frame_bytes
            block = np.frombuffer(chunk[:usable], dtype=np.float32).reshape(-1, source.channels)
            meter.update(block.astype(np.float64))
        status = process.wait()
    if status != 0:
        raise _CodecFailed(f"ffmpeg could not decode its {codec.label} file ({_tail(log_path) or status})")
    meter.finish()
    events = meter.merger.finish()
    return _Measured(meter.peak, meter.peak_at, events, meter.merger.dropped, time.perf_counter() - began)


def _codec_rate(sample_rate: int) -> int:
    """The rate the encoders run at: the file's if both accept it, else 44.1 or 48 kHz."""
    if sample_rate in CODEC_RATES:
        return sample_rate
    return 44100 if sample_rate % 11025 == 0 else 48000


def _excerpt_source(info: AudioInfo, windows: Sequence[tuple[int, int]], params: CodecParams) -> _Source:
    """The windows with their pre- and post-roll, faded at the outer ends, read by seeking."""
    import soundfile

    rate, channels = info.sample_rate, info.channels
    codec_rate = _codec_rate(rate)
    pre = seconds_to_frames(params.preroll_s, rate)
    post = seconds_to_frames(POSTROLL_S, rate)
    fade = min(seconds_to_frames(FADE_S, rate), pre, post)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
    gap = np.zeros((seconds_to_frames(GAP_S, rate), channels))
    pieces: list[np.ndarray] = []
    regions: list[_Region] = []
    position = 0
    with soundfile.SoundFile(info.path) as handle:
        for start, stop in windows:
            first, last = start - pre, stop + post
            piece = np.zeros((last - first, channels))
            lo, hi = max(first, 0), min(last, info.frames)
            handle.seek(lo)
            read = handle.read(hi - lo, dtype="float64", always_2d=True)
            piece[lo - first : lo - first + len(read)] = read
            piece[:fade] *= ramp[:, None]
            piece[len(piece) - fade :] *= ramp[::-1, None]
            begin = position + pre
            regions.append(
                _Region(
                    decoded_start=round(begin * codec_rate / rate),
                    decoded_stop=round((begin + stop - start) * codec_rate / rate),
                    file_start=start,
                )
            )
            pieces += [piece, gap]
            position += len(piece) + len(gap)
    signal = np.concatenate(pieces)
    return _Source(rate, channels, codec_rate, lambda: [signal], regions)


def _file_source(info: AudioInfo) -> _Source:
    """The whole file, streamed in blocks."""
    codec_rate = _codec_rate(info.sample_rate)
    decoded = round(info.frames * codec_rate / info.sample_rate)
    return _Source(
        info.sample_rate,
        info.channels,
        codec_rate,
        lambda: (block for _, block in iter_blocks(info)),
        [_Region(0, decoded, 0)],
    )


@dataclass
class CodecResult:
    """The outcome of one round trip: per-codec true peaks, why any codec did not run, the overs.

    ``peaks_dbtp`` maps a codec name (``"aac"``, ``"mp3"``) to its decoded true peak (dBTP);
    ``peaks_s`` where that peak is (seconds into the file); ``reasons`` maps the codecs that did not
    run to why; ``events`` are the full-scale runs of all codecs together; ``excerpts_s`` the
    ``(start_s, end_s)`` passages measured; ``seconds`` the wall time of each codec's round trip.
    """

    peaks_dbtp: dict[str, float] = field(default_factory=dict)
    peaks_s: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    excerpts_s: list[tuple[float, float]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def features(self) -> dict[str, FeatureValue | Unavailable]:
        """Every codec feature's value, or :class:`Unavailable` with the reason."""
        out: dict[str, FeatureValue | Unavailable] = {}
        for codec in CODECS:
            if codec.name in self.peaks_dbtp:
                out[codec.feature] = self.peaks_dbtp[codec.name]
            else:
                out[codec.feature] = Unavailable(self.reasons.get(codec.name, "not computed"))
        if self.peaks_dbtp:
            out["codec_true_peak_dbtp"] = max(self.peaks_dbtp.values())
            out["codec_clip_events"] = self.events
        else:
            reason = next(iter(self.reasons.values()), FFMPEG_MISSING)
            out["codec_true_peak_dbtp"] = Unavailable(reason)
            out["codec_clip_events"] = Unavailable(reason)
        return out


def round_trip(
    info: AudioInfo,
    params: CodecParams | None = None,
    envelope: WaveformEnvelope | None = None,
    overs: Sequence[Event] = (),
) -> CodecResult:
    """Encode passages of a file (or all of it) to AAC and MP3 with ffmpeg, decode, and measure the overs.

    Parameters
    ----------
    info
        The validated file (:func:`qc.audio.open_audio`).
    params
        Codecs, bitrates and passages (:class:`CodecParams`; default AAC 256 and MP3 320, 4 × 3 s).
    envelope, overs
        The file's ``waveform_envelope`` and ``true_peak_events`` from the streaming pass, to choose the
        passages (:func:`choose_excerpts`).

    Returns
    -------
    CodecResult
        With ``reasons`` set for every codec (and no peaks) when ffmpeg is not installed.

    Raises
    ------
    AudioError
        If the file cannot be read (it was read once already, so only if it changed meanwhile).
    """
    params = params or CodecParams()
    wanted = [(codec, params.kbps(codec)) for codec in CODECS]
    active = [(codec, kbps) for codec, kbps in wanted if kbps is not None]
    result = _round_trip(info, params, active, envelope, overs)
    for codec, kbps in wanted:  # after the others, so that features() names a failure first
        if kbps is None:
            result.reasons[codec.name] = f"{codec.label} round trip not asked for ({codec.name}_kbps: null)"
    return result


def _round_trip(
    info: AudioInfo,
    params: CodecParams,
    active: Sequence[tuple[_Codec, int]],
    envelope: WaveformEnvelope | None,
    overs: Sequence[Event],
) -> CodecResult:
    """:func:`round_trip` for the codecs in ``active`` (with their bitrates)."""
    result = CodecResult()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        for codec, _ in active:
            result.reasons[codec.name] = FFMPEG_MISSING
        return result
    windows = choose_excerpts(envelope, info.frames, info.sample_rate, params, overs)
    rate = info.sample_rate
    result.excerpts_s = [(frames_to_seconds(a, rate), frames_to_seconds(b, rate)) for a, b in windows]
    source = _file_source(info) if windows == [(0, info.frames)] else _excerpt_source(info, windows, params)
    gap = seconds_to_frames(params.merge_gap_s, rate)
    with tempfile.TemporaryDirectory(prefix="mixqc-codec-") as tmp, ThreadPoolExecutor(len(active)) as pool:
        jobs = {}
        for codec, kbps in active:
            workdir = Path(tmp) / codec.name
            workdir.mkdir()
            jobs[codec] = pool.submit(_run_codec, ffmpeg, codec, kbps, source, workdir, gap)
        measured: list[_Measured] = []
        for codec, job in jobs.items():
            try:
                outcome = job.result()
            except _CodecFailed as exc:
                result.reasons[codec.name] = str(exc)
                log.info("%s: %s", info.path, exc)
                continue
            except OSError as exc:  # ffmpeg vanished or could not start
                result.reasons[codec.name] = f"ffmpeg could not run ({exc}): {codec.label} round trip skipped"
                continue
            result.peaks_dbtp[codec.name] = gain_to_db(outcome.peak)
            result.peaks_s[codec.name] = frames_to_seconds(outcome.peak_at, rate)
            result.seconds[codec.name] = outcome.seconds
            measured.append(outcome)
    result.events = _union(info, measured)
    log.info(
        "%s: codec round trip of %.1f s: %s",
        info.path,
        sum(b - a for a, b in result.excerpts_s),
        ", ".join(
            f"{name} {value:+.2f} dBTP in {result.seconds[name]:.2f} s"
            for name, value in result.peaks_dbtp.items()
        ),
    )
    return result


def _union(info: AudioInfo, measured: Sequence[_Measured]) -> list[Event]:
    """The overs of every codec as one list: overlapping events of a channel become one (highest value)."""
    runs = sorted((run for outcome in measured for run in outcome.events), key=lambda r: (r[2], r[0]))
    merged: list[list[float]] = []
    for start, end, channel, value in runs:
        last = merged[-1] if merged else None
        if last is not None and last[2] == channel and start <= last[1]:
            last[1], last[3] = max(last[1], end), max(last[3], value)
        else:
            merged.append([start, end, channel, value])
    dropped = sum(outcome.dropped for outcome in measured)
    if dropped:
        log.info("%s: codec_clip_events: %d more events not listed", info.path, dropped)
    rate = info.sample_rate
    events = [
        Event(
            start_s=frames_to_seconds(max(int(start), 0), rate),
            end_s=frames_to_seconds(min(int(end), info.frames), rate),
            channel=int(channel),
            value=gain_to_db(value),
        )
        for start, end, channel, value in merged
    ]
    return sorted(events, key=lambda e: (e.start_s, e.channel))


def codec_features(
    info: AudioInfo,
    requests: Iterable[FeatureRequest],
    found: FeatureSet,
    *,
    full: bool | None = None,
) -> Iterator[tuple[tuple[str, str], FeatureValue | Unavailable]]:
    """The codec features the requests ask for, after the streaming pass: ``(key, value)`` pairs.

    Runs one round trip per distinct set of parameters and yields every codec feature for it, keyed
    like a :class:`~qc.analysis.FeatureSet` (``(name, params_key)``).

    Parameters
    ----------
    info
        The file.
    requests
        Feature requests; those not for codec features are ignored.
    found
        The streaming pass's features: ``waveform_envelope`` and ``true_peak_events`` choose the passages.
    full
        Override every request's ``full`` parameter (True: encode the whole file, for a thorough check).
    """
    envelope = cast("WaveformEnvelope | None", found.get("waveform_envelope"))  # the overview's value
    overs = found.get("true_peak_events")
    over_events = cast("list[Event]", overs) if isinstance(overs, list) else []
    groups: dict[str, Mapping[str, Any]] = {}
    for request in requests:
        if is_codec_feature(request.name):
            groups.setdefault(params_key(request.params), request.params)
    for key, given in groups.items():
        params = CodecParams.model_validate(dict(given))
        if full is not None:
            params = params.model_copy(update={"full": full})
        values = round_trip(info, params, envelope, over_events).features()
        for name, value in values.items():
            yield (name, key), value


__all__ = [
    "CODECS",
    "CODEC_FEATURES",
    "CODEC_NEEDS",
    "FFMPEG_MISSING",
    "CodecParams",
    "CodecResult",
    "CodecRoundTrip",
    "choose_excerpts",
    "codec_features",
    "is_codec_feature",
    "round_trip",
]
