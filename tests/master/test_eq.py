"""Bounded corrective EQ: measured responses, the ±3 dB bound, streaming, and the loop with the check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from signals import noise

from qc.errors import MasterError
from qc.features.curves import BAND_NAMES, TONE_BANDS, Curve, CurveBand
from qc.features.spectrum import tonal_deviations, tone_band_levels
from qc.master.eq import (
    BAND_FILTERS,
    MARGIN_DB,
    MAX_CORRECTION_DB,
    CorrectiveEQ,
    corrections_from_tonal,
    deviation_effect,
)
from qc.master.stage import run_stages

RATES = [44100, 48000, 96000]
BELLS = [band for band in TONE_BANDS if BAND_FILTERS[band.name].kind == "bell"]
IMPULSE_FRAMES = 1 << 16


def measured_response_db(stage: CorrectiveEQ, sample_rate: int, frequencies_hz: list[float]) -> np.ndarray:
    """Magnitude of the stage's impulse response spectrum (FFT, linearly interpolated), dB."""
    impulse = np.zeros((IMPULSE_FRAMES, 1))
    impulse[0] = 1.0
    spectrum = np.abs(np.fft.rfft(run_stages([stage], impulse, block_frames=4096)[:, 0]))
    bins = np.fft.rfftfreq(IMPULSE_FRAMES, 1.0 / sample_rate)
    return 20.0 * np.log10(np.interp(frequencies_hz, bins, spectrum))


def centre_hz(band) -> float:
    return math.sqrt(band.low_hz * band.high_hz)


def pink(duration_s: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Stereo pink noise (power falling 3 dB per octave), RMS 0.1, seeded."""
    frames = int(duration_s * sample_rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal((frames, 2)), axis=0)
    freqs = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    freqs[0] = freqs[1]
    x = np.fft.irfft(spectrum / np.sqrt(freqs)[:, None], frames, axis=0)
    return 0.1 * x / np.std(x)


def push(x: np.ndarray, sample_rate: int, band, gain_db: float) -> np.ndarray:
    """``x`` with exactly ``gain_db`` more in ``band`` (brick-wall, in the frequency domain)."""
    spectrum = np.fft.rfft(x, axis=0)
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    spectrum[(freqs >= band.low_hz) & (freqs < band.high_hz)] *= 10.0 ** (gain_db / 20.0)
    return np.fft.irfft(spectrum, len(x), axis=0)


def check_features(x: np.ndarray, sample_rate: int, curve: Curve) -> dict[str, float]:
    """``tonal_<band>_db`` and ``tonal_<band>_excess_db`` as the check defines them (qc.features.spectrum)."""
    features = {}
    for band, deviation in tonal_deviations(x, sample_rate, curve).items():
        tolerance = curve.bands[band].tolerance_db
        excess = deviation - math.copysign(tolerance, deviation) if abs(deviation) > tolerance else 0.0
        features[f"tonal_{band}_db"] = deviation
        features[f"tonal_{band}_excess_db"] = excess
    return features


# --- shapes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("band", BELLS, ids=lambda b: b.name)
@pytest.mark.parametrize("gain_db", [3.0, -3.0, 1.0])
def test_bell_reaches_its_gain_at_the_band_centre_and_almost_nothing_two_octaves_away(
    band, gain_db, sample_rate
):
    centre = centre_hz(band)
    away = [f for f in (centre / 4.0, centre * 4.0) if f < 0.45 * sample_rate]
    response = measured_response_db(
        CorrectiveEQ(sample_rate, 1, {band.name: gain_db}), sample_rate, [centre, *away]
    )
    assert response[0] == pytest.approx(gain_db, abs=0.5)
    assert np.all(np.abs(response[1:]) < 0.5)
    assert np.all(np.abs(response[1:]) < abs(gain_db) / 5.0)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("band_name", ["sub", "air"])
@pytest.mark.parametrize("gain_db", [3.0, -3.0])
def test_shelf_reaches_its_gain_across_its_band_and_leaves_two_octaves_beyond_the_edge_alone(
    band_name, gain_db, sample_rate
):
    band = next(b for b in TONE_BANDS if b.name == band_name)
    beyond = band.high_hz * 4.0 if band_name == "sub" else band.low_hz / 4.0
    inside = [centre_hz(band), band.low_hz if band_name == "sub" else min(band.high_hz, 0.45 * sample_rate)]
    response = measured_response_db(
        CorrectiveEQ(sample_rate, 1, {band_name: gain_db}), sample_rate, [*inside, beyond]
    )
    assert response[0] == pytest.approx(gain_db, abs=0.5)  # band centre
    assert response[1] == pytest.approx(gain_db, abs=0.5)  # the far edge of the band
    assert abs(response[2]) < 0.5


def test_gains_on_several_bands_add_up_in_db():
    stage = CorrectiveEQ(48000, 1, {"bass": 2.0, "high_mid": -2.5, "air": 1.5})
    freqs = [centre_hz(b) for b in TONE_BANDS if b.name in ("bass", "high_mid")] + [14142.0]
    expected = [
        sum(
            measured_response_db(CorrectiveEQ(48000, 1, {name: gain}), 48000, [f])[0]
            for name, gain in (("bass", 2.0), ("high_mid", -2.5), ("air", 1.5))
        )
        for f in freqs
    ]
    assert measured_response_db(stage, 48000, freqs) == pytest.approx(expected, abs=1e-6)


# --- the bound -----------------------------------------------------------------------------------------


def test_gains_beyond_the_bound_are_clamped_and_reported():
    stage = CorrectiveEQ(48000, 1, {"high_mid": -7.5, "bass": 2.0, "air": 4.0})
    assert stage.applied_db == {"bass": 2.0, "high_mid": -MAX_CORRECTION_DB, "air": MAX_CORRECTION_DB}
    centre = centre_hz(next(b for b in TONE_BANDS if b.name == "high_mid"))
    assert measured_response_db(stage, 48000, [centre])[0] == pytest.approx(-3.0, abs=0.5)
    change = stage.change()
    assert change.values["clamped"] == ["high_mid", "air"]
    assert change.values["requested_db"] == {"bass": 2.0, "high_mid": -7.5, "air": 4.0}
    assert "high_mid -3.0 dB (bell 2.0 kHz-5.0 kHz; -7.5 dB asked, limited to ±3 dB)" in change.summary
    assert "bass +2.0 dB (bell 60 Hz-200 Hz)" in change.summary


def test_no_gain_means_no_filter_and_an_identical_output():
    x = noise(-20.0, 0.5, 48000, 2)
    stage = CorrectiveEQ(48000, 2, {"mid": 0.0})
    assert np.array_equal(run_stages([stage], x), x)
    assert not stage.change().changed


@pytest.mark.parametrize(
    ("corrections", "message"),
    [
        ({"treble": 1.0}, "unknown band 'treble'"),
        ({"mid": float("nan")}, "mid: gain"),
        ({"air": "loud"}, "air: gain"),
    ],
)
def test_bad_corrections_are_refused(corrections, message):
    with pytest.raises(MasterError, match=message):
        CorrectiveEQ(48000, 2, corrections)


def test_a_band_above_nyquist_is_left_out_and_reported():
    stage = CorrectiveEQ(16000, 1, {"air": 2.0, "mid": 1.0})
    assert stage.applied_db == {"mid": 1.0}
    assert stage.change().values["left_out"] == ["air"]


# --- streaming ------------------------------------------------------------------------------------------


def test_output_is_independent_of_the_block_size():
    x = noise(-20.0, 2.0, 48000, 2)
    corrections = {"sub": -2.0, "low_mid": 1.5, "presence": -3.0, "air": 2.5}
    whole = run_stages([CorrectiveEQ(48000, 2, corrections)], x, block_frames=len(x))
    for block_frames in (1024, 65536, 777):
        assert np.array_equal(
            run_stages([CorrectiveEQ(48000, 2, corrections)], x, block_frames=block_frames), whole
        )


# --- from the check's features --------------------------------------------------------------------------


def test_only_bands_outside_their_corridor_are_corrected_towards_the_curve():
    features = {
        "tonal_bass_db": 14.0,
        "tonal_bass_excess_db": 2.0,
        "tonal_mid_db": -5.0,
        "tonal_mid_excess_db": 0.0,
        "tonal_air_db": None,
        "tonal_air_excess_db": None,
        "tonal_presence_db": -20.0,
        "tonal_presence_excess_db": -2.0,
    }
    corrections = corrections_from_tonal(features)
    assert list(corrections) == ["bass", "presence"]
    assert corrections["bass"] == -MAX_CORRECTION_DB  # 3 dB wanted at ~0.6 dB per dB: bounded
    assert 0.0 < corrections["presence"] <= MAX_CORRECTION_DB
    assert corrections_from_tonal({"tonal_mid_excess_db": 0.0}) == {}


def test_a_correction_never_aims_past_the_curve():
    # excess 0.5 + margin 1.0 would be 1.5 dB; the band is only 0.8 dB from the curve (tolerance 0.3 dB).
    corrections = corrections_from_tonal({"tonal_sub_db": 0.8, "tonal_sub_excess_db": 0.5})
    assert corrections["sub"] == pytest.approx(-0.8 / deviation_effect(48000)[0, 0], abs=0.01)


@pytest.mark.parametrize("band", TONE_BANDS, ids=lambda b: b.name)
def test_a_band_pushed_6_db_is_moved_back_by_the_planned_correction(band):
    sample_rate = 48000
    clean = pink(10.0, sample_rate)
    # A curve measured on the clean signal itself, 4.5 dB either side: the push takes every band out of it.
    curve = Curve.from_levels(
        "clean", list(tone_band_levels(clean, sample_rate)), 4.5, description="test", source="test"
    )
    pushed = push(clean, sample_rate, band, 6.0)
    before = check_features(pushed, sample_rate, curve)
    excess = before[f"tonal_{band.name}_excess_db"]
    assert excess > 0.0
    corrections = corrections_from_tonal(before, sample_rate=sample_rate)
    assert list(corrections) == [band.name] and corrections[band.name] < 0.0
    out = run_stages([CorrectiveEQ(sample_rate, 2, corrections)], pushed)
    after = check_features(out, sample_rate, curve)
    moved = after[f"tonal_{band.name}_db"] - before[f"tonal_{band.name}_db"]
    assert moved == pytest.approx(-(excess + MARGIN_DB), abs=0.25)
    assert after[f"tonal_{band.name}_excess_db"] == 0.0


@pytest.mark.parametrize("name", ["bass", "high_mid", "air"])
def test_a_bounded_correction_moves_the_band_by_what_the_effect_matrix_predicts(name):
    sample_rate = 48000
    band = next(b for b in TONE_BANDS if b.name == name)
    clean = pink(10.0, sample_rate, seed=1)
    wide = Curve.from_levels(
        "clean", list(tone_band_levels(clean, sample_rate)), 4.5, description="t", source="t"
    )
    narrow = {**wide.bands, name: CurveBand(target_db=wide.bands[name].target_db, tolerance_db=0.5)}
    curve = Curve(name="narrow", description="t", source="t", bands=narrow)  # only `name` leaves its corridor
    pushed = push(clean, sample_rate, band, 6.0)
    before = check_features(pushed, sample_rate, curve)
    corrections = corrections_from_tonal(before, sample_rate=sample_rate)
    assert corrections == {name: -MAX_CORRECTION_DB}  # 4-6 dB wanted: bounded
    after = check_features(
        run_stages([CorrectiveEQ(sample_rate, 2, corrections)], pushed), sample_rate, curve
    )
    predicted = -MAX_CORRECTION_DB * deviation_effect(sample_rate)[BAND_NAMES.index(name)]
    moved = np.array([after[f"tonal_{b}_db"] - before[f"tonal_{b}_db"] for b in BAND_NAMES])
    assert moved == pytest.approx(predicted, abs=0.25)


def test_an_empty_block_leaves_the_filter_state_alone():
    # scipy's IIR kernel returns an undefined state for an empty input; a stage before the EQ that holds
    # samples back (click repair, a fade) does pass empty blocks on.
    x = noise(-20.0, 0.1, 48000, 2)
    whole = run_stages([CorrectiveEQ(48000, 2, {"mid": -2.0})], x)
    stage = CorrectiveEQ(48000, 2, {"mid": -2.0})
    pieces = [stage.process(0, x[:1000]), stage.process(1000, x[:0]), stage.process(1000, x[1000:])]
    assert np.array_equal(np.concatenate(pieces), whole)
