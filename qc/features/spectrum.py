"""Tonal balance: the long-term average spectrum of the mix in named bands, compared with a target curve.

Measurement (the same for every feature here):

* the mid signal ``(L + R) / 2`` (a mono file is used as is) is cut into Hann-windowed frames of
  :func:`frame_length` samples (4096 at 44.1/48 kHz, scaled with the sample rate so the resolution stays
  ~11 Hz), overlapping by half (Hann windows at 50 % overlap add up to a constant, so every sample counts
  the same, wherever it falls); the last incomplete frame is left out;
* each frame's one-sided power spectrum, scaled so that it sums to the frame's mean square, is summed
  into bands; a bin spreads its power evenly over its width, so a band takes the fraction of each bin
  that lies inside it (band levels do not jump when the sample rate moves a bin across an edge);
* frames quieter than −70 dBFS, or more than 30 dB below the loudest frame, are gated out, so silence,
  fades and noise between songs do not bias the average (the gate is applied on a 0.1 dB level grid);
* a band's level is its share of the gated total power (20 Hz–20 kHz), in dB. The mix is aligned to the
  target curve by the mean of ``level − target`` over the five core bands (60 Hz–10 kHz, see
  :func:`align_to_curve`): a gain change moves every band equally and cancels, a boost in one core band
  moves the others by a fifth of it, and the sub and air bands, which vary most from mix to mix, move
  nothing but themselves. (A total-power reference would not do: a bass boost raises the total and
  makes every other band look low.)

Features (extractor :class:`TonalBalance`, parameters :class:`TonalParams`):

``tonal_balance``
    :class:`BandLevels` of the seven bands of :data:`~qc.features.curves.TONE_BANDS` against the curve.
``tonal_sub_db`` … ``tonal_air_db``
    Deviation of each band from the curve after alignment, dB (positive = more than the target).
``tonal_sub_excess_db`` … ``tonal_air_excess_db``
    How far each deviation goes beyond the curve's tolerance, signed, dB (0.0 within tolerance). Rules
    compare these with 0, so choosing another curve (``--curve``) moves the thresholds with it.
``harsh_events``
    Passages of at least ``min_event_s`` (runs closer than ``merge_gap_s`` merged) in which the 2–5 kHz
    band, measured over ``window_s`` windows and aligned the same way, lies more than the curve's
    tolerance plus ``harsh_margin_db`` above its target; ``value`` is the largest such deviation in the
    passage, dB above the target. Passages more than 10 dB quieter than the mix's average, or missing a
    core band altogether, are not judged (:func:`short_term_high_mid_db`).
``spectrum_bands``
    :class:`BandLevels` on 1/3-octave bands (IEC 61260-1 base-10 centres, 20 Hz–16 kHz) for the report's
    plot, on the same reference; the target is the curve spread over each band by its width in octaves.

This module does no I/O other than loading the curve (``qc.features.curves``) and knows nothing of rules
or reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..audio import AudioInfo
from ..errors import ProfileError
from ..units import frames_to_seconds
from .curves import BAND_NAMES, TONE_BANDS, Curve, load_curve
from .registry import BandLevels, Block, Event, Extractor, FeatureUnavailable, FeatureValue, register

REFERENCE_FRAME = 4096  # samples per analysis frame at 44.1/48 kHz (~10.8/11.7 Hz per bin)
REFERENCE_RATE_HZ = 44100
ABSOLUTE_GATE_DBFS = -70.0  # frames whose mean square is below this are silence
RELATIVE_GATE_DB = -30.0  # and frames this far below the loudest frame are left out too
ALIGN_BANDS = ("bass", "low_mid", "mid", "high_mid", "presence")  # the reference of the alignment
HARSH_CORE_FLOOR_DB = -20.0  # harsh passages need every core band within this of the curve (full-range)
HARSH_LOUDNESS_GATE_DB = -10.0  # harsh passages are looked for where the mix is this loud or louder
LEVEL_STEP_DB = 0.1  # level grid of the gate (frame powers are accumulated per 0.1 dB level step)
LEVEL_CEILING_DBFS = 20.0  # top of the level grid (float files may exceed full scale)
# 1/3-octave bands: IEC 61260-1 base-10 exact centres 1000 * 10**(k/10) Hz, edges at 10**(±1/20),
# labelled with their nominal frequencies; k = -17 (20 Hz) … 12 (16 kHz).
THIRD_OCTAVE_NOMINAL_HZ = (
    "20", "25", "31.5", "40", "50", "63", "80", "100", "125", "160", "200", "250", "315", "400", "500",
    "630", "800", "1k", "1.25k", "1.6k", "2k", "2.5k", "3.15k", "4k", "5k", "6.3k", "8k", "10k", "12.5k",
    "16k",
)  # fmt: skip
THIRD_OCTAVE_FIRST_K = -17
HIGH_MID = BAND_NAMES.index("high_mid")
_ALIGN_INDEX = np.array([BAND_NAMES.index(name) for name in ALIGN_BANDS])


def frame_length(sample_rate: int) -> int:
    """Analysis frame length in samples: 4096 at 44.1/48 kHz, the nearest power-of-two multiple elsewhere.

    >>> frame_length(44100), frame_length(48000), frame_length(96000), frame_length(22050)
    (4096, 4096, 8192, 2048)
    """
    octaves = round(math.log2(sample_rate / REFERENCE_RATE_HZ))
    return REFERENCE_FRAME << octaves if octaves >= 0 else REFERENCE_FRAME >> -octaves


def third_octave_bands(sample_rate: int) -> list[tuple[str, float, float]]:
    """``(label, low_hz, high_hz)`` of the 1/3-octave bands 20 Hz–16 kHz that lie below Nyquist."""
    bands = []
    for index, label in enumerate(THIRD_OCTAVE_NOMINAL_HZ):
        centre = 1000.0 * 10.0 ** ((THIRD_OCTAVE_FIRST_K + index) / 10.0)
        low, high = centre * 10.0 ** (-1 / 20), centre * 10.0 ** (1 / 20)
        if high <= sample_rate / 2:
            bands.append((f"{label} Hz", low, high))
    return bands


def edge_positions(frame: int, sample_rate: int, edges_hz: list[float]) -> np.ndarray:
    """Band edges as positions on the cumulative-bin axis (see :func:`band_powers`).

    Bin ``k`` covers ``[(k - 1/2), (k + 1/2)) * sample_rate / frame``, so frequency ``f`` sits at
    ``f * frame / sample_rate + 1/2`` bins from the start of bin 0 (clipped to the last bin's end).
    """
    positions = np.asarray(edges_hz, dtype=np.float64) * frame / sample_rate + 0.5
    return np.clip(positions, 0.0, frame // 2 + 1.0)


def band_powers(power: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Power between consecutive pairs of edges: ``(n, bins)`` spectra → ``(n, len(positions) // 2)``.

    ``positions`` holds ``[low0, high0, low1, high1, ...]`` from :func:`edge_positions`. Each bin's power
    is spread evenly over its width, so a band takes the fraction of every bin that lies inside it (band
    levels do not jump when a bin crosses an edge). Computed from running sums over the bins, O(bins).
    """
    running = np.zeros((power.shape[0], power.shape[1] + 1))
    np.cumsum(power, axis=1, out=running[:, 1:])
    whole = np.minimum(np.floor(positions).astype(np.int64), power.shape[1])
    part = positions - whole
    padded = np.concatenate((power, np.zeros((power.shape[0], 1))), axis=1)
    cumulative = running[:, whole] + part * padded[:, whole]
    bands: np.ndarray = cumulative[:, 1::2] - cumulative[:, 0::2]
    return bands


def power_spectra(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """One-sided power spectra of windowed frames, ``(n, frame)`` → ``(n, frame // 2 + 1)``.

    Scaled so that each spectrum sums to the window-weighted mean square of its frame (Parseval), so a
    full-scale sine gives a total of 0.5 (−3.01 dBFS).
    """
    spectrum = np.fft.rfft(frames * window, axis=1)
    scale = np.full(spectrum.shape[1], 2.0 / (frames.shape[1] * float(np.sum(window**2))))
    scale[0] /= 2.0  # DC and Nyquist have no negative-frequency twin to fold in
    if frames.shape[1] % 2 == 0:
        scale[-1] /= 2.0
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power *= scale
    return power


def align_to_curve(levels_db: np.ndarray, targets_db: np.ndarray) -> tuple[float, np.ndarray]:
    """Align band levels to a curve: ``(offset_db, deviations_db)``, deviation = level − target − offset.

    The offset is the mean of ``level − target`` over the five core bands :data:`ALIGN_BANDS`
    (60 Hz–10 kHz), so the deviations say how each band stands against the body of the mix. A gain change
    cancels; a change of Δ dB in one core band moves that band's deviation by 4/5 Δ and the others' by
    −Δ/5, smoothly. The two outer bands, which vary most between mixes (an 808 sub, a missing top octave),
    are left out of the reference and move nothing but themselves. ``levels_db`` may hold NaN (band not
    measurable): ignored by the reference and kept in the result.

    >>> levels = np.array([-9.0, -3.0, -6.0, -9.0, -12.0, -15.0, -30.0])
    >>> offset, deviation = align_to_curve(levels + 5.0, levels)
    >>> offset, deviation.tolist()
    (5.0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    difference = np.asarray(levels_db, dtype=np.float64) - np.asarray(targets_db, dtype=np.float64)
    offset = float(_core_offset(difference[None, :])[0])
    return offset, difference - offset


def _core_offset(differences: np.ndarray) -> np.ndarray:
    """Mean over the finite core bands of each row of ``level − target``: ``(n, 7)`` → ``(n,)``, 0 if none."""
    core = differences[:, _ALIGN_INDEX]
    finite = np.isfinite(core)
    counts = finite.sum(axis=1)
    offsets: np.ndarray = np.where(finite, core, 0.0).sum(axis=1) / np.maximum(counts, 1)
    return offsets


def _shares_db(band_powers: np.ndarray, total: float | np.ndarray) -> np.ndarray:
    """Band power over total power in dB, NaN where either is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = 10.0 * np.log10(band_powers / total)
    return np.where(np.isfinite(shares), shares, np.nan)


class TonalParams(BaseModel):
    """Parameters of the tonal-balance features (rules pass them as ``params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    curve: str = Field("default", min_length=1)
    """Target curve: a name in ``rules/curves/`` (default, bright, warm, wide) or a curve YAML file path."""
    window_s: float = Field(1.0, gt=0.0, le=10.0)
    """Analysis window of ``harsh_events``, s."""
    min_event_s: float = Field(2.0, ge=0.0)
    """Shortest harsh passage reported, s."""
    merge_gap_s: float = Field(1.0, ge=0.0)
    """Harsh passages closer than this are merged into one, s."""
    harsh_margin_db: float = Field(10.0, ge=0.0, le=40.0)
    """How far above the curve's 2–5 kHz tolerance a passage must be to count as harsh, dB. The default
    (with the default curve's 3 dB: 13 dB above the target) puts the limit just above the harshest 2 s of
    the 37 wesnoth tracks; one of the 79 released tracks has a passage beyond it (bench/eval_tonal.py). A
    6 dB EQ move on a passage lifts it by only ~3.4 dB, less than released music varies within a track."""

    @field_validator("curve")
    @classmethod
    def _curve_exists(cls, value: str) -> str:
        try:
            load_curve(value)
        except ProfileError as exc:  # as a ValueError, so a rule pack reports it at the rule's params
            raise ValueError(str(exc)) from None
        return value


class SpectrumAccumulator:
    """Streaming long-term average spectrum of the mid signal, gated, in tonal and 1/3-octave bands.

    Feed blocks ``(frames, channels)`` in order with :meth:`add`; leftover samples carry over, so the
    frames (and results) do not depend on how the signal is cut into blocks. Memory: a level histogram of
    the band powers (900 level steps x ~37 bands) plus 8 numbers per frame for the short-term analysis.
    Frame ``i`` covers samples ``[i * hop, i * hop + frame)``.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self.frame = frame_length(self.sample_rate)
        self.hop = self.frame // 2  # 50 % overlap
        self.window = np.hanning(self.frame)
        self.fine_bands = third_octave_bands(self.sample_rate)
        nyquist = self.sample_rate / 2
        self.tone_measurable = np.array([band.high_hz <= nyquist * 1.0001 for band in TONE_BANDS])
        edges = [edge for band in TONE_BANDS for edge in (band.low_hz, min(band.high_hz, nyquist))]
        edges += [edge for _, low, high in self.fine_bands for edge in (low, high)]
        self._positions = edge_positions(self.frame, self.sample_rate, edges)
        self._levels = int(round((LEVEL_CEILING_DBFS - ABSOLUTE_GATE_DBFS) / LEVEL_STEP_DB))
        self._histogram = np.zeros((self._levels, len(edges) // 2))
        self._pending = np.zeros(0)
        self._frame_bands = np.zeros((256, len(TONE_BANDS)))
        self._frame_steps = np.zeros(256, dtype=np.int64)
        self.frames = 0  # complete analysis frames so far
        self.loudest_dbfs = -math.inf

    def add(self, samples: np.ndarray) -> None:
        """Consume the next block, float64 ``(frames, channels)``."""
        mid = samples[:, 0] if samples.shape[1] == 1 else 0.5 * (samples[:, 0] + samples[:, 1])
        data = np.concatenate((self._pending, mid)) if self._pending.size else mid
        count = (data.size - self.frame) // self.hop + 1 if data.size >= self.frame else 0
        self._pending = data[count * self.hop :].copy()
        if count == 0:
            return
        frames = np.lib.stride_tricks.sliding_window_view(data, self.frame)[:: self.hop][:count]
        power = power_spectra(frames, self.window)
        bands = band_powers(power, self._positions)
        total = power.sum(axis=1)
        with np.errstate(divide="ignore"):
            level = 10.0 * np.log10(total)
        self.loudest_dbfs = max(self.loudest_dbfs, float(level.max()))
        steps = np.floor((level - ABSOLUTE_GATE_DBFS) / LEVEL_STEP_DB)
        steps = np.where(np.isfinite(steps), steps, -1).astype(np.int64)
        steps = np.minimum(steps, self._levels - 1)
        kept = steps >= 0
        np.add.at(self._histogram, steps[kept], bands[kept])
        self._append(bands[:, : len(TONE_BANDS)], steps)

    def _append(self, bands: np.ndarray, steps: np.ndarray) -> None:
        """Store the tonal-band powers and level steps of new frames (amortised O(1) per frame)."""
        needed = self.frames + len(steps)
        if needed > len(self._frame_steps):
            size = max(needed, 2 * len(self._frame_steps))
            self._frame_bands = np.resize(self._frame_bands, (size, len(TONE_BANDS)))
            self._frame_steps = np.resize(self._frame_steps, size)
        self._frame_bands[self.frames : needed] = bands
        self._frame_steps[self.frames : needed] = steps
        self.frames = needed

    def gate_step(self) -> int | None:
        """First level step that passes both gates, or None if no frame does (silence)."""
        if not math.isfinite(self.loudest_dbfs) or self.loudest_dbfs < ABSOLUTE_GATE_DBFS:
            return None
        threshold = max(ABSOLUTE_GATE_DBFS, self.loudest_dbfs + RELATIVE_GATE_DB)
        return max(0, int(math.floor((threshold - ABSOLUTE_GATE_DBFS) / LEVEL_STEP_DB)))

    def gated_band_powers(self) -> np.ndarray | None:
        """Mean power over the gated frames in every band (tonal bands, then 1/3 octaves); None if silent."""
        step = self.gate_step()
        if step is None:
            return None
        count = int(np.count_nonzero(self._frame_steps[: self.frames] >= step))
        powers: np.ndarray = self._histogram[step:].sum(axis=0) / count
        return powers

    def tone_levels_db(self) -> np.ndarray | None:
        """Gated share of each tonal band in the total 20 Hz–20 kHz power, dB (NaN if unmeasurable)."""
        powers = self.gated_band_powers()
        if powers is None:
            return None
        tone = powers[: len(TONE_BANDS)]
        levels = _shares_db(tone, tone.sum())
        return np.where(self.tone_measurable, levels, np.nan)

    def frame_series(self) -> tuple[np.ndarray, np.ndarray]:
        """``(band powers (frames, 7), gated (frames,))`` of every complete frame so far."""
        step = self.gate_step()
        steps = self._frame_steps[: self.frames]
        gated = steps >= step if step is not None else np.zeros(self.frames, dtype=bool)
        return self._frame_bands[: self.frames], gated


def tone_band_levels(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Gated long-term share of each tonal band in the total power of a whole signal, dB.

    Parameters
    ----------
    x
        float samples, ``(frames,)`` or ``(frames, channels)`` (the mid ``(L+R)/2`` is measured).
    sample_rate
        Hz.

    Returns
    -------
    numpy.ndarray
        ``(7,)`` levels in :data:`~qc.features.curves.TONE_BANDS` order, dB re the total power; NaN for a
        band above Nyquist.

    Raises
    ------
    ValueError
        If the signal is shorter than one analysis frame or silent.
    """
    samples = np.asarray(x, dtype=np.float64)
    accumulator = SpectrumAccumulator(sample_rate)
    accumulator.add(samples[:, None] if samples.ndim == 1 else samples)
    levels = accumulator.tone_levels_db()
    if levels is None:
        raise ValueError("no analysis frame above the gate: the signal is silent or too short")
    return levels


def tonal_deviations(x: np.ndarray, sample_rate: int, curve: Curve | str = "default") -> dict[str, float]:
    """Deviation of each tonal band of a whole signal from a target curve, dB, by band name.

    Parameters
    ----------
    x
        float samples, ``(frames,)`` or ``(frames, channels)``.
    sample_rate
        Hz.
    curve
        A :class:`~qc.features.curves.Curve` or a curve name/path.

    Returns
    -------
    dict
        ``{band name: level - target after alignment}``, dB; NaN for a band above Nyquist.
    """
    model = load_curve(curve) if isinstance(curve, str) else curve
    _, deviation = align_to_curve(tone_band_levels(x, sample_rate), np.array(model.targets_db()))
    return dict(zip(BAND_NAMES, (float(d) for d in deviation), strict=True))


def _fine_targets(
    curve: Curve, fine_bands: list[tuple[str, float, float]]
) -> tuple[list[float], list[float]]:
    """The curve spread over 1/3-octave bands by width in octaves: ``(targets_db, tolerances_db)``."""
    targets, tolerances = [], []
    for _, low, high in fine_bands:
        share = 0.0
        for band, spec in zip(TONE_BANDS, curve.bands.values(), strict=True):
            overlap = (
                math.log2(min(high, band.high_hz) / max(low, band.low_hz)) if high > band.low_hz else 0.0
            )
            if overlap > 0.0 and low < band.high_hz:
                share += 10.0 ** (spec.target_db / 10.0) * overlap / band.octaves
        targets.append(round(10.0 * math.log10(share), 2) if share > 0.0 else -99.0)
        centre = math.sqrt(low * high)
        home = next((i for i, b in enumerate(TONE_BANDS) if centre < b.high_hz), len(TONE_BANDS) - 1)
        tolerances.append(curve.tolerances_db()[home])
    return targets, tolerances


def _round(value: float) -> float | None:
    """A level for the report: rounded to 0.01 dB, None for NaN."""
    return round(float(value), 2) if math.isfinite(value) else None


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index runs where ``flags`` is True."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _beyond_tolerance(deviation_db: float, tolerance_db: float) -> float:
    """How far a band deviation goes beyond the curve's tolerance, signed (0.0 inside it), in dB.

    >>> _beyond_tolerance(7.5, 6.0), _beyond_tolerance(-8.0, 6.0), _beyond_tolerance(3.0, 6.0)
    (1.5, -2.0, 0.0)
    """
    if deviation_db > tolerance_db:
        return deviation_db - tolerance_db
    if deviation_db < -tolerance_db:
        return deviation_db + tolerance_db
    return 0.0


def tonal_band_values(levels_db: np.ndarray, curve: Curve) -> dict[str, float | None]:
    """The per-band features of band levels against a curve: ``tonal_<band>_db`` and ``…_excess_db``.

    Parameters
    ----------
    levels_db
        ``(7,)`` band shares of the total power in :data:`~qc.features.curves.TONE_BANDS` order, dB
        (NaN for a band that cannot be measured, e.g. above Nyquist).
    curve
        The target curve.

    Returns
    -------
    dict
        ``tonal_<band>_db`` (deviation after :func:`align_to_curve`, dB) and ``tonal_<band>_excess_db``
        (how far beyond the curve's tolerance, signed, dB; 0.0 inside it); None for an unmeasurable band.

    >>> curve = load_curve("default")
    >>> levels = np.array(curve.targets_db()) + np.array([0, 0, 0, 0, 5.0, 0, 0])
    >>> values = tonal_band_values(levels, curve)
    >>> round(values["tonal_high_mid_db"], 2), round(values["tonal_mid_db"], 2)
    (4.0, -1.0)
    """
    _, deviation = align_to_curve(levels_db, np.array(curve.targets_db()))
    values: dict[str, float | None] = {}
    for name, d, tolerance in zip(BAND_NAMES, deviation, curve.tolerances_db(), strict=True):
        finite = math.isfinite(d)
        values[f"tonal_{name}_db"] = float(d) if finite else None
        values[f"tonal_{name}_excess_db"] = _beyond_tolerance(float(d), tolerance) if finite else None
    return values


@register
class TonalBalance(Extractor):
    """Streaming long-term average spectrum compared with a tonal target curve (see the module docstring).

    Raises :class:`FeatureUnavailable` for every feature if the file is shorter than one analysis frame
    (about 93 ms) or has no frame above −70 dBFS.
    """

    provides = (
        "tonal_balance",
        *(f"tonal_{name}_db" for name in BAND_NAMES),
        *(f"tonal_{name}_excess_db" for name in BAND_NAMES),
        "harsh_events",
        "spectrum_bands",
    )
    Params = TonalParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        super().__init__(info, params)
        assert isinstance(params, TonalParams)
        self.curve = load_curve(params.curve)
        self._spectrum = SpectrumAccumulator(info.sample_rate)

    def update(self, block: Block) -> None:
        self._spectrum.add(block.samples)

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        spectrum = self._spectrum
        if spectrum.frames == 0:
            raise FeatureUnavailable(
                f"the file is shorter than one {spectrum.frame}-sample analysis frame "
                f"({1000 * spectrum.frame / spectrum.sample_rate:.0f} ms)"
            )
        powers = spectrum.gated_band_powers()
        if powers is None:
            raise FeatureUnavailable(
                f"the file is silent (no analysis frame above {ABSOLUTE_GATE_DBFS:.0f} dBFS)"
            )
        tone = powers[: len(TONE_BANDS)]
        total = float(tone.sum())
        levels = np.where(spectrum.tone_measurable, _shares_db(tone, total), np.nan)
        targets = np.array(self.curve.targets_db())
        offset, _ = align_to_curve(levels, targets)
        values: dict[str, FeatureValue] = dict(tonal_band_values(levels, self.curve))
        values["tonal_balance"] = BandLevels(
            curve=self.curve.name,
            names=list(BAND_NAMES),
            low_hz=[band.low_hz for band in TONE_BANDS],
            high_hz=[band.high_hz for band in TONE_BANDS],
            level_db=[_round(v) for v in levels - offset],
            target_db=self.curve.targets_db(),
            tolerance_db=self.curve.tolerances_db(),
        )
        fine_targets, fine_tolerances = _fine_targets(self.curve, spectrum.fine_bands)
        values["spectrum_bands"] = BandLevels(
            curve=self.curve.name,
            names=[label for label, _, _ in spectrum.fine_bands],
            low_hz=[round(low, 2) for _, low, _ in spectrum.fine_bands],
            high_hz=[round(high, 2) for _, _, high in spectrum.fine_bands],
            level_db=[_round(v) for v in _shares_db(powers[len(TONE_BANDS) :], total) - offset],
            target_db=fine_targets,
            tolerance_db=fine_tolerances,
        )
        values["harsh_events"] = self._harsh_events(targets)
        return values

    def _harsh_events(self, targets: np.ndarray) -> list[Event]:
        """Passages whose short-term 2–5 kHz deviation exceeds the curve's tolerance plus the margin."""
        params = self.params
        assert isinstance(params, TonalParams)
        spectrum = self._spectrum
        hop_s = spectrum.hop / spectrum.sample_rate
        passages = hot_passages(
            short_term_high_mid_db(spectrum, targets, params.window_s),
            self.curve.tolerances_db()[HIGH_MID] + params.harsh_margin_db,
            min_frames=math.ceil(params.min_event_s / hop_s - 1e-9),
            gap_frames=int(round(params.merge_gap_s / hop_s)),
        )
        # Frame i stands for the hop-long stretch around its centre, i * hop + frame / 2.
        lead = (spectrum.frame - spectrum.hop) // 2
        return [
            Event(
                start_s=frames_to_seconds(start * spectrum.hop + lead, spectrum.sample_rate),
                end_s=frames_to_seconds(end * spectrum.hop + lead, spectrum.sample_rate),
                channel=None,
                value=round(value, 2),
            )
            for start, end, value in passages
        ]


def hot_passages(
    deviation_db: np.ndarray, limit_db: float, *, min_frames: int, gap_frames: int
) -> list[tuple[int, int, float]]:
    """Runs of frames where ``deviation_db > limit_db``: ``(first frame, end frame, largest value)``.

    Runs closer than ``gap_frames`` are merged (the gap counts towards the length); merged runs shorter than
    ``min_frames`` are dropped. NaN never counts as hot.

    >>> hot_passages(np.array([0, 5, 5, 0, 5, 0, 0, 0, 7, 0.0]), 1.0, min_frames=3, gap_frames=1)
    [(1, 5, 5.0)]
    """
    with np.errstate(invalid="ignore"):
        hot = np.asarray(deviation_db) > limit_db
    runs: list[list[int]] = []
    for start, end in _runs(hot):
        if runs and start - runs[-1][1] <= gap_frames:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return [
        (start, end, float(np.max(np.asarray(deviation_db)[start:end][hot[start:end]])))
        for start, end in runs
        if end - start >= min_frames
    ]


def short_term_high_mid_db(
    spectrum: SpectrumAccumulator, targets_db: np.ndarray, window_s: float
) -> np.ndarray:
    """Deviation of the 2–5 kHz band from the curve over sliding windows, one value per analysis frame, dB.

    Value ``i`` is for the window of ``round(window_s / hop duration)`` frames centred on frame ``i``,
    aligned like the long-term levels (:func:`align_to_curve`). NaN where the passage is not judged: fewer
    than half its frames pass the silence gate, it is more than 10 dB quieter than the mix's average
    (:data:`HARSH_LOUDNESS_GATE_DB`), or a core band lies more than 20 dB below the curve
    (:data:`HARSH_CORE_FLOOR_DB`: a passage without bass, say, has no balance to judge).

    Parameters
    ----------
    spectrum
        The accumulator after the whole file.
    targets_db
        ``(7,)`` curve targets, dB.
    window_s
        Window length, s (at least one frame).

    Returns
    -------
    numpy.ndarray
        ``(spectrum.frames,)`` float64, dB above the curve; NaN where not judged.
    """
    bands, gated = spectrum.frame_series()
    width = max(1, int(round(window_s * spectrum.sample_rate / spectrum.hop)))
    return high_mid_series_db(bands, gated, targets_db, width, spectrum.tone_measurable)


def high_mid_series_db(
    bands: np.ndarray, gated: np.ndarray, targets_db: np.ndarray, width: int, measurable: np.ndarray
) -> np.ndarray:
    """The kernel of :func:`short_term_high_mid_db` on stored frames: ``(frames,)`` dB, NaN where not judged.

    Parameters
    ----------
    bands
        ``(frames, 7)`` power of each frame in the tonal bands.
    gated
        ``(frames,)`` bool, True for the frames that pass the silence gates.
    targets_db
        ``(7,)`` curve targets, dB.
    width
        Window length in frames (at least 1).
    measurable
        ``(7,)`` bool, False for a band above Nyquist.
    """
    frames = bands.shape[0]
    out = np.full(frames, np.nan)
    if not np.any(gated) or not measurable[HIGH_MID] or frames < width:
        return out
    average = bands[gated].mean(axis=0)
    # Window j covers frames [j, j + width): sums by running totals over the gated frames only.
    running = np.concatenate((np.zeros((1, bands.shape[1])), np.cumsum(bands * gated[:, None], axis=0)))
    counts = np.concatenate(([0], np.cumsum(gated)))
    sums = running[width:] - running[:-width]
    gated_in = counts[width:] - counts[:-width]
    window_power = sums.sum(axis=1) / np.maximum(gated_in, 1)
    loud = window_power >= float(np.sum(average)) * 10.0 ** (HARSH_LOUDNESS_GATE_DB / 10.0)
    judged = (gated_in * 2 >= width) & loud
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = 10.0 * np.log10(sums) - targets_db
    difference[:, ~measurable] = np.nan
    difference[~np.isfinite(difference)] = np.nan
    deviation = difference - _core_offset(difference)[:, None]
    with np.errstate(invalid="ignore"):
        full_range = np.all(deviation[:, _ALIGN_INDEX] > HARSH_CORE_FLOOR_DB, axis=1)
    values = np.where(judged & full_range, deviation[:, HIGH_MID], np.nan)
    out[width // 2 : width // 2 + len(values)] = values
    return out


__all__ = [
    "SpectrumAccumulator",
    "TonalBalance",
    "TonalParams",
    "align_to_curve",
    "band_powers",
    "edge_positions",
    "frame_length",
    "high_mid_series_db",
    "hot_passages",
    "power_spectra",
    "short_term_high_mid_db",
    "third_octave_bands",
    "tonal_band_values",
    "tonal_deviations",
    "tone_band_levels",
]
