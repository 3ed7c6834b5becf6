"""The HTML reports in a real headless browser (Debian's chromium driven by Playwright): they load without
console errors or network requests, show their main sections and pictures, and show hostile text as text.

Skipped when Playwright or chromium is not installed (CI installs both: see .ci/run). Playwright's own
browser download is never used: the system chromium is launched through ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from report.sample import HOSTILE_NAME, clean_report, loudness_finding, picture_report

from qc.branding import Branding
from qc.report import render_html, render_summary_html, summarize

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

CHROMIUM = os.environ.get("MIXQC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECTIONS = ("verdict", "top-problems", "key-numbers", "pictures", "platforms", "findings", "file", "features")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Visit:
    """A page opened from a file, with every console message, page error, dialog and request recorded."""

    def __init__(self, browser, path: Path, width: int = 1100) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri(), wait_until="load")

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def report_visit(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    brand = Branding(studio="Blue <Room>", note="Hello \"client\" <script>alert('note')</script>")
    finding = loudness_finding().model_copy(update={"title": "<img src=x onerror=alert(1)> 'loud'"})
    report = picture_report(path=f"mixes/{HOSTILE_NAME}", findings=[*picture_report().findings, finding])
    path = folder / "report.html"
    path.write_text(render_html(report, brand), encoding="utf-8")
    visit = Visit(browser, path)
    yield visit
    visit.close()


def test_the_page_loads_without_console_errors_or_network(report_visit):
    assert [m for m in report_visit.console if m.startswith(("error", "warning"))] == []
    assert report_visit.errors == [] and report_visit.dialogs == []
    assert all(url.startswith(("file:", "data:")) for url in report_visit.requests), report_visit.requests


def test_the_main_sections_are_visible(report_visit):
    for section in SECTIONS:
        assert report_visit.page.locator(f"section#{section}").is_visible(), section
    assert report_visit.page.locator("#verdict .verdict-word").inner_text() == "Needs a revision"


def test_every_picture_loads_and_has_a_size(report_visit):
    images = report_visit.page.eval_on_selector_all(
        "figure.picture img",
        "els => els.map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().height])",
    )
    assert len(images) == 4
    assert all(done and width > 300 and height > 60 for done, width, height in images)


def test_hostile_text_is_shown_as_text_and_never_runs(report_visit):
    page = report_visit.page
    assert page.title() == "script> – Ærø 東京.wav — mixqc report"
    assert page.locator("h1").inner_text() == "script> – Ærø 東京.wav"
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert "<img src=x onerror=alert(1)> 'loud'" in page.locator("#findings").inner_text()
    assert "Hello \"client\" <script>alert('note')</script>" in page.locator("#note").inner_text()
    assert page.locator("#studio").inner_text().startswith("Blue <Room>")
    path = page.locator("#file .path").inner_text()
    assert path == f"mixes/{HOSTILE_NAME}"


@pytest.mark.parametrize("width", [390, 1400])
def test_the_page_fits_narrow_and_wide_windows(browser, tmp_path, width):
    path = tmp_path / "report.html"
    path.write_text(render_html(picture_report()), encoding="utf-8")
    visit = Visit(browser, path, width=width)
    try:
        overflow = visit.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1
    finally:
        visit.close()


def test_the_summary_page_links_to_each_track_report(browser, tmp_path):
    reports = [picture_report(path="a.wav"), clean_report(path="b.wav")]
    (tmp_path / "a.html").write_text(render_html(reports[0]), encoding="utf-8")
    (tmp_path / "b.html").write_text(render_html(reports[1]), encoding="utf-8")
    index = tmp_path / "index.html"
    index.write_text(render_summary_html(summarize(reports, links=["a.html", "b.html"])), encoding="utf-8")
    visit = Visit(browser, index)
    try:
        assert (
            visit.page.locator("section#tracks").is_visible()
            and visit.page.locator("section#album").is_visible()
        )
        assert visit.page.locator("table.tracks tbody tr").count() == 2
        visit.page.get_by_role("link", name="b.wav").click()
        visit.page.wait_for_load_state()
        assert visit.page.url.endswith("/b.html")
        assert visit.page.locator("#verdict .verdict-word").inner_text() == "Pass"
        assert [m for m in visit.console if m.startswith("error")] == [] and visit.errors == []
    finally:
        visit.close()
