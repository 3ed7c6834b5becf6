"""Run one feature extractor over an in-memory signal, block by block, the way ``qc.analysis`` does."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from qc.audio import AudioInfo
from qc.features.registry import Block, Extractor, FeatureValue, stream_class


def audio_info(
    x: np.ndarray,
    sample_rate: int,
    *,
    subtype: str = "FLOAT",
    bit_depth: int | None = 32,
    path: str = "test.wav",
    frames: int | None = None,
) -> AudioInfo:
    """The :class:`AudioInfo` of a WAV file holding ``x`` (``(frames, channels)``) at ``sample_rate``.

    ``frames`` overrides the frame count the header declares (default: ``len(x)``), e.g. for a file
    that holds more or fewer frames than its header promises.
    """
    return AudioInfo(
        path=path,
        sha256="",
        format="WAV",
        subtype=subtype,
        sample_rate=sample_rate,
        channels=x.shape[1],
        frames=x.shape[0] if frames is None else frames,
        duration_s=x.shape[0] / sample_rate,
        bit_depth=bit_depth,
    )


def run_extractor(
    cls: type[Extractor],
    x: np.ndarray,
    sample_rate: int,
    block_frames: int | None = 4096,
    *,
    info: AudioInfo | None = None,
    needed: Mapping[str, FeatureValue] | None = None,
    **params,
) -> dict:
    """Run extractor ``cls`` over ``x`` block by block and return its ``result``, as ``qc.analysis`` does.

    The shared streams ``cls`` declares are computed once per block and handed to it in the block.
    ``block_frames`` is the block size (None: the whole signal as one block); blocks are contiguous
    arrays. ``info`` defaults to :func:`audio_info` of ``x``; ``needed`` holds the values of the
    features ``cls`` needs (default: none); ``params`` are validated against ``cls.Params``.
    """
    info = audio_info(x, sample_rate) if info is None else info
    streams = [stream_class(name)(info) for name in cls.streams]
    extractor = cls(info, cls.Params.model_validate(params))
    step = block_frames or max(len(x), 1)
    for start in range(0, len(x), step):
        samples = np.ascontiguousarray(x[start : start + step])
        extractor.update(Block(start, samples, {stream.name: stream.process(samples) for stream in streams}))
    return extractor.result(needed or {})
