"""The whole corrective chain on files: loudness on target, ceiling held, input untouched, refusals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile

from qc.analysis import FeatureRequest, extract_features
from qc.audio import open_audio
from qc.errors import MasterError, QCError
from qc.master.chain import master
from qc.units import db_to_gain
from tests.music import music
from tests.reference import ffmpeg_available, ffmpeg_ebur128
from tests.signals import write

CEILING_DBTP = -1.0


def _measure(path: Path) -> dict[str, float]:
    names = ("integrated_lufs", "true_peak_dbtp", "sample_peak_dbfs", "loudness_range_lu")
    features = extract_features(open_audio(path), [FeatureRequest(name) for name in names])
    return {name: float(np.max(features.get(name))) for name in names}


def _at_loudness(x: np.ndarray, sample_rate: int, lufs: float, tmp_path: Path) -> np.ndarray:
    probe = write(tmp_path / "probe.wav", x, sample_rate)
    return x * db_to_gain(lufs - _measure(probe)["integrated_lufs"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def quiet_mix(tmp_path_factory) -> Path:
    """A mix at -24 LUFS with a quiet verse and a loud chorus (LRA about 6 LU) and a peak-to-loudness
    ratio of about 10 dB, so +10 dB of gain needs no limiting under -1 dBTP."""
    tmp_path = tmp_path_factory.mktemp("quiet")
    x, rate = music(12.0, seed=3)
    x = np.tanh(2.0 * x / np.max(np.abs(x)))
    verse = np.clip((np.arange(len(x)) / rate - 5.5) / 1.0, 0.0, 1.0)  # -8 dB for 5.5 s, then a 1 s rise
    x *= db_to_gain(-8.0 * (1.0 - verse))[:, None]
    return write(tmp_path / "quiet.wav", _at_loudness(x, rate, -24.0, tmp_path), rate, "PCM_24")


@pytest.fixture(scope="module")
def loud_mix(tmp_path_factory) -> Path:
    """A crushed, clipping mix at about -7 LUFS with inter-sample overs."""
    tmp_path = tmp_path_factory.mktemp("loud")
    x, rate = music(12.0, seed=5)
    x = np.tanh(4.5 * x / np.max(np.abs(x)))
    x *= 0.999 / np.max(np.abs(x))
    return write(tmp_path / "loud.wav", x, rate, "PCM_24")


@pytest.mark.parametrize("mix", ["quiet_mix", "loud_mix"])
def test_master_reaches_the_target_under_the_ceiling(mix, request, tmp_path):
    source = request.getfixturevalue(mix)
    before_hash = _sha256(source)
    out = tmp_path / "master.wav"
    report = master(source, out, profile="streaming", target_lufs=-14.0, ceiling_dbtp=CEILING_DBTP)
    measured = _measure(out)
    assert abs(measured["integrated_lufs"] - -14.0) <= 0.1
    assert measured["true_peak_dbtp"] <= CEILING_DBTP
    assert measured["sample_peak_dbfs"] < 0.0
    assert _sha256(source) == before_hash  # the input is never modified
    assert report.after.features["integrated_lufs"] == pytest.approx(measured["integrated_lufs"], abs=1e-6)
    assert [c.stage for c in report.changes][-3:] == ["gain", "limiter", "quantize"]


@pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg not installed")
@pytest.mark.parametrize("mix", ["quiet_mix", "loud_mix"])
def test_independent_meter_agrees_target_and_ceiling(mix, request, tmp_path):
    out = tmp_path / "master.wav"
    master(request.getfixturevalue(mix), out, target_lufs=-14.0, ceiling_dbtp=CEILING_DBTP)
    reading = ffmpeg_ebur128(out)
    integrated, true_peak = reading.integrated_lufs, reading.true_peak_dbtp
    assert abs(integrated - -14.0) <= 0.2
    assert true_peak <= CEILING_DBTP


def test_gain_only_master_keeps_the_loudness_range(quiet_mix, tmp_path):
    out = tmp_path / "master.wav"
    report = master(
        quiet_mix, out, target_lufs=-14.0, ceiling_dbtp=CEILING_DBTP, skip=["eq", "trim", "declick", "dc"]
    )
    limiter = next(c for c in report.changes if c.stage == "limiter")
    assert limiter.values["max_reduction_db"] == 0.0
    range_before = _measure(quiet_mix)["loudness_range_lu"]
    assert range_before > 4.0
    assert abs(_measure(out)["loudness_range_lu"] - range_before) < 0.1


def test_too_much_limiting_stops_and_says_where(tmp_path):
    x, rate = music(8.0, seed=3)  # raw drums: peaks 15 dB above the loudness
    dynamic = write(tmp_path / "dynamic.wav", _at_loudness(x, rate, -24.0, tmp_path), rate, "PCM_24")
    out = tmp_path / "master.wav"
    with pytest.raises(MasterError, match=r"dB of limiting .*allowed 2\.0 dB.*worst at \d:\d\d\.\d{3}"):
        master(dynamic, out, target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert not out.exists()
    assert not list(tmp_path.glob(".*mixqc*"))  # no partial output, no intermediate left behind


def test_refuses_to_write_over_the_input(quiet_mix):
    with pytest.raises(QCError, match="refusing to overwrite the input"):
        master(quiet_mix, quiet_mix)


def test_refuses_an_existing_output_unless_asked(quiet_mix, tmp_path):
    out = tmp_path / "taken.wav"
    out.write_bytes(b"precious")
    with pytest.raises(QCError, match="already exists"):
        master(quiet_mix, out)
    assert out.read_bytes() == b"precious"


def test_refuses_an_output_format_it_cannot_write(quiet_mix, tmp_path):
    with pytest.raises(QCError, match="WAV, FLAC or AIFF"):
        master(quiet_mix, tmp_path / "master.mp3")


def test_click_repair_leaves_everything_else_bit_identical(tmp_path):
    x, rate = music(8.0, seed=11)
    x = x * db_to_gain(-6.0)
    clicks_at = (int(2.3 * rate), int(5.1 * rate))
    for at in clicks_at:
        x[at, 0] += 0.5
    source = write(tmp_path / "clicky.wav", np.clip(x, -1, 1), rate, "PCM_24")
    out = tmp_path / "master.wav"
    # cd has no loudness target, so the chain applies no gain: only the repair changes samples.
    report = master(source, out, profile="cd", ceiling_dbtp=0.0, skip=["eq", "trim", "dc"])
    stages = {c.stage: c for c in report.changes}
    assert stages["declick"].values["repaired_count"] >= len(clicks_at)
    original, _ = soundfile.read(str(source), dtype="int32")
    mastered, _ = soundfile.read(str(out), dtype="int32")
    differs = np.flatnonzero(np.any(original != mastered, axis=1))
    assert len(differs) > 0
    near_a_click = np.min(np.abs(differs[:, None] - np.array(clicks_at)[None, :]), axis=1)
    assert near_a_click.max() < 0.01 * rate  # every changed sample lies within 10 ms of a click
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clicky.wav", "master.wav"]  # temp files gone


def test_tags_are_written_and_read_back(quiet_mix, tmp_path):
    from qc.metadata import read_tags

    out = tmp_path / "tagged.flac"
    master(quiet_mix, out, tags={"isrc": "gb-aaa-25-00001", "artist": "Ann", "title": "Song", "album": "LP"})
    tags = read_tags(out)
    assert (tags.isrc, tags.artist, tags.title, tags.album) == ("GBAAA2500001", "Ann", "Song", "LP")


def test_malformed_isrc_is_refused_before_any_work(quiet_mix, tmp_path):
    out = tmp_path / "master.wav"
    with pytest.raises(MasterError, match="ISRC"):
        master(quiet_mix, out, tags={"isrc": "nope"})
    assert not out.exists()


def _gentle_mix(duration_s: float, seed: int) -> tuple[np.ndarray, int]:
    """Music with a peak-to-loudness ratio of about 10 dB, peaks well below full scale."""
    x, rate = music(duration_s, seed=seed)
    return 0.3 * np.tanh(2.0 * x / np.max(np.abs(x))), rate


def test_dc_offset_is_removed_when_the_check_flags_it(tmp_path):
    x, rate = _gentle_mix(6.0, seed=8)
    source = write(tmp_path / "dc.wav", x + np.array([0.02, -0.01]), rate, "PCM_24")
    out = tmp_path / "master.wav"
    report = master(source, out, profile="cd", skip=["eq", "trim", "declick"])
    assert "dc" in [c.stage for c in report.changes]
    assert "dc-offset" in {f.rule_id for f in report.before.findings}
    assert "dc-offset" not in {f.rule_id for f in report.after.findings}
    y, _ = soundfile.read(str(out))
    assert np.all(np.abs(y.mean(axis=0)) < 1e-5)


def test_long_head_silence_is_trimmed_to_a_short_pre_roll(tmp_path):
    x, rate = _gentle_mix(6.0, seed=9)
    padded = np.concatenate([np.zeros((int(3.0 * rate), 2)), x])
    source = write(tmp_path / "late.wav", padded, rate, "PCM_24")
    out = tmp_path / "master.wav"
    report = master(source, out, profile="cd", skip=["eq", "declick", "dc"])
    assert "silence-head-tail" in {f.rule_id for f in report.before.findings}
    assert report.after.features["leading_silence_s"] == pytest.approx(0.2, abs=0.02)
    assert report.after.file.frames == pytest.approx(len(padded) - 2.8 * rate, abs=2)


def test_sample_rate_and_bit_depth_conversion(quiet_mix, tmp_path):
    out = tmp_path / "master.wav"
    report = master(quiet_mix, out, sample_rate=48000, bit_depth=16, skip=["eq", "trim", "declick", "dc"])
    info = soundfile.info(str(out))
    assert (info.samplerate, info.subtype) == (48000, "PCM_16")
    assert info.frames == pytest.approx(12.0 * 48000, abs=2)
    assert [c.stage for c in report.changes] == ["resample", "gain", "limiter", "quantize"]
    assert abs(_measure(out)["integrated_lufs"] - -14.0) <= 0.1
    codes, _ = soundfile.read(str(out), dtype="int16")
    assert len(np.unique(codes[:, 0] & 1)) == 2  # dithered: both odd and even codes, not a coarse grid


def test_a_profile_can_allow_more_limiting(tmp_path):
    x, rate = music(8.0, seed=3)
    dynamic = write(tmp_path / "dynamic.wav", _at_loudness(x, rate, -24.0, tmp_path), rate, "PCM_24")
    pack = tmp_path / "loud.yaml"
    pack.write_text(
        'pack: loud\nversion: "1"\nrules: []\n'
        "profiles:\n  streaming:\n    max_limiting_db: 6.0\n    max_limited_share: 1.0\n"
    )
    out = tmp_path / "master.wav"
    report = master(dynamic, out, rule_packs=[pack], skip=["eq", "trim", "declick", "dc"])
    assert report.settings.max_limiting_db == 6.0
    limiter = next(c for c in report.changes if c.stage == "limiter")
    assert 2.0 < limiter.values["max_reduction_db"] <= 6.0
    assert _measure(out)["true_peak_dbtp"] <= CEILING_DBTP


def test_eq_corrects_only_the_flagged_band_towards_the_curve(tmp_path):
    x, rate = _gentle_mix(10.0, seed=6)  # the synthetic arrangement's kick and bass read bass-heavy
    source = write(tmp_path / "boomy.wav", x, rate, "PCM_24")
    report = master(source, tmp_path / "master.wav", skip=["trim", "declick", "dc"])
    flagged = {f.rule_id for f in report.before.findings if not f.skipped and f.severity != "info"}
    assert "bass-heavy" in flagged
    eq = next(c for c in report.changes if c.stage == "eq")
    tonal_flags = flagged & {"harsh", "dull", "bass-heavy", "bass-light", "muddy"}
    assert len(eq.values["corrections_db"]) == len(tonal_flags)
    assert -3.0 <= eq.values["corrections_db"]["bass"] < 0.0
    assert report.after.features["tonal_bass_db"] < report.before.features["tonal_bass_db"] - 1.0
