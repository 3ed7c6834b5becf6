"""The report and its renderers: each takes a :class:`~qc.report.model.Report` (or a batch summary) and
returns text or bytes.

Renderers never compute features, read audio or write files (``cli.py`` writes atomically). Heavy
libraries (matplotlib, WeasyPrint, Jinja2) are imported only when a renderer that needs them runs.

Usage::

    from qc.report import render_html, render_pdf, render_terminal
    text = render_terminal(report, color=False)
    pdf = render_pdf(report, branding)          # bytes
"""

from __future__ import annotations

from .batch import BatchSummary, render_summary_json, summarize
from .html import render_html, render_summary_html
from .markdown import render_markdown, render_summary_markdown
from .model import Report
from .pdf import render_pdf, render_summary_pdf
from .terminal import render_batch_terminal, render_terminal


def render_json(report: Report) -> str:
    """The report as JSON (the ``schema/report-1.schema.json`` contract), 2-space indented.

    Non-finite floats (a silent file's loudness, ``-inf``) are written as ``null``; the computed
    ``verdict`` is included.
    """
    return report.model_dump_json(indent=2)


__all__ = [
    "BatchSummary",
    "Report",
    "render_batch_terminal",
    "render_html",
    "render_json",
    "render_markdown",
    "render_pdf",
    "render_summary_html",
    "render_summary_json",
    "render_summary_markdown",
    "render_summary_pdf",
    "render_terminal",
    "summarize",
]
