"""Loudness normalisation under a true-peak ceiling: mixqc against ffmpeg's two-pass ``loudnorm`` (linear).

Builds inputs in ``bench/out/master/`` (nothing is committed) from synthesised music (``qc.demo``, 60 s) and,
where Debian's ``wesnoth-1.16-music`` is installed, a few of its Ogg tracks, each at two levels:

* **quiet**: −24 LUFS by gain alone (reaching −14 LUFS needs +10 dB; peaky tracks then need the limiter);
* **loud**: −7 LUFS, driven into a tanh soft clipper with samples at −0.1 dBFS (as in ``qc.demo``;
  inter-sample overs remain). Reaching −14 LUFS needs −7 dB of gain and no limiting.

Each input goes through

* **mixqc**: ``qc.master.chain.master`` in this process with the level stages only (static gain, true-peak
  limiter, 24-bit quantisation; repairs skipped and limiting allowed, like loudnorm); with ``--cli``, the
  same as a ``mixqc master IN --out OUT --target-lufs -14 --ceiling-dbtp -1 ...`` process;
* **loudnorm**: ffmpeg's ``loudnorm=I=-14:TP=-1:LRA=..`` first pass (``print_format=json``), then the second
  pass with the measured values and ``linear=true``, resampled back to the input rate, 32-bit float. LRA is
  set just above the input's measured LRA so that only the true-peak condition can make loudnorm fall back
  to dynamic mode; the table says which mode it used.

Every output is measured with ffmpeg's ``ebur128=peak=true`` (I, LRA, true peak from its metadata, 0.001
linear steps) and mixqc's meters, and a table is printed: input, tool, I error (LU), true peak (dBTP) by
both meters against the ceiling, LRA change (LU), wall time and × real time.

    python bench/bench_master.py                 # synthesised music + 3 wesnoth tracks
    python bench/bench_master.py --tracks all    # every wesnoth track
    python bench/bench_master.py --cli           # run the mixqc master CLI as a subprocess
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reference import ffmpeg_ebur128

from qc.analysis import FeatureRequest, extract_features
from qc.audio import open_audio
from qc.demo import SAMPLE_RATE, synthesise_arrangement
from qc.features.loudness import integrated_loudness
from qc.master.chain import master

OUT = Path(__file__).resolve().parent / "out" / "master"
MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
DEFAULT_TRACKS = ("battle-epic.ogg", "love_theme.ogg", "transience.ogg")
TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
QUIET_LUFS = -24.0
LOUD_LUFS = -7.0
BLOCK_FRAMES = 65536


# --- Inputs ------------------------------------------------------------------------------------------


def drive(x: np.ndarray, gain_db: float, peak_dbfs: float = -0.1) -> np.ndarray:
    """``x`` raised by ``gain_db`` into a tanh soft clipper, scaled to a sample peak of ``peak_dbfs``.

    The "loudness war" bus of ``qc.demo``: samples stay at or below ``peak_dbfs``, overs remain between them.
    """
    y = np.tanh(x * 10 ** (gain_db / 20))
    return y * (10 ** (peak_dbfs / 20) / np.abs(y).max())


def at_loudness(x: np.ndarray, sample_rate: int, lufs: float, *, loud: bool) -> np.ndarray:
    """``x`` at ``lufs``: by gain alone, or (``loud``) through :func:`drive` (drive found by bisection)."""
    base = integrated_loudness(x, sample_rate)
    if not loud:
        return x * 10 ** ((lufs - base) / 20)
    low, high = -20.0, 40.0  # loudness rises monotonically with the drive
    for _ in range(30):
        middle = 0.5 * (low + high)
        y = drive(x, middle)
        level = integrated_loudness(y, sample_rate)
        if abs(level - lufs) < 0.01:
            break
        low, high = (middle, high) if level < lufs else (low, middle)
    return y


def build_inputs(tracks: list[str]) -> list[Path]:
    """Write (once) the quiet and loud version of each source; return their paths."""
    OUT.mkdir(parents=True, exist_ok=True)
    sources: list[tuple[str, np.ndarray, int]] = []
    synth = synthesise_arrangement(30)[: 60 * SAMPLE_RATE]
    sources.append(("synth", synth, SAMPLE_RATE))
    for name in tracks:
        x, sample_rate = soundfile.read(str(MUSIC / name), always_2d=True)
        sources.append((Path(name).stem, x, sample_rate))
    paths = []
    for stem, x, sample_rate in sources:
        for label, lufs, loud in (("quiet", QUIET_LUFS, False), ("loud", LOUD_LUFS, True)):
            path = OUT / f"{stem}-{label}.wav"
            if not path.exists():
                soundfile.write(str(path), at_loudness(x, sample_rate, lufs, loud=loud), sample_rate, "FLOAT")
            paths.append(path)
    return paths


# --- Tools -------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One tool on one input: the output file, wall time (s) and a note (mode, limiting)."""

    out: Path
    wall_s: float
    note: str
    ok: bool = True


LEVEL_ONLY = {"skip": ["dc", "declick", "eq", "trim"], "max_limiting_db": 10.0, "max_limited_share": 1.0}


def mixqc_in_process(source: Path, target: Path) -> Run:
    """``qc.master.chain.master`` in this process, level stages only (the options of the CLI run)."""
    start = time.perf_counter()
    report = master(source, target, target_lufs=TARGET_LUFS, ceiling_dbtp=CEILING_DBTP, overwrite=True,
                    **LEVEL_ONLY)  # fmt: skip
    return Run(target, time.perf_counter() - start, "; ".join(c.summary for c in report.changes[:2]))


def mixqc_cli(source: Path, target: Path) -> Run:
    """The ``mixqc master`` process (see the module docstring)."""
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    command = [sys.executable, "-m", "qc", "master", str(source), "--out", str(target), "--overwrite",
               "--target-lufs", str(TARGET_LUFS), "--ceiling-dbtp", str(CEILING_DBTP), "--quiet",
               # level only, like loudnorm; allow the limiting the peaky quiet inputs need
               "--skip", ",".join(LEVEL_ONLY["skip"]), "--max-limiting", str(LEVEL_ONLY["max_limiting_db"]),
               "--max-limited-share", str(100 * LEVEL_ONLY["max_limited_share"])]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the check of OUT still has findings (e.g. other rules)
        message = (done.stderr.strip().splitlines() or ["?"])[-1]
        return Run(target, wall, f"exit {done.returncode}: {message[:150]}", ok=False)
    return Run(target, wall, "mixqc master")


def ffmpeg_json(stderr: str) -> dict:
    """The JSON block loudnorm prints at the end of its log."""
    return json.loads(stderr[stderr.rindex("{") : stderr.rindex("}") + 1])


def loudnorm(source: Path, target: Path, sample_rate: int) -> Run:
    """ffmpeg's two-pass loudnorm, linear mode requested (it may fall back to dynamic: see the note)."""
    start = time.perf_counter()
    base = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", "-i", str(source), "-af"]
    first = subprocess.run(
        [*base, f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=50:print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    measured = ffmpeg_json(first.stderr)
    lra = min(50.0, max(1.0, math.ceil(float(measured["input_lra"]) + 1.0)))
    options = (
        f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA={lra}:measured_I={measured['input_i']}:"
        f"measured_TP={measured['input_tp']}:measured_LRA={measured['input_lra']}:"
        f"measured_thresh={measured['input_thresh']}:offset={measured['target_offset']}:linear=true:"
        "print_format=json"
    )
    second = subprocess.run(
        [*base, options, "-ar", str(sample_rate), "-c:a", "pcm_f32le", str(target)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    mode = ffmpeg_json(second.stderr).get("normalization_type", "?")
    return Run(target, time.perf_counter() - start, f"loudnorm {mode} (LRA={lra:g})")


# --- Meters ------------------------------------------------------------------------------------------


def ffmpeg_meter(path: Path) -> dict[str, float]:
    """I (LUFS), LRA (LU) and true peak (dBTP) from ``ebur128=peak=true``; the peak from its metadata."""
    reading = ffmpeg_ebur128(path)
    return {
        "integrated_lufs": reading.running_integrated_lufs,  # 0.001 steps, not the summary's 0.1
        "loudness_range_lu": reading.running_loudness_range_lu,
        "true_peak_dbtp": reading.max_true_peak_dbtp,
    }


def mixqc_meter(path: Path) -> dict[str, float]:
    """The same three numbers from mixqc's streaming pass."""
    names = ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp")
    features = extract_features(open_audio(path), [FeatureRequest(name) for name in names])
    return {name: float(features.get(name)) for name in names}


# --- Main --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", action="store_true", help="run `mixqc master` as a subprocess")
    parser.add_argument(
        "--tracks", default=",".join(DEFAULT_TRACKS), help="wesnoth tracks (comma list or all)"
    )
    args = parser.parse_args(argv)
    tracks: list[str] = []
    if MUSIC.is_dir():
        names = sorted(p.name for p in MUSIC.glob("*.ogg"))
        tracks = names if args.tracks == "all" else [t for t in args.tracks.split(",") if t in names]
    else:
        print(f"{MUSIC} not found (apt-get install wesnoth-1.16-music): synthesised music only")
    inputs = build_inputs(tracks)

    columns = ("input", "I in", "tool", "I err", "I qc", "TP ff", "TP qc", "LRA in", "ΔLRA", "wall s", "×RT")
    print(
        f"target {TARGET_LUFS} LUFS, ceiling {CEILING_DBTP} dBTP. I in, I err (output − target, LU), TP ff, "
        "LRA in, ΔLRA: ffmpeg ebur128; I qc, TP qc: mixqc's meters."
    )
    header = " | ".join(columns) + " | note"
    print(header)
    print("-" * len(header))
    worst = {"mixqc": [0.0, -math.inf], "loudnorm": [0.0, -math.inf]}
    for source in inputs:
        info = soundfile.info(str(source))
        before = ffmpeg_meter(source)
        tools = {
            "mixqc": lambda s, t: mixqc_cli(s, t) if args.cli else mixqc_in_process(s, t),
            "loudnorm": lambda s, t, rate=info.samplerate: loudnorm(s, t, rate),
        }
        for tool, run_tool in tools.items():
            run = run_tool(source, OUT / f"{source.stem}.{tool}.wav")
            cells = [source.stem, f"{before['integrated_lufs']:.1f}", tool]
            if not run.ok:
                print(" | ".join([*cells, *["-"] * 5, f"{run.wall_s:.2f}", "-", run.note]))
                continue
            ff, ours = ffmpeg_meter(run.out), mixqc_meter(run.out)
            error = ff["integrated_lufs"] - TARGET_LUFS
            worst[tool][0] = max(worst[tool][0], abs(error))
            worst[tool][1] = max(worst[tool][1], ff["true_peak_dbtp"], ours["true_peak_dbtp"])
            cells += [
                f"{error:+.2f}",
                f"{ours['integrated_lufs'] - TARGET_LUFS:+.2f}",
                f"{ff['true_peak_dbtp']:.2f}",
                f"{ours['true_peak_dbtp']:.2f}",
                f"{before['loudness_range_lu']:.1f}",
                f"{ff['loudness_range_lu'] - before['loudness_range_lu']:+.1f}",
                f"{run.wall_s:.2f}",
                f"{info.duration / run.wall_s:.0f}",
                run.note,
            ]
            print(" | ".join(cells))
    for tool, (error, peak) in worst.items():
        print(f"{tool}: largest |I err| {error:.2f} LU; highest true peak {peak:.2f} dBTP (either meter)")


if __name__ == "__main__":
    main(sys.argv[1:])
