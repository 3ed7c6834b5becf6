"""Evaluate the tonal-balance features on released music and on synthetic mixes with planted EQ defects.

Prints, per track, the deviation of each tonal band from the curve (dB, after alignment), the number of
harsh passages, and which tonal rule would fire (thresholds below; the rules themselves live in
``rules/default.yaml``). Then the synthetic mixes (``tests/music.py``, several seeds) clean and with +/-6 dB
RBJ-cookbook EQ moves, the change each EQ causes per band, and the time the features take on a 4-minute
44.1 kHz stereo track (blocks of 65 536 frames).

    python bench/eval_tonal.py                     # released music found on this machine + synthetic
    python bench/eval_tonal.py --curve warm        # against another curve
    python bench/eval_tonal.py --calibrate         # also print the corpus statistics behind default.yaml

Released music read (each file of 20 s or more; installed by Debian packages, nothing is committed):
``wesnoth-1.16-music`` (orchestral/cinematic), and where installed ``hedgewars-data`` (mixed pop/rock/
electronic/acoustic game music) and ``freedroidrpg-data`` (electronic/industrial).
"""

from __future__ import annotations

import argparse
import glob
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from music import music  # noqa: E402

from qc.audio import AudioInfo, iter_blocks, open_audio  # noqa: E402
from qc.features.curves import BAND_NAMES, TONE_BANDS, load_curve  # noqa: E402
from qc.features.registry import Block  # noqa: E402
from qc.features.spectrum import (  # noqa: E402
    TonalBalance,
    TonalParams,
    align_to_curve,
    hot_passages,
    short_term_high_mid_db,
    tone_band_levels,
)

CORPORA = {
    "wesnoth": "/usr/share/games/wesnoth/1.16/data/core/music/*.ogg",
    "hedgewars": "/usr/share/games/hedgewars/Data/Music/*.ogg",
    "freedroid": "/usr/share/freedroidrpg/data/sound/music/*.ogg",
}
MIN_DURATION_S = 20.0
SHORT = {"sub": "sub", "bass": "bass", "low_mid": "lowmid", "mid": "mid", "high_mid": "himid",
         "presence": "pres", "air": "air"}  # fmt: skip


def rbj_biquad(kind: str, freq_hz: float, gain_db: float, sample_rate: int, q: float = 0.707):
    """RBJ Audio-EQ-Cookbook biquad ``(b, a)``: kind = "peak", "lowshelf" or "highshelf" (shelf slope S=1)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * freq_hz / sample_rate
    cos_w0, sin_w0 = math.cos(w0), math.sin(w0)
    if kind == "peak":
        alpha = sin_w0 / (2 * q)
        b = [1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp]
    else:
        alpha = sin_w0 / 2 * math.sqrt(2)  # S = 1
        root = 2 * math.sqrt(amp) * alpha
        sign = 1 if kind == "lowshelf" else -1
        b = [
            amp * ((amp + 1) - sign * (amp - 1) * cos_w0 + root),
            sign * 2 * amp * ((amp - 1) - sign * (amp + 1) * cos_w0),
            amp * ((amp + 1) - sign * (amp - 1) * cos_w0 - root),
        ]
        a = [
            (amp + 1) + sign * (amp - 1) * cos_w0 + root,
            -sign * 2 * ((amp - 1) + sign * (amp + 1) * cos_w0),
            (amp + 1) + sign * (amp - 1) * cos_w0 - root,
        ]
    return np.array(b) / a[0], np.array(a) / a[0]


# The planted defects: (name, rule it should trigger, EQ kind, frequency Hz, gain dB, Q).
DEFECTS = (
    ("harsh: +6 dB bell 3.5 kHz", "harsh", "peak", 3500.0, 6.0, 1.0),
    ("dull: -6 dB high shelf 8 kHz", "dull", "highshelf", 8000.0, -6.0, 0.707),
    ("bass-heavy: +6 dB low shelf 100 Hz", "bass-heavy", "lowshelf", 100.0, 6.0, 0.707),
    ("bass-light: -6 dB low shelf 100 Hz", "bass-light", "lowshelf", 100.0, -6.0, 0.707),
    ("muddy: +6 dB bell 300 Hz", "muddy", "peak", 300.0, 6.0, 1.0),
)


def rule_checks(curve_name: str) -> dict[str, tuple[str, str, float]]:
    """The suggested tonal rules: id -> (band, "above"/"below", threshold dB) = the curve's tolerance."""
    tolerance = dict(zip(BAND_NAMES, load_curve(curve_name).tolerances_db(), strict=True))
    return {
        "bass-heavy": ("bass", "above", tolerance["bass"]),
        "bass-light": ("bass", "below", -tolerance["bass"]),
        "muddy": ("low_mid", "above", tolerance["low_mid"]),
        "harsh": ("high_mid", "above", tolerance["high_mid"]),
        "dull": ("air", "below", -tolerance["air"]),
    }


def fired(deviation: dict[str, float], checks: dict[str, tuple[str, str, float]]) -> list[str]:
    """Rule ids whose condition holds for these deviations."""
    out = []
    for rule_id, (band, side, threshold) in checks.items():
        value = deviation[band]
        if value is not None and (value > threshold if side == "above" else value < threshold):
            out.append(rule_id)
    return out


def event_margin_db(deviation: np.ndarray, tolerance_db: float, seconds_per_frame: float, params) -> float:
    """The largest ``harsh_margin_db`` that still gives this track a harsh passage (-inf if none at any)."""

    def has_event(margin: float) -> bool:
        return bool(
            hot_passages(
                deviation,
                tolerance_db + margin,
                min_frames=math.ceil(params.min_event_s / seconds_per_frame - 1e-9),
                gap_frames=int(round(params.merge_gap_s / seconds_per_frame)),
            )
        )

    low, high = -40.0, 40.0
    if not has_event(low):
        return -math.inf
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if has_event(middle) else (low, middle)
    return low


def measure_file(path: str, curve: str) -> dict:
    """One file through the tonal extractor, block by block as the analysis pass feeds it."""
    info = open_audio(path)
    params = TonalParams(curve=curve)
    extractor = TonalBalance(info, params)
    for start, samples in iter_blocks(info):
        extractor.update(Block(start, samples))
    values = extractor.result({})
    spectrum = extractor._spectrum  # the bench may look inside: the short-term series for calibration
    targets = np.array(extractor.curve.targets_db())
    short_term = short_term_high_mid_db(spectrum, targets, params.window_s)
    limit = extractor.curve.tolerances_db()[BAND_NAMES.index("high_mid")]
    return {
        "deviation": {band: values[f"tonal_{band}_db"] for band in BAND_NAMES},
        "harsh": len(values["harsh_events"]),
        "levels": np.array(values["tonal_balance"].level_db, dtype=np.float64),
        "sustained_margin_db": event_margin_db(
            short_term, limit, spectrum.frame / spectrum.sample_rate, params
        ),
    }


def row(label: str, deviation: dict[str, float], extra: str = "") -> str:
    cells = "".join(f"{deviation[b]:7.1f}" if deviation[b] is not None else "      -" for b in BAND_NAMES)
    return f"{label:34s}{cells}  {extra}"


def header(last: str = "harsh passages (margin) / rules that fire") -> str:
    return f"{'track':34s}" + "".join(f"{SHORT[b]:>7s}" for b in BAND_NAMES) + f"  {last}"


def released(curve: str) -> dict[str, list[dict]]:
    checks = rule_checks(curve)
    print(f"== Released music vs curve {curve!r} (deviation dB; rules fire beyond the curve's tolerance)")
    print("   thresholds: " + ", ".join(f"{k} {s} {t:+.1f} ({b})" for k, (b, s, t) in checks.items()))
    print("   (margin) = the largest harsh_margin_db that still gives a harsh passage (default 7)")
    measured: dict[str, list[dict]] = {}
    for corpus, pattern in CORPORA.items():
        files = sorted(glob.glob(pattern))
        if not files:
            print(f"-- {corpus}: not installed ({pattern})")
            continue
        print(f"-- {corpus}\n{header()}")
        flagged = 0
        measured[corpus] = []
        for path in files:
            if open_audio(path).duration_s < MIN_DURATION_S:
                continue
            result = measure_file(path, curve)
            measured[corpus].append(result)
            rules = fired(result["deviation"], checks)
            flagged += bool(rules or result["harsh"])
            extra = f"{result['harsh']} ({result['sustained_margin_db']:+.1f})  {' '.join(rules)}"
            print(row(Path(path).stem[:34], result["deviation"], extra))
        print(f"   {flagged} of {len(measured[corpus])} tracks flagged")
    return measured


def calibration(measured: dict[str, list[dict]], curve: str) -> None:
    """The statistics the curves are derived from: centres (iterated median alignment) and spreads."""
    print("\n== Calibration (band share of total power, dB; spreads are deviations after alignment)")
    print(f"{'':28s}" + "".join(f"{SHORT[b]:>8s}" for b in BAND_NAMES))
    groups = {name: [r["levels"] for r in rows] for name, rows in measured.items()}
    groups["all released"] = [v for rows in groups.values() for v in rows]
    others = [v for name in ("hedgewars", "freedroid") for v in groups.get(name, [])]
    if others:
        groups["hedgewars+freedroid"] = others
    synthetic_levels = []
    targets = np.array(load_curve(curve).targets_db())
    for seed in (1, 2, 3, 7):
        x, rate = music(60.0, seed)
        synthetic_levels.append(align_to_curve(tone_band_levels(x, rate), targets)[1] + targets)
    for name, levels in groups.items():
        levels = np.array(levels)
        centre = np.median(levels, axis=0)
        for _ in range(20):
            centre = centre + np.median([align_to_curve(v, centre)[1] for v in levels], axis=0)
        centre -= 10 * np.log10(np.sum(10 ** (centre / 10)))  # shares of the total power add up to 0 dB
        deviations = np.array([align_to_curve(v, centre)[1] for v in levels])
        print(f"{name + ' centre':28s}" + "".join(f"{v:8.1f}" for v in centre) + f"   ({len(levels)} tracks)")
        for label, values in (
            ("  p2.5", np.percentile(deviations, 2.5, axis=0)),
            ("  p97.5", np.percentile(deviations, 97.5, axis=0)),
            ("  min", deviations.min(axis=0)),
            ("  max", deviations.max(axis=0)),
        ):
            print(f"{label:28s}" + "".join(f"{v:8.1f}" for v in values))
        density = [centre[i] - 10 * math.log10(TONE_BANDS[i].octaves) for i in range(3, 7)]
        slope = np.polyfit([math.log2(math.sqrt(b.low_hz * b.high_hz)) for b in TONE_BANDS[3:]], density, 1)[
            0
        ]
        print(f"  slope 0.5-20 kHz: {slope:+.1f} dB/oct in octave bands ({slope - 3.01:+.1f} dB/oct PSD)")
    synthetic_dev = np.array([v - targets - align_to_curve(v, targets)[0] for v in synthetic_levels])
    print(
        f"{'tests/music (vs ' + curve + ')':28s}" + "".join(f"{v:8.1f}" for v in synthetic_dev.mean(axis=0))
    )
    wesnoth = [r["deviation"] for r in measured.get("wesnoth", [])]
    if wesnoth:
        worst = np.array([[abs(d[b]) for b in BAND_NAMES] for d in wesnoth]).max(axis=0)
        worst = np.maximum(worst, np.abs(synthetic_dev).max(axis=0))
        print(f"{'max |dev| wesnoth+music':28s}" + "".join(f"{v:8.1f}" for v in worst))
    margins = [r["sustained_margin_db"] for rows in measured.values() for r in rows]
    print(
        f"harsh_events: largest margin with a passage over the released tracks {max(margins):+.1f} dB; "
        f"wesnoth {max(r['sustained_margin_db'] for r in measured.get('wesnoth', [{}])):+.1f} dB"
    )


def synthetic(curve: str, seeds: list[int]) -> None:
    from scipy.signal import lfilter

    checks = rule_checks(curve)
    model = load_curve(curve)
    targets = np.array(model.targets_db())
    print(f"\n== Synthetic mixes (tests/music.py, 60 s) vs curve {curve!r}\n{header()}")
    for seed in seeds:
        x, rate = music(60.0, seed)
        clean = align_to_curve(tone_band_levels(x, rate), targets)[1]
        print(
            row(
                f"seed {seed} clean",
                dict(zip(BAND_NAMES, clean, strict=True)),
                " ".join(fired(dict(zip(BAND_NAMES, clean, strict=True)), checks)),
            )
        )
        for label, rule_id, kind, freq, gain, q in DEFECTS:
            b, a = rbj_biquad(kind, freq, gain, rate, q)
            eq = align_to_curve(tone_band_levels(lfilter(b, a, x, axis=0), rate), targets)[1]
            deviation = dict(zip(BAND_NAMES, eq, strict=True))
            rules = fired(deviation, checks)
            mark = "FIRES" if rule_id in rules else "misses"
            print(row(f"  {label}", deviation, f"{mark} {rule_id}; fired: {' '.join(rules) or '-'}"))
            print(row("    change vs clean", dict(zip(BAND_NAMES, eq - clean, strict=True))))


def timing(runs: int) -> None:
    rate = 44100
    rng = np.random.default_rng(0)
    x, _ = music(240.0, 3)
    x = x + 1e-4 * rng.standard_normal(x.shape)
    info = AudioInfo(
        path="timing.wav",
        sha256="",
        format="WAV",
        subtype="FLOAT",
        sample_rate=rate,
        channels=2,
        frames=len(x),
        duration_s=len(x) / rate,
    )
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        extractor = TonalBalance(info, TonalParams())
        for first in range(0, len(x), 65536):
            extractor.update(Block(first, x[first : first + 65536]))
        extractor.result({})
        times.append(time.perf_counter() - start)
    print(
        f"\n== Timing: all tonal features on 4 min of 44.1 kHz stereo in blocks of 65 536 frames: "
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s over {runs} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--curve", default="default")
    parser.add_argument("--calibrate", action="store_true", help="print the corpus statistics too")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 7])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-released", action="store_true")
    args = parser.parse_args()
    if not args.skip_released:
        measured = released(args.curve)
        if args.calibrate and measured:
            calibration(measured, args.curve)
    synthetic(args.curve, args.seeds)
    timing(args.runs)


if __name__ == "__main__":
    main()
