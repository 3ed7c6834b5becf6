"""ISRC validation and tag writing/reading, checked with mutagen and with ffprobe (what players read)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from mutagen.flac import FLAC
from mutagen.wave import WAVE

from qc.errors import MasterError
from qc.metadata import (
    Tags,
    format_isrc,
    isrc_problem,
    read_tags,
    soundfile_info_strings,
    validate_isrc,
    write_tags,
)

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None or FFPROBE is None, reason="ffmpeg/ffprobe not installed")

TAGS = Tags(isrc="us-rc1-76-07839", artist="Björk Guðmundsdóttir", title="Jóga", album="Homogenic")
STORED = Tags(isrc="USRC17607839", artist="Björk Guðmundsdóttir", title="Jóga", album="Homogenic")


def _audio(path: Path, subtype: str = "PCM_24", **strings: str) -> Path:
    """Half a second of stereo noise written by libsndfile, with optional ``SoundFile`` strings."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (22050, 2))
    with soundfile.SoundFile(str(path), "w", 44100, 2, subtype) as handle:
        for name, value in strings.items():
            setattr(handle, name, value)
        handle.write(x)
    return path


def _ffprobe_tags(path: Path) -> dict[str, str]:
    """The format-level tags ffprobe reports, keys lower-cased."""
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {key.lower(): value for key, value in json.loads(out)["format"].get("tags", {}).items()}


def _chunks(path: Path) -> list[tuple[bytes, int, int]]:
    """Top-level RIFF chunks: (id, header offset, data size)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack("<4sI", data[offset : offset + 8])
        chunks.append((chunk_id, offset, size))
        offset += 8 + size + (size & 1)
    assert offset == len(data)
    return chunks


def _data_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    (_, offset, size) = next(chunk for chunk in _chunks(path) if chunk[0] == b"data")
    return data[offset + 8 : offset + 8 + size]


# --- ISRC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("US-RC1-76-07839", "USRC17607839"),
        ("USRC17607839", "USRC17607839"),
        ("usrc17607839", "USRC17607839"),
        ("  gb-aye-06-01498 ", "GBAYE0601498"),
        ("FR-Z03-24-00001", "FRZ032400001"),
        ("QZ-ES6-21-12345", "QZES62112345"),
    ],
)
def test_valid_isrc_is_normalised_to_12_upper_case_characters(text, stored):
    assert validate_isrc(text) == stored
    assert isrc_problem(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("USRC1760783", "11 characters"),
        ("USRC176078391", "13 characters"),
        ("U1RC17607839", "country code 'U1' must be 2 letters"),
        ("12RC17607839", "country code"),
        ("USR_C17607839", "'_'"),
        ("US RC1 76 07839", "' '"),
        ("US-RC1-7A-07839", "year '7A' must be 2 digits"),
        ("USRC1760783A", "designation code '0783A' must be 5 digits"),
        ("US-RC17607839", "hyphens go only between the four parts"),
        ("USR-C1-76-07839", "hyphens go only between the four parts"),
        ("US-RC1-76-0783-9", "hyphens go only between the four parts"),
        ("US-RÇ1-76-07839", "'Ç'"),
        ("ISRC USRC17607839", "' '"),
    ],
)
def test_malformed_isrc_is_rejected_with_the_expected_format(text, why):
    assert why in (isrc_problem(text) or "")
    with pytest.raises(MasterError, match=r"Expected CC-XXX-YY-NNNNN") as caught:
        validate_isrc(text)
    assert why in str(caught.value)


def test_isrc_is_shown_hyphenated():
    assert format_isrc("usrc17607839") == "US-RC1-76-07839"


# --- WAV ------------------------------------------------------------------------------------------


def test_wav_tags_read_back_with_mutagen_and_mixqc(tmp_path):
    path = _audio(tmp_path / "a.wav")
    write_tags(path, TAGS)
    id3 = WAVE(path).tags
    assert [str(id3[frame].text[0]) for frame in ("TSRC", "TPE1", "TIT2", "TALB")] == [
        "USRC17607839",
        STORED.artist,
        STORED.title,
        STORED.album,
    ]
    assert id3.version[:2] == (2, 3)
    assert read_tags(path) == STORED


@needs_ffmpeg
def test_ffprobe_reads_the_wav_info_chunk(tmp_path):
    path = _audio(tmp_path / "a.wav")
    write_tags(path, TAGS)
    tags = _ffprobe_tags(path)  # with both chunks present ffmpeg reads INFO and ignores ID3
    assert (tags["artist"], tags["title"], tags["album"]) == (STORED.artist, STORED.title, STORED.album)


@needs_ffmpeg
def test_ffprobe_reads_the_wav_id3_chunk_on_its_own(tmp_path):
    path = _audio(tmp_path / "a.wav")
    write_tags(path, TAGS)
    data = bytearray(path.read_bytes())
    (_, offset, _) = next(chunk for chunk in _chunks(path) if chunk[0] == b"LIST")
    data[offset : offset + 4] = b"junk"  # hide the INFO chunk: now only the ID3 chunk names the track
    hidden = tmp_path / "id3-only.wav"
    hidden.write_bytes(bytes(data))
    tags = _ffprobe_tags(hidden)
    assert tags["tsrc"] == "USRC17607839"
    assert (tags["artist"], tags["title"], tags["album"]) == (STORED.artist, STORED.title, STORED.album)


def test_tagging_a_wav_leaves_the_audio_bit_identical(tmp_path):
    path = _audio(tmp_path / "a.wav")
    before_bytes, (before, _) = _data_bytes(path), soundfile.read(str(path))
    write_tags(path, TAGS)
    assert _data_bytes(path) == before_bytes
    after, rate = soundfile.read(str(path))
    assert rate == 44100 and np.array_equal(after, before)


def test_retagging_replaces_given_fields_and_keeps_the_rest(tmp_path):
    path = _audio(tmp_path / "a.wav", comment="from the DAW", artist="Old Artist")
    write_tags(path, TAGS)
    write_tags(path, Tags(title="Hunter"))
    ids = [chunk[0] for chunk in _chunks(path)]
    assert ids.count(b"LIST") == 1 and ids.count(b"id3 ") == 1 and ids.count(b"data") == 1
    assert read_tags(path) == Tags(
        isrc="USRC17607839", artist=STORED.artist, title="Hunter", album=STORED.album
    )
    with soundfile.SoundFile(str(path)) as handle:  # libsndfile reads the merged INFO chunk, comment kept
        assert (handle.comment, handle.title, handle.artist) == ("from the DAW", "Hunter", STORED.artist)


def test_malformed_isrc_leaves_the_file_untouched(tmp_path):
    path = _audio(tmp_path / "a.wav")
    original = path.read_bytes()
    with pytest.raises(MasterError, match="CC-XXX-YY-NNNNN"):
        write_tags(path, Tags(isrc="US-RC1-76-0783", artist="A"))
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_truncated_wav_is_refused_and_left_as_it_was(tmp_path):
    path = _audio(tmp_path / "a.wav")
    path.write_bytes(path.read_bytes()[:-1000])
    original = path.read_bytes()
    with pytest.raises(MasterError, match="runs past the end"):
        write_tags(path, Tags(artist="A"))
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_untagged_wav_reads_as_empty_tags(tmp_path):
    assert read_tags(_audio(tmp_path / "a.wav")) == Tags()


@needs_ffmpeg
def test_soundfile_info_strings_are_written_by_libsndfile_where_ffprobe_reads_them(tmp_path):
    strings = soundfile_info_strings(TAGS)
    assert strings == {"artist": STORED.artist, "title": STORED.title, "album": STORED.album}
    path = _audio(tmp_path / "a.wav", **strings)
    tags = _ffprobe_tags(path)
    assert (tags["artist"], tags["title"], tags["album"]) == (STORED.artist, STORED.title, STORED.album)
    assert read_tags(path) == Tags(artist=STORED.artist, title=STORED.title, album=STORED.album)


def test_an_isrc_in_the_info_source_field_is_read_only_if_well_formed(tmp_path):
    for value, expected in (("GBAYE0601498", "GBAYE0601498"), ("Vinyl rip", None)):
        path = _audio(tmp_path / "a.wav")
        text = value.encode() + b"\0"
        body = b"INFO" + struct.pack("<4sI", b"ISRC", len(text)) + text + b"\0" * (len(text) & 1)
        data = bytearray(path.read_bytes() + struct.pack("<4sI", b"LIST", len(body)) + body)
        data[4:8] = struct.pack("<I", len(data) - 8)
        path.write_bytes(bytes(data))
        assert read_tags(path).isrc == expected


# --- FLAC and other formats -----------------------------------------------------------------------


def test_flac_vorbis_comments_read_back_with_mutagen_and_mixqc(tmp_path):
    path = _audio(tmp_path / "a.flac")
    before, _ = soundfile.read(str(path))
    write_tags(path, TAGS)
    comments = FLAC(path).tags
    assert [comments[key] for key in ("ISRC", "ARTIST", "TITLE", "ALBUM")] == [
        ["USRC17607839"],
        [STORED.artist],
        [STORED.title],
        [STORED.album],
    ]
    assert read_tags(path) == STORED
    assert np.array_equal(soundfile.read(str(path))[0], before)


@needs_ffmpeg
def test_ffprobe_reads_the_flac_tags(tmp_path):
    path = _audio(tmp_path / "a.flac")
    write_tags(path, TAGS)
    tags = _ffprobe_tags(path)
    assert tags["isrc"] == "USRC17607839"
    assert (tags["artist"], tags["title"], tags["album"]) == (STORED.artist, STORED.title, STORED.album)


@needs_ffmpeg
@pytest.mark.parametrize(("suffix", "isrc_key"), [("mp3", "TSRC"), ("flac", "ISRC")])
def test_tags_written_by_ffmpeg_are_read(tmp_path, suffix, isrc_key):
    path = tmp_path / f"b.{suffix}"
    metadata = {"artist": "Ärtist", "title": "T", "album": "A", isrc_key: "GBAYE0601498"}
    options = [arg for key, value in metadata.items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=0.3", *options, str(path)], check=True
    )
    assert read_tags(path) == Tags(isrc="GBAYE0601498", artist="Ärtist", title="T", album="A")


def test_writing_other_formats_is_refused(tmp_path):
    path = _audio(tmp_path / "a.aiff", subtype="PCM_16")
    with pytest.raises(MasterError, match="WAV and FLAC files only"):
        write_tags(path, Tags(artist="A"))


def test_reading_a_file_that_is_not_audio_says_so(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not audio")
    with pytest.raises(MasterError, match="cannot read tags"):
        read_tags(path)
