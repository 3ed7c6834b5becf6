"""Write output files atomically, and never over a user's input or audio file.

A report is written to a temporary file in the destination folder and renamed over the destination in
one step, so a crash or a full disk never leaves half a report (or destroys the previous one).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import QCError

AUDIO_SUFFIXES = frozenset(
    {
        ".wav",
        ".wave",
        ".bwf",
        ".rf64",
        ".w64",
        ".flac",
        ".aif",
        ".aiff",
        ".aifc",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".m4a",
        ".caf",
        ".au",
    }
)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename; return the path.

    Raises
    ------
    QCError
        If the folder does not exist or cannot be written.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if target.exists() and not target.is_file():
        # A device or pipe (/dev/null, /dev/stdout, a FIFO): write through it, never rename over it.
        try:
            with target.open("wb") as stream:
                stream.write(payload)
        except OSError as exc:
            raise QCError(f"{target}: cannot write ({exc.strerror or exc})") from None
        return target
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise QCError(f"{target}: folder {folder} does not exist")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise QCError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return target


def check_output_path(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse an output path that is one of the inputs or an existing audio file.

    Raises
    ------
    QCError
        With the reason and the remedy.
    """
    target = Path(path)
    resolved = target.resolve()
    for source in inputs:
        if Path(source).resolve() == resolved:
            raise QCError(f"{target}: refusing to write a report over the input file; choose another name")
    if target.suffix.lower() in AUDIO_SUFFIXES and target.exists():
        raise QCError(f"{target}: refusing to overwrite an existing audio file with a report")
    if target.is_dir():
        raise QCError(f"{target}: is a folder; give a file name")
