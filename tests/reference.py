"""Independent reference meters for tests and benches: ffmpeg's ``ebur128`` filter (libavfilter's EBU R 128
meter, with ``peak=true`` its 4x-oversampled true-peak meter), run once per file and read two ways."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_NUMBER = r"(-?[\d.]+|-?inf|nan)"


@dataclass(frozen=True)
class Ebur128Reading:
    """What ffmpeg's meter says about a file.

    The summary's figures are printed in 0.1 steps; the ``running_*`` figures are the last frame's
    metadata (the meter's finer running values at the end of the file), and ``max_true_peak_dbtp`` is the
    largest per-frame true peak from the metadata (0.001 linear steps).
    """

    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    running_integrated_lufs: float
    running_loudness_range_lu: float
    max_true_peak_dbtp: float


def ffmpeg_available() -> bool:
    """True if an ``ffmpeg`` executable is on the PATH."""
    return shutil.which("ffmpeg") is not None


def ffmpeg_ebur128(path: str | Path) -> Ebur128Reading:
    """Measure ``path`` with ``ffmpeg -af ebur128=peak=true`` (summary from stderr, frame metadata from
    stdout)."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = done.stderr[done.stderr.rindex("Summary:") :]
    running = dict(re.findall(rf"lavfi\.r128\.(I|LRA)={_NUMBER}", done.stdout))
    peaks = [float(v) for v in re.findall(r"lavfi\.r128\.true_peaks_ch\d+=([\d.]+)", done.stdout)]
    top = max(peaks, default=0.0)
    return Ebur128Reading(
        integrated_lufs=float(re.search(rf"I:\s+{_NUMBER} LUFS", summary).group(1)),
        loudness_range_lu=float(re.search(rf"LRA:\s+{_NUMBER} LU", summary).group(1)),
        true_peak_dbtp=float(re.search(rf"Peak:\s+{_NUMBER} dBFS", summary).group(1)),
        running_integrated_lufs=float(running["I"]),
        running_loudness_range_lu=float(running["LRA"]),
        max_true_peak_dbtp=20.0 * math.log10(top) if top > 0.0 else -math.inf,
    )
