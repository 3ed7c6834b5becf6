"""Render a corrective master's report (:class:`~qc.master.model.MasterReport`) as terminal text, JSON, one
self-contained HTML page or a PDF: the check before and after, and what every stage of the chain changed.

The page is laid out by ``report_templates/master.html.j2`` on the check report's page (``_page.html.j2``,
``report.css``), rendered by the same Jinja environment and laid out as PDF by the same confined WeasyPrint
call; numbers go through :mod:`qc.report.filters`, pictures come from :mod:`qc.report.plots`. This module only
selects and formats what the reports already hold; it never computes features, judges values (the pass/fail
marks are the check's own findings), reads audio or writes files.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..branding import Branding
from ..findings import SEVERITY_RANK, Finding
from ..master.model import MasterReport, MasterSettings, StageChange
from ..text import visible
from .filters import (
    KEY_NUMBERS,
    MISSING,
    UNIT_SUFFIXES,
    VERDICT_TITLES,
    basename,
    channel_name,
    counts_text,
    format_line,
    frequency,
    in_unit,
    key_numbers,
    lu,
    mmss,
    number,
    plain,
    plural,
    signed_db,
    unit_of,
    verdict_summary,
    worst_severity,
)
from .html import Medium, render_template
from .model import Report
from .pdf import html_to_pdf
from .plots import ImageFormat, Picture, loudness_picture, waveform_picture
from .terminal import MIN_WIDTH, RESET, STYLES, VERDICT_STYLES

TEMPLATE = "master.html.j2"
MAX_TABLE_ROWS = 20  # rows shown of a stage's list of regions; the rest are summarised as "and N more"
FORMAT_FEATURES = ("sample_rate_hz", "bit_depth", "effective_bit_depth")  # what the format rules judge
Status = Literal["pass", "warn", "fail", ""]
FindingStatus = Literal["resolved", "remaining", "new"]
STATUS_OF_SEVERITY: dict[str | None, Status] = {
    None: "pass",
    "info": "pass",
    "warning": "warn",
    "error": "fail",
}
STATUS_STYLES: dict[str, tuple[str, ...]] = {"pass": ("green",), "warn": ("yellow",), "fail": ("bold", "red")}
FINDING_STATUS_TITLES: dict[str, str] = {
    "resolved": "Resolved by mastering",
    "remaining": "Still present",
    "new": "New after mastering",
}
FINDING_STATUS_STYLES: dict[str, tuple[str, ...]] = {
    "resolved": ("green",),
    "remaining": ("yellow",),
    "new": ("bold", "red"),
}


# --- the key numbers before and after ------------------------------------------------------------------


@dataclass(frozen=True)
class NumberRow:
    """One headline number before and after: texts in the unit, the master's aim, the check's marks.

    ``before_status``/``after_status`` are ``pass``, ``warn`` or ``fail`` from the worst finding each check
    made on the feature (empty when the number has no target and no rule spoke about it); ``change_text``
    is the signed difference after − before.
    """

    label: str
    short_label: str
    before_text: str
    after_text: str
    target_text: str
    relation: str
    change_text: str
    before_status: Status
    after_status: Status


def _status(report: Report, features: Sequence[str], has_target: bool) -> Status:
    severities = [s for s in (worst_severity(report.findings, f) for f in features) if s is not None]
    worst = max(severities, key=SEVERITY_RANK.__getitem__) if severities else None
    if worst is None and not has_target:
        return ""
    return STATUS_OF_SEVERITY[worst]


def _aim(settings: MasterSettings, feature: str) -> tuple[str, float] | None:
    """The master's own aim for a key number (``("target", -14.0)``), from its settings."""
    if feature == "integrated_lufs" and settings.target_lufs is not None:
        return "target", settings.target_lufs
    if feature == "true_peak_dbtp":
        return "ceiling", settings.ceiling_dbtp
    return None


def number_rows(report: MasterReport) -> list[NumberRow]:
    """The key numbers (integrated loudness, true peak, LRA, PLR, sample peak) before and after.

    The target of loudness and true peak is the master's (its settings); the others show the after-check's
    profile target. Marks come from the findings of each check.
    """
    before = {key.spec.feature: key for key in key_numbers(report.before)}
    after = {key.spec.feature: key for key in key_numbers(report.after)}
    rows = []
    for spec in KEY_NUMBERS:
        old, new = before.get(spec.feature), after.get(spec.feature)
        if old is None and new is None:
            continue
        aim = _aim(report.settings, spec.feature)
        if aim is not None:
            relation, target = aim
            target_text = f"{number(target, 1)} {spec.unit}"
            tolerance = report.after.targets.get(spec.tolerance) if spec.tolerance else None
            if relation == "target" and tolerance and report.after.targets.get("target_lufs") == target:
                target_text += f" ± {lu(tolerance)}"
        else:
            shown = new or old
            relation, target_text = (shown.relation, shown.target_text) if shown else ("", "")
        change = MISSING
        if old is not None and new is not None and old.value is not None and new.value is not None:
            change = signed_db(new.value - old.value, 1, "LU" if spec.unit in ("LUFS", "LU") else "dB")
        has_target = bool(target_text)
        rows.append(
            NumberRow(
                label=spec.label,
                short_label=spec.short_label,
                before_text=old.text if old else MISSING,
                after_text=new.text if new else MISSING,
                target_text=target_text,
                relation=relation,
                change_text=change,
                before_status=_status(report.before, [spec.feature], has_target),
                after_status=_status(report.after, [spec.feature], has_target),
            )
        )
    return rows


def format_row(report: MasterReport) -> NumberRow:
    """The encoding before and after (``WAV 24-bit 48 kHz stereo``) against the master's output settings."""
    settings = report.settings
    depth = f"{settings.bit_depth}-bit" if settings.bit_depth else "32-bit float"
    return NumberRow(
        label="Format",
        short_label="Format",
        before_text=format_line(report.before.file),
        after_text=format_line(report.after.file),
        target_text=f"{depth} {frequency(settings.sample_rate)}",
        relation="output",
        change_text=MISSING,
        before_status=_status(report.before, FORMAT_FEATURES, False),
        after_status=_status(report.after, FORMAT_FEATURES, False),
    )


# --- findings before and after -------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingChange:
    """One rule's finding before and after mastering (either may be None), matched by ``rule_id``."""

    rule_id: str
    status: FindingStatus
    before: Finding | None
    after: Finding | None

    @property
    def shown(self) -> Finding:
        """The finding to describe: the one after mastering, or the one before if it was resolved."""
        return self.after or self.before  # type: ignore[return-value]  # never both None


@dataclass(frozen=True)
class FindingComparison:
    """The findings resolved, still present and new after mastering (skipped checks left out)."""

    resolved: list[FindingChange]
    remaining: list[FindingChange]
    new: list[FindingChange]

    def groups(self) -> list[tuple[str, list[FindingChange]]]:
        """``[(status, changes), ...]``: resolved, remaining, new, empty groups left out."""
        named = (("resolved", self.resolved), ("remaining", self.remaining), ("new", self.new))
        return [(status, changes) for status, changes in named if changes]


def _by_rule(findings: Sequence[Finding]) -> dict[str, Finding]:
    """The most severe non-skipped finding of each rule, in the report's order."""
    found: dict[str, Finding] = {}
    for finding in findings:
        if finding.skipped:
            continue
        held = found.get(finding.rule_id)
        if held is None or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[held.severity]:
            found[finding.rule_id] = finding
    return found


def _severity_order(change: FindingChange) -> int:
    return -SEVERITY_RANK[change.shown.severity]


def compare_findings(before: Report, after: Report) -> FindingComparison:
    """Match the two checks' findings by rule id: resolved (before only), remaining (both), new (after only).

    Each group is sorted errors first, then warnings, then info (stable within a severity).
    """
    old, new = _by_rule(before.findings), _by_rule(after.findings)
    resolved = [
        FindingChange(rule, "resolved", finding, None) for rule, finding in old.items() if rule not in new
    ]
    remaining = [
        FindingChange(rule, "remaining", old[rule], finding) for rule, finding in new.items() if rule in old
    ]
    added = [FindingChange(rule, "new", None, finding) for rule, finding in new.items() if rule not in old]
    return FindingComparison(
        resolved=sorted(resolved, key=_severity_order),
        remaining=sorted(remaining, key=_severity_order),
        new=sorted(added, key=_severity_order),
    )


def comparison_text(comparison: FindingComparison) -> str:
    """``Mastering resolved 3 findings; 4 are still present and 1 is new.``"""
    remaining, new = len(comparison.remaining), len(comparison.new)
    still = f"{remaining} {'is' if remaining == 1 else 'are'} still present"
    added = f"{new} {'is' if new == 1 else 'are'} new"
    return f"Mastering resolved {plural(len(comparison.resolved), 'finding')}; {still} and {added}."


# --- what each stage changed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueTable:
    """A stage value that is a list of records (regions, EQ bands): column headers and formatted rows."""

    label: str
    headers: list[str]
    rows: list[list[str]]
    more: int  # rows left out after MAX_TABLE_ROWS


@dataclass(frozen=True)
class StageView:
    """One stage of the chain ready to show: its summary, its numbers as ``(label, text)`` and its tables."""

    position: int
    stage: str
    summary: str
    changed: bool
    values: list[tuple[str, str]]
    tables: list[ValueTable]


def value_label(key: str) -> str:
    """A value's key as a label, without its unit suffix: ``max_reduction_db`` → ``Max reduction``.

    >>> value_label("max_reduction_db"), value_label("limited_share"), value_label("sample_rate_hz")
    ('Max reduction', 'Limited share', 'Sample rate')
    """
    base = key
    for suffix, _, _ in UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            base = key[: -len(suffix)]
            break
    words = base.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def share(value: object) -> str:
    """A fraction (0–1) as a percentage: ``0.0123`` → ``1.2 %``, ``0.0004`` → ``0.04 %``.

    >>> share(0.0123), share(0.0004), share(None)
    ('1.2 %', '0.04 %', '—')
    """
    text = number(value, 1)
    if text == MISSING:
        return text
    percent = float(value) * 100.0  # type: ignore[arg-type]
    return f"{number(percent, 2 if 0 < abs(percent) < 1 else 1)} %"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_text(key: str, value: Any) -> str:
    """A stage value in the unit its key names: ``gain_db`` → ``+9.83 dB``, ``limited_share`` → ``1.2 %``,
    ``cutoff_hz`` → ``20 Hz``, ``trimmed_s`` → ``1.25 s``; a list of numbers shares one unit.

    Gains (keys containing ``gain``) are signed. Lists of records are tables (:func:`value_table`).

    >>> value_text("gain_db", 9.83), value_text("sample_rate_hz", 44100), value_text("clicks", 3)
    ('+9.83 dB', '44.1 kHz', '3')
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if all(_is_number(v) or v is None for v in value):
            unit, digits = unit_of(key)
            if key.endswith("_hz"):
                return ", ".join(frequency(v) for v in value) or MISSING
            numbers = [number(v, digits) if unit else plain(v) for v in value]
            return (", ".join(numbers) + (f" {unit}" if unit else "")) if numbers else MISSING
        return ", ".join(value_text(key, v) for v in value) or MISSING
    if key.endswith("_share"):
        return share(value)
    if key.endswith("_hz"):
        return frequency(value)
    if "gain" in key and key.endswith(("_db", "_lu")):
        return signed_db(value, 2 if key.endswith("_db") else 1, "dB" if key.endswith("_db") else "LU")
    if key.endswith("_s") and _is_number(value) and abs(value) < 1.0:
        return f"{number(value, 3)} s"  # look-ahead and fade lengths: milliseconds matter
    return in_unit(value, key)


def _cell(key: str, value: Any, channels: int) -> str:
    """A table cell: times (keys ending ``_s``) as ``m:ss.mmm``, a ``channel`` as ``L``/``R``/``all``,
    the rest as :func:`value_text`."""
    if key.endswith("_s") and _is_number(value):
        return mmss(value)
    if key == "channel" and (value is None or (isinstance(value, int) and not isinstance(value, bool))):
        return channel_name(value, channels)
    return value_text(key, value)


def value_table(key: str, records: Sequence[Mapping[str, Any]], channels: int = 2) -> ValueTable:
    """A list of records (``[{"start_s": .., "end_s": .., "max_reduction_db": ..}, ...]``) as a table;
    columns in the order keys first appear, times as ``m:ss.mmm``, channels (0-based, None for all) named
    for a file of ``channels`` channels."""
    columns: list[str] = []
    for record in records:
        columns += [name for name in record if name not in columns]
    shown = records[:MAX_TABLE_ROWS]
    rows = [[_cell(name, record.get(name), channels) for name in columns] for record in shown]
    return ValueTable(
        label=value_label(key),
        headers=[value_label(name) for name in columns],
        rows=rows,
        more=len(records) - len(shown),
    )


def _is_records(value: object) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def stage_view(position: int, change: StageChange, channels: int = 2) -> StageView:
    """One :class:`~qc.master.model.StageChange` ready to show (``position`` counts from 1)."""
    values, tables = [], []
    for key, value in change.values.items():
        if _is_records(value):
            tables.append(value_table(key, value, channels))  # type: ignore[arg-type]
        else:
            values.append((value_label(key), value_text(key, value)))
    return StageView(position, change.stage, change.summary, change.changed, values, tables)


def stage_views(report: MasterReport) -> list[StageView]:
    """Every stage of the chain, in order."""
    channels = report.before.file.channels
    return [stage_view(i, change, channels) for i, change in enumerate(report.changes, start=1)]


def settings_rows(settings: MasterSettings) -> list[tuple[str, str]]:
    """What the user asked for, as ``(label, text)`` rows."""
    target = (
        f"{number(settings.target_lufs, 1)} LUFS" if settings.target_lufs is not None else "none (no gain)"
    )
    return [
        ("Profile", settings.profile),
        ("Loudness target", target),
        ("True-peak ceiling", f"{number(settings.ceiling_dbtp, 1)} dBTP"),
        ("Output bit depth", f"{settings.bit_depth}-bit" if settings.bit_depth else "32-bit float"),
        ("Output sample rate", frequency(settings.sample_rate)),
        (
            "Limiting allowed",
            f"up to {number(settings.max_limiting_db, 1)} dB on at most {share(settings.max_limited_share)}"
            " of the track",
        ),
        ("Stages skipped on request", ", ".join(settings.skip) or "none"),
    ]


# --- the page ------------------------------------------------------------------------------------------


def _pictures(report: MasterReport, medium: Medium) -> list[tuple[str, str, Picture]]:
    """``[(element id, "Before"/"After", picture), ...]``: loudness, then waveform, each before and after,
    as far as the reports hold the numbers."""
    fmt: ImageFormat = "svg" if medium == "screen" else "png"
    drawn = []
    for kind, draw in (("loudness", loudness_picture), ("waveform", waveform_picture)):
        for when, checked in (("Before", report.before), ("After", report.after)):
            picture = draw(checked, fmt)
            if picture is not None:
                drawn.append((f"{kind}-{when.lower()}", when, picture))
    return drawn


def master_context(
    report: MasterReport, branding: Branding | None = None, *, medium: Medium = "screen"
) -> dict[str, Any]:
    """What ``master.html.j2`` receives: the report plus the rows, views and pictures it lays out."""
    comparison = compare_findings(report.before, report.after)
    return {
        "master": report,
        "tool": report.tool,
        "medium": medium,
        "branding": branding or Branding(),
        "input_name": basename(report.input_path),
        "output_name": basename(report.output_path),
        "before": report.before,
        "after": report.after,
        "verdict_titles": VERDICT_TITLES,
        "before_counts": counts_text(report.before.findings),
        "after_counts": counts_text(report.after.findings),
        "after_summary": verdict_summary(report.after.findings, report.after.profile),
        "comparison": comparison,
        "comparison_text": comparison_text(comparison),
        "status_titles": FINDING_STATUS_TITLES,
        "numbers": [*number_rows(report), format_row(report)],
        "stages": stage_views(report),
        "settings_rows": settings_rows(report.settings),
        "tags": sorted(report.tags.items()),
        "notes": report.notes,
        "pictures": _pictures(report, medium),
    }


def render_master_html(report: MasterReport, branding: Branding | None = None) -> str:
    """One self-contained HTML page for a corrective master (UTF-8; CSS inlined; no scripts or external URLs).

    Sections, by id: ``verdict`` (before → after), ``key-numbers`` (before, after, the master's target or
    ceiling, pass/fail marks from each check), ``chain`` (every stage in order, ``stage-N``, with its summary,
    numbers and region tables), ``findings`` (``findings-resolved``, ``findings-remaining``,
    ``findings-new``), ``tags``, ``pictures`` (short-term loudness and waveform before and after),
    ``settings`` and ``files``. Every text from the report and the branding is HTML-escaped.

    Raises
    ------
    ReportError
        If the template is missing or refers to something the report does not have.
    """
    return render_template(TEMPLATE, master_context(report, branding, medium="screen"))


def render_master_pdf(report: MasterReport, branding: Branding | None = None) -> bytes:
    """The master report as a PDF document (A4), from the same template as :func:`render_master_html`;
    page one holds the verdict before → after and the key numbers.

    Raises
    ------
    ReportError
        If the page cannot be rendered or laid out.
    """
    return html_to_pdf(render_template(TEMPLATE, master_context(report, branding, medium="print")))


def render_master_json(report: MasterReport) -> str:
    """The master report as JSON (2-space indent; non-finite floats as ``null``); it round-trips through
    ``MasterReport.model_validate_json``."""
    return report.model_dump_json(indent=2)


# --- the terminal --------------------------------------------------------------------------------------

INDENT = "  "
ARROW = " -> "


def _printable(text: str) -> str:
    """``text`` with control characters (an escape sequence in a tag or a path) shown escaped (``\\x1b``)."""
    return visible(text)


def _paint(text: str, color: bool, *styles: str) -> str:
    if not color or not text or not styles:
        return text
    return "".join(STYLES[s] for s in styles) + text + RESET


def _status_text(row: NumberRow, color: bool) -> str:
    if not (row.before_status or row.after_status):
        return ""
    old = _paint(row.before_status or "-", color, *STATUS_STYLES.get(row.before_status, ()))
    new = _paint(row.after_status or "-", color, *STATUS_STYLES.get(row.after_status, ()))
    return f"{old}{ARROW}{new}"


def _number_lines(report: MasterReport, color: bool) -> list[str]:
    rows = number_rows(report)
    if not rows:
        return []
    label_w = max(len(r.short_label) for r in rows)
    before_w = max(len(r.before_text) for r in rows)
    after_w = max(len(r.after_text) for r in rows)
    target_w = max(len(f"{r.relation} {r.target_text}") if r.target_text else 0 for r in rows)
    lines = []
    for row in rows:
        target = f"{row.relation} {row.target_text}" if row.target_text else ""
        line = (
            f"{INDENT}{row.short_label.ljust(label_w)}  {row.before_text.rjust(before_w)}{ARROW}"
            f"{_paint(row.after_text.rjust(after_w), color, 'bold')}  {target.ljust(target_w)}  "
            f"{_status_text(row, color)}"
        )
        lines.append(line.rstrip())
    fmt = format_row(report)
    lines.append(f"{INDENT}{'Format'.ljust(label_w)}  {fmt.before_text}{ARROW}{fmt.after_text}")
    return lines


def _wrapped(prefix: str, text: str, width: int, color: bool, *styles: str) -> list[str]:
    """``prefix`` then ``text`` wrapped to ``width``, continuation lines aligned under the text."""
    room = max(width - len(prefix), 20)
    pieces = textwrap.wrap(text, room, break_on_hyphens=False) or [""]
    pad = " " * len(prefix)
    return [(prefix if i == 0 else pad) + _paint(piece, color, *styles) for i, piece in enumerate(pieces)]


def _chain_lines(report: MasterReport, width: int, color: bool) -> list[str]:
    stages = stage_views(report)
    if not stages:
        return [f"{INDENT}No processing: nothing was changed."]
    name_w = max(len(_printable(s.stage)) for s in stages)
    number_w = len(str(len(stages)))
    lines = []
    for view in stages:
        head = f"{INDENT}{str(view.position).rjust(number_w)}. "
        name = _printable(view.stage).ljust(name_w)
        prefix = f"{head}{name}  "
        styles: tuple[str, ...]
        if view.changed:
            text, styles = _printable(view.summary), ()
        else:
            text, styles = f"skipped: {_printable(view.summary)}", ("dim",)
        body = _wrapped(" " * len(prefix), text, width, color, *styles)
        lines.append(head + _paint(name, color, *(styles or ("bold",))) + "  " + body[0].lstrip())
        lines += body[1:]
    return lines


def _findings_lines(comparison: FindingComparison, width: int, color: bool) -> list[str]:
    label_w = max(len(status) for status in FINDING_STATUS_TITLES)
    lines = []
    for status, changes in (
        ("resolved", comparison.resolved),
        ("remaining", comparison.remaining),
        ("new", comparison.new),
    ):
        ids = ", ".join(change.rule_id for change in changes) or "none"
        prefix = f"{INDENT}{status.ljust(label_w)}  "
        body = _wrapped(" " * len(prefix), ids, width, color)
        styles = FINDING_STATUS_STYLES[status] if changes else ("dim",)
        lines.append(INDENT + _paint(status.ljust(label_w), color, *styles) + "  " + body[0].lstrip())
        lines += body[1:]
    return lines


def render_master_terminal(report: MasterReport, *, color: bool, width: int | None = None) -> str:
    """A compact summary of a corrective master for a terminal.

    Parameters
    ----------
    report
        The master report.
    color
        Add ANSI colour codes (verdicts and marks coloured, skipped stages dim).
    width
        Wrap width in columns; default: the terminal's width (at least 40).

    Returns
    -------
    str
        ``IN -> OUT`` with the profile, target and ceiling; the key numbers before -> after with the
        master's target or ceiling and pass/warn/fail marks from each check, then the format; every stage's
        summary in chain order (stages that changed nothing shown as skipped); the tags written; the verdict
        before -> after with the findings resolved, still present and new (by rule id). No final newline.
    """
    cols = max(int(width if width is not None else shutil.get_terminal_size((100, 24)).columns), MIN_WIDTH)
    settings = report.settings
    aims = [f"profile {settings.profile}"]
    if settings.target_lufs is not None:
        aims.append(f"target {number(settings.target_lufs, 1)} LUFS")
    aims.append(f"ceiling {number(settings.ceiling_dbtp, 1)} dBTP")
    lines = [
        *_wrapped("", f"{_printable(report.input_path)}{ARROW}{_printable(report.output_path)}", cols, color),
        *_wrapped("", " · ".join(aims), cols, color),
        "",
        *_number_lines(report, color),
        "",
        _paint("Chain", color, "bold"),
        *_chain_lines(report, cols, color),
    ]
    if report.notes:
        lines += ["", _paint("Not fixed by mastering", color, "bold")]
        for note in report.notes:
            lines += _wrapped(INDENT, _printable(note), cols, color)
    if report.tags:
        lines += ["", _paint("Metadata", color, "bold")]
        tags = " · ".join(f"{key}: {value}" for key, value in sorted(report.tags.items()))
        lines += _wrapped(INDENT, _printable(tags), cols, color)
    old, new = report.before.verdict, report.after.verdict
    verdict = (
        _paint(old.upper(), color, *VERDICT_STYLES[old])
        + ARROW
        + _paint(new.upper(), color, *VERDICT_STYLES[new])
    )
    counts = f"{counts_text(report.before.findings)}{ARROW}{counts_text(report.after.findings)}"
    if len(old) + len(ARROW) + len(new) + 2 + len(counts) <= cols:
        lines += ["", f"{verdict}  {counts}"]
    else:
        lines += ["", verdict, *_wrapped(INDENT, counts, cols, color)]
    lines += _findings_lines(compare_findings(report.before, report.after), cols, color)
    return "\n".join(lines)


__all__ = [
    "FindingChange",
    "FindingComparison",
    "NumberRow",
    "StageView",
    "ValueTable",
    "compare_findings",
    "master_context",
    "number_rows",
    "render_master_html",
    "render_master_json",
    "render_master_pdf",
    "render_master_terminal",
    "stage_views",
    "value_label",
    "value_text",
]
