"""Time the report renderers against the analysis of the same file (median of several runs, CPU and wall).

    python bench/bench_report.py [AUDIO] [--runs N]

AUDIO defaults to bench/out/track-4min-44k.wav (made by bench/bench_check.py). The analysis computes the
report's default features plus the tonal balance and stereo correlation (so that every picture is drawn);
then the HTML, PDF and Markdown renderers run on that report. The first PDF call, which also imports
matplotlib and WeasyPrint, is shown separately: a ``mixqc check --pdf`` process pays it once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc.analysis import FeatureRequest
from qc.branding import Branding
from qc.check import Checker
from qc.report import render_html, render_markdown, render_pdf

PICTURE_FEATURES = ("tonal_balance", "spectrum_bands", "stereo_correlation_series")


def timed(call, runs: int):
    """(result, median wall seconds, median CPU seconds) of ``runs`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", default="bench/out/track-4min-44k.wav")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    checker = Checker("streaming")
    requests = checker.requests() + [FeatureRequest(name) for name in PICTURE_FEATURES]
    checker.requests = lambda: requests  # type: ignore[method-assign]
    branding = Branding(studio="Bench Studio", note="A note to the client.")

    report, analysis_wall, analysis_cpu = timed(lambda: checker.check(args.audio), args.runs)
    start = time.perf_counter()
    render_pdf(report, branding)
    first_pdf = time.perf_counter() - start
    rows = [("analysis", analysis_wall, analysis_cpu)]
    for name, render in (
        ("html", lambda: render_html(report, branding)),
        ("pdf", lambda: render_pdf(report, branding)),
        ("markdown", lambda: render_markdown(report, branding)),
    ):
        _, wall, cpu = timed(render, args.runs)
        rows.append((name, wall, cpu))
    print(f"{args.audio}: {report.file.duration_s:.0f} s, median of {args.runs} runs")
    for name, wall, cpu in rows:
        share = "" if name == "analysis" else f"  {cpu / analysis_cpu:6.0%} of the analysis CPU"
        print(f"  {name:<9} wall {wall:6.2f} s  cpu {cpu:6.2f} s{share}")
    print(f"  first PDF in a fresh process (imports matplotlib and WeasyPrint): {first_pdf:.2f} s wall")


if __name__ == "__main__":
    main()
