"""The report's pictures, drawn with matplotlib from numbers already in the report (never from audio).

Each function takes a :class:`~qc.report.model.Report` and returns a :class:`Picture` (an SVG for pages
on screen, or a PNG, which WeasyPrint lays out several times faster, for the PDF; with a title, caption and
alternative text), or None when the report lacks what the picture needs:

- :func:`waveform_picture` — the waveform overview (``features["waveform_envelope"]``) with every timed
  finding marked in its severity's colour;
- :func:`loudness_picture` — short-term loudness over time (``series["short_term_lufs"]``) against the
  profile's target and tolerance;
- :func:`spectrum_picture` — the mix's spectrum against the target curve and its tolerance band
  (``features["spectrum_bands"]``, else ``features["tonal_balance"]``);
- :func:`stereo_picture` — stereo correlation over time (``series["stereo_correlation_series"]``).

Figures are built with the object-oriented API on the Agg/SVG canvases (no pyplot, no global state, no
display needed); matplotlib is imported inside the functions, so importing this module is cheap. Output
is deterministic: fixed ids, no timestamps.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..units import format_mmss
from .filters import number, plural
from .model import Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

    from .batch import BatchSummary

WIDTH_IN = 7.0  # the text width of an A4 page with 15 mm margins, in inches
MARGIN_LEFT_IN, MARGIN_RIGHT_IN, MARGIN_TOP_IN, MARGIN_BOTTOM_IN = 0.62, 0.12, 0.1, 0.3
LEGEND_ROW_IN, AXIS_LABEL_IN = 0.25, 0.14
INK, MUTED, GRID, LINE = "#101828", "#667085", "#eaecf0", "#d0d5dd"
WAVE, WAVE_RMS, SERIES = "#98a2b3", "#475467", "#1d4ed8"
TARGET, BAND = "#b54708", "#fdb022"
SEVERITY_COLORS: dict[str, str] = {"error": "#d92d20", "warning": "#f79009", "info": "#2e90fa"}
SEVERITY_LABELS: dict[str, str] = {"error": "errors", "warning": "warnings", "info": "info"}
RASTER_DPI = 200  # resolution of PNG pictures, and of the waveform's fill inside an SVG
MIN_MARK_FRACTION = 0.002  # a marked event is drawn at least this fraction of the time axis wide
LOUDNESS_SPAN_LU = 36.0  # the loudness axis spans at most this much below its top
TIME_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
FREQUENCY_TICKS_HZ = (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)

STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "axes.edgecolor": LINE,
    "axes.labelcolor": MUTED,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.major.size": 2.5,
    "ytick.major.size": 0,
    "xtick.major.width": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 7,
    "svg.fonttype": "path",  # text as shapes: looks the same in every browser and in the PDF
    "svg.hashsalt": "mixqc",  # deterministic element ids
    "path.simplify": True,
}


ImageFormat = Literal["svg", "png"]
MIME_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}


@dataclass(frozen=True)
class Picture:
    """A drawn figure: ``data`` is an SVG document or a PNG image (``mime``); ``alt`` describes it for
    screen readers."""

    id: str
    title: str
    caption: str
    alt: str
    mime: str
    data: bytes

    @property
    def data_uri(self) -> str:
        """The picture as a ``data:`` URI, for an ``<img>`` in a self-contained page."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


# --- helpers -------------------------------------------------------------------------------------------


def _field(value: object, name: str) -> Any:
    """A field of a pydantic model or of the dict it became after a JSON round trip."""
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def _floats(values: Sequence[object] | None) -> list[float]:
    """Numbers with None and non-finite values as NaN (gaps in a line)."""
    out = []
    for v in values or ():
        x = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
        out.append(x if math.isfinite(x) else math.nan)
    return out


def _finite(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@contextmanager
def _figure(height_in: float, *, legend: bool = False, xlabel: bool = False) -> Iterator[tuple[Figure, Axes]]:
    """A figure of the page's width with one axes and fixed margins (a layout engine costs a third of the
    drawing time); room on top for a legend row and at the bottom for an axis label when asked."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global state; PNG goes through Agg

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH_IN, height_in), dpi=100)
        top = MARGIN_TOP_IN + (LEGEND_ROW_IN if legend else 0.0)
        bottom = MARGIN_BOTTOM_IN + (AXIS_LABEL_IN if xlabel else 0.0)
        figure.subplots_adjust(
            left=MARGIN_LEFT_IN / WIDTH_IN,
            right=1.0 - MARGIN_RIGHT_IN / WIDTH_IN,
            top=1.0 - top / height_in,
            bottom=bottom / height_in,
        )
        axes = figure.add_subplot()
        axes.grid(True, axis="y", color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        yield figure, axes


def _save(figure: Figure, fmt: ImageFormat) -> bytes:
    """The figure as SVG (vector; the waveform's fill embedded as a bitmap) or PNG, without timestamps."""
    import matplotlib

    buffer = io.BytesIO()
    if fmt == "svg":  # no metadata block at all: no timestamp, no RDF namespaces
        metadata: dict[str, Any] = dict.fromkeys(("Creator", "Date", "Format", "Type"))
    else:
        metadata = {"Software": None}
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format=fmt, metadata=metadata, transparent=fmt == "svg", dpi=RASTER_DPI)
    data = buffer.getvalue()
    if fmt == "svg":  # the DOCTYPE names a DTD on the web; nothing needs it
        data = re.sub(rb"<!DOCTYPE[^>]*>\s*", b"", data, count=1)
    return data


def _time_axis(axes: Axes, end_s: float) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    step = next((s for s in TIME_STEPS_S if end_s / s <= 8), TIME_STEPS_S[-1])
    axes.set_xlim(0.0, end_s)
    axes.xaxis.set_major_locator(MultipleLocator(step))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda t, _: format_mmss(t, millis=False)))


def _duration(report: Report, *extents: float) -> float:
    return max(report.file.duration_s, *extents, 1e-3)


# --- waveform ------------------------------------------------------------------------------------------


def _merge_spans(spans: list[tuple[float, float]], min_width: float) -> list[tuple[float, float]]:
    """``(start, width)`` spans, each at least ``min_width`` wide, overlapping ones merged."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        end = max(end, start + min_width)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end - start) for start, end in merged]


def marked_events(report: Report) -> dict[str, list[tuple[float, float]]]:
    """``{severity: [(start_s, end_s), ...]}`` of every event of every non-skipped finding."""
    marks: dict[str, list[tuple[float, float]]] = {}
    for finding in report.findings:
        if finding.skipped:
            continue
        for event in finding.events:
            marks.setdefault(finding.severity, []).append((event.start_s, event.end_s))
    return marks


def waveform_picture(report: Report, fmt: ImageFormat = "svg") -> Picture | None:
    """The waveform overview with every timed finding marked, or None without ``waveform_envelope``."""
    envelope = report.features.get("waveform_envelope")
    column_s = _finite(_field(envelope, "column_s"))
    if envelope is None or not column_s:
        return None
    low, high, rms = (_floats(_field(envelope, key)) for key in ("min", "max", "rms"))
    if not high or len(low) != len(high):
        return None
    times = [(i + 0.5) * column_s for i in range(len(high))]
    end_s = _duration(report, len(high) * column_s)
    marks = marked_events(report)
    with _figure(1.9, legend=bool(marks)) as (figure, axes):
        # thousands of columns: drawn as an embedded bitmap, the axes and labels stay vector
        axes.fill_between(times, low, high, color=WAVE, linewidth=0, step="mid", rasterized=True)
        if len(rms) == len(high):
            rms_low = [-v for v in rms]
            axes.fill_between(times, rms_low, rms, color=WAVE_RMS, linewidth=0, step="mid", rasterized=True)
        for level in (-1.0, 1.0):
            axes.axhline(level, color=SEVERITY_COLORS["error"], linewidth=0.5, linestyle=(0, (2, 2)))
        handles = []
        for severity in ("info", "warning", "error"):
            spans = _merge_spans(marks.get(severity, []), end_s * MIN_MARK_FRACTION)
            if not spans:
                continue
            color = SEVERITY_COLORS[severity]
            axes.broken_barh(spans, (-1.08, 2.16), facecolors=color, alpha=0.22, linewidth=0)
            handle = axes.broken_barh(spans, (1.08, 0.12), facecolors=color, linewidth=0)
            count = len(marks[severity])
            handle.set_label(f"{SEVERITY_LABELS[severity]} ({plural(count, 'event')})")
            handles.append(handle)
        axes.set_ylim(-1.22, 1.22)
        axes.set_yticks([-1.0, -0.5, 0.0, 0.5, 1.0], ["0", "−6", "−∞", "−6", "0"])
        axes.set_ylabel("dBFS")
        axes.grid(False)
        _time_axis(axes, end_s)
        if handles:
            axes.legend(handles=handles[::-1], loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3)
        data = _save(figure, fmt)
    count = sum(len(v) for v in marks.values())
    marked = f", with {plural(count, 'marked event')}" if count else ""
    return Picture(
        id="waveform",
        title="Waveform",
        caption=(
            "The whole track at a glance: peaks (light) and RMS level (dark); dashed lines are full scale."
            + (" Coloured bands mark where problems were found." if count else "")
        ),
        alt=f"Waveform overview of {format_mmss(end_s, millis=False)}{marked}.",
        mime=MIME_TYPES[fmt],
        data=data,
    )


def _series_points(report: Report, name: str) -> tuple[list[float], list[float], list[float]] | None:
    """``(times_s, values, finite values)`` of a report series (NaN kept in ``values`` as gaps), or None
    when the series is missing, has no time step, or holds no finite value."""
    series = report.series.get(name)
    if series is None or series.hop_s <= 0:
        return None
    values = _floats(series.values)
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    return [series.start_s + i * series.hop_s for i in range(len(values))], values, finite


# --- loudness ------------------------------------------------------------------------------------------


def loudness_picture(report: Report, fmt: ImageFormat = "svg") -> Picture | None:
    """Short-term loudness over time with the target line and tolerance, or None without the series."""
    points = _series_points(report, "short_term_lufs")
    if points is None:
        return None
    times, values, finite = points
    target = report.targets.get("target_lufs")
    tolerance = report.targets.get("loudness_tolerance_lu")
    integrated = _finite(report.features.get("integrated_lufs"))
    levels = list(finite)
    if target is not None:
        levels += [target - (tolerance or 0.0), target + (tolerance or 0.0)]
    top = math.ceil((max(levels) + 2.0) / 6.0) * 6.0
    bottom = max(math.floor((min(levels) - 2.0) / 6.0) * 6.0, top - LOUDNESS_SPAN_LU)
    end_s = _duration(report, times[-1])
    from matplotlib.ticker import MultipleLocator

    with _figure(2.0) as (figure, axes):
        if target is not None:
            if tolerance:
                axes.axhspan(target - tolerance, target + tolerance, color=BAND, alpha=0.18, linewidth=0)
            axes.axhline(target, color=TARGET, linewidth=1.0, linestyle=(0, (5, 3)))
            axes.annotate(
                f"target {number(target, 1)} LUFS",
                (1.0, target),
                xycoords=("axes fraction", "data"),
                xytext=(-2, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                color=TARGET,
            )
        if integrated is not None:
            axes.axhline(integrated, color=INK, linewidth=0.7, linestyle=(0, (1, 2)))
            axes.annotate(
                f"integrated {number(integrated, 1)} LUFS",
                (0.0, integrated),
                xycoords=("axes fraction", "data"),
                xytext=(2, 3),
                textcoords="offset points",
                ha="left",
                va="bottom",
                color=INK,
            )
        clipped = [max(v, bottom) if not math.isnan(v) else v for v in values]
        axes.plot(times, clipped, color=SERIES, linewidth=1.1, solid_joinstyle="round")
        axes.set_ylim(bottom, top)
        axes.yaxis.set_major_locator(MultipleLocator(3.0 if top - bottom <= 24.0 else 6.0))
        axes.set_ylabel("LUFS")
        _time_axis(axes, end_s)
        data = _save(figure, fmt)
    target_text = f" against the {number(target, 1)} LUFS target" if target is not None else ""
    return Picture(
        id="loudness",
        title="Loudness over time",
        caption=(
            "Short-term loudness (3 s window)"
            + (", the profile's target (dashed) and its tolerance (shaded)" if target is not None else "")
            + (", and the track's integrated loudness (dotted)." if integrated is not None else ".")
        ),
        alt=f"Short-term loudness from {number(min(finite))} to {number(max(finite))} LUFS{target_text}.",
        mime=MIME_TYPES[fmt],
        data=data,
    )


# --- spectrum ------------------------------------------------------------------------------------------


def _bands(report: Report) -> tuple[str, Any] | None:
    for name in ("spectrum_bands", "tonal_balance"):
        value = report.features.get(name)
        if value is not None and _field(value, "level_db"):
            return name, value
    return None


def spectrum_picture(report: Report, fmt: ImageFormat = "svg") -> Picture | None:
    """The mix's band levels against the target curve and tolerance, or None without band levels."""
    found = _bands(report)
    if found is None:
        return None
    name, bands = found
    low, high = _floats(_field(bands, "low_hz")), _floats(_field(bands, "high_hz"))
    level, target = _floats(_field(bands, "level_db")), _floats(_field(bands, "target_db"))
    tolerance = _floats(_field(bands, "tolerance_db"))
    if not (len(low) == len(high) == len(level) == len(target) == len(tolerance)) or not any(
        not math.isnan(v) for v in level
    ):
        return None
    from matplotlib.ticker import FixedLocator, NullLocator

    centres = [math.sqrt(lo * hi) for lo, hi in zip(low, high, strict=True)]
    outside = [
        (c, v)
        for c, v, t, tol in zip(centres, level, target, tolerance, strict=True)
        if not math.isnan(v) and abs(v - t) > tol
    ]
    with _figure(2.3, legend=True, xlabel=True) as (figure, axes):
        axes.set_xscale("log")
        axes.fill_between(
            centres,
            [t - tol for t, tol in zip(target, tolerance, strict=True)],
            [t + tol for t, tol in zip(target, tolerance, strict=True)],
            color=BAND,
            alpha=0.18,
            linewidth=0,
            label="tolerance",
        )
        axes.plot(centres, target, color=TARGET, linewidth=1.0, linestyle=(0, (5, 3)), label="target curve")
        axes.plot(centres, level, color=SERIES, linewidth=1.4, marker="o", markersize=2.4, label="this mix")
        if outside:
            axes.plot(
                [c for c, _ in outside],
                [v for _, v in outside],
                linestyle="none",
                marker="o",
                markersize=4.5,
                markerfacecolor="none",
                markeredgecolor=SEVERITY_COLORS["error"],
                markeredgewidth=1.0,
                label="outside tolerance",
            )
        axes.set_xlim(min(low), max(high))
        ticks = [f for f in FREQUENCY_TICKS_HZ if min(low) <= f <= max(high)]
        axes.xaxis.set_major_locator(FixedLocator(ticks))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xticklabels([_hz(f) for f in ticks])
        axes.set_xlabel("Hz")
        axes.set_ylabel("dB")
        axes.legend(loc="lower left", ncols=4, bbox_to_anchor=(0, 1.0))
        data = _save(figure, fmt)
    curve = _field(bands, "curve") or "target"
    resolution = "third-octave bands" if name == "spectrum_bands" else "seven tonal bands"
    return Picture(
        id="spectrum",
        title="Tonal balance",
        caption=(
            f"Average spectrum of the mix in {resolution} against the '{curve}' target curve (dashed) and "
            "its tolerance (shaded); circled points are outside it."
        ),
        alt=f"Spectrum against the {curve} target curve; {plural(len(outside), 'band')} outside tolerance.",
        mime=MIME_TYPES[fmt],
        data=data,
    )


def _hz(frequency: float) -> str:
    return f"{frequency / 1000:g}k" if frequency >= 1000 else f"{frequency:g}"


# --- stereo --------------------------------------------------------------------------------------------


def stereo_picture(report: Report, fmt: ImageFormat = "svg") -> Picture | None:
    """Stereo correlation over time (+1 mono, 0 wide, below 0 out of phase), or None without the series."""
    points = _series_points(report, "stereo_correlation_series")
    if points is None:
        return None
    times, values, finite = points
    with _figure(1.6) as (figure, axes):
        zeros = [0.0] * len(values)
        positive = [v >= 0 if not math.isnan(v) else False for v in values]
        negative = [v < 0 if not math.isnan(v) else False for v in values]
        axes.fill_between(times, zeros, values, where=positive, color=SERIES, alpha=0.18, linewidth=0)
        axes.fill_between(
            times, zeros, values, where=negative, color=SEVERITY_COLORS["error"], alpha=0.35, linewidth=0
        )
        axes.plot(times, values, color=SERIES, linewidth=0.9)
        axes.axhline(0.0, color=MUTED, linewidth=0.6)
        axes.set_ylim(-1.05, 1.05)
        axes.set_yticks([-1.0, -0.5, 0.0, 0.5, 1.0], ["−1", "−0.5", "0", "+0.5", "+1"])
        axes.set_ylabel("correlation")
        _time_axis(axes, _duration(report, times[-1]))
        data = _save(figure, fmt)
    lowest = min(finite)
    return Picture(
        id="stereo",
        title="Stereo correlation",
        caption=(
            "Correlation between left and right over time: +1 is mono, around 0 is wide, below 0 (red) the "
            "channels work against each other and the mix thins out in mono."
        ),
        alt=f"Stereo correlation over time, lowest {number(lowest, 2)}.",
        mime=MIME_TYPES[fmt],
        data=data,
    )


# --- album ---------------------------------------------------------------------------------------------


def album_loudness_picture(summary: BatchSummary, fmt: ImageFormat = "svg") -> Picture | None:
    """Integrated loudness and true peak of every track (numbered as in the summary table), or None."""
    rows = [(i, t.integrated_lufs, t.true_peak_dbtp) for i, t in enumerate(summary.tracks, start=1)]
    known = [(i, lufs, peak) for i, lufs, peak in rows if lufs is not None]
    if not known:
        return None
    target = summary.targets.get("target_lufs")
    ceiling = summary.targets.get("ceiling_dbtp", summary.targets.get("max_peak_dbtp"))
    values = [lufs for _, lufs, _ in known] + [p for _, _, p in known if p is not None]
    values += [v for v in (target, ceiling) if v is not None]
    top = math.ceil((max(values) + 1.0) / 3.0) * 3.0
    bottom = max(math.floor((min(values) - 3.0) / 6.0) * 6.0, top - 48.0)
    with _figure(2.0, legend=True, xlabel=True) as (figure, axes):
        positions = [i for i, _, _ in known]
        heights = [lufs - bottom for _, lufs, _ in known]
        axes.bar(
            positions,
            heights,
            bottom=bottom,
            width=0.6,
            color=SERIES,
            alpha=0.85,
            label="integrated loudness",
        )
        peaks = [(i, p) for i, _, p in known if p is not None]
        if peaks:
            axes.plot(
                [i for i, _ in peaks],
                [p for _, p in peaks],
                linestyle="none",
                marker="_",
                markersize=12,
                markeredgewidth=1.6,
                color=INK,
                label="true peak",
            )
        if target is not None:
            axes.axhline(target, color=TARGET, linewidth=1.0, linestyle=(0, (5, 3)), label="loudness target")
        if ceiling is not None:
            axes.axhline(
                ceiling,
                color=SEVERITY_COLORS["error"],
                linewidth=0.8,
                linestyle=(0, (2, 2)),
                label="peak limit",
            )
        axes.set_ylim(bottom, top)
        axes.set_xlim(0.4, len(rows) + 0.6)
        step = max(1, math.ceil(len(rows) / 30))
        axes.set_xticks(range(1, len(rows) + 1, step))
        axes.set_xlabel("track")
        axes.set_ylabel("LUFS / dBTP")
        axes.legend(loc="lower left", ncols=4, bbox_to_anchor=(0, 1.0))
        data = _save(figure, fmt)
    quietest = min(lufs for _, lufs, _ in known)
    loudest = max(lufs for _, lufs, _ in known)
    return Picture(
        id="album-loudness",
        title="Loudness across the tracks",
        caption="Integrated loudness (bars) and true peak (dashes) of each track, numbered as in the table.",
        alt=f"{plural(len(known), 'track')} from {number(quietest, 1)} to {number(loudest, 1)} LUFS.",
        mime=MIME_TYPES[fmt],
        data=data,
    )


PICTURES: tuple[Callable[[Report, ImageFormat], Picture | None], ...] = (
    waveform_picture,
    loudness_picture,
    spectrum_picture,
    stereo_picture,
)
"""Every picture function, in the order a report shows them."""


def pictures(report: Report, fmt: ImageFormat = "svg") -> dict[str, Picture]:
    """Every picture the report has data for, by id: ``waveform``, ``loudness``, ``spectrum``, ``stereo``."""
    drawn = (draw(report, fmt) for draw in PICTURES)
    return {picture.id: picture for picture in drawn if picture is not None}


__all__ = [
    "PICTURES",
    "Picture",
    "album_loudness_picture",
    "loudness_picture",
    "marked_events",
    "pictures",
    "spectrum_picture",
    "stereo_picture",
    "waveform_picture",
]
