"""Compare mixqc's loudness and true-peak meters with ffmpeg's ebur128 filter on real music.

By default it reads the Ogg tracks of Debian's ``wesnoth-1.16-music`` package
(``apt-get install wesnoth-1.16-music``); pass other files or folders as arguments.

    python bench/compare_ffmpeg.py [PATH ...]

Prints, per track, integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) from both meters
and the differences, then the largest absolute difference of each. ffmpeg prints one decimal, so
differences up to 0.05 are rounding.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reference import ffmpeg_ebur128

from qc.analysis import FeatureRequest, extract_features
from qc.audio import open_audio

DEFAULT_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
NAMES = ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp")


def ffmpeg_meter(path: Path) -> dict[str, float]:
    """Integrated loudness, LRA and true peak from ``ffmpeg -af ebur128=peak=true`` (its summary)."""
    reading = ffmpeg_ebur128(path)
    return {
        "integrated_lufs": reading.integrated_lufs,
        "loudness_range_lu": reading.loudness_range_lu,
        "true_peak_dbtp": reading.true_peak_dbtp,
    }


def mixqc_meter(path: Path) -> dict[str, float]:
    """The same three numbers from mixqc's streaming pass."""
    info = open_audio(path)
    features = extract_features(info, [FeatureRequest(name) for name in NAMES])
    return {name: float(features.get(name)) for name in NAMES}


def main(argv: list[str]) -> None:
    paths: list[Path] = []
    for raw in argv or [str(DEFAULT_MUSIC)]:
        path = Path(raw)
        paths += sorted(path.glob("*.ogg")) + sorted(path.glob("*.wav")) if path.is_dir() else [path]
    if not paths:
        raise SystemExit("no input files (install wesnoth-1.16-music or pass files)")
    worst = dict.fromkeys(NAMES, 0.0)
    print(f"{'track':32} {'I mixqc':>8} {'ffmpeg':>7} {'LRA':>6} {'ffmpeg':>7} {'TP':>6} {'ffmpeg':>7}")
    for path in paths:
        ours, theirs = mixqc_meter(path), ffmpeg_meter(path)
        if ours["integrated_lufs"] < -70:
            continue  # digital silence
        row = " ".join(f"{ours[n]:8.2f} {theirs[n]:7.1f}" for n in NAMES)
        print(f"{path.name[:32]:32} {row}")
        for name in NAMES:
            worst[name] = max(worst[name], abs(ours[name] - theirs[name]))
    print("largest |mixqc - ffmpeg|: " + ", ".join(f"{n} {worst[n]:.2f}" for n in NAMES))


if __name__ == "__main__":
    main(sys.argv[1:])
