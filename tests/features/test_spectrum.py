"""Tonal balance: long-term spectrum in bands against a curve, harsh passages, 1/3-octave spectrum, curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from harness import run_extractor
from music import music
from pydantic import ValidationError
from signals import noise, silence, sine
from test_spectrum_rules import MOVES

from qc.errors import ProfileError
from qc.features.curves import BAND_NAMES, TONE_BANDS, Curve, curve_names, load_curve
from qc.features.registry import BandLevels, FeatureUnavailable, extractor_for, validate_params
from qc.features.spectrum import (
    ALIGN_BANDS,
    TonalBalance,
    TonalParams,
    align_to_curve,
    band_powers,
    edge_positions,
    frame_length,
    power_spectra,
    tone_band_levels,
)

RATES = [44100, 48000, 96000]
SEEDS = [1, 2, 3, 7]


def measure(x: np.ndarray, sample_rate: int, block_frames: int | None = 65536, **params) -> dict:
    """Run the extractor over ``x`` the way qc.analysis does (None = one block)."""
    return run_extractor(TonalBalance, x, sample_rate, block_frames, **params)


def deviations(values: dict) -> np.ndarray:
    return np.array([values[f"tonal_{band}_db"] for band in BAND_NAMES], dtype=np.float64)


def pink_noise(duration_s: float, sample_rate: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Gaussian noise with power spectral density ∝ 1/f (equal power per octave), RMS -20 dBFS."""
    rng = np.random.default_rng(seed)
    frames = int(round(duration_s * sample_rate))
    spectrum = np.fft.rfft(rng.standard_normal((frames, channels)), axis=0)
    freqs = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    spectrum[1:] /= np.sqrt(freqs[1:])[:, None]
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n=frames, axis=0)
    return x * (0.1 / np.sqrt(np.mean(x**2)))


def pink_curve(tolerance_db: float = 1.0) -> Curve:
    """The curve pink noise sits on: each band's share of 20 Hz-20 kHz is its width in octaves / 10."""
    total = math.log2(20000 / 20)
    return Curve(
        name="pink",
        description="pink noise",
        source="equal power per octave",
        bands={
            b.name: {"target_db": 10 * math.log10(b.octaves / total), "tolerance_db": tolerance_db}
            for b in TONE_BANDS
        },
    )


# (rule, band it reads, gain of the 6 dB move over that band that should fire it, dB): see MOVES.
DEFECTS = [
    pytest.param("harsh", "high_mid", 6.0, id="harsh-bell-2-5k"),
    pytest.param("dull", "air", -6.0, id="dull-shelf-10k"),
    pytest.param("bass-heavy", "bass", 6.0, id="bass-heavy-shelf-200"),
    pytest.param("bass-light", "bass", -6.0, id="bass-light-shelf-200"),
    pytest.param("muddy", "low_mid", 6.0, id="muddy-bell-200-500"),
]


@pytest.fixture(scope="module")
def mixes() -> dict[int, tuple[np.ndarray, int]]:
    return {seed: music(20.0, seed) for seed in SEEDS}


# --- kernels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "frame"), [(22050, 2048), (44100, 4096), (48000, 4096), (96000, 8192)]
)
def test_frame_length_keeps_about_11_hz_per_bin(sample_rate: int, frame: int) -> None:
    assert frame_length(sample_rate) == frame


def test_power_spectrum_sums_to_the_mean_square_of_a_full_scale_sine() -> None:
    x = sine(1000.0, 0.0, 4096 / 48000, 48000, channels=1)[:, 0]
    power = power_spectra(x[None, :], np.hanning(4096))
    assert power.sum() == pytest.approx(0.5, rel=1e-3)  # -3.01 dBFS: mean square of a unit sine


def test_band_powers_equal_the_explicit_overlap_of_each_bin_with_the_band() -> None:
    rng = np.random.default_rng(1)
    frame, sample_rate = 4096, 44100
    power = rng.random((3, frame // 2 + 1))
    edges = [(20.0, 60.0), (63.3, 71.1), (2000.0, 5000.0), (17.0, 22.4)]
    got = band_powers(power, edge_positions(frame, sample_rate, [e for pair in edges for e in pair]))
    step = sample_rate / frame
    centres = np.arange(frame // 2 + 1) * step
    for column, (low, high) in enumerate(edges):
        overlap = np.clip(np.minimum(centres + step / 2, high) - np.maximum(centres - step / 2, low), 0, None)
        np.testing.assert_allclose(got[:, column], power @ (overlap / step), rtol=1e-10)


def test_alignment_removes_a_common_offset_and_uses_the_core_bands_only() -> None:
    targets = np.array(load_curve("default").targets_db())
    levels = targets + np.array([9.0, 2.0, 2.0, 2.0, 2.0, 2.0, -30.0])
    offset, deviation = align_to_curve(levels, targets)
    assert offset == pytest.approx(2.0)
    np.testing.assert_allclose(deviation, [7.0, 0, 0, 0, 0, 0, -32.0], atol=1e-12)
    assert ALIGN_BANDS == ("bass", "low_mid", "mid", "high_mid", "presence")


# --- known answers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
def test_pink_noise_has_equal_power_per_octave_so_a_pink_curve_gives_zero_deviation(sample_rate: int) -> None:
    values = measure(pink_noise(60.0, sample_rate), sample_rate, curve=str(_write_curve(pink_curve())))
    # The 20 Hz edge lies within two ~11 Hz bins: Hann leakage across it (from the strong 11 Hz bin of
    # pink noise) raises the sub band by up to 0.5 dB; every other band is within 0.3 dB.
    assert np.all(np.abs(deviations(values)) <= [0.5] + [0.3] * 6), deviations(values).round(2)
    fine = values["spectrum_bands"]
    per_third = np.array(fine.level_db, dtype=float)[2:]  # 31.5 Hz and up: several bins per band
    assert per_third.max() - per_third.min() < 0.8


@pytest.mark.parametrize("sample_rate", RATES)
def test_a_1_khz_sine_lands_in_the_mid_band_and_the_1_khz_third_octave(sample_rate: int) -> None:
    x = sine(1000.0, -12.0, 5.0, sample_rate)
    spectrum = measure(x, sample_rate)["spectrum_bands"]
    levels = tone_band_levels(x, sample_rate)
    assert levels[BAND_NAMES.index("mid")] == pytest.approx(0.0, abs=1e-3)  # all the power
    loudest = spectrum.names[int(np.nanargmax(np.array(spectrum.level_db, dtype=float)))]
    assert loudest == "1k Hz"


@pytest.mark.parametrize(
    ("freq_hz", "band"), [(40.0, "sub"), (120.0, "bass"), (3500.0, "high_mid"), (14e3, "air")]
)
def test_a_sine_lands_in_its_band(freq_hz: float, band: str) -> None:
    levels = tone_band_levels(sine(freq_hz, -12.0, 5.0, 48000), 48000)
    assert 10 ** (levels[BAND_NAMES.index(band)] / 10) > 0.99  # Hann leakage across an edge: < 1 %


def test_a_gain_change_of_minus_10_db_leaves_every_deviation_unchanged(mixes) -> None:
    x, rate = mixes[7]
    np.testing.assert_allclose(
        deviations(measure(x * 10 ** (-10 / 20), rate)), deviations(measure(x, rate)), atol=1e-6
    )


@pytest.mark.parametrize("block_frames", [1024, 4096, 65536, None])
def test_block_size_does_not_change_any_feature(mixes, block_frames: int | None) -> None:
    x, rate = mixes[3]
    reference = measure(x, rate, block_frames=997)
    got = measure(x, rate, block_frames=block_frames)
    np.testing.assert_allclose(deviations(got), deviations(reference), atol=1e-9)
    np.testing.assert_allclose(
        got["spectrum_bands"].level_db, reference["spectrum_bands"].level_db, atol=1e-9
    )
    assert got["harsh_events"] == reference["harsh_events"]


def test_sample_rates_give_the_same_band_levels() -> None:
    results = []
    for rate in RATES:
        x = pink_noise(30.0, rate, seed=4) + sine(150.0, -25.0, 30.0, rate) + sine(3000.0, -30.0, 30.0, rate)
        results.append(deviations(measure(x, rate)))
    np.testing.assert_allclose(results[1], results[0], atol=0.3)
    np.testing.assert_allclose(results[2], results[0], atol=0.3)


def test_mono_is_measured_like_a_stereo_file_with_two_equal_channels(mixes) -> None:
    x, rate = mixes[1]
    mono = x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(
        deviations(measure(mono, rate)), deviations(measure(np.hstack([mono, mono]), rate)), atol=1e-9
    )


def test_silence_and_very_quiet_passages_are_gated_out(mixes) -> None:
    x, rate = mixes[2]
    padded = np.vstack([silence(10.0, rate), x, noise(-85.0, 10.0, rate), x[: rate * 2] * 1e-3])
    np.testing.assert_allclose(deviations(measure(padded, rate)), deviations(measure(x, rate)), atol=0.05)


def test_band_levels_minus_targets_are_the_deviations(mixes) -> None:
    x, rate = mixes[7]
    values = measure(x, rate)
    balance = values["tonal_balance"]
    assert isinstance(balance, BandLevels)
    assert balance.names == list(BAND_NAMES) and balance.curve == "default"
    assert balance.low_hz[0] == 20.0 and balance.high_hz[-1] == 20000.0
    np.testing.assert_allclose(
        np.array(balance.level_db) - np.array(balance.target_db), deviations(values), atol=0.01
    )
    assert balance.tolerance_db == load_curve("default").tolerances_db()


def test_spectrum_bands_are_third_octaves_from_20_hz_to_16_khz_against_the_spread_curve(mixes) -> None:
    x, rate = mixes[7]
    fine = measure(x, rate)["spectrum_bands"]
    assert fine.names[0] == "20 Hz" and fine.names[-1] == "16k Hz" and len(fine.names) == 30
    ratios = [high / low for low, high in zip(fine.low_hz, fine.high_hz, strict=True)]
    assert ratios == pytest.approx([10**0.1] * 30, rel=1e-3)
    # Ten 1/3 octaves spread one curve band: the pieces add back up to the band's target.
    mid = load_curve("default").bands["mid"].target_db
    inside = [
        t
        for name, t in zip(fine.names, fine.target_db, strict=True)
        if name in ("630 Hz", "800 Hz", "1k Hz", "1.25k Hz", "1.6k Hz")
    ]
    assert 10 * math.log10(sum(10 ** (t / 10) for t in inside)) == pytest.approx(
        mid + 10 * math.log10(5 / 6), abs=0.03
    )


def test_a_band_above_nyquist_is_none_not_zero() -> None:
    x = pink_noise(10.0, 32000)
    values = measure(x, 32000)
    assert values["tonal_air_db"] is None
    assert values["tonal_balance"].level_db[-1] is None
    assert values["tonal_presence_db"] is not None


@pytest.mark.parametrize(
    ("x", "reason"),
    [
        (silence(5.0, 48000), "silent"),
        (noise(-20.0, 0.05, 48000), "shorter than one 4096-sample analysis frame"),
    ],
    ids=["silence", "too-short"],
)
def test_silence_or_a_file_shorter_than_a_frame_is_unavailable(x: np.ndarray, reason: str) -> None:
    with pytest.raises(FeatureUnavailable, match=reason):
        measure(x, 48000)


# --- the balanced mix and planted EQ defects ------------------------------------------------------------


def test_the_raw_test_mixes_stay_within_the_wide_curve(mixes) -> None:
    # The wide curve's tolerances were set to hold every clean calibration track and these mixes; the
    # default curve is far stricter (a balanced mix there: test_spectrum_rules.py).
    tolerance = np.array(load_curve("wide").tolerances_db())
    for seed, (x, rate) in mixes.items():
        values = measure(x, rate, curve="wide")
        assert np.all(np.abs(deviations(values)) <= tolerance), f"seed {seed}: {deviations(values).round(1)}"
        assert values["harsh_events"] == []


@pytest.mark.parametrize(("rule", "band", "gain_db"), DEFECTS)
def test_an_eq_move_changes_its_band_by_the_eqs_power_gain_over_that_band(
    mixes, rule: str, band: str, gain_db: float
) -> None:
    from scipy.signal import freqz, welch

    x, rate = mixes[7]
    move = MOVES[band]
    clean = deviations(measure(x, rate))
    moved = deviations(measure(move.apply(x, rate, gain_db), rate)) - clean
    # Independent prediction: the EQ's |H|² averaged over each band, weighted by the mix's own spectrum,
    # then aligned the same way (minus the mean over the core bands).
    freqs, spectrum = welch(x.mean(axis=1), rate, window="hann", nperseg=4096, noverlap=0, scaling="spectrum")
    _, response = freqz(*move.coefficients(rate, gain_db), worN=freqs, fs=rate)
    gains = np.array(
        [
            10 * np.log10(np.sum(np.abs(response[s]) ** 2 * spectrum[s]) / np.sum(spectrum[s]))
            for s in ((freqs >= b.low_hz) & (freqs < b.high_hz) for b in TONE_BANDS)
        ]
    )
    predicted = gains - gains[[BAND_NAMES.index(name) for name in ALIGN_BANDS]].mean()
    np.testing.assert_allclose(moved, predicted, atol=0.5)
    assert math.copysign(1.0, gain_db) * moved[BAND_NAMES.index(band)] > 3.0  # the right way, clearly


@pytest.mark.parametrize(("rule", "band", "gain_db"), DEFECTS)
def test_against_a_reference_mix_curve_each_eq_defect_crosses_its_rules_threshold(
    mixes, tmp_path: Path, rule: str, band: str, gain_db: float
) -> None:
    x, rate = mixes[7]
    reference = Curve.from_levels(
        "reference", measure(x, rate)["tonal_balance"].level_db, 2.0, description="seed 7", source="test"
    )
    curve = str(_write_curve(reference, tmp_path / "reference.yaml"))
    threshold = reference.bands[band].tolerance_db
    for seed in SEEDS:  # the unmodified mix passes, whatever the seed
        assert np.all(np.abs(deviations(measure(*mixes[seed], curve=curve))) <= threshold)
    value = measure(MOVES[band].apply(x, rate, gain_db), rate, curve=curve)[f"tonal_{band}_db"]
    assert math.copysign(1.0, gain_db) * value > threshold, (
        f"{rule}: tonal_{band}_db = {value:.2f}, threshold {threshold:.1f}"
    )


# --- harsh passages -------------------------------------------------------------------------------------


def test_a_planted_harsh_passage_is_reported_where_it_is() -> None:
    from scipy.signal import butter, sosfilt

    x, rate = music(40.0, 7)
    # 5 s of 2-5 kHz noise louder than the whole mix: a screaming lead, a wall of cymbals.
    harsh = sosfilt(
        butter(4, [2000, 5000], btype="bandpass", fs=rate, output="sos"),
        noise(-4.0, 5.0, rate, seed=3),
        axis=0,
    )
    start = 20 * rate
    x = x.copy()
    x[start : start + len(harsh)] += harsh
    events = measure(x, rate)["harsh_events"]
    assert len(events) == 1
    assert events[0].start_s == pytest.approx(20.0, abs=0.75)
    assert events[0].end_s == pytest.approx(25.0, abs=0.75)
    assert (
        events[0].channel is None
        and events[0].value > load_curve("default").bands["high_mid"].tolerance_db + 6.5
    )


def test_a_short_harsh_burst_is_not_a_passage() -> None:
    from scipy.signal import butter, sosfilt

    x, rate = music(40.0, 7)
    burst = sosfilt(
        butter(4, [2000, 5000], btype="bandpass", fs=rate, output="sos"), noise(-4.0, 0.5, rate), axis=0
    )
    x = x.copy()
    x[20 * rate : 20 * rate + len(burst)] += burst
    assert measure(x, rate)["harsh_events"] == []


# --- curves and parameters ------------------------------------------------------------------------------


def _write_curve(curve: Curve, path: Path | None = None) -> Path:
    import tempfile

    import yaml

    if path is None:
        path = Path(tempfile.mkdtemp()) / f"{curve.name}.yaml"
    path.write_text(yaml.safe_dump(curve.model_dump()), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["default", "bright", "warm", "wide"])
def test_every_built_in_curve_loads_and_documents_its_source(name: str) -> None:
    curve = load_curve(name)
    assert name in curve_names() and curve.name == name
    assert list(curve.bands) == list(BAND_NAMES)
    assert curve.source and curve.description
    total = sum(10 ** (t / 10) for t in curve.targets_db())
    assert 10 * math.log10(total) == pytest.approx(0.0, abs=0.1)


def test_an_unknown_curve_name_lists_the_built_in_ones() -> None:
    with pytest.raises(
        ProfileError, match=r"unknown curve 'brite' \(built-in curves: bright, default, warm, wide\)"
    ):
        load_curve("brite")


def test_a_missing_curve_file_is_named() -> None:
    with pytest.raises(ProfileError, match=r"nope\.yaml: no such curve file"):
        load_curve("nope.yaml")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["bands"].pop("air"), r"bands: missing air"),
        (lambda d: d["bands"].update(treble={"target_db": -30, "tolerance_db": 3}), r"bands: unknown treble"),
        (lambda d: d["bands"]["mid"].update(tolerance_db=0), r"bands\.mid\.tolerance_db: .*greater than 0"),
        (lambda d: d["bands"]["mid"].update(gain_db=1), r"bands\.mid\.gain_db: unknown key"),
        (lambda d: d.update(colour="red"), r"colour: unknown key"),
        (lambda d: d.pop("source"), r"source: Field required"),
        (
            lambda d: d["bands"]["bass"].update(target_db=-20),
            r"\(top level\): the band targets add up to -2\.\d dB of the total power",
        ),
    ],
    ids=[
        "missing-band",
        "unknown-band",
        "zero-tolerance",
        "extra-band-key",
        "extra-key",
        "no-source",
        "shares",
    ],
)
def test_a_malformed_curve_is_rejected_with_file_key_and_reason(tmp_path: Path, edit, message: str) -> None:
    import yaml

    data = load_curve("default").model_dump()
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=rf"bad\.yaml: {message}"):
        load_curve(str(path))


def test_a_curve_with_a_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nbands: {sub: [\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.yaml:\d+:\d+: YAML syntax error"):
        load_curve(str(path))


def test_params_reject_an_unknown_curve_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="unknown curve 'loud'"):
        validate_params("tonal_high_mid_db", {"curve": "loud"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        validate_params("harsh_events", {"window": 1.0})
    with pytest.raises(ValidationError, match="greater than 0"):
        validate_params("harsh_events", {"window_s": 0})
    assert validate_params("tonal_air_db", {"curve": "warm"}) == TonalParams(curve="warm")


def test_every_tonal_feature_is_registered_to_one_extractor() -> None:
    names = ["tonal_balance", "harsh_events", "spectrum_bands", *(f"tonal_{b}_db" for b in BAND_NAMES)]
    assert {extractor_for(name) for name in names} == {TonalBalance}


def test_another_curve_changes_targets_not_levels(mixes) -> None:
    x, rate = mixes[7]
    default, warm = measure(x, rate)["tonal_balance"], measure(x, rate, curve="warm")["tonal_balance"]
    assert warm.curve == "warm" and warm.target_db == load_curve("warm").targets_db()
    measured_default = np.array(default.level_db) - np.mean(np.array(default.level_db)[1:6])
    measured_warm = np.array(warm.level_db) - np.mean(np.array(warm.level_db)[1:6])
    np.testing.assert_allclose(measured_default, measured_warm, atol=0.02)
