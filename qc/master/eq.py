"""Bounded corrective EQ: one gentle filter per tonal band the check found outside its corridor.

:class:`CorrectiveEQ` is a mastering stage (the call shape of :mod:`qc.master.stage`): a cascade of RBJ
cookbook biquads, one per corrected band of :data:`~qc.features.curves.TONE_BANDS`, filtered with carried
state so any block size gives the same output. Every gain is bounded to ±:data:`MAX_CORRECTION_DB`; a
larger imbalance is a mix problem, and the report says how much was asked and how much was applied.
:func:`corrections_from_tonal` turns the check's tonal features into the gains. This module reads no
files and knows nothing of rules or reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from ..dsp.iir import lfilter
from ..errors import MasterError
from ..features.curves import BAND_NAMES, TONE_BANDS, ToneBand
from ..features.spectrum import ALIGN_BANDS
from .stage import Change

MAX_CORRECTION_DB = 3.0  # largest gain per band, either way: gentle enough to be a master move, not a remix
SHELF_OVERLAP_OCTAVES = 0.25  # shelves turn over this far beyond their band's edge (see BandFilter)
MARGIN_DB = 1.0  # corrections aim this far inside the curve's corridor (corrections_from_tonal)
NYQUIST_LIMIT = 0.45  # a filter whose frequency is above this share of the sample rate is left out

FilterKind = Literal["low_shelf", "bell", "high_shelf"]


@dataclass(frozen=True)
class BandFilter:
    """The shape used to correct one tonal band.

    The five inner bands (bass to presence) get a peaking bell centred on the band (geometric mean of the
    edges) whose bandwidth is the band's width in octaves, so the bell's half-gain points fall on the band
    edges and its full gain on the centre; two octaves from the centre it has 2-14 % of the gain (0.05-0.42
    dB of 3 dB, measured). The outer bands get shelves, which also cover everything beyond them: a low
    shelf for ``sub`` and a high shelf for ``air``, whose half-gain point lies
    :data:`SHELF_OVERLAP_OCTAVES` (a quarter octave) beyond the band edge into the neighbouring band
    (71 Hz, 8.4 kHz), so the band's centre gets 2.7-2.9 dB of a 3 dB gain at 44.1-96 kHz, and two
    octaves beyond the band edge less than 0.03 dB. (``bass`` is a bell rather than a low shelf: a shelf
    would move ``sub`` and the infrasonic range by the same amount, and a bass finding says nothing about
    the sub.)
    """

    band: str
    kind: FilterKind
    frequency_hz: float
    bandwidth_octaves: float = 0.0  # bells only

    @classmethod
    def for_band(cls, band: ToneBand) -> BandFilter:
        """The filter of a tonal band (see the class docstring)."""
        if band.name == TONE_BANDS[0].name:
            return cls(band.name, "low_shelf", band.high_hz * 2.0**SHELF_OVERLAP_OCTAVES)
        if band.name == TONE_BANDS[-1].name:
            return cls(band.name, "high_shelf", band.low_hz * 2.0**-SHELF_OVERLAP_OCTAVES)
        return cls(band.name, "bell", math.sqrt(band.low_hz * band.high_hz), band.octaves)

    @property
    def q(self) -> float | None:
        """A bell's Q, ``1 / (2 sinh(ln 2 / 2 * bandwidth))`` (the analogue relation); None for shelves."""
        if self.kind != "bell":
            return None
        return round(1.0 / (2.0 * math.sinh(math.log(2.0) / 2.0 * self.bandwidth_octaves)), 3)

    def describe(self) -> str:
        """``bell 60-200 Hz`` / ``low shelf below 71 Hz`` / ``high shelf above 8.4 kHz``."""
        if self.kind == "bell":
            half = 2.0 ** (self.bandwidth_octaves / 2.0)
            return f"bell {_hz(self.frequency_hz / half)}-{_hz(self.frequency_hz * half)}"
        where = "below" if self.kind == "low_shelf" else "above"
        return f"{self.kind.replace('_', ' ')} {where} {_hz(self.frequency_hz)}"

    def coefficients(self, gain_db: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """Biquad ``(b, a)`` with ``a[0] = 1`` for ``gain_db`` at ``sample_rate`` (RBJ Audio EQ Cookbook).

        >>> b, a = BAND_FILTERS["mid"].coefficients(0.0, 48000); b.round(12).tolist() == a.round(12).tolist()
        True
        """
        return rbj_biquad(self.kind, self.frequency_hz, gain_db, sample_rate, self.bandwidth_octaves)


def rbj_biquad(
    kind: FilterKind, frequency_hz: float, gain_db: float, sample_rate: int, bandwidth_octaves: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A peaking or shelving biquad from R. Bristow-Johnson's Audio EQ Cookbook, normalised to ``a[0] = 1``.

    Parameters
    ----------
    kind
        ``bell`` (peaking EQ: ``bandwidth_octaves`` between the half-gain frequencies, with the cookbook's
        bilinear-warp correction), ``low_shelf`` or ``high_shelf`` (slope S = 1, the steepest without
        overshoot; ``frequency_hz`` is the half-gain point).
    frequency_hz
        Centre or turnover frequency, Hz, below Nyquist.
    gain_db
        Gain at the centre (bell) or on the shelf, dB.
    sample_rate
        Hz.
    bandwidth_octaves
        Bells only.

    Returns
    -------
    tuple of numpy.ndarray
        ``(b, a)``, three coefficients each.

    References
    ----------
    .. [1] R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter coefficients" (Audio EQ
       Cookbook), W3C Audio Working Group note, 2021 (after the 1994-2005 versions).

    >>> b, a = rbj_biquad("bell", 1000.0, 6.0, 48000, 1.0)
    >>> w = np.exp(-2j * np.pi * 1000.0 / 48000 * np.arange(3))
    >>> round(float(20 * np.log10(abs(b @ w / (a @ w)))), 6)
    6.0
    """
    big_a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * frequency_hz / sample_rate
    cos_w0, sin_w0 = math.cos(w0), math.sin(w0)
    if kind == "bell":
        alpha = sin_w0 * math.sinh(math.log(2.0) / 2.0 * bandwidth_octaves * w0 / sin_w0)
        b = [1.0 + alpha * big_a, -2.0 * cos_w0, 1.0 - alpha * big_a]
        a = [1.0 + alpha / big_a, -2.0 * cos_w0, 1.0 - alpha / big_a]
    else:
        alpha = sin_w0 / 2.0 * math.sqrt(2.0)  # shelf slope S = 1
        root = 2.0 * math.sqrt(big_a) * alpha
        sign = 1.0 if kind == "low_shelf" else -1.0
        b = [
            big_a * ((big_a + 1.0) - sign * (big_a - 1.0) * cos_w0 + root),
            sign * 2.0 * big_a * ((big_a - 1.0) - sign * (big_a + 1.0) * cos_w0),
            big_a * ((big_a + 1.0) - sign * (big_a - 1.0) * cos_w0 - root),
        ]
        a = [
            (big_a + 1.0) + sign * (big_a - 1.0) * cos_w0 + root,
            -sign * 2.0 * ((big_a - 1.0) + sign * (big_a + 1.0) * cos_w0),
            (big_a + 1.0) + sign * (big_a - 1.0) * cos_w0 - root,
        ]
    b_array, a_array = np.array(b), np.array(a)
    return b_array / a_array[0], a_array / a_array[0]


BAND_FILTERS: dict[str, BandFilter] = {band.name: BandFilter.for_band(band) for band in TONE_BANDS}


def _hz(value: float) -> str:
    """``71 Hz``, ``8.4 kHz``."""
    return f"{value / 1000:.1f} kHz" if value >= 1000.0 else f"{value:.0f} Hz"


@dataclass
class CorrectiveEQ:
    """Gentle, bounded EQ on named tonal bands: one RBJ biquad per band, each at most ±3 dB.

    Each requested gain is clamped to ±:data:`MAX_CORRECTION_DB` (3 dB) and the clamping is reported:
    more than that is a mix problem (the rules' suggestions say where to fix it), and a master EQ cannot
    move one instrument without moving everything else in the band. Bands with no gain get no filter; a
    filter above 45 % of the sample rate is left out (reported). The filters run in series with their
    state carried from block to block, so the output does not depend on the block size. The filters are
    minimum-phase IIR biquads, as an analogue or plug-in master EQ would be (a phase shift around each
    band, no pre-ringing, no latency).

    Parameters
    ----------
    sample_rate
        Hz.
    channels
        Number of channels of the blocks.
    corrections
        ``{band name: gain dB}`` for bands of :data:`~qc.features.curves.TONE_BANDS` (``sub``, ``bass``,
        ``low_mid``, ``mid``, ``high_mid``, ``presence``, ``air``); positive boosts.

    Raises
    ------
    MasterError
        For an unknown band or a gain that is not a finite number.

    >>> eq = CorrectiveEQ(48000, 1, {"air": 5.0}); eq.applied_db
    {'air': 3.0}
    """

    sample_rate: int
    channels: int
    corrections: Mapping[str, float]
    name: ClassVar[str] = "eq"
    requested_db: dict[str, float] = field(init=False)
    applied_db: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        unknown = [band for band in self.corrections if band not in BAND_FILTERS]
        if unknown:
            raise MasterError(
                f"corrective EQ: unknown band {', '.join(map(repr, unknown))}; "
                f"the bands are {', '.join(BAND_NAMES)}"
            )
        requested: dict[str, float] = {}
        for band in BAND_NAMES:  # band order, low to high
            if band not in self.corrections:
                continue
            try:
                gain = float(self.corrections[band])
            except (TypeError, ValueError):
                gain = math.nan
            if not math.isfinite(gain):
                raise MasterError(
                    f"corrective EQ: {band}: gain {self.corrections[band]!r} is not a number of dB"
                )
            requested[band] = gain
        self.requested_db = requested
        self.applied_db = {
            band: max(-MAX_CORRECTION_DB, min(MAX_CORRECTION_DB, gain))
            for band, gain in requested.items()
            if gain != 0.0
        }
        self._above_nyquist = [
            band
            for band in self.applied_db
            if BAND_FILTERS[band].frequency_hz > NYQUIST_LIMIT * self.sample_rate
        ]
        for band in self._above_nyquist:
            del self.applied_db[band]
        self._sections = [
            BAND_FILTERS[band].coefficients(gain, self.sample_rate) for band, gain in self.applied_db.items()
        ]
        self._states = [np.zeros((2, self.channels)) for _ in self._sections]

    def process(self, start_frame: int, block: np.ndarray) -> np.ndarray:
        """Filter a float64 ``(frames, channels)`` block through every band's biquad."""
        if block.shape[1] != self.channels:
            raise MasterError(f"corrective EQ: built for {self.channels} channel(s), fed {block.shape[1]}")
        if len(block) == 0:  # the IIR kernel returns an undefined state for an empty input
            return block.copy()
        out = block
        for index, (b, a) in enumerate(self._sections):
            out, self._states[index] = lfilter(b, a, out, self._states[index])
        return out if self._sections else block.copy()

    def flush(self) -> np.ndarray:
        """Nothing is held back (the filters' ringing after the last sample is not added)."""
        return np.zeros((0, self.channels))

    def change(self) -> Change:
        """The gain applied per band, the filter used, and any request that was clamped."""
        clamped = [band for band, gain in self.applied_db.items() if gain != self.requested_db[band]]
        parts = []
        for band, gain in self.applied_db.items():
            text = f"{band} {gain:+.1f} dB ({BAND_FILTERS[band].describe()}"
            if band in clamped:
                text += f"; {self.requested_db[band]:+.1f} dB asked, limited to ±{MAX_CORRECTION_DB:g} dB"
            parts.append(text + ")")
        summary = "corrective EQ: " + ", ".join(parts) if parts else "no EQ correction"
        if self._above_nyquist:
            summary += f"; {', '.join(self._above_nyquist)} left out (above the sample rate's range)"
        values: dict[str, Any] = {
            "corrections_db": dict(self.applied_db),
            "requested_db": dict(self.requested_db),
            "clamped": clamped,
            "max_correction_db": MAX_CORRECTION_DB,
            "filters": [
                {
                    "band": band,
                    "kind": BAND_FILTERS[band].kind,
                    "frequency_hz": round(BAND_FILTERS[band].frequency_hz, 1),
                    "bandwidth_octaves": round(BAND_FILTERS[band].bandwidth_octaves, 3) or None,
                    "q": BAND_FILTERS[band].q,
                    "gain_db": gain,
                }
                for band, gain in self.applied_db.items()
            ],
        }
        if self._above_nyquist:
            values["left_out"] = list(self._above_nyquist)
        return Change(stage=self.name, summary=summary, values=values, changed=bool(self.applied_db))


def response_db(band: str, gain_db: float, sample_rate: int, frequencies_hz: np.ndarray) -> np.ndarray:
    """Magnitude response of ``band``'s filter at ``gain_db``, in dB, at ``frequencies_hz``."""
    b, a = BAND_FILTERS[band].coefficients(gain_db, sample_rate)
    z = np.exp(-1j * 2.0 * np.pi * np.asarray(frequencies_hz) / sample_rate)
    return 20.0 * np.log10(np.abs(np.polyval(b[::-1], z) / np.polyval(a[::-1], z)))


def deviation_effect(sample_rate: int, gain_db: float = MAX_CORRECTION_DB) -> np.ndarray:
    """How each band's filter moves every band's measured tonal deviation, dB per dB of gain.

    ``effect[i, j]`` is the change of ``tonal_<band j>_db`` per dB of gain on band ``i``'s filter, for a
    mix whose power is spread evenly over log-frequency inside each band (pink noise): the band's power
    gain (the filter's power response averaged over the band), less the mean over the five core bands
    that the check aligns on (:func:`qc.features.spectrum.align_to_curve`). A bell's own band moves by
    about 0.6 dB per dB (its skirts fall inside the band and spill into the neighbours, which also move
    the alignment), a shelf's by about 0.85. Bands above Nyquist are left at 0.

    Parameters
    ----------
    sample_rate
        Hz.
    gain_db
        Gain at which the (nearly linear) response is measured, dB.

    Returns
    -------
    numpy.ndarray
        ``(7, 7)`` in :data:`~qc.features.curves.TONE_BANDS` order.
    """
    nyquist = sample_rate / 2.0
    grids = [np.geomspace(band.low_hz, min(band.high_hz, 0.999 * nyquist), 64) for band in TONE_BANDS]
    measurable = np.array([band.low_hz < nyquist for band in TONE_BANDS])
    core = np.array([name in ALIGN_BANDS for name in BAND_NAMES])
    effect = np.zeros((len(TONE_BANDS), len(TONE_BANDS)))
    for i, name in enumerate(BAND_NAMES):
        if BAND_FILTERS[name].frequency_hz > NYQUIST_LIMIT * sample_rate:
            continue
        power = np.array(
            [
                10.0 * np.log10(np.mean(10.0 ** (response_db(name, gain_db, sample_rate, grid) / 10.0)))
                for grid in grids
            ]
        )
        power[~measurable] = 0.0
        effect[i] = np.where(measurable, power - power[core & measurable].mean(), 0.0) / gain_db
    return effect


def corrections_from_tonal(
    features: Mapping[str, Any],
    *,
    bands: Iterable[str] | None = None,
    sample_rate: int = 48000,
    margin_db: float = MARGIN_DB,
    max_db: float = MAX_CORRECTION_DB,
) -> dict[str, float]:
    """EQ gains that move the tonal bands the check found outside the curve's corridor back into it.

    Reads ``tonal_<band>_excess_db`` (how far the band lies beyond the corridor, signed; 0.0 inside it)
    and ``tonal_<band>_db`` (its deviation from the curve) from :mod:`qc.features.spectrum`. Only bands
    with a non-zero excess are corrected, towards the curve: each one's measured deviation is to move back
    by its excess plus ``margin_db`` (so it ends inside the corridor, not on its edge), but never past the
    curve itself. A filter's gain moves its band's *measured* deviation by less than the gain (a bell by
    about 0.6 dB per dB: see :func:`deviation_effect`), so each gain is the move divided by its own
    filter's effect on its band. Bands are corrected independently, with one filter each and never
    against the direction the check asked for (a joint solve over overlapping filters can ask for opposite
    large gains, which the bound then breaks). Each gain is bounded to ``±max_db``, so a band far outside
    its corridor is only moved part of the way (the report says so).

    Parameters
    ----------
    features
        The check's features (``Report.features`` or an extractor result): floats, or None where a
        feature could not be computed (those bands are left alone).
    bands
        Only these bands (the ones whose tonal rule fired); default: every band with an excess.
    sample_rate
        Hz, of the audio to be corrected (the filters' shapes near Nyquist depend on it).
    margin_db
        How far inside the corridor to aim, dB.
    max_db
        Bound on each gain, dB (:data:`MAX_CORRECTION_DB`).

    Returns
    -------
    dict
        ``{band: gain dB}`` for the bands to correct, in band order; empty if every band is in its corridor.

    >>> corrections_from_tonal({"tonal_air_excess_db": -0.5, "tonal_air_db": -27.0})
    {'air': 1.77}
    """
    moves: dict[str, float] = {}
    wanted = BAND_NAMES if bands is None else [band for band in BAND_NAMES if band in set(bands)]
    for band in wanted:
        excess = _number(features.get(f"tonal_{band}_excess_db"))
        if excess is None or excess == 0.0:
            continue
        move = abs(excess) + margin_db
        deviation = _number(features.get(f"tonal_{band}_db"))
        if deviation is not None:
            move = min(move, abs(deviation))
        moves[band] = -math.copysign(move, excess)
    if not moves:
        return {}
    effect = np.diag(deviation_effect(sample_rate))
    gains = {band: move / effect[BAND_NAMES.index(band)] for band, move in moves.items()}
    return {band: round(float(np.clip(gain, -max_db, max_db)), 2) for band, gain in gains.items()}


def _number(value: Any) -> float | None:
    """A finite float, or None for None, NaN, infinities and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
