"""A studio's branding for client reports: name, logo, contact, footer, accent colour and a note.

Read from a small YAML file (``--brand FILE``) and/or command-line options; the logo file is read once here
and carried as a ``data:`` URI, so a report stays one self-contained file and renderers never open files.

Example ``brand.yaml``::

    studio: Blue Room Mastering
    logo: blueroom.png            # PNG, JPEG, GIF, WebP or SVG; relative to this file
    contact: hello@blueroom.example · +44 20 7946 0000
    footer: Blue Room Mastering · Unit 4, Canal Yard, London
    accent_color: "#0b5394"
    note: Thanks for the mix! A few things to look at before we master it.
"""

from __future__ import annotations

import base64
import errno
import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import safeyaml
from .errors import QCError

MAX_LOGO_BYTES = 1 << 20  # a logo is a small picture; 1 MiB keeps reports light
MAX_TEXT_CHARS = 2000
LOGO_URI_PATTERN = r"^(data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+)?$"

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class Branding(BaseModel):
    """What a studio puts on its reports. Every field is optional; texts are shown escaped, as given.

    ``logo`` is a ``data:image/...;base64,`` URI (see :func:`logo_data_uri`), never a path or URL.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    studio: str = Field(default="", max_length=200)
    logo: str = Field(default="", pattern=LOGO_URI_PATTERN)
    contact: str = Field(default="", max_length=MAX_TEXT_CHARS)
    footer: str = Field(default="", max_length=MAX_TEXT_CHARS)
    note: str = Field(default="", max_length=MAX_TEXT_CHARS)
    accent_color: str = Field(default="", pattern=r"^(#[0-9a-fA-F]{6})?$")  # strict: written into styles

    @property
    def empty(self) -> bool:
        """True when nothing is set (reports then carry no studio header)."""
        return not any((self.studio, self.logo, self.contact, self.footer, self.note, self.accent_color))


def _image_type(data: bytes) -> str | None:
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in head:
        return "image/svg+xml"
    return None


def logo_data_uri(path: str | os.PathLike[str]) -> str:
    """The image file at ``path`` as a ``data:`` URI (PNG, JPEG, GIF, WebP or SVG, at most 1 MiB).

    Raises
    ------
    QCError
        If the file is missing, too large or not one of those images.
    """
    logo = Path(path)
    try:
        data = safeyaml.read_bounded(logo, MAX_LOGO_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            limit = MAX_LOGO_BYTES >> 10
            raise QCError(f"{logo}: logo is too large; use an image under {limit} KiB") from None
        raise QCError(f"{logo}: cannot read the logo ({exc.strerror or exc})") from None
    mime = _image_type(data)
    if mime is None:
        raise QCError(f"{logo}: logo is not a PNG, JPEG, GIF, WebP or SVG image")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _read_brand_file(path: Path) -> dict[str, object]:
    try:
        data = safeyaml.safe_load(safeyaml.read_text(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise QCError(f"{path}: cannot read the branding file ({reason or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        if isinstance(exc, safeyaml.RefusedYAML):
            raise QCError(f"{where}: {exc.problem}") from None
        raise QCError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise QCError(f"{path}: expected a mapping of studio, logo, contact, footer, note, accent_color")
    return dict(data)


def load_branding(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, str | None] | None = None
) -> Branding:
    """Branding from a YAML file and/or explicit values (``overrides`` win; None values are ignored).

    A ``logo`` given as a path (in the file: relative to the file) is read and embedded as a data URI.

    Raises
    ------
    QCError
        Naming the file and the key, for an unreadable file, an unknown key, a bad colour or logo.
    """
    fields: dict[str, object] = {}
    base = Path(".")
    source = "branding"
    if path is not None:
        brand_file = Path(path)
        fields.update(_read_brand_file(brand_file))
        base = brand_file.parent
        source = str(brand_file)
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    if "logo" in given:
        base = Path(".")  # a logo named on the command line is relative to the working folder
    fields.update(given)
    logo = fields.get("logo")
    if isinstance(logo, str) and logo and not logo.startswith("data:"):
        fields["logo"] = logo_data_uri(base / logo)
    try:
        return Branding.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "branding"
        message = error["msg"]
        if key == "accent_color":
            message = "expected a colour like '#0b5394'"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (expected studio, logo, contact, footer, note, accent_color)"
        raise QCError(f"{source}: {key}: {message}") from None


__all__ = ["Branding", "load_branding", "logo_data_uri"]
