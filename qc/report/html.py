"""Render a report as one self-contained HTML page (CSS inlined, no scripts, no external URLs).

The page is laid out by ``report_templates/report.html.j2``; numbers go through the filters in
:mod:`qc.report.filters`. This module only prepares what the template shows (including the geometry of
the short-term loudness chart); it never computes features, reads audio or writes files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ReportError
from ..features.registry import Series
from ..resources import templates_dir
from .filters import (
    FILTERS,
    GROUP_TITLES,
    VERDICT_TITLES,
    basename,
    finding_counts,
    grouped_findings,
    key_numbers,
    mmss,
    number,
    scalar_features,
)
from .model import Report

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "report.html.j2"
MAX_EVENTS_SHOWN = 20  # per finding; the rest are summarised as "and N more"
CHART_SERIES = "short_term_lufs"
CHART_WIDTH = 720
CHART_HEIGHT = 200
CHART_MARGINS = (48, 12, 12, 26)  # left, right, top, bottom, in SVG user units
CHART_MAX_POINTS = 1200  # longer series are reduced to the loudest value per bucket
CHART_FLOOR_SPAN_LU = 48.0  # the y axis spans at most this much; quieter values sit on its floor
TIME_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


@dataclass(frozen=True)
class Tick:
    """An axis tick: its position along the axis (SVG units, formatted) and its label."""

    position: str
    label: str


@dataclass(frozen=True)
class LoudnessChart:
    """Everything the template needs to draw the short-term loudness chart as inline SVG."""

    width: int
    height: int
    left: str
    right: str
    top: str
    bottom: str
    lines: list[str]  # one SVG ``points`` attribute per run of defined values
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    target_y: str | None
    target_label: str


def _coord(value: float) -> str:
    return f"{value:.1f}"


def _reduce(values: Sequence[float | None], max_points: int) -> tuple[list[float | None], int]:
    """Keep at most ``max_points`` values, each the loudest of its bucket; returns (values, bucket size)."""
    size = max(1, math.ceil(len(values) / max_points))
    if size == 1:
        return list(values), 1
    reduced: list[float | None] = []
    for start in range(0, len(values), size):
        finite = [v for v in values[start : start + size] if v is not None and math.isfinite(v)]
        reduced.append(max(finite) if finite else None)
    return reduced, size


def loudness_chart(series: Series, duration_s: float, target_lufs: float | None) -> LoudnessChart | None:
    """Geometry of the short-term loudness chart, or None when the series has no finite value.

    Parameters
    ----------
    series
        Short-term loudness in LUFS; None or non-finite values (silence) leave gaps in the line.
    duration_s
        Length of the file in seconds: the x axis runs from 0 to this (or the series' end if later).
    target_lufs
        The profile's loudness target, drawn as a dashed line; None to leave it out.
    """
    values, bucket = _reduce(series.values, CHART_MAX_POINTS)
    hop_s = series.hop_s * bucket
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite or hop_s <= 0:
        return None
    left, right_margin, top, bottom_margin = CHART_MARGINS
    right, bottom = CHART_WIDTH - right_margin, CHART_HEIGHT - bottom_margin

    levels = finite + ([target_lufs] if target_lufs is not None else [])
    y_step = 6.0
    y_max = math.ceil((max(levels) + 1.0) / y_step) * y_step
    y_min = max(math.floor((min(levels) - 1.0) / y_step) * y_step, y_max - CHART_FLOOR_SPAN_LU)
    if y_max - y_min > 24.0:
        y_step = 12.0
    end_s = max(duration_s, series.start_s + len(series.values) * series.hop_s, 1e-9)

    def x_at(t: float) -> float:
        return left + (right - left) * min(max(t / end_s, 0.0), 1.0)

    def y_at(level: float) -> float:
        level = min(max(level, y_min), y_max)
        return bottom - (bottom - top) * (level - y_min) / (y_max - y_min)

    lines: list[str] = []
    run: list[str] = []
    for i, level in enumerate(values):
        if level is None or not math.isfinite(level):
            if len(run) > 1:
                lines.append(" ".join(run))
            run = []
            continue
        t = series.start_s + (i + 0.5) * hop_s if bucket > 1 else series.start_s + i * series.hop_s
        run.append(f"{_coord(x_at(t))},{_coord(y_at(level))}")
    if len(run) > 1:
        lines.append(" ".join(run))

    y_ticks = []
    level = y_min
    while level <= y_max + 1e-9:
        y_ticks.append(Tick(_coord(y_at(level)), number(level, 0)))
        level += y_step
    t_step = next((s for s in TIME_STEPS_S if end_s / s <= 8), TIME_STEPS_S[-1])
    x_ticks = [
        Tick(_coord(x_at(k * t_step)), mmss(k * t_step, millis=False))
        for k in range(int(end_s // t_step) + 1)
    ]
    return LoudnessChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=_coord(left),
        right=_coord(right),
        top=_coord(top),
        bottom=_coord(bottom),
        lines=lines,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        target_y=_coord(y_at(target_lufs)) if target_lufs is not None else None,
        target_label=f"target {number(target_lufs, 1)}" if target_lufs is not None else "",
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every HTML-based report: loads only from ``report_templates/``,
    autoescapes everything, fails on undefined names, and knows the :data:`~qc.report.filters.FILTERS`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def html_context(report: Report) -> dict[str, Any]:
    """What the template receives: the report plus the selections and labels it lays out."""
    series = report.series.get(CHART_SERIES)
    return {
        "report": report,
        "file_name": basename(report.file.path),
        "verdict_title": VERDICT_TITLES[report.verdict],
        "counts": finding_counts(report.findings),
        "key_numbers": key_numbers(report),
        "groups": grouped_findings(report.findings),
        "group_titles": GROUP_TITLES,
        "features": scalar_features(report),
        "chart": (
            loudness_chart(series, report.file.duration_s, report.targets.get("target_lufs"))
            if series is not None
            else None
        ),
        "max_events": MAX_EVENTS_SHOWN,
    }


def render_html(report: Report) -> str:
    """One self-contained HTML page for ``report`` (UTF-8 text; CSS inlined; no scripts or external URLs).

    Sections, by id: ``verdict``, ``key-numbers`` (with a short-term loudness chart when the report has a
    ``short_term_lufs`` series), ``findings`` (grouped by severity, then skipped checks), ``file`` and
    ``features``. Every text from the report is HTML-escaped.

    Raises
    ------
    ReportError
        If the template is missing or refers to something the report does not have.
    """
    import jinja2

    try:
        template = environment().get_template(TEMPLATE)
        return template.render(html_context(report))
    except jinja2.TemplateError as exc:
        where = templates_dir() / TEMPLATE
        raise ReportError(f"{where}: cannot render the HTML report: {exc}") from exc
