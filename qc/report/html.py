"""Render a report (or a batch summary) as one self-contained HTML page: CSS inlined, pictures as data URIs,
no scripts, no external URLs.

The page is laid out by ``report_templates/report.html.j2`` (``summary.html.j2`` for a batch); numbers go
through the filters in :mod:`qc.report.filters`, pictures come from :mod:`qc.report.plots`, the platform
preview from :mod:`qc.report.platforms`. The same templates make the PDF (:mod:`qc.report.pdf`, with
``medium="print"``). This module only prepares what the templates show; it never computes features, reads
audio or writes files.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from ..branding import Branding
from ..errors import ReportError
from ..resources import templates_dir
from ..text import visible
from .batch import BatchSummary
from .filters import (
    FILTERS,
    GROUP_TITLES,
    VERDICT_TITLES,
    basename,
    finding_counts,
    grouped_findings,
    key_numbers,
    problems,
    scalar_features,
    tonal_rows,
    top_problems,
    verdict_summary,
)
from .model import Report
from .platforms import platform_preview, turned_down_note
from .plots import album_loudness_picture, pictures

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "report.html.j2"
SUMMARY_TEMPLATE = "summary.html.j2"
PICTURE_IDS = ("waveform", "loudness", "spectrum", "stereo")
MAX_EVENTS_SHOWN = 20  # per finding; the rest are summarised as "and N more"
Medium = Literal["screen", "print"]


def _shown(value: object) -> object:
    """Each ``{{ ... }}`` value as shown: text with control characters made visible (markup left alone)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return visible(value, multiline=True)
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every HTML-based report: loads only from ``report_templates/``,
    autoescapes everything, shows control characters in texts as escapes (``\\x1b``), fails on undefined
    names, and knows the :data:`~qc.report.filters.FILTERS`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        finalize=_shown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render_template(name: str, context: dict[str, Any]) -> str:
    """Render ``report_templates/<name>`` with ``context``.

    Raises
    ------
    ReportError
        If the template is missing or refers to something the context does not have.
    """
    import jinja2

    try:
        return environment().get_template(name).render(context)
    except jinja2.TemplateError as exc:
        raise ReportError(f"{templates_dir() / name}: cannot render the report: {exc}") from exc


def report_context(
    report: Report, branding: Branding | None = None, *, medium: Medium = "screen"
) -> dict[str, Any]:
    """What ``report.html.j2`` receives: the report plus the selections, pictures and labels it lays out."""
    previews = platform_preview(report)
    drawn = pictures(report, "svg" if medium == "screen" else "png")
    all_problems = problems(report.findings)
    top = top_problems(report.findings)
    return {
        "report": report,
        "tool": report.tool,
        "medium": medium,
        "branding": branding or Branding(),
        "file_name": basename(report.file.path),
        "verdict": report.verdict,
        "verdict_title": VERDICT_TITLES[report.verdict],
        "verdict_text": verdict_summary(report.findings, report.profile),
        "counts": finding_counts(report.findings),
        "top_problems": top,
        "more_problems": len(all_problems) - len(top),
        "key_numbers": key_numbers(report),
        "pictures": {key: drawn.get(key) for key in PICTURE_IDS},
        "has_pictures": bool(drawn),
        "tonal_rows": tonal_rows(report),
        "platforms": previews,
        "platform_note": turned_down_note(previews),
        "groups": grouped_findings(report.findings),
        "group_titles": GROUP_TITLES,
        "features": scalar_features(report),
        "max_events": MAX_EVENTS_SHOWN,
    }


def render_html(report: Report, branding: Branding | None = None) -> str:
    """One self-contained HTML page for ``report`` (UTF-8 text; CSS inlined; no scripts or external URLs).

    Sections, by id: ``verdict`` (with the most important problems, ``top-problems``), ``key-numbers``,
    ``waveform`` and the other ``pictures`` the report has data for, ``platforms`` (streaming preview),
    ``findings`` (grouped by severity, then skipped checks), ``file`` and ``features``. Every text from
    the report and the branding is HTML-escaped.

    Raises
    ------
    ReportError
        If the template is missing or refers to something the report does not have.
    """
    return render_template(TEMPLATE, report_context(report, branding, medium="screen"))


def summary_context(
    summary: BatchSummary, branding: Branding | None = None, *, medium: Medium = "screen"
) -> dict[str, Any]:
    """What ``summary.html.j2`` receives."""
    album = [f for f in summary.album_findings if not f.skipped]
    return {
        "summary": summary,
        "tool": summary.tool,
        "medium": medium,
        "verdict_titles": VERDICT_TITLES,
        "branding": branding or Branding(),
        "verdict": summary.verdict,
        "verdict_title": VERDICT_TITLES[summary.verdict],
        "album_findings": album,
        "album_skipped": [f for f in summary.album_findings if f.skipped],
        "album_counts": finding_counts(album),
        "picture": album_loudness_picture(summary, "svg" if medium == "screen" else "png"),
        "links": medium == "screen",
    }


def render_summary_html(summary: BatchSummary, branding: Branding | None = None) -> str:
    """The batch summary page (``index.html``): album findings and one row per track, linked to its report.

    Raises
    ------
    ReportError
        If the template cannot be rendered.
    """
    return render_template(SUMMARY_TEMPLATE, summary_context(summary, branding, medium="screen"))


__all__ = [
    "environment",
    "render_html",
    "render_summary_html",
    "render_template",
    "report_context",
    "summary_context",
]
