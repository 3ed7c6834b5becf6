"""Render a report (or a batch summary) as PDF with WeasyPrint, from the same templates as the HTML page.

The HTML is made by :mod:`qc.report.html` with ``medium="print"`` (page footer, A4 page breaks) and laid
out by WeasyPrint. Nothing is fetched from the network: the URL fetcher serves ``data:`` URIs (the pictures
and the logo) and files inside ``report_templates/``, and refuses everything else. Returns bytes; it never
writes files (``cli.py`` does, atomically).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..branding import Branding
from ..errors import ReportError
from ..resources import templates_dir
from .batch import BatchSummary
from .html import SUMMARY_TEMPLATE, TEMPLATE, render_template, report_context, summary_context
from .model import Report

log = logging.getLogger(__name__)


class BlockedURL(ValueError):
    """A report asked for a resource outside the template folder and embedded data."""


def allowed_url(url: str, folder: Path | None = None) -> bool:
    """True for ``data:`` URIs and ``file:`` URLs inside ``folder`` (default: ``report_templates/``).

    >>> allowed_url("data:image/png;base64,AAAA"), allowed_url("https://example.com/x.png")
    (True, False)
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "data":
        return True
    if scheme != "file":
        return False
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        return False
    root = (folder or templates_dir()).resolve()
    path = Path(unquote(parsed.path)).resolve()
    return path == root or root in path.parents


def _fetcher() -> Any:
    """A WeasyPrint URL fetcher confined to :func:`allowed_url`."""
    import weasyprint

    class ConfinedFetcher(weasyprint.URLFetcher):  # type: ignore[misc]  # weasyprint has no types: Any base
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not allowed_url(url):
                log.debug("refused to fetch %s while rendering a PDF", url[:200])
                raise BlockedURL(f"mixqc reports fetch nothing from outside the report: {url[:80]}")
            return super().fetch(url, headers)

    return ConfinedFetcher(timeout=1, allowed_protocols=("data", "file"))


def html_to_pdf(html: str) -> bytes:
    """Lay out a report page as PDF (A4, the page rules of ``report.css``).

    Raises
    ------
    ReportError
        If WeasyPrint cannot lay out the page (e.g. its system libraries are missing).
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/HarfBuzz libraries missing
        raise ReportError(
            f"cannot make a PDF: WeasyPrint is not usable ({exc}); install it with its system libraries "
            "(Debian: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)"
        ) from None
    weasy_log = logging.getLogger("weasyprint")
    level = weasy_log.level
    weasy_log.setLevel(max(level, logging.ERROR))  # its warnings about unsupported CSS are not the user's
    try:
        document = weasyprint.HTML(
            string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=_fetcher(), media_type="print"
        )
        pdf: bytes = document.write_pdf()
        return pdf
    except Exception as exc:
        raise ReportError(f"cannot make the PDF: {type(exc).__name__}: {exc}") from exc
    finally:
        weasy_log.setLevel(level)


def render_pdf(report: Report, branding: Branding | None = None) -> bytes:
    """The report as a PDF document (A4): page one is the verdict, the problems to fix first, the key
    numbers and the waveform; then loudness, tone and stereo pictures, the platform preview, the findings
    and the file details.

    Raises
    ------
    ReportError
        If the page cannot be rendered or laid out.
    """
    return html_to_pdf(render_template(TEMPLATE, report_context(report, branding, medium="print")))


def render_summary_pdf(summary: BatchSummary, branding: Branding | None = None) -> bytes:
    """The batch summary (album checks and the track table) as a PDF document (A4).

    Raises
    ------
    ReportError
        If the page cannot be rendered or laid out.
    """
    return html_to_pdf(render_template(SUMMARY_TEMPLATE, summary_context(summary, branding, medium="print")))


__all__ = ["BlockedURL", "allowed_url", "html_to_pdf", "render_pdf", "render_summary_pdf"]
