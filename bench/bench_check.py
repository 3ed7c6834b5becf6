"""Benchmark ``mixqc check`` as a whole process against ffmpeg's ebur128 meter.

Builds synthesised test tracks (a 4-minute 44.1 kHz stereo track and a 60-minute 96 kHz stereo track,
24-bit WAV, in ``bench/out/``; nothing is committed), then times complete ``mixqc check`` processes
(median of several runs) with their peak RSS, and, where ffmpeg is installed, the time of
``ffmpeg -i FILE -af ebur128=peak=true -f null -`` on the same file, and prints the ratio.

    python bench/bench_check.py              # both tracks
    python bench/bench_check.py --short      # only the 4-minute track
    python bench/bench_check.py --runs 7 --profile streaming
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

OUT = Path(__file__).resolve().parent / "out"


def build_track(path: Path, minutes: float, sample_rate: int, seed: int = 1) -> Path:
    """Write a music-like stereo track (drum-like bursts, bass and chords, limited to −1 dBFS) in blocks."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    frames = int(minutes * 60 * sample_rate)
    block = sample_rate * 4
    tmp = path.with_suffix(".tmp.wav")
    with soundfile.SoundFile(str(tmp), "w", sample_rate, 2, subtype="PCM_24") as out:
        for start in range(0, frames, block):
            n = min(block, frames - start)
            t = (start + np.arange(n)) / sample_rate
            beat = np.mod(t, 0.5)
            kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-beat / 0.03)) * beat) * np.exp(-beat / 0.15)
            chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * 0.08
            noise = rng.standard_normal((n, 2)) * 0.05 * np.exp(-np.mod(t, 0.25) / 0.05)[:, None]
            bass = 0.3 * np.sin(2 * np.pi * 55.0 * t)
            x = (kick * 0.6 + chord + bass)[:, None] + noise
            out.write(np.tanh(1.4 * x) * 0.85)
    tmp.replace(path)
    return path


def run_timed(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS in MB) of that process alone."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited with {code}")
    return wall, usage.ru_maxrss / 1024.0


def bench(path: Path, runs: int, profile: str) -> None:
    info = soundfile.info(str(path))
    duration = info.frames / info.samplerate
    mixqc = [sys.executable, "-m", "qc.cli", "check", str(path), "--profile", profile, "--json", os.devnull]
    results = [run_timed(mixqc) for _ in range(runs)]
    wall = statistics.median(r[0] for r in results)
    rss = max(r[1] for r in results)
    print(f"{path.name}: {duration / 60:.0f} min, {info.samplerate} Hz, {info.channels} ch")
    print(
        f"  mixqc check   median {wall:6.2f} s over {runs} runs  ({duration / wall:6.0f}x real time)  "
        f"peak RSS {rss:6.0f} MB"
    )
    if shutil.which("ffmpeg"):
        ffmpeg = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ]
        ff = statistics.median(run_timed(ffmpeg)[0] for _ in range(runs))
        print(f"  ffmpeg ebur128 median {ff:6.2f} s  ({duration / ff:6.0f}x real time)")
        print(f"  ratio mixqc / ffmpeg = {wall / ff:.2f}")
    else:
        print("  ffmpeg not installed: no comparison")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="only the 4-minute track")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--profile", default="streaming")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    bench(build_track(OUT / "track-4min-44k.wav", 4, 44100), args.runs, args.profile)
    if not args.short:
        bench(build_track(OUT / "track-60min-96k.wav", 60, 96000), max(1, args.runs // 3), args.profile)


if __name__ == "__main__":
    main()
