"""The streaming pass: one process or two give the same features, and a worker's failure surfaces."""

from __future__ import annotations

import logging
import math
import os

import numpy as np
import pytest
import soundfile
from music import music
from signals import write

from qc import analysis
from qc.analysis import FeatureRequest, analysis_workers, extract_features
from qc.audio import open_audio
from qc.codec import is_codec_feature
from qc.dsp.truepeak import true_peak
from qc.errors import AudioError
from qc.features.peaks import Clipping, Levels, TruePeak
from qc.features.registry import feature_names

BLOCK_FRAMES = 1024  # 4 s at 44.1 kHz: 173 blocks, far above analysis.MIN_SPLIT_BLOCKS (16)


@pytest.fixture
def mix_path(tmp_path):
    """4 s of music with two clicks and a clipped passage, so that event features have events."""
    x, sample_rate = music(4.0)
    x[int(1.3 * sample_rate), 0] += 0.2
    x[int(2.7 * sample_rate), 1] -= 0.2
    loud = slice(int(3.0 * sample_rate), int(3.2 * sample_rate))
    x[loud] = np.clip(8.0 * x[loud], -1.0, 1.0)
    return write(tmp_path / "mix.wav", x, sample_rate, "PCM_24")


def _streamed_requests() -> list[FeatureRequest]:
    return [FeatureRequest(name) for name in feature_names() if not is_codec_feature(name)]


def _same(a, b) -> bool:
    """Equal values, with NaN equal to NaN (pydantic models compared field by field)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "model_dump"):
        return _same(a.model_dump(), b.model_dump())
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _assert_no_child_processes() -> None:
    with pytest.raises(ChildProcessError):  # no child left, running or zombie
        os.waitpid(-1, os.WNOHANG)


def _split_logged(caplog) -> bool:
    return any("analysis split over 2 processes" in record.getMessage() for record in caplog.records)


def test_two_processes_give_exactly_the_features_of_one(mix_path, caplog):
    info = open_audio(mix_path)
    requests = _streamed_requests()
    single = extract_features(info, requests, block_frames=BLOCK_FRAMES, workers=1)
    assert not _split_logged(caplog)
    with caplog.at_level(logging.DEBUG, logger="qc.analysis"):
        split = extract_features(info, requests, block_frames=BLOCK_FRAMES, workers=2)
    assert _split_logged(caplog)
    _assert_no_child_processes()
    assert list(split.values) == list(single.values)
    assert split.unavailable == single.unavailable
    differing = [key for key in single.values if not _same(single.values[key], split.values[key])]
    assert differing == []
    assert single.get("click_events") and single.get("clip_events")  # the comparison covers events


def test_true_peak_for_a_rule_with_its_own_ceiling_costs_one_pass(mix_path, monkeypatch):
    ceilings = []
    original = TruePeak.__init__

    def init(self, info, params):
        ceilings.append(params.ceiling_dbtp)
        original(self, info, params)

    monkeypatch.setattr(TruePeak, "__init__", init)
    info = open_audio(mix_path)
    requests = [  # plr_db needs true_peak_dbtp with default parameters, and comes first
        FeatureRequest("plr_db"),
        FeatureRequest("true_peak_dbtp"),
        FeatureRequest("true_peak_events", {"ceiling_dbtp": -3.0}),
    ]
    features = extract_features(info, requests, block_frames=BLOCK_FRAMES)
    assert ceilings == [-3.0]  # one pass, planned for the events
    x, _ = soundfile.read(str(mix_path), always_2d=True)
    expected_dbtp = 20.0 * math.log10(true_peak(x).max())
    assert features.get("true_peak_dbtp") == pytest.approx(expected_dbtp, abs=1e-6)
    assert features.get("plr_db") == pytest.approx(expected_dbtp - features.get("integrated_lufs"), abs=1e-9)
    ceilings.clear()
    alone = extract_features(info, requests[2:], block_frames=BLOCK_FRAMES)
    assert ceilings == [-3.0]
    assert _same(
        features.get("true_peak_events", {"ceiling_dbtp": -3.0}),
        alone.get("true_peak_events", {"ceiling_dbtp": -3.0}),
    )
    assert alone.get("true_peak_events", {"ceiling_dbtp": -3.0})  # the mix has overs at -3 dBTP


@pytest.mark.parametrize("at_s", [0.01, 3.5])  # in a block read before the split, and after it
def test_nan_sample_raises_the_same_error_with_two_processes(tmp_path, at_s):
    x, sample_rate = music(4.0)
    x[int(at_s * sample_rate), 1] = np.nan
    path = tmp_path / "bad.wav"
    soundfile.write(str(path), x, sample_rate, subtype="FLOAT")
    info = open_audio(path)
    messages = []
    for workers in (1, 2):
        with pytest.raises(AudioError, match="NaN or infinite") as caught:
            extract_features(info, _streamed_requests(), block_frames=BLOCK_FRAMES, workers=workers)
        messages.append(str(caught.value))
        _assert_no_child_processes()
    assert messages[0] == messages[1]


def _patch_child_only(monkeypatch, action) -> None:
    """Make ``Levels`` and ``Clipping`` run ``action`` on a block past 1 s, in a child process only."""
    parent = os.getpid()
    for cls in (Levels, Clipping):
        original = cls.update

        def update(self, block, original=original):
            if os.getpid() != parent and block.start_frame > 44100:
                action(type(self).__name__)
            original(self, block)

        monkeypatch.setattr(cls, "update", update)


def test_exception_in_the_child_is_raised_here_with_its_message(mix_path, monkeypatch, caplog):
    def fail(name):
        raise ValueError(f"{name} failed on purpose")

    _patch_child_only(monkeypatch, fail)
    requests = [FeatureRequest("sample_peak_dbfs"), FeatureRequest("clip_events")]  # one goes to the child
    with (
        caplog.at_level(logging.DEBUG, logger="qc.analysis"),
        pytest.raises(ValueError, match=r"^(Levels|Clipping) failed on purpose$") as caught,
    ):
        extract_features(open_audio(mix_path), requests, block_frames=BLOCK_FRAMES, workers=2)
    assert _split_logged(caplog)
    assert "in the analysis worker process" in str(caught.value.__cause__)  # with the child's traceback
    assert "failed on purpose" in str(caught.value.__cause__)
    _assert_no_child_processes()


def test_child_that_dies_is_reported_not_waited_for(mix_path, monkeypatch):
    _patch_child_only(monkeypatch, lambda name: os._exit(3))
    requests = [FeatureRequest("sample_peak_dbfs"), FeatureRequest("clip_events")]
    with pytest.raises(RuntimeError, match=r"exit status 3\).*MIXQC_WORKERS=1"):
        extract_features(open_audio(mix_path), requests, block_frames=BLOCK_FRAMES, workers=2)
    _assert_no_child_processes()


def test_short_file_is_analysed_in_one_process(mix_path, caplog):
    info = open_audio(mix_path)
    with caplog.at_level(logging.DEBUG, logger="qc.analysis"):
        features = extract_features(info, _streamed_requests(), block_frames=info.frames, workers=2)
    assert not _split_logged(caplog)
    assert features.get("sample_peak_dbfs") is not None


@pytest.mark.parametrize(
    ("setting", "cores", "expected"),
    [("1", 2, 1), ("3", 2, 3), ("", 2, 2), ("", 8, 2), ("", 1, 1), ("zero", 2, 2), ("0", 1, 1)],
)
def test_worker_count_follows_the_setting_then_the_cores(monkeypatch, setting, cores, expected):
    monkeypatch.setenv(analysis.WORKERS_ENV, setting)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert analysis_workers() == expected
