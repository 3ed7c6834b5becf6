"""Render a report (or a batch summary) as a short Markdown text to paste into an email or a chat.

It reads well as plain text too: the verdict first, the problems to fix with what to do, the key numbers
and the platform preview as small tables, then every finding with its times. Text from the report is
escaped so that a Markdown viewer shows it literally (no HTML, links or emphasis sneak in); file names are
code spans. Returns a string; it never computes features, reads audio or writes files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..branding import Branding
from ..text import visible
from .batch import BatchSummary
from .filters import (
    GROUP_TITLES,
    VERDICT_TITLES,
    basename,
    counts_text,
    db,
    dbtp,
    events_summary,
    format_line,
    grouped_findings,
    key_numbers,
    lu,
    lufs,
    measured,
    mmss,
    signed_db,
    threshold,
    top_problems,
    verdict_summary,
)
from .model import Report
from .platforms import platform_preview, turned_down_note

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")  # enough that text never becomes HTML, a link or emphasis


def escape(text: str) -> str:
    """``text`` with Markdown's special characters backslash-escaped, line breaks flattened and other
    control characters shown as escapes (:func:`qc.text.visible`).

    >>> escape("<b>loud</b> | *mix*")
    '\\\\<b\\\\>loud\\\\</b\\\\> \\\\| \\\\*mix\\\\*'
    """
    return _SPECIAL.sub(r"\\\1", visible(" ".join(str(text).split())))


def code(text: str) -> str:
    """``text`` as a Markdown code span (shown literally), fenced with more backticks than it contains."""
    flat = visible(" ".join(str(text).split()))
    runs = [len(run) for run in re.findall(r"`+", flat)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _note(branding: Branding) -> list[str]:
    if not branding.note:
        return []
    who = f"A note from {escape(branding.studio)}" if branding.studio else "A note for you"
    lines = [f"> **{who}:**"]
    lines += [f"> {escape(line)}" if line.strip() else ">" for line in branding.note.splitlines()]
    return [*lines, ""]


def _signature(branding: Branding, colophon: str) -> list[str]:
    """The closing lines: studio, contact, footer and the colophon (Markdown line breaks between them)."""
    lines = []
    if branding.studio:
        contact = f" · {escape(branding.contact)}" if branding.contact else ""
        lines.append(f"**{escape(branding.studio)}**{contact}")
    elif branding.contact:
        lines.append(escape(branding.contact))
    if branding.footer:
        lines.append(escape(branding.footer))
    lines.append(f"_{colophon}_")
    return ["---", "", "  \n".join(lines)]


def render_markdown(report: Report, branding: Branding | None = None) -> str:
    """A Markdown summary of ``report`` for an email: verdict, problems to fix first, key numbers,
    platform preview and every finding with its times and suggestion. Ends with a newline."""
    branding = branding or Branding()
    name = basename(report.file.path)
    lines = [
        f"# {code(name)}: {VERDICT_TITLES[report.verdict]}",
        "",
        f"Profile **{escape(report.profile)}** · {escape(format_line(report.file))} · "
        f"{mmss(report.file.duration_s, millis=False)}",
        "",
        *_note(branding),
        f"**{VERDICT_TITLES[report.verdict]}.** {escape(verdict_summary(report.findings, report.profile))}",
        "",
    ]
    top = top_problems(report.findings)
    if top:
        lines += ["## What to fix first", ""]
        for i, finding in enumerate(top, start=1):
            lines.append(f"{i}. **{escape(finding.title)}** ({finding.severity}): {escape(finding.message)}")
            if finding.suggestion:
                lines.append(f"   *What to do:* {escape(finding.suggestion)}")
        lines.append("")

    numbers = key_numbers(report)
    if numbers:
        rows = [
            [k.label, k.text, f"{k.relation} {k.target_text}" if k.target_text else "—", k.delta_text or "—"]
            for k in numbers
        ]
        lines += ["## Key numbers", "", *_table(["Measure", "This mix", "Profile", "Difference"], rows), ""]

    previews = platform_preview(report)
    if previews:
        rows = [
            [p.platform.name, lufs(p.platform.reference_lufs), signed_db(p.gain_db), dbtp(p.peak_dbtp)]
            for p in previews
        ]
        lines += [
            "## On streaming platforms",
            "",
            *_table(["Platform", "Plays at", "Gain", "Peak after"], rows),
        ]
        note = turned_down_note(previews)
        lines += ["", escape(note), ""] if note else [""]

    groups = grouped_findings(report.findings)
    lines += ["## Findings", ""]
    if not groups:
        lines += ["No findings: every check passed.", ""]
    for group, findings in groups:
        lines += [f"### {GROUP_TITLES[group]} ({len(findings)})", ""]
        for finding in findings:
            text = f"- **{escape(finding.title)}**: {escape(finding.message)}"
            if not finding.skipped:
                text += f" Measured {escape(measured(finding))} (threshold {escape(threshold(finding))})."
            when = events_summary(finding)
            if when:
                text += f" Times: {escape(when)}."
            lines.append(text)
            if finding.suggestion:
                lines.append(f"  *Suggestion:* {escape(finding.suggestion)}")
        lines.append("")
    colophon = f"{counts_text(report.findings)} · checked by {report.tool.name} {report.tool.version}"
    lines += _signature(branding, escape(colophon))
    return "\n".join(lines).rstrip() + "\n"


def render_summary_markdown(summary: BatchSummary, branding: Branding | None = None) -> str:
    """A Markdown summary of a batch: verdict, album problems and a table of the tracks; ends with "\\n"."""
    branding = branding or Branding()
    count = len(summary.tracks)
    lines = [
        f"# {count} track{'s' if count != 1 else ''}: {VERDICT_TITLES[summary.verdict]}",
        "",
        f"Profile **{escape(summary.profile)}**",
        "",
        *_note(branding),
    ]
    album = [f for f in summary.album_findings if not f.skipped]
    lines += ["## Album checks", ""]
    if not album:
        lines += ["No album problems: the tracks sit well together.", ""]
    for finding in album:
        lines.append(f"- **{escape(finding.title)}** ({finding.severity}): {escape(finding.message)}")
        if finding.suggestion:
            lines.append(f"  *Suggestion:* {escape(finding.suggestion)}")
    if album:
        lines.append("")
    rows = [
        [
            str(i),
            code(t.name),
            VERDICT_TITLES[t.verdict],
            lufs(t.integrated_lufs),
            dbtp(t.true_peak_dbtp),
            lu(t.loudness_range_lu),
            db(t.plr_db),
            str(t.errors + t.warnings),
        ]
        for i, t in enumerate(summary.tracks, start=1)
    ]
    header = ["#", "Track", "Verdict", "Loudness", "True peak", "LRA", "PLR", "Problems"]
    lines += ["## Tracks", "", *_table(header, rows), ""]
    if summary.failed:
        lines += ["## Not checked", ""]
        lines += [f"- {code(basename(f.path))}: {escape(f.error)}" for f in summary.failed]
        lines.append("")
    lines += _signature(branding, escape(f"checked by {summary.tool.name} {summary.tool.version}"))
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["code", "escape", "render_markdown", "render_summary_markdown"]
