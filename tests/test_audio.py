"""Audio input: description of good files, one clear AudioError for each kind of bad file."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile
from signals import sine, write

from qc.audio import iter_blocks, open_audio
from qc.errors import AudioError


@pytest.mark.parametrize(
    ("suffix", "subtype", "fmt", "bits"),
    [
        (".wav", "PCM_16", "WAV", 16),
        (".wav", "PCM_24", "WAV", 24),
        (".flac", "PCM_24", "FLAC", 24),
        (".aiff", "PCM_16", "AIFF", 16),
        (".wav", "FLOAT", "WAV", 32),
    ],
)
def test_open_audio_describes_format_size_and_checksum(tmp_path, suffix, subtype, fmt, bits):
    path = write(tmp_path / f"tone{suffix}", sine(1000, -6, 1.5, 44100, 2), 44100, subtype)
    info = open_audio(path)
    assert (info.format, info.subtype, info.bit_depth) == (fmt, subtype, bits)
    assert (info.sample_rate, info.channels, info.frames) == (44100, 2, 66150)
    assert info.duration_s == pytest.approx(1.5)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_ogg_vorbis_is_read_and_marked_lossy(tmp_path):
    path = write(tmp_path / "tone.ogg", sine(440, -6, 1.0, 44100, 2), 44100, "VORBIS")
    info = open_audio(path)
    assert info.lossy and info.bit_depth is None
    assert sum(block.shape[0] for _, block in iter_blocks(info)) == pytest.approx(44100, abs=2048)


def test_blocks_cover_the_file_in_order_without_gaps(tmp_path):
    x = sine(997, -3, 2.0, 48000, 2)
    info = open_audio(write(tmp_path / "t.wav", x, 48000, "FLOAT"))
    starts, blocks = zip(*iter_blocks(info, block_frames=10000), strict=True)
    assert list(starts) == list(range(0, 96000, 10000))
    np.testing.assert_allclose(np.concatenate(blocks), x, atol=1e-7)


def _expect_error(path, fragment: str) -> str:
    with pytest.raises(AudioError, match=fragment) as caught:
        info = open_audio(path)
        for _ in iter_blocks(info):
            pass
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_file_is_refused(tmp_path):
    _expect_error(tmp_path / "nope.wav", "no such file")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _expect_error(path, "empty")


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not the samples you are looking for\n" * 20)
    _expect_error(path, "not a readable audio file")


def test_six_channel_file_is_refused_with_remedy(tmp_path):
    path = write(tmp_path / "surround.wav", np.zeros((4800, 6)), 48000, "PCM_16")
    _expect_error(path, "6 channels.*export a stereo mix")


def test_zero_frame_file_is_refused(tmp_path):
    path = write(tmp_path / "zero.wav", np.zeros((0, 2)), 48000, "PCM_16")
    _expect_error(path, "no audio")


def test_truncated_wav_is_refused(tmp_path):
    path = write(tmp_path / "cut.wav", sine(440, -6, 1.0, 48000, 2), 48000, "PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect_error(path, "truncated")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples_are_refused_with_time(tmp_path, bad):
    x = sine(440, -6, 2.0, 48000, 2)
    x[72000, 1] = bad
    path = tmp_path / "bad.wav"
    soundfile.write(str(path), x, 48000, subtype="FLOAT")
    message = _expect_error(path, "NaN or infinite")
    assert "0:01.500" in message
