"""Render reports as compact, width-aware terminal text, with ANSI colours only when asked.

Returns strings; it never prints (``cli.py`` does), never computes features and never reads audio. Text from
files, tags and rule packs is shown through :func:`qc.text.visible`, so it cannot carry terminal codes.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from ..findings import Finding
from ..text import visible
from .filters import (
    basename,
    counts_text,
    format_line,
    group_key,
    key_numbers,
    mmss,
    sorted_findings,
)
from .model import Report

RESET = "\x1b[0m"
STYLES: dict[str, str] = {
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
    "red": "\x1b[31m",
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "cyan": "\x1b[36m",
}
GROUP_STYLES: dict[str, tuple[str, ...]] = {
    "error": ("bold", "red"),
    "warning": ("bold", "yellow"),
    "info": ("cyan",),
    "skipped": ("dim",),
}
VERDICT_STYLES: dict[str, tuple[str, ...]] = {
    "pass": ("bold", "green"),
    "warn": ("bold", "yellow"),
    "fail": ("bold", "red"),
}
GROUP_LABELS: dict[str, str] = {"error": "ERROR", "warning": "WARNING", "info": "INFO", "skipped": "SKIPPED"}
LABEL_WIDTH = max(len(label) for label in GROUP_LABELS.values())
MIN_WIDTH = 40
MIN_MESSAGE_WIDTH = 30  # below this, the message goes under the rule id instead of beside it
MAX_RULE_ID_WIDTH = 28
INDENT = "  "
SUGGESTION_MARK = "-> "


class _Paint:
    """Wrap text in ANSI styles, or leave it alone when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not text or not styles:
            return text
        return "".join(STYLES[s] for s in styles) + text + RESET


def _width(width: int | None) -> int:
    """The wrap width: ``width`` if given, else the terminal's, never below :data:`MIN_WIDTH`."""
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    return max(int(width), MIN_WIDTH)


def _duration(seconds: float) -> str:
    """``3:25`` for a song, ``0:02.500`` for a short file."""
    return mmss(seconds, millis=seconds < 10.0)


def _pack(items: Sequence[tuple[str, tuple[str, ...]]], width: int, gap: str, paint: _Paint) -> list[str]:
    """Lay out ``(text, styles)`` items left to right, starting a new indented line before overflowing."""
    lines: list[str] = []
    current: list[str] = []
    used = len(INDENT)
    room = width - len(INDENT)
    for text, styles in items:
        if len(text) > room:  # an item wider than a line gets lines of its own
            if current:
                lines.append(INDENT + gap.join(current))
                current, used = [], len(INDENT)
            pieces = textwrap.wrap(text, room, subsequent_indent="  ", break_on_hyphens=False)
            lines.extend(INDENT + paint(piece, *styles) for piece in pieces)
            continue
        needed = len(text) + (len(gap) if current else 0)
        if current and used + needed > width:
            lines.append(INDENT + gap.join(current))
            current, used = [], len(INDENT)
            needed = len(text)
        current.append(paint(text, *styles))
        used += needed
    if current:
        lines.append(INDENT + gap.join(current))
    return lines


def _header(report: Report, width: int, paint: _Paint) -> list[str]:
    name = visible(basename(report.file.path))
    details = [
        _duration(report.file.duration_s),
        visible(format_line(report.file)),
        visible(f"profile {report.profile}"),
    ]
    gap = " · "
    if len(name) + 2 + len(gap.join(details)) <= width:
        return [f"{paint(name, 'bold')}  {gap.join(details)}"]
    return [paint(name, "bold"), *_pack([(d, ()) for d in details], width, gap, paint)]


def _key_numbers(report: Report, width: int, paint: _Paint) -> list[str]:
    items: list[tuple[str, tuple[str, ...]]] = []
    for key in key_numbers(report):
        text = f"{key.short_label} {key.text}"
        if key.target_text:
            extra = f", {key.delta_text}" if key.delta_text else ""
            text += f" ({key.relation} {key.target_text}{extra})"
        items.append((text, GROUP_STYLES[key.severity] if key.severity in ("error", "warning") else ()))
    return _pack(items, width, "   ", paint)


def _finding_rows(finding: Finding, id_width: int, width: int, paint: _Paint) -> list[str]:
    group = group_key(finding)
    label = paint(GROUP_LABELS[group].ljust(LABEL_WIDTH), *GROUP_STYLES[group])
    body_style: tuple[str, ...] = ("dim",) if finding.skipped else ()
    indent = len(INDENT) + LABEL_WIDTH + 2 + id_width + 2
    rows: list[str] = []
    if width - indent < MIN_MESSAGE_WIDTH or len(finding.rule_id) > id_width:
        indent = len(INDENT) * 2
        rows.append(f"{INDENT}{label}  {paint(finding.rule_id, *body_style)}")
        first_prefix = None
    else:
        first_prefix = f"{INDENT}{label}  {paint(finding.rule_id.ljust(id_width), *body_style)}  "
    pad = " " * indent
    message = textwrap.wrap(visible(finding.message), width - indent, break_on_hyphens=False) or [""]
    for i, line in enumerate(message):
        prefix = first_prefix if (i == 0 and first_prefix is not None) else pad
        rows.append(prefix + paint(line, *body_style))
    if finding.suggestion:
        suggestion = textwrap.wrap(
            SUGGESTION_MARK + visible(finding.suggestion),
            width - indent,
            subsequent_indent=" " * len(SUGGESTION_MARK),
            break_on_hyphens=False,
        )
        rows.extend(pad + paint(line, *body_style) for line in suggestion)
    return rows


def render_terminal(report: Report, *, color: bool, width: int | None = None) -> str:
    """A compact summary of one report for a terminal.

    Parameters
    ----------
    report
        The report to show.
    color
        Add ANSI colour codes (errors red, warnings yellow, info cyan, skipped checks dim).
    width
        Wrap width in columns; default: the terminal's width (at least 40).

    Returns
    -------
    str
        Header (file, duration, format, profile), key numbers against the profile's targets, findings
        (errors, warnings, info, then skipped checks; each suggestion under its message) and the verdict
        line ``PASS``/``WARN``/``FAIL`` with counts; no final newline (``print`` adds one).
    """
    paint = _Paint(color)
    cols = _width(width)
    lines = _header(report, cols, paint)
    numbers = _key_numbers(report, cols, paint)
    if numbers:
        lines += ["", *numbers]
    lines.append("")
    findings = sorted_findings(report.findings)
    if findings:
        id_width = min(max(len(f.rule_id) for f in findings), MAX_RULE_ID_WIDTH)
        for finding in findings:
            lines += _finding_rows(finding, id_width, cols, paint)
    else:
        lines.append(INDENT + "No findings.")
    lines.append("")
    word = report.verdict.upper()
    verdict = textwrap.wrap(f"{word}  {counts_text(report.findings)}", cols, subsequent_indent=" " * 6)
    lines.append(paint(word, *VERDICT_STYLES[report.verdict]) + verdict[0][len(word) :])
    lines += verdict[1:]
    return "\n".join(lines)


def render_batch_terminal(reports: Sequence[Report], *, color: bool = False, width: int | None = None) -> str:
    """One line per report (verdict, file, counts) and a total line, for ``mixqc check a.wav b.wav``.

    Parameters
    ----------
    reports
        The reports, in the order the files were given.
    color
        Colour the verdicts with ANSI codes.
    width
        Columns available; file names are padded to line up when they fit (default: the terminal's).

    Returns
    -------
    str
        ``FAIL  a.wav  1 error, 0 warnings, 0 info`` lines, then ``2 files: 1 fail, 0 warn, 1 pass``;
        no final newline.
    """
    paint = _Paint(color)
    cols = _width(width)
    rows = [(r.verdict, visible(r.file.path), counts_text(r.findings)) for r in reports]
    longest_counts = max((len(c) for _, _, c in rows), default=0)
    name_width = min(max((len(p) for _, p, _ in rows), default=0), max(cols - 6 - 2 - longest_counts, 0))
    lines = [
        f"{paint(verdict.upper().ljust(4), *VERDICT_STYLES[verdict])}  {path.ljust(name_width)}  {counts}"
        for verdict, path, counts in rows
    ]
    tally = {v: sum(1 for r in reports if r.verdict == v) for v in ("fail", "warn", "pass")}
    total = ", ".join(f"{n} {v}" for v, n in tally.items())
    lines.append(f"{len(reports)} file{'' if len(reports) == 1 else 's'}: {total}")
    return "\n".join(lines)
