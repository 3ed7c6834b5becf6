"""Evaluate and calibrate the tonal rules on released music and on synthetic mixes with 6 dB EQ moves.

    python bench/eval_tonal.py                 # every section, released music found on this machine
    python bench/eval_tonal.py --calibrate     # also the corpus statistics behind rules/curves/*.yaml
    python bench/eval_tonal.py --skip-released # synthetic mixes and timing only

Sections:

1. EQ moves: how far the standard 6 dB move over each band (``MOVES`` in
   ``tests/features/test_spectrum_rules.py``: a shelf from the band's inner edge or a bell as wide as the
   band) shifts that band's deviation, over the released tracks and over the balanced synthetic mixes;
   the curves' tolerances are the smaller median shift (+6 or -6 dB), rounded down to 0.5 dB.
2. Released music against each built-in curve: spread of the deviations, how often each tonal rule of
   ``rules/default.yaml`` fires (warning rate) and how many error-level tonal findings there are; and the
   detection rate: on how many released tracks a 6 dB move fires its rule where the track passed before.
3. Separability bound: the best any gain-invariant linear measure of the seven band levels can do
   (Fisher discriminant, leave-one-out): the shift of a 6 dB move in units of the corpus' standard
   deviation of that measure. A threshold that catches the move from the corpus centre cannot warn
   fewer tracks than a normal tail beyond that many standard deviations.
4. Synthetic balanced mixes (``balanced_mix``: ``tests/music.py`` equalised onto the curve): the rules
   that fire clean and after each move.
5. Harsh passages: per track, the largest ``harsh_margin_db`` that still gives a passage, and how far a
   6 dB bell over 2-5 kHz on a 10 s passage lifts the short-term 2-5 kHz level.
6. Timing of the tonal extractor on 4 minutes of 44.1 kHz stereo.

Released music read (every file of 20 s or more; Debian packages, nothing committed): ``wesnoth-1.16-music``
(orchestral/cinematic), ``hedgewars-data`` (pop/rock/electronic/acoustic game music) and
``freedroidrpg-data`` (electronic/industrial). The band levels of each track and each EQ move are cached in
``bench/out/tonal_corpus.pkl`` (by path, size and modification time; ``--no-cache`` recomputes).
"""

from __future__ import annotations

import argparse
import glob
import math
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "features"))

from music import music  # noqa: E402
from test_spectrum_rules import MOVES, balanced_mix  # noqa: E402

from qc.analysis import FeatureSet  # noqa: E402
from qc.audio import AudioInfo, iter_blocks, open_audio  # noqa: E402
from qc.check import Checker  # noqa: E402
from qc.features.curves import BAND_NAMES, TONE_BANDS, curve_names, load_curve  # noqa: E402
from qc.features.registry import Block, params_key  # noqa: E402
from qc.features.spectrum import (  # noqa: E402
    HIGH_MID,
    SpectrumAccumulator,
    TonalBalance,
    TonalParams,
    align_to_curve,
    frame_length,
    high_mid_series_db,
    hot_passages,
    short_term_high_mid_db,
    tonal_band_values,
    tone_band_levels,
)
from qc.rules.evaluate import evaluate  # noqa: E402

CORPORA = {
    "wesnoth": "/usr/share/games/wesnoth/1.16/data/core/music/*.ogg",
    "hedgewars": "/usr/share/games/hedgewars/Data/Music/*.ogg",
    "freedroid": "/usr/share/freedroidrpg/data/sound/music/*.ogg",
}
MIN_DURATION_S = 20.0
CACHE = ROOT / "bench" / "out" / "tonal_corpus.pkl"
GAINS_DB = (6.0, -6.0)
VARIANTS = ["clean"] + [f"{band}{gain:+.0f}" for band in BAND_NAMES for gain in GAINS_DB]
SEEDS = (1, 2, 3, 7)
SHORT = {"sub": "sub", "bass": "bass", "low_mid": "lowmid", "mid": "mid", "high_mid": "himid",
         "presence": "pres", "air": "air"}  # fmt: skip
# The move that should fire each rule: (band, gain dB).
RULE_MOVES = {
    "harsh": ("high_mid", 6.0),
    "muddy": ("low_mid", 6.0),
    "bass-heavy": ("bass", 6.0),
    "bass-light": ("bass", -6.0),
    "dull": ("air", -6.0),
}


# --- measuring -----------------------------------------------------------------------------------------


def band_levels(accumulator: SpectrumAccumulator) -> np.ndarray:
    """Gated share of each tonal band in the total power, dB (as the extractor measures it)."""
    levels = accumulator.tone_levels_db()
    assert levels is not None
    return levels


def measure_track(path: str) -> dict:
    """Band levels of one file, clean and through every EQ move, plus the clean short-term series."""
    info = open_audio(path)
    x = np.concatenate([samples for _, samples in iter_blocks(info)])
    rate = info.sample_rate
    clean = SpectrumAccumulator(rate)
    clean.add(x)
    frames, gated = clean.frame_series()
    levels = {"clean": band_levels(clean)}
    for band, move in MOVES.items():
        for gain in GAINS_DB:
            accumulator = SpectrumAccumulator(rate)
            accumulator.add(move.apply(x, rate, gain))
            levels[f"{band}{gain:+.0f}"] = band_levels(accumulator)
    return {"levels": levels, "frames": frames.copy(), "gated": gated.copy(), "rate": rate}


def released(use_cache: bool) -> dict[str, dict[str, dict]]:
    """``{corpus: {track: measurement}}`` of every released track found, from the cache where it is fresh."""
    cache: dict = {}
    if use_cache and CACHE.is_file():
        cache = pickle.loads(CACHE.read_bytes())
    out: dict[str, dict[str, dict]] = {}
    for corpus, pattern in CORPORA.items():
        files = sorted(glob.glob(pattern))
        if not files:
            print(f"-- {corpus}: not installed ({pattern})")
            continue
        out[corpus] = {}
        for path in files:
            stat = Path(path).stat()
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key not in cache:
                if open_audio(path).duration_s < MIN_DURATION_S:
                    cache[key] = None
                else:
                    start = time.perf_counter()
                    cache[key] = measure_track(path)
                    print(f"   measured {Path(path).name} ({time.perf_counter() - start:.1f} s)", flush=True)
            if cache[key] is not None:
                out[corpus][Path(path).stem] = cache[key]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(pickle.dumps(cache))
    return out


def synthetic_levels(curve: str) -> dict[int, dict[str, np.ndarray]]:
    """Band levels of the balanced synthetic mixes (balanced onto ``curve``), clean and through every move."""
    out = {}
    for seed in SEEDS:
        x, rate = balanced_mix(seed, 30.0, curve)
        levels = {"clean": tone_band_levels(x, rate)}
        for band, move in MOVES.items():
            for gain in GAINS_DB:
                levels[f"{band}{gain:+.0f}"] = tone_band_levels(move.apply(x, rate, gain), rate)
        out[seed] = levels
    return out


def deviations(levels: np.ndarray, curve: str) -> np.ndarray:
    """Deviation of each band from the curve after alignment, dB."""
    return align_to_curve(levels, np.array(load_curve(curve).targets_db()))[1]


def tonal_findings(levels: np.ndarray, curve: str) -> dict[str, str]:
    """``{rule id: severity}`` of the whole-track tonal rules of the default pack for these band levels."""
    checker = Checker("premaster", curve=curve)
    values = tonal_band_values(levels, load_curve(curve))
    out = {}
    for rule in checker.rules:
        if rule.category != "tonal" or rule.feature not in values:
            continue
        features = FeatureSet(values={(rule.feature, params_key(rule.params)): values[rule.feature]})
        finding = evaluate(rule, features, checker.profile)
        if finding is not None and not finding.skipped:
            out[rule.id] = finding.severity
    return out


# --- sections ------------------------------------------------------------------------------------------


def moves_section(corpus: dict[str, dict[str, dict]], synthetic: dict[int, dict[str, np.ndarray]]) -> None:
    print("\n== 1. How far a 6 dB EQ move over a band shifts that band's deviation (dB)")
    print(
        "   moves: "
        + "; ".join(
            f"{b} {m.kind} {m.freq_hz:.0f} Hz" + (f" {m.octaves:.2f} oct" if m.kind == "bell" else "")
            for b, m in MOVES.items()
        )
    )
    tracks = [t for tracks in corpus.values() for t in tracks.values()]
    print(
        f"{'band':9s}{'+6 released (p10..p90)':>26s}{'-6 released (p10..p90)':>26s}{'+6 synth':>10s}"
        f"{'-6 synth':>10s}{'tolerance':>11s}  curves (default bright warm)"
    )
    for i, band in enumerate(BAND_NAMES):
        cells, medians = [], []
        for gain in GAINS_DB:
            variant = f"{band}{gain:+.0f}"
            shifts = [
                deviations(t["levels"][variant], "default")[i]
                - deviations(t["levels"]["clean"], "default")[i]
                for t in tracks
            ]
            if shifts:
                p10, p50, p90 = np.percentile(shifts, [10, 50, 90])
                medians.append(abs(p50))
                cells.append(f"{p50:+6.2f} ({p10:+.2f}..{p90:+.2f})")
            else:
                cells.append("-")
        synth = [
            statistics.median(
                deviations(s[f"{band}{g:+.0f}"], "default")[i] - deviations(s["clean"], "default")[i]
                for s in synthetic.values()
            )
            for g in GAINS_DB
        ]
        if not medians:
            medians = [abs(v) for v in synth]
        tolerance = math.floor(min(medians) * 2) / 2
        actual = " ".join(
            f"{load_curve(c).bands[band].tolerance_db:4.1f}" for c in ("default", "bright", "warm")
        )
        numbers = f"{synth[0]:+10.2f}{synth[1]:+10.2f}{tolerance:11.1f}"
        print(f"{band:9s}{cells[0]:>26s}{cells[1]:>26s}{numbers}  {actual}")


def released_section(corpus: dict[str, dict[str, dict]]) -> None:
    groups = dict(corpus)
    groups["all released"] = {f"{c}/{k}": v for c, tracks in corpus.items() for k, v in tracks.items()}
    for curve in curve_names():
        print(f"\n== 2. Released music against curve {curve!r}")
        all_tracks = list(groups["all released"].values())
        dev = np.array([deviations(t["levels"]["clean"], curve) for t in all_tracks])
        for label, q in (("p2.5", 2.5), ("median", 50), ("p97.5", 97.5)):
            print(
                f"   deviation {label:7s}"
                + "".join(
                    f"{SHORT[b]:>7s}{v:+6.1f}"
                    for b, v in zip(BAND_NAMES, np.percentile(dev, q, axis=0), strict=True)
                )
            )
        print(f"   {'tracks':22s}" + "".join(f"{r:>12s}" for r in RULE_MOVES) + "  any tonal  errors")
        for name, tracks in groups.items():
            fired = [tonal_findings(t["levels"]["clean"], curve) for t in tracks.values()]
            rates = [sum(r in f for f in fired) / len(fired) for r in RULE_MOVES]
            errors = sum(s == "error" for f in fired for s in f.values())
            any_rate = sum(bool(f) for f in fired) / len(fired)
            print(
                f"   {name + f' ({len(fired)})':22s}"
                + "".join(f"{100 * r:11.0f}%" for r in rates)
                + f"{100 * any_rate:10.0f}%  {errors:6d}"
            )
        # Detection on real music: the move fires its rule on tracks where the rule did not fire before.
        cells = []
        for rule, (band, gain) in RULE_MOVES.items():
            passed = [t for t in all_tracks if rule not in tonal_findings(t["levels"]["clean"], curve)]
            caught = sum(rule in tonal_findings(t["levels"][f"{band}{gain:+.0f}"], curve) for t in passed)
            cells.append(f"{rule} {caught}/{len(passed)}")
        print("   6 dB move fires its rule on tracks that passed: " + ", ".join(cells))


def separability_section(corpus: dict[str, dict[str, dict]]) -> None:
    print("\n== 3. Separability bound: best gain-invariant linear measure of the 7 band levels")
    print("   (shift of the 6 dB move / corpus standard deviation of the measure, leave-one-out)")
    tracks = [t for tracks in corpus.values() for t in tracks.values()]
    levels = np.array([t["levels"]["clean"] for t in tracks])
    projector = np.eye(7) - np.ones((7, 7)) / 7  # measures that ignore a gain change
    for rule, (band, gain) in RULE_MOVES.items():
        moves = np.array([t["levels"][f"{band}{gain:+.0f}"] - t["levels"]["clean"] for t in tracks])
        held_out = []
        for i in range(len(tracks)):
            rest, rest_moves = np.delete(levels, i, 0), np.delete(moves, i, 0)
            shift = np.median(rest_moves, axis=0)
            weights = projector @ np.linalg.pinv(projector @ np.cov(rest.T) @ projector) @ projector @ shift
            weights /= weights @ shift
            held_out.append((levels[i] - np.median(rest, axis=0)) @ weights)
        z = 1.0 / float(np.std(held_out))
        tail = 0.5 * math.erfc(z * 0.9 / math.sqrt(2))
        print(
            f"   {rule:11s} shift = {z:4.2f} standard deviations; a threshold at 0.9 x shift warns "
            f"~{100 * tail:.0f}% of normally spread tracks"
        )


def synthetic_section(synthetic: dict[int, dict[str, np.ndarray]], curve: str) -> None:
    print(f"\n== 4. Balanced synthetic mixes (tests/music.py equalised onto {curve!r}, 30 s), rules fired")
    for seed, levels in synthetic.items():
        cells = [f"clean: {' '.join(tonal_findings(levels['clean'], curve)) or '-'}"]
        for rule, (band, gain) in RULE_MOVES.items():
            fired = tonal_findings(levels[f"{band}{gain:+.0f}"], curve)
            cells.append(
                f"{band}{gain:+.0f}: {'FIRES' if rule in fired else 'misses'} {rule}"
                + (f" (+{' '.join(r for r in fired if r != rule)})" if len(fired) > 1 else "")
            )
        print(f"   seed {seed}: " + "; ".join(cells))


def largest_margin(series: np.ndarray, limit_db: float, hop_s: float, params: TonalParams) -> float:
    """The largest ``harsh_margin_db`` that still gives a harsh passage (-inf if none at any)."""

    def has_event(margin: float) -> bool:
        return bool(
            hot_passages(
                series,
                limit_db + margin,
                min_frames=math.ceil(params.min_event_s / hop_s - 1e-9),
                gap_frames=int(round(params.merge_gap_s / hop_s)),
            )
        )

    low, high = -40.0, 40.0
    if not has_event(low):
        return -math.inf
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if has_event(middle) else (low, middle)
    return low


def _series(accumulator: SpectrumAccumulator, curve: str, params: TonalParams) -> np.ndarray:
    return short_term_high_mid_db(accumulator, np.array(load_curve(curve).targets_db()), params.window_s)


def passages_section(corpus: dict[str, dict[str, dict]], curve: str) -> None:
    params = TonalParams(curve=curve)
    limit = load_curve(curve).tolerances_db()[HIGH_MID]
    print(
        f"\n== 5. Harsh passages vs {curve!r}: limit = tolerance {limit:.1f} + harsh_margin_db "
        f"{params.harsh_margin_db:.1f} dB"
    )
    margins = {}
    targets = np.array(load_curve(curve).targets_db())
    for name, tracks in corpus.items():
        for track, t in tracks.items():
            hop_s = frame_length(t["rate"]) // 2 / t["rate"]
            width = max(1, int(round(params.window_s / hop_s)))
            measurable = np.isfinite(t["levels"]["clean"])
            series = high_mid_series_db(t["frames"], t["gated"], targets, width, measurable)
            margins[f"{name}/{track}"] = largest_margin(series, limit, hop_s, params)
    if margins:
        values = np.array(list(margins.values()))
        worst = sorted(margins.items(), key=lambda kv: -kv[1])[:3]
        print(
            f"   largest margin with a passage, over {len(values)} tracks: p50 {np.median(values):+.1f}, "
            f"p95 {np.percentile(values, 95):+.1f}, max {values.max():+.1f} dB "
            f"({', '.join(f'{k} {v:+.1f}' for k, v in worst)})"
        )
        flagged = int(np.sum(values > params.harsh_margin_db))
        print(f"   tracks with a harsh passage at the default margin: {flagged}/{len(values)}")
    x, rate = balanced_mix(7, 40.0, curve)
    start, end = 15 * rate, 25 * rate
    moved = x.copy()
    moved[start:end] = MOVES["high_mid"].apply(x, rate, 6.0)[start:end]
    series = []
    for signal in (x, moved):
        accumulator = SpectrumAccumulator(rate)
        accumulator.add(signal)
        series.append(_series(accumulator, curve, params))
    hop_s = SpectrumAccumulator(rate).hop / rate
    inside = slice(int(17 / hop_s), int(23 / hop_s))
    lift = np.nanmedian(series[1][inside]) - np.nanmedian(series[0][inside])
    print(
        f"   a 6 dB bell over 2-5 kHz on 10 s of the balanced mix lifts the short-term 2-5 kHz deviation by "
        f"{lift:.1f} dB (to {np.nanmax(series[1][inside]):+.1f}; limit {limit + params.harsh_margin_db:+.1f})"
    )


def calibration(corpus: dict[str, dict[str, dict]], synthetic: dict[int, dict[str, np.ndarray]]) -> None:
    """Centres (iterated median alignment), 95 % corridors and largest deviations per group of tracks."""
    print("\n== Calibration (band share of total power, dB; spreads are deviations after alignment)")
    print(f"{'':28s}" + "".join(f"{SHORT[b]:>8s}" for b in BAND_NAMES))
    groups = {name: [t["levels"]["clean"] for t in tracks.values()] for name, tracks in corpus.items()}
    groups["all released"] = [v for rows in groups.values() for v in rows]
    others = [v for name in ("hedgewars", "freedroid") for v in groups.get(name, [])]
    if others:
        groups["hedgewars+freedroid"] = others
    for name, levels in groups.items():
        levels = np.array(levels)
        centre = np.median(levels, axis=0)
        for _ in range(20):
            centre = centre + np.median([align_to_curve(v, centre)[1] for v in levels], axis=0)
        centre -= 10 * np.log10(np.sum(10 ** (centre / 10)))  # shares of the total power add up to 0 dB
        dev = np.array([align_to_curve(v, centre)[1] for v in levels])
        print(f"{name + ' centre':28s}" + "".join(f"{v:8.1f}" for v in centre) + f"   ({len(levels)} tracks)")
        for label, values in (
            ("  p2.5", np.percentile(dev, 2.5, axis=0)),
            ("  p97.5", np.percentile(dev, 97.5, axis=0)),
            ("  max |dev|", np.abs(dev).max(axis=0)),
        ):
            print(f"{label:28s}" + "".join(f"{v:8.1f}" for v in values))
        density = [centre[i] - 10 * math.log10(TONE_BANDS[i].octaves) for i in range(3, 7)]
        centres = [math.log2(math.sqrt(b.low_hz * b.high_hz)) for b in TONE_BANDS[3:]]
        slope = np.polyfit(centres, density, 1)[0]
        print(f"  slope 0.5-20 kHz: {slope:+.1f} dB/oct in octave bands ({slope - 3.01:+.1f} dB/oct PSD)")
    raw = np.array([deviations(tone_band_levels(*music(30.0, seed)), "default") for seed in SEEDS])
    print(f"{'tests/music raw vs default':28s}" + "".join(f"{v:8.1f}" for v in raw.mean(axis=0)))


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
        f"\n== 6. Timing: all tonal features on 4 min of 44.1 kHz stereo in blocks of 65 536 frames: "
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s over {runs} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--curve", default="default", help="curve of sections 4 and 5")
    parser.add_argument("--calibrate", action="store_true", help="print the corpus statistics too")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-released", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    corpus = {} if args.skip_released else released(not args.no_cache)
    synthetic = synthetic_levels(args.curve)
    moves_section(corpus, synthetic)
    if corpus:
        released_section(corpus)
        separability_section(corpus)
    synthetic_section(synthetic, args.curve)
    if corpus:
        passages_section(corpus, args.curve)
    if args.calibrate and corpus:
        calibration(corpus, synthetic)
    timing(args.runs)


if __name__ == "__main__":
    main()
