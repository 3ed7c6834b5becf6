"""Benchmark the codec round trip (``qc.codec``): time, and excerpt mode's accuracy against full mode.

Timing: the streaming pass (the features the ``streaming`` profile needs) and the codec stage, in excerpt
mode (the default: the loudest passages) and full mode (the whole track), on ``bench/out/track-4min-44k.wav``
(built by ``bench/bench_check.py``) and a louder variant of it (+6 dB into a sample-peak limiter at
-0.1 dBFS, the way loud masters with inter-sample overs are made). CPU time counts ffmpeg's processes.

Accuracy: on a few real recordings (Debian's wesnoth-music Ogg files, as they are and "mastered loud"
through the same limiter), the highest decoded true peak per codec found by excerpt mode against the one
full mode finds (the tracks' loud versions: +12 dB into the limiter). Excerpt mode mostly reads low (it
measures some of the passages), sometimes high (ffmpeg's AAC overs depend on the encoder's state, so a
passage encoded after other audio comes back a little different). ``--weights`` compares passage-ranking
weights (``qc.codec.RMS_WEIGHT``), ``--layouts`` excerpt counts and lengths, ``--prerolls`` pre-rolls.

    python bench/bench_codec.py                     # timing + accuracy with the defaults
    python bench/bench_codec.py --no-timing --weights 0,0.25,1 --layouts 4x4,4x3,3x3 --prerolls 0.5,1
    python bench/bench_codec.py --no-timing --synthetic   # also the 4-minute tracks
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc import codec
from qc.analysis import FeatureRequest, extract_features
from qc.audio import open_audio
from qc.check import Checker
from qc.codec import CodecParams, round_trip

OUT = Path(__file__).resolve().parent / "out"
TRACK = OUT / "track-4min-44k.wav"
MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
# Shortish tracks of varied material (full mode encodes them whole, so the bench stays minutes long).
DEFAULT_TRACKS = (
    "battle-epic.ogg",
    "frantic-old.ogg",
    "revelation.ogg",
    "love_theme.ogg",
    "underground.ogg",
    "main_menu.ogg",
    "sad.ogg",
    "transience.ogg",
)


def limit(x: np.ndarray, sample_rate: int, gain_db: float, ceiling_dbfs: float = -0.1) -> np.ndarray:
    """``x`` raised by ``gain_db`` into a look-ahead sample-peak limiter at ``ceiling_dbfs`` (no true-peak
    detection, so inter-sample overs remain, as in many loud masters). The gain is the running minimum
    of the gain each sample needs over ±20 ms, smoothed over 20 ms: never above what a peak needs."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    y = x * 10 ** (gain_db / 20)
    ceiling = 10 ** (ceiling_dbfs / 20)
    wanted = np.minimum(1.0, ceiling / np.maximum(np.abs(y).max(axis=1), 1e-12))
    width = max(1, int(0.02 * sample_rate))
    gain = uniform_filter1d(minimum_filter1d(wanted, 2 * width + 1), width)
    return np.clip(y * gain[:, None], -ceiling, ceiling)  # clips only rounding errors


def louder(source: Path, target: Path, gain_db: float) -> Path:
    """Write the limited variant of ``source`` to ``target`` (32-bit float WAV), once."""
    if not target.exists():
        x, sample_rate = soundfile.read(str(source), always_2d=True)
        soundfile.write(str(target), limit(x, sample_rate, gain_db), sample_rate, subtype="FLOAT")
    return target


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    cpu, wall = cpu_seconds(), time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - wall, cpu_seconds() - cpu


def pass_of(path: Path):
    """The file and the streaming-pass features the codec stage reads."""
    info = open_audio(path)
    names = ("waveform_envelope", "true_peak_events", "true_peak_dbtp")
    features = extract_features(info, [FeatureRequest(name) for name in names])
    return info, features


def _inputs(features) -> tuple:
    overs = features.get("true_peak_events")
    return features.get("waveform_envelope"), overs if isinstance(overs, list) else []


def bench_timing(paths: list[Path], runs: int) -> None:
    print("== timing (median of", runs, "runs; wall / CPU incl. ffmpeg, seconds) ==")
    streamed = [r for r in Checker("streaming").requests() if not codec.is_codec_feature(r.name)]
    for path in paths:
        info = open_audio(path)
        rows: dict[str, list[tuple[float, float]]] = {"pass": [], "excerpts": [], "full": []}
        peaks: dict[str, dict[str, float]] = {}
        for run in range(runs):
            features, wall, cpu = timed(extract_features, info, streamed)
            rows["pass"].append((wall, cpu))
            for mode in ("excerpts", "full"):
                if mode == "full" and run > 0:
                    continue  # one full run is enough (and slow)
                params = CodecParams(full=mode == "full")
                result, wall, cpu = timed(round_trip, info, params, *_inputs(features))
                rows[mode].append((wall, cpu))
                peaks[mode] = result.peaks_dbtp
        print(f"{path.name}: true peak {features.get('true_peak_dbtp'):+.2f} dBTP")
        for mode, values in rows.items():
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            extra = ""
            if mode in peaks:
                extra = "  " + ", ".join(f"{k} {v:+.2f} dBTP" for k, v in peaks[mode].items())
            print(f"  {mode:9s} wall {wall:6.2f}  cpu {cpu:6.2f}{extra}", flush=True)


def bench_accuracy(
    paths: list[Path], weights: list[float], layouts: list[tuple[int, float]], prerolls: list[float]
) -> None:
    print("\n== accuracy: excerpt mode minus full mode, highest decoded true peak (dB; 0 = found it) ==")
    print("(* after a number: full mode's highest peak for that codec lies outside the excerpts)")
    errors: dict[tuple[float, int, float, float], list[float]] = {}
    for path in paths:
        info, features = pass_of(path)
        inputs = _inputs(features)
        full, _, full_cpu = timed(round_trip, info, CodecParams(full=True), *inputs)
        line = [
            f"{path.name[:30]:30s} tp {features.get('true_peak_dbtp'):+6.2f}  full "
            + " ".join(f"{k} {v:+6.2f} at {full.peaks_s[k]:6.1f} s" for k, v in full.peaks_dbtp.items())
            + f" ({full_cpu:4.1f} s cpu)"
        ]
        for weight in weights:
            codec.RMS_WEIGHT = weight
            for (count, length), preroll in itertools.product(layouts, prerolls):
                params = CodecParams(excerpts=count, excerpt_s=length, preroll_s=preroll)
                result, _, cpu = timed(round_trip, info, params, *inputs)
                cells = []
                for name, value in full.peaks_dbtp.items():
                    diff = result.peaks_dbtp[name] - value
                    errors.setdefault((weight, count, length, preroll), []).append(diff)
                    inside = any(a <= full.peaks_s[name] <= b for a, b in result.excerpts_s)
                    cells.append(f"{diff:+5.2f}{' ' if inside else '*'}")
                setting = f"w={weight:<4} {count}x{length:g}s pre {preroll:g}s"
                line.append(f"    {setting}: {' '.join(cells)} ({cpu:4.2f} s cpu)")
        print("\n".join(line), flush=True)
    print("\nsummary (over tracks and codecs): mean / worst difference, share within 0.2 dB")
    for (weight, count, length, preroll), diffs in errors.items():
        d = np.array(diffs)
        setting = f"w={weight:<4} {count}x{length:g}s pre {preroll:g}s"
        print(
            f"  {setting}: mean {d.mean():+.2f}  worst {d.min():+.2f}  "
            f"within 0.2 dB {np.mean(np.abs(d) <= 0.2):.0%}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=len(DEFAULT_TRACKS), help="real tracks to use")
    parser.add_argument("--weights", default=str(codec.RMS_WEIGHT), help="comma-separated RMS weights")
    defaults = CodecParams()
    parser.add_argument(
        "--layouts",
        default=f"{defaults.excerpts}x{defaults.excerpt_s:g}",
        help="comma-separated COUNTxSECONDS excerpt layouts",
    )
    parser.add_argument("--prerolls", default=str(defaults.preroll_s), help="comma-separated seconds")
    parser.add_argument("--synthetic", action="store_true", help="also the 4-minute tracks")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is not installed: nothing to measure")
        return 1
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    OUT.mkdir(exist_ok=True)
    if not args.no_timing:
        if not TRACK.exists():
            print(f"{TRACK} is missing: run python bench/bench_check.py --short first")
            return 1
        bench_timing([TRACK, louder(TRACK, OUT / "track-4min-44k-loud.wav", 6.0)], args.runs)
    if not args.no_accuracy:
        names = [n for n in DEFAULT_TRACKS if (MUSIC / n).exists()][: args.tracks]
        if not names:
            print(f"no tracks under {MUSIC} (Debian: apt-get install wesnoth-1.16-music)")
            return 1
        paths = []
        for name in names:
            paths.append(MUSIC / name)
            paths.append(louder(MUSIC / name, OUT / f"{Path(name).stem}-loud.wav", 12.0))
        weights = [float(w) for w in args.weights.split(",")]
        layouts = [(int(c), float(s)) for c, s in (item.split("x") for item in args.layouts.split(","))]
        if args.synthetic:
            paths += [TRACK, louder(TRACK, OUT / "track-4min-44k-loud.wav", 6.0)]
        prerolls = [float(p) for p in args.prerolls.split(",")]
        bench_accuracy(paths, weights, layouts, prerolls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
