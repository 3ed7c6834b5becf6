"""The report and its renderers: each takes a :class:`~qc.report.model.Report` and returns text.

Renderers never compute features, read audio or write files (``cli.py`` writes atomically).

Usage::

    from qc.report import render_json, render_terminal, render_html
    text = render_terminal(report, color=False)
"""

from __future__ import annotations

from .html import render_html
from .model import Report
from .terminal import render_batch_terminal, render_terminal


def render_json(report: Report) -> str:
    """The report as JSON (the ``schema/report-1.schema.json`` contract), 2-space indented.

    Non-finite floats (a silent file's loudness, ``-inf``) are written as ``null``; the computed
    ``verdict`` is included.
    """
    return report.model_dump_json(indent=2)


__all__ = ["Report", "render_batch_terminal", "render_html", "render_json", "render_terminal"]
