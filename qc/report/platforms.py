"""The streaming platform preview: what each platform's loudness normalisation does to this track.

Platforms and their behaviour are data (``rules/platforms.yaml``); this module reads them and works out,
from the report's integrated loudness and true peak, the gain each player applies and where the peaks
land. It is arithmetic on two numbers of the report: it never reads audio or judges (rules judge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..datafile import load_data_file
from ..resources import rules_dir
from .filters import signed_db
from .model import Report

GAIN_NOISE_DB = 0.05  # gains smaller than this are "no change"


class Platform(BaseModel):
    """One streaming platform's default loudness normalisation (see ``rules/platforms.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    reference_lufs: float = Field(le=0.0)
    turns_up: bool
    up_ceiling_dbtp: float | None = None
    encode_ceiling_dbtp: float = -1.0
    note: str = ""
    source: str


class PlatformFile(BaseModel):
    """The top level of ``platforms.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    platforms: list[Platform] = Field(min_length=1)


def platforms_file() -> Path:
    """The built-in ``rules/platforms.yaml``."""
    return rules_dir() / "platforms.yaml"


def load_platforms(path: Path | None = None) -> tuple[Platform, ...]:
    """The platforms of ``path`` (default: the built-in file), validated.

    Raises
    ------
    RulePackError
        If the file is not valid YAML or a platform is malformed (naming the key).
    """
    return _load(str(path or platforms_file()))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Platform, ...]:
    return tuple(load_data_file(path, PlatformFile, "platform list").platforms)


@dataclass(frozen=True)
class PlatformPreview:
    """What one platform does to the track.

    ``gain_db`` is the level change the player applies (negative: turned down); ``loudness_lufs`` and
    ``peak_dbtp`` are the track's loudness and true peak after it; ``action`` is ``down``, ``up``,
    ``limited`` (raised, but less than the full difference because of its peaks), ``quiet`` (left quieter
    than the reference: the platform does not raise tracks) or ``none``; ``advice`` is one plain sentence.
    """

    platform: Platform
    gain_db: float
    loudness_lufs: float
    peak_dbtp: float | None
    action: str
    advice: str
    peak_over: bool  # the peak after normalisation is above the platform's encoding ceiling


def _finite(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def preview_one(platform: Platform, loudness_lufs: float, peak_dbtp: float | None) -> PlatformPreview:
    """The gain ``platform`` applies to a track of ``loudness_lufs`` and ``peak_dbtp``, and its result.

    >>> spotify = Platform(id="s", name="S", reference_lufs=-14, turns_up=True, up_ceiling_dbtp=-1, source="")
    >>> preview_one(spotify, -9.0, 0.3).gain_db, preview_one(spotify, -20.0, -5.0).gain_db
    (-5.0, 4.0)
    """
    wanted = platform.reference_lufs - loudness_lufs
    gain = wanted
    action = "down" if wanted < -GAIN_NOISE_DB else "none"
    if wanted > GAIN_NOISE_DB:
        if not platform.turns_up:
            gain, action = 0.0, "quiet"
        else:
            action = "up"
            if platform.up_ceiling_dbtp is not None and peak_dbtp is not None:
                room = max(platform.up_ceiling_dbtp - peak_dbtp, 0.0)
                if room < wanted - GAIN_NOISE_DB:
                    gain, action = room, "limited"
    peak_after = None if peak_dbtp is None else peak_dbtp + gain
    over = peak_after is not None and peak_after > platform.encode_ceiling_dbtp
    advice = _advice(platform, action, gain, wanted, peak_after, over)
    return PlatformPreview(platform, gain, loudness_lufs + gain, peak_after, action, advice, over)


def _advice(
    platform: Platform, action: str, gain: float, wanted: float, peak_after: float | None, over: bool
) -> str:
    if action == "down":
        text = (
            f"Turned down {abs(gain):.1f} dB: the loudness bought with limiting is thrown away, "
            "the squashed dynamics stay."
        )
    elif action == "quiet":
        text = f"Not raised: plays {wanted:.1f} dB quieter than tracks at {platform.reference_lufs:.0f} LUFS."
    elif action == "limited":
        ceiling = platform.up_ceiling_dbtp
        text = f"Raised only {gain:.1f} dB of {wanted:.1f} dB: its peaks would pass {ceiling:.0f} dBTP."
    elif action == "up":
        text = f"Raised {gain:.1f} dB to the reference."
    else:
        text = "Played at the level it was mastered."
    if over and peak_after is not None:
        text += f" Peaks still reach {peak_after:.1f} dBTP: may distort in the {platform.name} encode."
    return text


def platform_preview(report: Report, platforms: tuple[Platform, ...] | None = None) -> list[PlatformPreview]:
    """The preview for every platform, or ``[]`` when the report has no finite integrated loudness."""
    loudness = _finite(report.features.get("integrated_lufs"))
    if loudness is None:
        return []
    peak = _finite(report.features.get("true_peak_dbtp"))
    return [preview_one(p, loudness, peak) for p in (platforms or load_platforms())]


def turned_down_note(previews: list[PlatformPreview]) -> str:
    """One plain sentence when most platforms turn the master down by at least 1 dB, else ``""``."""
    down = [p for p in previews if p.action == "down" and p.gain_db <= -1.0]
    if not previews or len(down) * 2 < len(previews):
        return ""
    least = max(p.gain_db for p in down)
    most = min(p.gain_db for p in down)
    span = signed_db(most) if abs(most - least) < 0.05 else f"{signed_db(least)} to {signed_db(most)}"
    return (
        f"This master is louder than the streaming references, so {len(down)} of {len(previews)} platforms "
        f"turn it down ({span}). Listeners will not hear it louder than other tracks — only more "
        "compressed: the loudness bought with limiting and distortion is thrown away."
    )


__all__ = [
    "Platform",
    "PlatformPreview",
    "load_platforms",
    "platform_preview",
    "platforms_file",
    "preview_one",
    "turned_down_note",
]
