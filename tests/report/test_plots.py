"""The report's pictures: drawn from report data only, present exactly when their data is, deterministic."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from report.sample import clean_report, picture_report, sample_report

from qc.features.registry import Series
from qc.report import plots
from qc.report.batch import summarize
from qc.report.model import Report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _svg_root(picture: plots.Picture) -> ET.Element:
    assert picture.mime == "image/svg+xml"
    return ET.fromstring(picture.data)


@pytest.fixture(scope="module")
def drawn() -> dict[str, plots.Picture]:
    return plots.pictures(picture_report())


def test_every_picture_is_drawn_when_the_report_has_its_data(drawn):
    assert list(drawn) == ["waveform", "loudness", "spectrum", "stereo"]
    for picture in drawn.values():
        root = _svg_root(picture)  # well-formed SVG
        assert root.tag.endswith("svg")
        assert picture.title and picture.caption and picture.alt


def test_no_picture_without_its_data():
    assert plots.pictures(clean_report()) == {}
    only_loudness = plots.pictures(sample_report())
    assert list(only_loudness) == ["loudness"]


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_pictures_come_as_svg_or_png_data_uris(fmt):
    picture = plots.loudness_picture(sample_report(), fmt)
    assert picture is not None
    assert picture.data_uri.startswith(f"data:{plots.MIME_TYPES[fmt]};base64,")
    if fmt == "png":
        assert picture.data.startswith(PNG_SIGNATURE)


def test_drawing_is_deterministic():
    first = plots.waveform_picture(picture_report())
    second = plots.waveform_picture(picture_report())
    assert first is not None and second is not None
    assert first.data == second.data


def test_the_svg_references_nothing_outside_itself(drawn):
    for picture in drawn.values():
        text = re.sub(r'xmlns(:\w+)?="[^"]*"', "", picture.data.decode("utf-8"))  # namespace names
        assert "http://" not in text
        assert "https://" not in text and "<script" not in text
        hrefs = [
            v for el in ET.fromstring(picture.data).iter() for k, v in el.attrib.items() if k.endswith("href")
        ]
        assert all(h.startswith(("#", "data:image/png;base64,")) for h in hrefs)


def test_waveform_marks_every_timed_finding_and_counts_them():
    report = picture_report()
    marks = plots.marked_events(report)
    assert set(marks) == {"warning"} and len(marks["warning"]) == 25  # the 25 clicks; skipped: none
    picture = plots.waveform_picture(report)
    assert picture is not None and "25 marked events" in picture.alt


def test_waveform_has_no_marks_without_events():
    picture = plots.waveform_picture(picture_report(findings=[]))
    assert picture is not None and "marked" not in picture.alt


def test_merged_marks_never_overlap_and_are_at_least_the_minimum_width():
    spans = plots._merge_spans([(1.0, 1.0), (1.001, 1.002), (5.0, 6.0), (5.5, 7.0)], min_width=0.1)
    assert spans == [(1.0, pytest.approx(0.101)), (5.0, pytest.approx(2.0))]


def test_pictures_read_reports_that_went_through_json():
    report = Report.model_validate(json.loads(picture_report().model_dump_json()))
    assert isinstance(report.features["tonal_balance"], dict)  # no longer a model after the round trip
    assert list(plots.pictures(report)) == ["waveform", "loudness", "spectrum", "stereo"]


def test_spectrum_counts_the_bands_outside_the_tolerance():
    picture = plots.spectrum_picture(picture_report())
    assert picture is not None and "1 band outside tolerance" in picture.alt  # the 4 kHz band, 8 dB over


def test_spectrum_falls_back_to_the_seven_tonal_bands():
    report = picture_report()
    del report.features["spectrum_bands"]
    picture = plots.spectrum_picture(report)
    assert picture is not None and "seven tonal bands" in picture.caption


@pytest.mark.parametrize(
    "values",
    [[], [None, None], [math.nan, -math.inf]],
    ids=["empty", "none", "non-finite"],
)
def test_a_series_without_finite_values_draws_nothing(values):
    series = Series(hop_s=0.1, values=values)
    report = sample_report(series={"short_term_lufs": series, "stereo_correlation_series": series})
    assert plots.loudness_picture(report) is None
    assert plots.stereo_picture(report) is None


def test_a_malformed_envelope_draws_nothing():
    report = sample_report(features={"waveform_envelope": {"column_s": 0.1, "min": [0.0], "max": [0.1, 0.2]}})
    assert plots.waveform_picture(report) is None


def test_album_picture_numbers_the_tracks_and_skips_unknown_loudness():
    reports = [sample_report(path="a.wav"), clean_report(path="b.wav", features={})]
    picture = plots.album_loudness_picture(summarize(reports))
    assert picture is not None and picture.alt.startswith("1 track from -9.1 to -9.1 LUFS")
    assert plots.album_loudness_picture(summarize([clean_report(features={})])) is None


def test_importing_the_report_package_does_not_import_matplotlib():
    code = "import sys, qc.report, qc.report.plots, qc.report.pdf; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
