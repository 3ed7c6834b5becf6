"""The ISRC tag features and the metadata rules, on real tagged and untagged files."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import TSRC
from mutagen.wave import WAVE
from signals import sine, write

from qc.analysis import FeatureRequest, extract_features
from qc.audio import open_audio
from qc.check import Checker
from qc.metadata import Tags, write_tags

ISRC_FEATURES = [FeatureRequest("isrc_missing"), FeatureRequest("isrc_malformed")]
METADATA_RULES = ("metadata", "metadata-isrc-format")


def _wav(path: Path) -> Path:
    return write(path, sine(1000.0, -20.0, 1.0, sample_rate=44100), 44100, subtype="PCM_16")


def _with_raw_isrc(path: Path, text: str) -> Path:
    """Put ``text`` in the WAV's ID3 TSRC frame as is (write_tags would refuse a malformed code)."""
    audio = WAVE(path)
    audio.add_tags()
    audio.tags.add(TSRC(encoding=3, text=[text]))
    audio.save()
    return path


@pytest.fixture
def untagged(tmp_path):
    return _wav(tmp_path / "untagged.wav")


@pytest.fixture
def tagged(tmp_path):
    path = _wav(tmp_path / "tagged.wav")
    write_tags(path, Tags(isrc="US-RC1-76-07839", artist="A", title="T", album="B"))
    return path


@pytest.fixture
def malformed(tmp_path):
    return _with_raw_isrc(_wav(tmp_path / "malformed.wav"), "US-RC1-76-0783")


def _flags(path: Path) -> tuple[object, object]:
    features = extract_features(open_audio(path), ISRC_FEATURES)
    return features.get("isrc_missing"), features.get("isrc_malformed")


def test_untagged_file_has_no_isrc(untagged):
    assert _flags(untagged) == (True, False)


def test_tagged_file_has_a_well_formed_isrc(tagged):
    assert _flags(tagged) == (False, False)


def test_malformed_isrc_is_flagged(malformed):
    assert _flags(malformed) == (False, True)


def test_flac_tags_are_read(tmp_path):
    path = write(tmp_path / "a.flac", sine(1000.0, -20.0, 0.5, sample_rate=44100), 44100, subtype="PCM_16")
    assert _flags(path) == (True, False)
    write_tags(path, Tags(isrc="GBAYE0601498"))
    assert _flags(path) == (False, False)


def test_unreadable_tags_make_the_features_unavailable(untagged, monkeypatch):
    from qc.errors import MasterError
    from qc.features import tags

    def fail(path):
        raise MasterError(f"{path}: cannot read its tags (damaged ID3 tag)")

    monkeypatch.setattr(tags, "read_tags", fail)
    features = extract_features(open_audio(untagged), ISRC_FEATURES)
    assert "damaged ID3 tag" in (features.reason("isrc_missing") or "")


def _metadata_findings(path: Path, profile: str) -> dict[str, str]:
    report = Checker(profile).check(path)
    return {f.rule_id: f.severity for f in report.findings if f.rule_id in METADATA_RULES}


def test_streaming_check_warns_about_an_untagged_file(untagged):
    assert _metadata_findings(untagged, "streaming") == {"metadata": "warning"}


def test_streaming_check_accepts_a_tagged_file(tagged):
    assert _metadata_findings(tagged, "streaming") == {}


def test_streaming_check_rejects_a_malformed_isrc(malformed):
    assert _metadata_findings(malformed, "streaming") == {"metadata-isrc-format": "error"}


def test_premaster_check_does_not_ask_for_an_isrc(untagged):
    assert _metadata_findings(untagged, "premaster") == {}
