"""Trim and fades at known frames, and the builders from the check's silence features."""

from __future__ import annotations

import math

import numpy as np
import pytest
from harness import run_extractor
from signals import noise, silence

from qc.errors import MasterError
from qc.features.silence import Silence
from qc.master.edit import (
    HEAD_KEEP_S,
    TAIL_KEEP_S,
    Fade,
    Trim,
    fade_from_features,
    fade_in_gains,
    trim_from_features,
)
from qc.master.stage import run_stages

RATE = 48000


def raised_cosine(length: int) -> np.ndarray:
    """Fade-in gains computed independently: (1 - cos(pi (k + 1/2) / n)) / 2."""
    return 0.5 * (1.0 - np.cos(math.pi * (np.arange(length) + 0.5) / length))


def music_like(duration_s: float, seed: int = 0) -> np.ndarray:
    """Stereo noise at -20 dBFS RMS: loud from its first to its last sample."""
    return noise(-20.0, duration_s, RATE, 2, seed=seed)


def silence_features(x: np.ndarray) -> dict:
    return run_extractor(Silence, x, RATE)


# --- Trim ----------------------------------------------------------------------------------------------


def test_trim_keeps_the_frames_between_the_cuts_and_fades_the_new_edges():
    x = music_like(1.0)
    out = run_stages([Trim(4800, 40_000, RATE)], x, block_frames=1024)  # 10 ms fade-in, 50 ms fade-out
    fade_in, fade_out = 480, 2400
    assert out.shape == (40_000 - 4800, 2)
    assert np.array_equal(out[fade_in:-fade_out], x[4800 + fade_in : 40_000 - fade_out])
    assert np.allclose(
        out[:fade_in], x[4800 : 4800 + fade_in] * raised_cosine(fade_in)[:, None], rtol=0, atol=1e-15
    )
    tail = x[40_000 - fade_out : 40_000] * raised_cosine(fade_out)[::-1, None]
    assert np.allclose(out[-fade_out:], tail, rtol=0, atol=1e-15)


def test_trim_leaves_an_uncut_end_unfaded():
    x = music_like(0.5)
    out = run_stages([Trim(0, len(x), RATE)], x)  # the file ends exactly at end_frame: nothing is cut
    assert np.array_equal(out, x)
    out = run_stages([Trim(0, None, RATE)], x)
    assert np.array_equal(out, x)


def test_trim_in_digital_silence_changes_no_sample_and_says_no_fade_was_needed():
    x = np.concatenate((silence(1.0, RATE), music_like(1.0), silence(2.0, RATE)))
    stage = Trim(RATE // 2, 3 * RATE, RATE)
    out = run_stages([stage], x)
    assert np.array_equal(out, x[RATE // 2 : 3 * RATE])
    change = stage.change()
    assert change.values["removed_head_s"] == pytest.approx(0.5)
    assert change.values["removed_tail_s"] == pytest.approx(1.0)
    assert change.values["fade_in_ms"] == 0.0 and change.values["fade_out_ms"] == 0.0
    assert "no fade-in (the cut lands in digital silence)" in change.summary


@pytest.mark.parametrize("block_frames", [1, 100, 1024, 65536])
def test_trim_output_is_independent_of_the_block_size(block_frames):
    x = music_like(0.2)
    reference = run_stages([Trim(1000, 8000, RATE)], x, block_frames=len(x))
    assert np.array_equal(run_stages([Trim(1000, 8000, RATE)], x, block_frames=block_frames), reference)


def test_trim_reports_what_it_removed():
    x = music_like(2.0)
    stage = Trim(RATE // 4, RATE, RATE)
    run_stages([stage], x)
    change = stage.change()
    assert change.values["removed_head_s"] == pytest.approx(0.25)
    assert change.values["removed_tail_s"] == pytest.approx(1.0)
    assert change.values["duration_s"] == pytest.approx(0.75)
    assert change.values["fade_in_ms"] == 10.0 and change.values["fade_out_ms"] == 50.0
    assert change.summary == (
        "removed 0.250 s at the head and 1.000 s at the tail (from 0:01.000); 10 ms fade-in, 50 ms fade-out"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_frame": -1, "end_frame": None}, "negative"),
        ({"start_frame": 100, "end_frame": 100}, "nothing would remain"),
        ({"start_frame": 0, "end_frame": None, "fade_out_ms": -5.0}, "fade-out: -5 ms"),
    ],
)
def test_bad_trims_are_refused(kwargs, message):
    with pytest.raises(MasterError, match=message):
        Trim(sample_rate=RATE, **kwargs)


def test_trim_from_the_checks_features_leaves_the_documented_pre_roll_and_tail():
    x = np.concatenate((silence(3.0, RATE), music_like(2.0), silence(5.0, RATE)))
    before = silence_features(x)
    assert before["leading_silence_s"] == pytest.approx(3.0, abs=1e-3)
    stage = trim_from_features(before, RATE, len(x))
    assert stage.start_frame == round((3.0 - HEAD_KEEP_S) * RATE)
    assert stage.end_frame == len(x) - round((5.0 - TAIL_KEEP_S) * RATE)
    after = silence_features(run_stages([stage], x))
    assert after["leading_silence_s"] == pytest.approx(HEAD_KEEP_S, abs=1e-3)
    assert after["trailing_silence_s"] == pytest.approx(TAIL_KEEP_S, abs=1e-3)


def test_trim_from_features_leaves_short_silences_and_unchecked_ends_alone():
    stage = trim_from_features(
        {"leading_silence_s": 0.1, "trailing_silence_s": 6.0}, RATE, 20 * RATE, tail=False
    )
    assert (stage.start_frame, stage.end_frame) == (0, None)
    stage = trim_from_features({"leading_silence_s": None, "trailing_silence_s": None}, RATE, 20 * RATE)
    assert (stage.start_frame, stage.end_frame) == (0, None)


# --- Fade ----------------------------------------------------------------------------------------------


def test_fade_in_and_out_at_known_frames_leave_everything_else_bit_identical():
    x = music_like(1.0)
    stage = Fade(RATE, 10.0, 50.0, in_start_frame=1000, out_end_frame=30_000)
    out = run_stages([stage], x, block_frames=1024)
    assert out.shape == x.shape
    assert np.array_equal(out[:1000], x[:1000])
    assert np.allclose(out[1000:1480], x[1000:1480] * raised_cosine(480)[:, None], rtol=0, atol=1e-15)
    assert np.array_equal(out[1480:27_600], x[1480:27_600])
    assert np.allclose(
        out[27_600:30_000], x[27_600:30_000] * raised_cosine(2400)[::-1, None], rtol=0, atol=1e-15
    )
    assert np.array_equal(out[30_000:], x[30_000:])
    change = stage.change()
    assert change.values["fade_in_start_s"] == pytest.approx(1000 / RATE)
    assert change.values["fade_out_end_s"] == pytest.approx(30_000 / RATE)


@pytest.mark.parametrize("block_frames", [1, 100, 1024, 65536])
def test_fade_out_at_the_end_of_the_file_is_independent_of_the_block_size(block_frames):
    x = music_like(0.2)
    out = run_stages([Fade(RATE, 0.0, 50.0)], x, block_frames=block_frames)
    assert np.array_equal(out[:-2400], x[:-2400])
    assert np.allclose(out[-2400:], x[-2400:] * raised_cosine(2400)[::-1, None], rtol=0, atol=1e-15)


def test_fade_out_longer_than_the_file_ends_at_zero_gain():
    x = music_like(0.01)  # 480 frames, fade 2400 frames
    out = run_stages([Fade(RATE, 0.0, 50.0)], x, block_frames=100)
    assert np.allclose(out, x * raised_cosine(2400)[::-1][-480:, None], rtol=0, atol=1e-15)


def test_fades_from_the_checks_features_cure_an_abrupt_end():
    x = np.concatenate((silence(0.5, RATE), music_like(2.0), silence(1.0, RATE)))
    before = silence_features(x)
    assert before["abrupt_start"] and before["abrupt_end"]
    stage = fade_from_features(before, RATE, len(x))
    assert stage.in_start_frame == RATE // 2
    assert stage.out_end_frame == RATE // 2 + 2 * RATE
    out = run_stages([stage], x)
    assert np.array_equal(out[: RATE // 2], x[: RATE // 2])
    assert np.array_equal(out[stage.out_end_frame :], x[stage.out_end_frame :])
    after = silence_features(out)
    assert not after["abrupt_end"]
    assert after["abrupt_end_db"] < before["abrupt_end_db"] - 20.0


def test_fade_from_features_fades_only_the_abrupt_edge():
    stage = fade_from_features(
        {"abrupt_start": False, "abrupt_end": True, "leading_silence_s": 0.0, "trailing_silence_s": 0.0},
        RATE,
        RATE,
    )
    assert (stage.fade_in_ms, stage.fade_out_ms, stage.out_end_frame) == (0.0, 50.0, None)


def test_fade_in_gains_are_zero_before_and_one_after_the_fade():
    gains = fade_in_gains(np.array([-5, -1, 0, 99, 100, 500]), 100)
    assert gains[:2].tolist() == [0.0, 0.0] and gains[-2:].tolist() == [1.0, 1.0]
    assert gains[2] == pytest.approx(raised_cosine(100)[0]) and gains[3] == pytest.approx(
        raised_cosine(100)[-1]
    )
