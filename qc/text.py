"""Text that mixqc shows to people: control characters made visible, and message templates bounded.

Two jobs, each done once here so that every renderer and the CLI do them the same way:

- :func:`visible` shows the characters that would steer a terminal or break a line (C0 and C1 controls,
  DEL, Unicode line separators and bidirectional overrides) as ``repr``-style escapes, so a file name,
  tag or rule text can neither recolour or clear the terminal nor turn one error line into two;
- :func:`format_spec_problem` and :func:`bounded_format` keep a rule's ``str.format`` template from
  producing megabytes: no field may ask for a width or precision above :data:`MAX_FORMAT_WIDTH`, and
  the rendered text is cut at :data:`MAX_RENDERED_CHARS`.

It imports nothing from mixqc, so any layer may use it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

MAX_FORMAT_WIDTH = 40  # a number needs at most ~12 columns; 40 leaves room for aligned names
MAX_RENDERED_CHARS = 2_000  # the longest built-in message renders to ~300 characters

# C0 controls, DEL, C1 controls, Arabic letter mark, LRM/RLM, line/paragraph separators, bidi embeddings,
# overrides and isolates ("Trojan Source").
_CONTROLS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_MULTILINE = re.compile(f"(?![\n\t])[{_CONTROLS}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPEC_NUMBER = re.compile(r"(\.?)(\d+)")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: object, *, multiline: bool = False) -> str:
    """``str(text)`` with control characters shown as escapes (``\\x1b``, ``\\n``, ``\\u202e``).

    Parameters
    ----------
    text
        Anything; it is converted with ``str``.
    multiline
        Keep newlines and tabs (for texts laid out on several lines, e.g. a note in an HTML report).

    >>> visible("mix\\x1b[2J\\nname.wav")
    'mix\\\\x1b[2J\\\\nname.wav'
    >>> visible("line one\\nline two\\a", multiline=True)
    'line one\\nline two\\\\x07'
    """
    shown = str(text)
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escape, shown)


def clip(text: str, limit: int = MAX_RENDERED_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, the last one ``…`` when something was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def format_spec_problem(spec: str) -> str | None:
    """Why a template field's format spec is refused, or None when it is fine.

    A spec may not nest fields (``{value:{width}}``) nor ask for a width or precision above
    :data:`MAX_FORMAT_WIDTH` (``{value:>100000000}``, ``{value:.100000f}``).

    >>> format_spec_problem(".1f") is None
    True
    >>> format_spec_problem(">100000000")
    'format width 100000000 is more than 40'
    """
    if "{" in spec or "}" in spec:
        return "nested fields in a format spec are not allowed"
    for match in _SPEC_NUMBER.finditer(spec):
        digits = match.group(2).lstrip("0") or "0"
        if len(digits) > 3 or int(digits) > MAX_FORMAT_WIDTH:
            what = "precision" if match.group(1) else "width"
            shown = digits if len(digits) <= 12 else digits[:12] + "…"
            return f"format {what} {shown} is more than {MAX_FORMAT_WIDTH}"
    return None


def bounded_format(template: str, fields: Mapping[str, object], *, limit: int = MAX_RENDERED_CHARS) -> str:
    """``template.format(**fields)`` that cannot produce more than ``limit`` characters.

    Fields must be plain names with specs that pass :func:`format_spec_problem`; formatting stops once
    the text is longer than ``limit``, and the result is :func:`clip`-ped.

    Raises
    ------
    ValueError
        A malformed template, a field that is not a plain name, or a refused format spec.
    KeyError
        A field that ``fields`` lacks.
    """
    formatter = string.Formatter()
    parts: list[str] = []
    size = 0
    for literal, name, spec, conversion in formatter.parse(template):
        parts.append(literal)
        size += len(literal)
        if size > limit:
            break
        if name is None:
            continue
        if not _PLAIN_NAME.fullmatch(name):
            raise ValueError(f"field {{{name}}}: use a plain name (no positions, attributes or indexes)")
        problem = format_spec_problem(spec or "")
        if problem is not None:
            raise ValueError(f"field {{{name}}}: {problem}")
        value = fields[name]
        if conversion:
            value = formatter.convert_field(value, conversion)
        piece = format(value, spec or "")
        parts.append(piece)
        size += len(piece)
        if size > limit:
            break
    return clip("".join(parts), limit)


__all__ = [
    "MAX_FORMAT_WIDTH",
    "MAX_RENDERED_CHARS",
    "bounded_format",
    "clip",
    "format_spec_problem",
    "visible",
]
