"""Dynamics features derived from other features: peak-to-loudness ratio (PLR)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .registry import Extractor, FeatureUnavailable, FeatureValue, register


@register
class PeakToLoudness(Extractor):
    """PLR: true peak (dBTP) minus integrated loudness (LUFS), in dB.

    A low PLR means the peaks were flattened to make the track loud: below about 8 dB a mix sounds
    crushed on most material (AES TD1004, "Recommendation for loudness of audio streaming").
    """

    provides = ("plr_db",)
    needs = ("true_peak_dbtp", "integrated_lufs")

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        peak = needed.get("true_peak_dbtp")
        loudness = needed.get("integrated_lufs")
        if not isinstance(peak, float) or not isinstance(loudness, float):
            raise FeatureUnavailable("needs both true peak and integrated loudness")
        if not (math.isfinite(peak) and math.isfinite(loudness)):
            raise FeatureUnavailable("the file is silent: peak-to-loudness ratio is undefined")
        return {"plr_db": peak - loudness}
