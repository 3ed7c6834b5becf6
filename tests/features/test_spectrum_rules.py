"""The tonal rules on real audio: a 6 dB EQ move in a rule's band fires it; a balanced mix passes.

The bar (issue #3): "a +6 dB shelf or bell in the rule's band makes the rule fire on a mix that passed
before; the unmodified, balanced mix produces no error-level finding". Here the mix is synthesised
(``tests/music.py``), *balanced* = equalised onto the target curve (:func:`balanced_mix`), and the moves
are the standard EQ moves the curves' tolerances are calibrated on (:data:`MOVES`, see
``rules/curves/default.yaml`` and ``bench/eval_tonal.py``). Everything runs through the real extractor and
the rule engine (:class:`qc.check.Checker`) on a WAV file.

This module also holds the EQ helpers shared with ``test_spectrum.py`` and ``bench/eval_tonal.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from music import music
from signals import write

from qc.check import Checker
from qc.features.curves import BAND_NAMES, TONE_BANDS, load_curve
from qc.features.spectrum import tonal_deviations
from qc.master.eq import FilterKind, rbj_biquad

TONAL_RULES = ("harsh", "dull", "bass-heavy", "bass-light", "muddy", "harsh-passages")


@dataclass(frozen=True)
class Move:
    """A standard EQ move over one tonal band: a shelf from the band's inner edge, or a bell across it."""

    band: str
    kind: FilterKind
    freq_hz: float
    octaves: float = 1.0

    def coefficients(self, sample_rate: int, gain_db: float) -> tuple[np.ndarray, np.ndarray]:
        """``(b, a)`` of this move at ``gain_db`` (the RBJ cookbook biquads of :mod:`qc.master.eq`)."""
        return rbj_biquad(self.kind, self.freq_hz, gain_db, sample_rate, self.octaves)

    def apply(self, x: np.ndarray, sample_rate: int, gain_db: float) -> np.ndarray:
        """``x`` (frames, channels) through this move at ``gain_db``."""
        from scipy.signal import lfilter

        return lfilter(*self.coefficients(sample_rate, gain_db), x, axis=0)


def _bell(band: str) -> Move:
    """A bell centred on the band (geometric centre) whose bandwidth is the band's width in octaves."""
    spec = next(b for b in TONE_BANDS if b.name == band)
    return Move(band, "bell", math.sqrt(spec.low_hz * spec.high_hz), spec.octaves)


# The move that spans each band: the outer bands and the bass get shelves with the corner (half gain) at
# the band's inner edge, the others a bell as wide as the band. These define the curves' tolerances.
MOVES: dict[str, Move] = {
    "sub": Move("sub", "low_shelf", 60.0),
    "bass": Move("bass", "low_shelf", 200.0),
    "low_mid": _bell("low_mid"),
    "mid": _bell("mid"),
    "high_mid": _bell("high_mid"),
    "presence": _bell("presence"),
    "air": Move("air", "high_shelf", 10000.0),
}

# (rule, band it reads, gain of the move that should fire it, dB)
RULE_MOVES = [
    pytest.param("harsh", "high_mid", 6.0, id="harsh-bell-2-5k"),
    pytest.param("muddy", "low_mid", 6.0, id="muddy-bell-200-500"),
    pytest.param("bass-heavy", "bass", 6.0, id="bass-heavy-shelf-200"),
    pytest.param("bass-light", "bass", -6.0, id="bass-light-shelf-200"),
    pytest.param("dull", "air", -6.0, id="dull-shelf-10k"),
]


def balanced_mix(
    seed: int, duration_s: float = 20.0, curve: str = "default", iterations: int = 5
) -> tuple[np.ndarray, int]:
    """The test mix of ``seed`` equalised onto ``curve``: every tonal band within 0.3 dB of the target.

    A zero-phase gain, smooth in log frequency (linear between the bands' geometric centres, flat beyond
    the outer ones), removes the measured deviations; a few rounds converge. RMS -23 dBFS (peaks near
    -5 dBFS, below a premaster's -3 dBTP).
    """
    x, rate = music(duration_s, seed)
    model = load_curve(curve)
    centres = np.log2([math.sqrt(b.low_hz * b.high_hz) for b in TONE_BANDS])
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    log_freqs = np.log2(np.maximum(freqs, 1.0))
    for _ in range(iterations):
        deviation = np.array(list(tonal_deviations(x, rate, model).values()))
        gain = 10 ** (-np.interp(log_freqs, centres, deviation) / 20)
        x = np.fft.irfft(np.fft.rfft(x, axis=0) * gain[:, None], n=len(x), axis=0)
    return x * (10 ** (-23 / 20) / np.sqrt(np.mean(x**2))), rate


def rules_fired(path: Path, curve: str | None = None) -> dict[str, str]:
    """``{rule id: severity}`` of the findings of a default check of ``path`` (premaster profile)."""
    report = Checker("premaster", curve=curve).check(path)
    return {f.rule_id: f.severity for f in report.findings if not f.skipped}


@pytest.fixture(scope="module")
def balanced() -> dict[int, tuple[np.ndarray, int]]:
    return {seed: balanced_mix(seed) for seed in (1, 2, 3, 7)}


@pytest.fixture(scope="module")
def on_curve() -> dict[str, tuple[np.ndarray, int]]:
    """Seed 7 balanced onto each genre curve."""
    return {curve: balanced_mix(7, curve=curve) for curve in ("bright", "warm")}


# --- the helpers themselves -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bell", "low_shelf", "high_shelf"])
def test_rbj_biquads_have_their_gain_at_the_centre_or_half_of_it_at_the_corner(kind: FilterKind) -> None:
    from scipy.signal import freqz

    rate = 48000
    b, a = rbj_biquad(kind, 1000.0, 6.0, rate, 1.0)
    _, response = freqz(b, a, worN=[10.0, 1000.0, 20000.0], fs=rate)
    gain_db = 20 * np.log10(np.abs(response))
    expected = {"bell": [0.0, 6.0, 0.0], "low_shelf": [6.0, 3.0, 0.0], "high_shelf": [0.0, 3.0, 6.0]}[kind]
    np.testing.assert_allclose(gain_db, expected, atol=0.1)


def test_a_bell_move_is_as_wide_as_its_band() -> None:
    from scipy.signal import freqz

    move, rate = MOVES["high_mid"], 96000
    _, response = freqz(*move.coefficients(rate, 6.0), worN=[2000.0, 5000.0], fs=rate)
    # RBJ: the bandwidth is measured between the half-gain (dB) points, i.e. +3 dB at the band's edges.
    np.testing.assert_allclose(20 * np.log10(np.abs(response)), [3.0, 3.0], atol=0.15)


@pytest.mark.parametrize("curve", ["default", "bright", "warm"])
def test_the_balanced_mix_sits_on_the_curve(curve: str) -> None:
    x, rate = balanced_mix(7, curve=curve)
    deviation = np.array(list(tonal_deviations(x, rate, curve).values()))
    assert np.all(np.abs(deviation) < 0.3), deviation.round(2)


# --- the bar ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "band", "gain_db"), RULE_MOVES)
def test_a_6_db_move_in_the_rules_band_makes_it_fire_on_a_mix_that_passed(
    balanced, tmp_path: Path, rule: str, band: str, gain_db: float
) -> None:
    x, rate = balanced[7]
    before = rules_fired(write(tmp_path / "clean.wav", x, rate))
    assert rule not in before
    after = rules_fired(write(tmp_path / "moved.wav", MOVES[band].apply(x, rate, gain_db), rate))
    assert after.get(rule) == "warning", after


@pytest.mark.parametrize(("rule", "band", "gain_db"), RULE_MOVES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_move_crosses_the_tolerance_whatever_the_arrangement(
    balanced, seed: int, rule: str, band: str, gain_db: float
) -> None:
    x, rate = balanced[seed]
    tolerance = load_curve("default").bands[band].tolerance_db
    moved = tonal_deviations(MOVES[band].apply(x, rate, gain_db), rate)[band]
    assert math.copysign(1.0, gain_db) * moved > tolerance, f"{rule}: tonal_{band}_db = {moved:+.2f}"


@pytest.mark.parametrize("curve", ["bright", "warm"])
@pytest.mark.parametrize(("rule", "band", "gain_db"), RULE_MOVES)
def test_the_genre_curves_catch_the_same_moves(
    on_curve, tmp_path: Path, curve: str, rule: str, band: str, gain_db: float
) -> None:
    x, rate = on_curve[curve]
    assert rule not in rules_fired(write(tmp_path / "clean.wav", x, rate), curve)
    moved = write(tmp_path / "moved.wav", MOVES[band].apply(x, rate, gain_db), rate)
    assert rules_fired(moved, curve).get(rule) == "warning"


def test_the_balanced_mix_fires_no_tonal_rule_and_nothing_at_error_level(balanced, tmp_path: Path) -> None:
    for seed, (x, rate) in balanced.items():
        fired = rules_fired(write(tmp_path / f"balanced-{seed}.wav", x, rate))
        assert not set(fired) & set(TONAL_RULES), f"seed {seed}: {fired}"
        assert "error" not in fired.values(), f"seed {seed}: {fired}"


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_the_unmodified_test_mix_has_no_error_level_finding(tmp_path: Path, seed: int) -> None:
    x, rate = music(20.0, seed)
    fired = rules_fired(write(tmp_path / "mix.wav", x, rate))
    assert "error" not in fired.values(), fired


def test_the_wide_curve_lets_the_same_moves_pass(balanced, tmp_path: Path) -> None:
    x, rate = balanced[7]
    for _, band, gain_db in (p.values for p in RULE_MOVES):
        moved = write(tmp_path / f"{band}.wav", MOVES[band].apply(x, rate, gain_db), rate)
        assert not set(rules_fired(moved, "wide")) & set(TONAL_RULES)


def test_every_band_has_a_move() -> None:
    assert list(MOVES) == list(BAND_NAMES)
