"""Tonal target curves: the named bands, and loading a curve YAML file (``rules/curves/*.yaml``) into a model.

A curve says, for each of the seven tonal bands, the level a mix should have there relative to its
overall level (``target_db``) and how far either side counts as normal (``tolerance_db``). The numbers
are data, chosen and documented in the YAML files; this module only defines the bands, reads a file and
checks it (pydantic, ``extra="forbid"``). It raises :class:`~qc.errors.ProfileError` with the file and the
remedy for a missing or malformed curve. It knows nothing of audio, rules or reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import safeyaml
from ..errors import ProfileError
from ..resources import rules_dir


@dataclass(frozen=True)
class ToneBand:
    """A named frequency band ``[low_hz, high_hz)`` of the tonal-balance measurement."""

    name: str
    low_hz: float
    high_hz: float

    @property
    def octaves(self) -> float:
        """Width in octaves."""
        return math.log2(self.high_hz / self.low_hz)


# The seven tonal bands, low to high, contiguous from 20 Hz to 20 kHz. The edges follow the usual
# mix-engineering vocabulary: "mud" (boxy build-up) is 200-500 Hz, "harshness" 2-5 kHz, "presence"
# 5-10 kHz and "air" above 10 kHz; 60 Hz separates the felt sub-bass (kick fundamental, 808s) from the
# bass notes and the kick's punch. The public features ``tonal_<name>_db`` are named after them.
TONE_BANDS: tuple[ToneBand, ...] = (
    ToneBand("sub", 20.0, 60.0),
    ToneBand("bass", 60.0, 200.0),
    ToneBand("low_mid", 200.0, 500.0),
    ToneBand("mid", 500.0, 2000.0),
    ToneBand("high_mid", 2000.0, 5000.0),
    ToneBand("presence", 5000.0, 10000.0),
    ToneBand("air", 10000.0, 20000.0),
)
BAND_NAMES: tuple[str, ...] = tuple(band.name for band in TONE_BANDS)
CURVE_SUFFIXES = (".yaml", ".yml")


class CurveBand(BaseModel):
    """One band of a curve: target level (dB re the mix's overall level) and tolerance either side (dB)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_db: float = Field(le=0.0)
    tolerance_db: float = Field(gt=0.0, le=40.0)


class Curve(BaseModel):
    """A tonal target curve: a level and a tolerance for each band of :data:`TONE_BANDS`.

    ``target_db`` is the band's share of the total power of a mix on the curve (20 Hz-20 kHz), in dB; the
    measured mix is aligned to the curve before deviations are taken, so only the curve's shape matters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)
    bands: dict[str, CurveBand]

    @field_validator("bands")
    @classmethod
    def _every_band_once(cls, value: dict[str, CurveBand]) -> dict[str, CurveBand]:
        missing = [name for name in BAND_NAMES if name not in value]
        unknown = [name for name in value if name not in BAND_NAMES]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown {', '.join(unknown)}")
            raise ValueError(
                f"{'; '.join(parts)} (a curve lists exactly these bands: {', '.join(BAND_NAMES)})"
            )
        return {name: value[name] for name in BAND_NAMES}

    @model_validator(mode="after")
    def _shares_add_up(self) -> Curve:
        total = sum(10.0 ** (band.target_db / 10.0) for band in self.bands.values())
        if abs(10.0 * math.log10(total)) > 1.0:
            raise ValueError(
                f"the band targets add up to {10 * math.log10(total):+.1f} dB of the total power; they are "
                "shares of the mix's total power and should add up to 0 dB (±1 dB)"
            )
        return self

    @classmethod
    def from_levels(
        cls, name: str, levels_db: list[float], tolerance_db: float, *, description: str, source: str
    ) -> Curve:
        """A curve whose targets are measured band levels, e.g. a reference mix's ``tonal_balance.level_db``.

        The levels may carry any common offset (they are rescaled to shares adding up to 0 dB); every band
        gets the same tolerance. Comparing a mix with a reference mix of the same genre and arrangement is
        far more sensitive than a genre-wide curve: the spread between released tracks is ±5-20 dB.
        """
        levels = [float(v) for v in levels_db]
        total = 10.0 * math.log10(sum(10.0 ** (v / 10.0) for v in levels))
        bands = {
            band: CurveBand(target_db=round(v - total, 2), tolerance_db=tolerance_db)
            for band, v in zip(BAND_NAMES, levels, strict=True)
        }
        return cls(name=name, description=description, source=source, bands=bands)

    def targets_db(self) -> list[float]:
        """Target levels in :data:`TONE_BANDS` order, dB."""
        return [self.bands[name].target_db for name in BAND_NAMES]

    def tolerances_db(self) -> list[float]:
        """Tolerances in :data:`TONE_BANDS` order, dB."""
        return [self.bands[name].tolerance_db for name in BAND_NAMES]


def curves_dir() -> Path:
    """Folder of the built-in curves (``rules/curves/``)."""
    return rules_dir() / "curves"


def curve_names() -> list[str]:
    """Names of the built-in curves, sorted."""
    folder = curves_dir()
    return sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []


def curve_path(curve: str) -> Path:
    """The file of ``curve``: a built-in name (``default``) or a path to a YAML file.

    Raises
    ------
    ProfileError
        If there is no such built-in curve or file.
    """
    looks_like_path = curve.endswith(CURVE_SUFFIXES) or "/" in curve or "\\" in curve
    if looks_like_path:
        path = Path(curve).expanduser()
        if path.exists() and not path.is_file():
            raise ProfileError(f"{curve}: not a regular file; give a curve YAML file")
        if not path.is_file():
            raise ProfileError(
                f"{curve}: no such curve file; give a built-in curve name or an existing YAML file"
            )
        return path
    path = curves_dir() / f"{curve}.yaml"
    if not path.is_file():
        known = ", ".join(curve_names()) or "none installed"
        raise ProfileError(
            f"unknown curve {curve!r} (built-in curves: {known}); or give the path to a curve YAML file"
        )
    return path


def load_curve(curve: str) -> Curve:
    """Load and validate a tonal target curve by built-in name or path.

    Parameters
    ----------
    curve
        A name in ``rules/curves/`` (``default``, ``bright``, ``warm``, ``wide``) or a path to a ``.yaml``.

    Returns
    -------
    Curve
        The validated curve (cached per file and modification time).

    Raises
    ------
    ProfileError
        Unknown curve, unreadable file, YAML syntax error or a malformed curve; the message names the
        file and the key.

    Examples
    --------
    >>> load_curve("default").name
    'default'
    """
    path = curve_path(curve)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:  # pragma: no cover - the file vanished between the two calls
        raise ProfileError(f"{path}: cannot read the curve ({exc})") from None
    return _load(str(path.resolve()), stamp)


@lru_cache(maxsize=32)
def _load(path: str, stamp: int) -> Curve:
    """Read and validate one curve file (cached by path and mtime)."""
    try:
        data = safeyaml.safe_load(safeyaml.read_text(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ProfileError(f"{path}: cannot read the curve ({reason or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        kind = "" if isinstance(exc, safeyaml.RefusedYAML) else "YAML syntax error in the curve: "
        raise ProfileError(f"{where}: {kind}{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping with keys name, description, source and bands")
    try:
        return Curve.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = (
                "unknown key (a curve has name, description, source and bands; a band has target_db and "
                "tolerance_db)"
            )
        raise ProfileError(f"{path}: {key}: {message}") from None


__all__ = [
    "BAND_NAMES",
    "TONE_BANDS",
    "Curve",
    "CurveBand",
    "ToneBand",
    "curve_names",
    "curve_path",
    "curves_dir",
    "load_curve",
]
