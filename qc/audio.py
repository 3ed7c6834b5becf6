"""Open, validate and describe an audio file, and read it in blocks.

The only module that touches audio files for reading. It does not analyse anything: it yields float64
blocks shaped ``(frames, channels)`` and raises :class:`~qc.errors.AudioError` with one clear sentence
for anything mixqc cannot analyse (unreadable, empty, truncated, more than two channels, NaN/Inf).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from .errors import AudioError
from .units import format_mmss

DEFAULT_BLOCK_FRAMES = 1 << 16
MAX_CHANNELS = 2
MIN_SAMPLE_RATE = 8000  # Hz; the K-weighting shelf (1.68 kHz) must sit well below Nyquist

# Bits of resolution carried by each libsndfile subtype; None for lossy codecs.
_SUBTYPE_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ALAC_16": 16,
    "ALAC_20": 20,
    "ALAC_24": 24,
    "ALAC_32": 32,
}
_LOSSY_SUBTYPES = {"VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"}


class AudioInfo(BaseModel):
    """What a file is: container, encoding and size (the report's ``file`` section)."""

    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str
    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    bit_depth: int | None = None
    lossy: bool = False
    size_bytes: int = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _wav_data_shortfall(path: Path) -> int:
    """Bytes the WAV ``data`` chunk declares beyond the end of the file (0 if complete or not a WAV)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                if chunk_size == 0xFFFFFFFF:  # streaming writers leave the size unset
                    return 0
                return int(max(0, offset + 8 + chunk_size - size))
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def open_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Validate an audio file and describe it.

    Parameters
    ----------
    path
        WAV, FLAC, AIFF, OGG/Vorbis or MP3 file (anything libsndfile reads).

    Returns
    -------
    AudioInfo
        Format, subtype, sample rate (Hz), channels, frames, duration (s) and the file's sha256.

    Raises
    ------
    AudioError
        If the file is missing, unreadable, empty, truncated or has more than two channels.
    """
    import soundfile

    file = Path(path)
    name = str(path)
    if not file.exists():
        raise AudioError(f"{name}: no such file")
    if file.is_dir():
        raise AudioError(f"{name}: is a folder, not an audio file")
    if not file.is_file():
        raise AudioError(f"{name}: not a regular file (a device or a pipe); give an audio file")
    if file.stat().st_size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes)")
    try:
        info = soundfile.info(str(file))
    except Exception as exc:  # libsndfile reports every unreadable file the same way
        reason = str(exc).split(":")[-1].strip() or "unknown format"
        raise AudioError(
            f"{name}: not a readable audio file ({reason}); export WAV, FLAC, AIFF, OGG or MP3"
        ) from None
    if info.channels > MAX_CHANNELS:
        raise AudioError(
            f"{name}: {info.channels} channels; mixqc analyses mono or stereo — export a stereo mix"
        )
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError(f"{name}: contains no audio (0 frames)")
    if info.samplerate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"{name}: sample rate {info.samplerate} Hz is below {MIN_SAMPLE_RATE} Hz; loudness weighting "
            "(ITU-R BS.1770) is undefined there — export at 44.1 kHz or higher"
        )
    shortfall = _wav_data_shortfall(file)
    if shortfall:
        raise AudioError(
            f"{name}: truncated — the WAV header declares {shortfall} more bytes of audio than the file "
            "holds; export or copy the file again"
        )
    return AudioInfo(
        path=name,
        sha256=_sha256(file),
        format=info.format,
        subtype=info.subtype,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration_s=info.frames / info.samplerate,
        bit_depth=_SUBTYPE_BITS.get(info.subtype),
        lossy=info.subtype in _LOSSY_SUBTYPES,
        size_bytes=file.stat().st_size,
    )


def iter_blocks(
    info: AudioInfo, block_frames: int = DEFAULT_BLOCK_FRAMES
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start_frame, block)`` with ``block`` float64 shaped ``(frames, channels)``, in order.

    Blocks do not overlap; the last one may be shorter. Memory does not grow with duration.

    Raises
    ------
    AudioError
        On NaN or infinite samples (with the time of the first one) or a read error part-way through.
    """
    import soundfile

    start = 0
    try:
        with soundfile.SoundFile(info.path) as handle:
            while True:
                block = handle.read(block_frames, dtype="float64", always_2d=True)
                if block.shape[0] == 0:
                    break
                if not np.isfinite(block).all():
                    bad = int(np.argwhere(~np.isfinite(block))[0][0])
                    at = format_mmss((start + bad) / info.sample_rate)
                    raise AudioError(
                        f"{info.path}: contains NaN or infinite samples (first at {at}); "
                        "re-export the mix as PCM or check the plug-in that produced it"
                    )
                yield start, block
                start += block.shape[0]
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            f"{info.path}: read error after {format_mmss(start / info.sample_rate)}: {exc}"
        ) from None
    if start == 0:
        raise AudioError(f"{info.path}: contains no audio (0 frames could be decoded)")
    if start < info.frames and not info.lossy:
        raise AudioError(
            f"{info.path}: truncated — {info.frames} frames declared but only {start} could be read"
        )
