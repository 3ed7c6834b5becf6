"""Release metadata: ISRC, artist, title and album — validated, written where players read them, read back.

Where the tags go:

- **WAV**: an ID3v2.3 tag in an ``id3 `` chunk (frames ``TSRC`` = ISRC, ``TPE1`` = artist, ``TIT2`` =
  title, ``TALB`` = album; written with mutagen) *and* a RIFF ``LIST``/``INFO`` chunk (``IART`` =
  artist, ``INAM`` = title, ``IPRD`` = album; UTF-8, NUL-terminated). Players and tools read one or the
  other (ffmpeg prefers INFO when both exist, iTunes, foobar2000 and most taggers read ID3). INFO has no
  ISRC field: its ``ISRC`` id means *Source* (who supplied the original), so the ISRC goes only into
  ID3. Reading, an INFO ``ISRC`` value is used only when ID3 has none and it is a well-formed ISRC.
- **FLAC** (and Ogg when reading): Vorbis comments ``ISRC``, ``ARTIST``, ``TITLE``, ``ALBUM``.
- **MP3/AIFF** (reading only): the ID3 frames above; **MP4/M4A** (reading only): ``©ART``, ``©nam``,
  ``©alb`` and the iTunes ``ISRC`` freeform atom.

An ISRC (ISO 3901) is 12 characters: a 2-letter country code, a 3-character registrant code (letters or
digits), 2 digits of year and a 5-digit designation, usually shown as ``CC-XXX-YY-NNNNN``; tags store
the 12 characters without hyphens. :func:`validate_isrc` checks the shape (not that the country code is
assigned or the code registered).

:func:`write_tags` never edits a file in place: it writes a tagged copy next to it and renames it over
the original, so a failure leaves the file as it was; the audio data is copied byte for byte. This
module knows nothing of rules, reports or the mastering chain.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from .errors import MasterError

if TYPE_CHECKING:
    from mutagen import FileType
    from mutagen.id3 import ID3

ISRC_FORMAT = "CC-XXX-YY-NNNNN"
ISRC_EXAMPLE = "US-RC1-76-07839"  # the example of the ISRC Handbook (IFPI)
ISRC_LENGTH = 12  # ISO 3901: 2 + 3 + 2 + 5 characters
_ISRC_PARTS = (  # (name, length, pattern, what it must be) of each part, ISO 3901
    ("country code", 2, r"[A-Z]{2}", "2 letters"),
    ("registrant code", 3, r"[A-Z0-9]{3}", "3 letters or digits"),
    ("year", 2, r"[0-9]{2}", "2 digits"),
    ("designation code", 5, r"[0-9]{5}", "5 digits"),
)
_HYPHENATED = re.compile(r"[A-Z0-9]{2}-[A-Z0-9]{3}-[A-Z0-9]{2}-[A-Z0-9]{5}")
_ID3_FRAMES = {"isrc": "TSRC", "artist": "TPE1", "title": "TIT2", "album": "TALB"}
_INFO_IDS = {"artist": b"IART", "title": b"INAM", "album": b"IPRD"}  # no INFO id holds an ISRC
_INFO_SOURCE = b"ISRC"  # INFO "Source" (not the recording code); read only if it holds a valid ISRC
_VORBIS_KEYS = {"isrc": "ISRC", "artist": "ARTIST", "title": "TITLE", "album": "ALBUM"}
_MP4_KEYS = {
    "isrc": "----:com.apple.iTunes:ISRC",
    "artist": "\xa9ART",
    "title": "\xa9nam",
    "album": "\xa9alb",
}
_COPY_BYTES = 1 << 20


@dataclass(frozen=True)
class Tags:
    """The release tags mixqc writes and reads; None = not set (writing: leave the file's value alone).

    ``isrc`` holds the text as found (it may be malformed when read from a file); :func:`write_tags`
    validates and normalises it with :func:`validate_isrc` before writing.
    """

    isrc: str | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None

    def items(self) -> Iterator[tuple[str, str]]:
        """The ``(field, text)`` pairs that are set, in the order isrc, artist, title, album."""
        for name in ("isrc", "artist", "title", "album"):
            value = getattr(self, name)
            if value is not None:
                yield name, value


def isrc_problem(text: str) -> str | None:
    """What is wrong with ``text`` as an ISRC, or None if it is well formed (see :func:`validate_isrc`).

    >>> isrc_problem("US-RC1-76-07839") is None
    True
    >>> isrc_problem("USRC1760783")
    'it has 11 characters without hyphens; an ISRC has 12'
    """
    code = text.strip().upper()
    if not code:
        return "it is empty"
    bad = sorted({char for char in code if not re.fullmatch(r"[A-Z0-9-]", char)})
    if bad:
        return f"it contains {', '.join(repr(char) for char in bad)}; an ISRC has only letters and digits"
    if "-" in code:
        if not _HYPHENATED.fullmatch(code):
            return f"hyphens go only between the four parts, as in {ISRC_FORMAT}"
        code = code.replace("-", "")
    if len(code) != ISRC_LENGTH:
        return f"it has {len(code)} characters without hyphens; an ISRC has {ISRC_LENGTH}"
    start = 0
    for name, length, pattern, wanted in _ISRC_PARTS:
        part = code[start : start + length]
        if not re.fullmatch(pattern, part):
            return f"the {name} {part!r} must be {wanted}"
        start += length
    return None


def validate_isrc(text: str) -> str:
    """The ISRC in ``text`` in its stored 12-character upper-case form, after checking its shape (ISO 3901).

    Accepts the code with or without hyphens (``CC-XXX-YY-NNNNN`` or ``CCXXXYYNNNNN``), in either case,
    with surrounding spaces.

    Parameters
    ----------
    text
        The code as the user typed it.

    Returns
    -------
    str
        12 characters: country code (2 letters), registrant (3 letters or digits), year (2 digits),
        designation (5 digits).

    Raises
    ------
    MasterError
        If the code is not of that shape; the message says which part is wrong and shows the format.

    References
    ----------
    ISO 3901:2019, International Standard Recording Code (ISRC); IFPI, ISRC Handbook, 4th edition.

    >>> validate_isrc("us-rc1-76-07839")
    'USRC17607839'
    """
    problem = isrc_problem(text)
    if problem is not None:
        raise MasterError(
            f"ISRC {text!r} is malformed: {problem}. Expected {ISRC_FORMAT} (2-letter country code, "
            f"3-character registrant code, 2-digit year, 5-digit designation), e.g. {ISRC_EXAMPLE}"
        )
    return text.strip().upper().replace("-", "")


def format_isrc(code: str) -> str:
    """A valid ISRC in the hyphenated form people read: ``USRC17607839`` → ``US-RC1-76-07839``."""
    code = validate_isrc(code)
    return f"{code[:2]}-{code[2:5]}-{code[5:7]}-{code[7:]}"


def soundfile_info_strings(tags: Tags) -> dict[str, str]:
    """The tags libsndfile can write itself, as ``soundfile.SoundFile`` attribute names.

    Setting them on a ``SoundFile`` opened for writing puts them in the WAV's ``LIST``/``INFO`` chunk
    (``IART``, ``INAM``, ``IPRD``) or the FLAC's Vorbis comments. There is no ISRC among them: use
    :func:`write_tags` after the file is written.

    >>> soundfile_info_strings(Tags(isrc="USRC17607839", artist="A", album="B"))
    {'artist': 'A', 'album': 'B'}
    """
    return {name: value for name, value in tags.items() if name in _INFO_IDS and value.strip()}


# --- Writing ---------------------------------------------------------------------------------------


def write_tags(path: str | os.PathLike[str], tags: Tags) -> None:
    """Write ``tags`` into the WAV or FLAC file at ``path`` (replaced atomically; audio untouched).

    Fields that are None keep the file's current value; the others replace it. The ISRC is validated
    and stored in its 12-character form.

    Parameters
    ----------
    path
        A WAV (RIFF) or FLAC file.
    tags
        What to write.

    Raises
    ------
    MasterError
        For a malformed ISRC (before the file is touched), another format, a damaged WAV or a WAV that
        would grow past the RIFF limit of 4 GiB.
    """
    if tags.isrc is not None:
        tags = replace(tags, isrc=validate_isrc(tags.isrc))
    tags = Tags(**{name: value.strip() for name, value in tags.items()})
    source = Path(path)
    kind = _kind(source)
    if kind == "wav":
        _replace_with(source, lambda handle, target: _write_wav(source, handle, target, tags))
    elif kind == "flac":
        _replace_with(source, lambda handle, target: _write_flac(handle, target, tags))
    else:
        raise MasterError(f"{source}: mixqc writes tags into WAV and FLAC files only, not {kind}")


def _replace_with(source: Path, write: Callable[[BinaryIO, Path], None]) -> None:
    """Write a new version of ``source`` to a temporary file beside it, then rename it over ``source``."""
    descriptor, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".tagging", dir=source.parent)
    os.close(descriptor)
    target = Path(name)
    try:
        with source.open("rb") as handle:
            write(handle, target)
        shutil.copymode(source, target)
        os.replace(target, source)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _write_wav(source: Path, handle: BinaryIO, target: Path, tags: Tags) -> None:
    """Copy the WAV's chunks with one merged ``LIST``/``INFO`` chunk last, then set the ID3 frames."""
    chunks = _riff_chunks(handle, source, strict=True)
    info = _merged_info(handle, chunks, tags)
    with target.open("wb") as out:
        out.write(b"RIFF\0\0\0\0WAVE")
        for chunk in chunks:
            if chunk.is_info:
                continue
            handle.seek(chunk.offset)
            _copy(handle, out, 8 + chunk.size + (chunk.size & 1))
        if info:
            out.write(_info_chunk(info))
        riff_size = out.tell() - 8
        if riff_size > 0xFFFFFFFF:
            raise MasterError(f"{source}: the tagged file would exceed the 4 GiB limit of a WAV file")
        out.seek(4)
        out.write(struct.pack("<I", riff_size))
    frames = {_ID3_FRAMES[name]: value for name, value in tags.items()}
    if frames:
        from mutagen.wave import WAVE

        _set_id3(WAVE(target), frames)


def _set_id3(audio: FileType, frames: Mapping[str, str]) -> None:
    """Set text frames (``{"TSRC": ...}``) in a mutagen file with an ID3 tag and save it as ID3v2.3."""
    from mutagen import id3

    if audio.tags is None:
        audio.add_tags()
    tags = cast("id3.ID3", audio.tags)  # add_tags() above gave it an ID3 tag
    for frame_id, text in frames.items():
        tags.setall(frame_id, [getattr(id3, frame_id)(encoding=id3.Encoding.UTF8, text=[text])])
    audio.save(v2_version=3)  # v2.3 is what Windows and most hardware players read


def _write_flac(handle: BinaryIO, target: Path, tags: Tags) -> None:
    """Copy the FLAC file and set its Vorbis comments."""
    from mutagen.flac import FLAC, VCFLACDict

    with target.open("wb") as out:
        _copy(handle, out, None)
    audio = FLAC(target)
    if audio.tags is None:
        audio.add_tags()
    comments = cast(VCFLACDict, audio.tags)  # add_tags() above gave it Vorbis comments
    for name, value in tags.items():
        comments[_VORBIS_KEYS[name]] = [value]
    audio.save()


def _copy(source: BinaryIO, target: BinaryIO, size: int | None) -> None:
    """Copy ``size`` bytes (None: to the end) from ``source``'s position to ``target``."""
    while size is None or size > 0:
        piece = source.read(_COPY_BYTES if size is None else min(size, _COPY_BYTES))
        if not piece:
            break
        target.write(piece)
        if size is not None:
            size -= len(piece)
    if size:
        raise MasterError(f"{getattr(source, 'name', 'file')}: the file ended {size} bytes early")


# --- RIFF chunks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """One top-level RIFF chunk: its id, where its header starts and its data size (bytes)."""

    chunk_id: bytes
    offset: int
    size: int
    is_info: bool = False


def _riff_chunks(handle: BinaryIO, path: Path, *, strict: bool) -> list[_Chunk]:
    """The top-level chunks of a RIFF/WAVE file; ``strict`` raises on damage, otherwise stops there."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    handle.seek(0)
    header = handle.read(12)
    if header[:4] == b"RF64":
        raise MasterError(
            f"{path}: RF64 (WAV over 4 GiB) files cannot be tagged by mixqc; export a WAV or FLAC"
        )
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise MasterError(f"{path}: not a RIFF/WAVE file")
    chunks: list[_Chunk] = []
    offset = 12
    while offset + 8 <= end:
        handle.seek(offset)
        chunk_id, size = struct.unpack("<4sI", handle.read(8))
        if offset + 8 + size > end:
            if strict:
                raise MasterError(
                    f"{path}: the {chunk_id.decode('latin-1')!r} chunk runs past the end of the file "
                    "(truncated or still being written); export the file again"
                )
            break
        is_info = chunk_id == b"LIST" and size >= 4 and handle.read(4) == b"INFO"
        chunks.append(_Chunk(chunk_id, offset, size, is_info))
        offset += 8 + size + (size & 1)
    return chunks


def _info_entries(handle: BinaryIO, chunks: list[_Chunk]) -> dict[bytes, str]:
    """The text fields of every ``LIST``/``INFO`` chunk, by id (later chunks win)."""
    entries: dict[bytes, str] = {}
    for chunk in chunks:
        if not chunk.is_info:
            continue
        handle.seek(chunk.offset + 12)
        body = handle.read(chunk.size - 4)
        position = 0
        while position + 8 <= len(body):
            field_id, size = struct.unpack("<4sI", body[position : position + 8])
            raw = body[position + 8 : position + 8 + size].split(b"\0", 1)[0]
            try:
                entries[field_id] = raw.decode("utf-8")
            except UnicodeDecodeError:
                entries[field_id] = raw.decode("latin-1")
            position += 8 + size + (size & 1)
    return entries


def _merged_info(handle: BinaryIO, chunks: list[_Chunk], tags: Tags) -> dict[bytes, str]:
    """The file's INFO fields with the tags' artist/title/album put over them."""
    entries = _info_entries(handle, chunks)
    for name, value in tags.items():
        if name in _INFO_IDS:
            entries[_INFO_IDS[name]] = value
    return {field_id: text for field_id, text in entries.items() if text}


def _info_chunk(entries: Mapping[bytes, str]) -> bytes:
    """A ``LIST``/``INFO`` chunk: each field UTF-8, NUL-terminated, padded to an even length."""
    body = b"INFO"
    for field_id, text in entries.items():
        data = text.encode("utf-8") + b"\0"
        body += struct.pack("<4sI", field_id, len(data)) + data + b"\0" * (len(data) & 1)
    return struct.pack("<4sI", b"LIST", len(body)) + body


# --- Reading ---------------------------------------------------------------------------------------


def read_tags(path: str | os.PathLike[str]) -> Tags:
    """The ISRC, artist, title and album stored in an audio file (None where absent or empty).

    WAV: ID3 chunk first, then the ``LIST``/``INFO`` chunk for what ID3 lacks; FLAC and Ogg: Vorbis
    comments; MP3 and AIFF: ID3; MP4/M4A: iTunes atoms. The ISRC is returned as stored (it may be
    malformed: check it with :func:`isrc_problem`).

    Raises
    ------
    MasterError
        If the file cannot be read or its format carries no tags mixqc knows.
    """
    source = Path(path)
    import mutagen

    try:
        if _kind(source) == "wav":
            return _read_wav(source)
        audio = mutagen.File(source)
    except (mutagen.MutagenError, OSError) as exc:
        raise MasterError(f"{source}: cannot read its tags ({exc})") from exc
    if audio is None:
        raise MasterError(f"{source}: mixqc cannot read tags from this format")
    return _tags_of(audio.tags)


def _read_wav(path: Path) -> Tags:
    from mutagen.wave import WAVE

    from_id3 = _tags_of(WAVE(path).tags)
    with path.open("rb") as handle:
        entries = _info_entries(handle, _riff_chunks(handle, path, strict=False))
    from_info = {name: _text(entries.get(field_id)) for name, field_id in _INFO_IDS.items()}
    source = _text(entries.get(_INFO_SOURCE))
    if source is not None and isrc_problem(source) is None:
        from_info["isrc"] = source
    merged = {
        name: value if value is not None else from_info.get(name) for name, value in vars(from_id3).items()
    }
    return Tags(**merged)


def _tags_of(tags: Any) -> Tags:
    """The four fields from a mutagen tag object (ID3, Vorbis comments, MP4), whichever it is."""
    if tags is None:
        return Tags()
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    if isinstance(tags, ID3):
        return Tags(**{name: _text(_id3_text(tags, frame_id)) for name, frame_id in _ID3_FRAMES.items()})
    if isinstance(tags, MP4Tags):
        return Tags(**{name: _text(_first(tags.get(key))) for name, key in _MP4_KEYS.items()})
    with contextlib.suppress(AttributeError, TypeError):  # Vorbis comments (FLAC, Ogg): case-insensitive
        return Tags(**{name: _text(_first(tags.get(key))) for name, key in _VORBIS_KEYS.items()})
    return Tags()


def _id3_text(tags: ID3, frame_id: str) -> str | None:
    frame = tags.get(frame_id)
    return str(frame.text[0]) if frame is not None and frame.text else None


def _first(values: object) -> str | None:
    if not values:
        return None
    value = values[0] if isinstance(values, list) else values
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _text(value: str | None) -> str | None:
    """The value stripped of spaces and NULs; None if nothing is left."""
    if value is None:
        return None
    value = value.strip().strip("\0").strip()
    return value or None


def _kind(path: Path) -> str:
    """``wav``, ``flac`` or a short description of another format (from the file's first bytes)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as exc:
        raise MasterError(f"{path}: cannot open it ({exc.strerror or exc})") from exc
    if header[:4] in (b"RIFF", b"RF64") and header[8:12] == b"WAVE":
        return "wav"
    if header[:4] == b"fLaC":
        return "flac"
    return f"{path.suffix.lstrip('.').upper() or 'this format'}"
