"""Benchmark ``mixqc check`` as a whole process against ffmpeg's ebur128 meter.

Builds synthesised test tracks (a 4-minute 44.1 kHz stereo track and a 60-minute 96 kHz stereo track,
24-bit WAV, in ``bench/out/``; nothing is committed), then times complete ``mixqc check`` processes
(median of several runs) with their peak RSS, and, where ffmpeg is installed, the time of
``ffmpeg -i FILE -af ebur128=peak=true -f null -`` on the same file, and prints the ratio.

The runs of each setting (``--workers``: values of ``MIXQC_WORKERS``, "auto" = unset) and of ffmpeg
alternate, so that load from other processes on a shared machine hits them alike. Peak RSS is given for
the ``mixqc`` process itself and for its largest child (the analysis worker; for a streaming profile the
ffmpeg encoders and decoders are children too), and their sum.

    python bench/bench_check.py              # both tracks
    python bench/bench_check.py --short      # only the 4-minute track
    python bench/bench_check.py --runs 7 --profile streaming --workers 1 auto
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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


# Runs the CLI and, at exit, writes to argv[1] the peak RSS (kB) and CPU time (s) of this process and of
# its children (RSS: the largest child; CPU: all of them).
_RSS_WRAPPER = """
import atexit, resource, runpy, sys
out = sys.argv.pop(1)
def report():
    own = resource.getrusage(resource.RUSAGE_SELF)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = [usage.ru_utime + usage.ru_stime for usage in (own, child)]
    with open(out, "w") as handle:
        handle.write(f"{own.ru_maxrss} {child.ru_maxrss} {cpu[0]} {cpu[1]}")
atexit.register(report)
sys.argv[0] = "mixqc"
runpy.run_module("qc.cli", run_name="__main__")
"""


def run_timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``command``; return wall seconds, peak RSS in MB and CPU seconds (with its waited-for children)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited with {code}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def run_mixqc(path: Path, profile: str, workers: str) -> tuple[float, float, float, float, float]:
    """Time one ``mixqc check``: wall s, peak RSS MB of the process and its largest child, CPU s of both."""
    env = dict(os.environ)
    env.pop("MIXQC_WORKERS", None)
    if workers != "auto":
        env["MIXQC_WORKERS"] = workers
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        command = [sys.executable, "-c", _RSS_WRAPPER, rss.name, "check", str(path), "--profile", profile]
        wall, _, _ = run_timed([*command, "--json", os.devnull], env)
        own, child, own_cpu, child_cpu = (float(v) for v in Path(rss.name).read_text().split())
    return wall, own / 1024.0, child / 1024.0, own_cpu, child_cpu


FFMPEG = [
    "ffmpeg",
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-i",
    "{}",
    "-af",
    "ebur128=peak=true",
    "-f",
    "null",
    "-",
]


def bench(path: Path, runs: int, profile: str, settings: list[str]) -> None:
    info = soundfile.info(str(path))
    duration = info.frames / info.samplerate
    ffmpeg = [str(path) if part == "{}" else part for part in FFMPEG] if shutil.which("ffmpeg") else None
    results: dict[str, list[tuple[float, float, float, float, float]]] = {setting: [] for setting in settings}
    ff: list[float] = []
    ff_cpu: list[float] = []
    for _ in range(runs):  # alternate, so that other load hits every setting alike
        for setting in settings:
            results[setting].append(run_mixqc(path, profile, setting))
        if ffmpeg:
            ff_wall_s, _, ff_cpu_s = run_timed(ffmpeg)
            ff.append(ff_wall_s)
            ff_cpu.append(ff_cpu_s)
    ff_wall = statistics.median(ff) if ff else None
    print(
        f"{path.name}: {duration / 60:.0f} min, {info.samplerate} Hz, {info.channels} ch, profile {profile}"
    )
    for setting, measured in results.items():
        wall = statistics.median(r[0] for r in measured)
        fastest = min(r[0] for r in measured)
        own = max(r[1] for r in measured)
        child = max(r[2] for r in measured)
        own_cpu = statistics.median(r[3] for r in measured)
        child_cpu = statistics.median(r[4] for r in measured)
        ratio = f"  ratio to ffmpeg {wall / ff_wall:.2f}" if ff_wall else ""
        print(
            f"  mixqc check MIXQC_WORKERS={setting:4s} median {wall:6.2f} s over {runs} runs "
            f"({duration / wall:4.0f}x real time){ratio}, fastest {fastest:.2f} s\n"
            f"    CPU {own_cpu:5.2f} s in the process, {child_cpu:5.2f} s in its children (medians)\n"
            f"    peak RSS {own:4.0f} MB, largest child {child:4.0f} MB, sum {own + child:4.0f} MB"
        )
    if ff_wall:
        print(
            f"  ffmpeg ebur128 median {ff_wall:6.2f} s  ({duration / ff_wall:4.0f}x real time), "
            f"fastest {min(ff):.2f} s, CPU {statistics.median(ff_cpu):5.2f} s"
        )
    else:
        print("  ffmpeg not installed: no comparison")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="only the 4-minute track")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--profile", default="streaming")
    parser.add_argument(
        "--workers", nargs="+", default=["auto"], help="MIXQC_WORKERS values to compare ('auto' = unset)"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    bench(build_track(OUT / "track-4min-44k.wav", 4, 44100), args.runs, args.profile, args.workers)
    if not args.short:
        long = build_track(OUT / "track-60min-96k.wav", 60, 96000)
        bench(long, max(1, args.runs // 3), args.profile, args.workers)


if __name__ == "__main__":
    main()
