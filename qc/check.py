"""Check a file: load rules and profile, extract the features the rules need in one pass, judge, report.

This is the public Python entry point (``qc.analyze``). It prints nothing and writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import __version__
from .analysis import FeatureRequest, extract_features
from .audio import DEFAULT_BLOCK_FRAMES, AudioInfo, open_audio
from .codec import CODEC_NEEDS, codec_features, is_codec_feature
from .features.curves import load_curve
from .features.registry import FeatureValue, Series, extractor_for
from .findings import Finding
from .report.model import FileReport, Report, ToolInfo
from .rules import evaluate_all, load_rules
from .rules.model import Rule

DEFAULT_PROFILE = "premaster"

# Key numbers every report shows, whether or not a rule asks for them.
SUMMARY_FEATURES = (
    "integrated_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "plr_db",
    "short_term_lufs",
    "waveform_envelope",
)


class Checker:
    """Rules and profile loaded once, applied to any number of files.

    Parameters
    ----------
    profile
        Profile name (``mixqc rules profiles`` lists them), e.g. ``"streaming"``.
    rule_packs
        Extra YAML rule packs applied over the default pack, in order.
    curve
        Tonal target curve for every rule whose feature takes one (a name in ``rules/curves/`` or a
        YAML path), unless the rule sets its own ``params.curve``.
    thorough
        Encode whole files in the codec round trip instead of their loudest passages (slow: about 4 s
        of CPU per minute of audio; see ``qc.codec``).

    Raises
    ------
    RulePackError, ProfileError
        If a pack is malformed or the profile is unknown.
    """

    def __init__(
        self,
        profile: str = DEFAULT_PROFILE,
        rule_packs: Sequence[str | os.PathLike[str]] = (),
        *,
        thorough: bool = False,
        curve: str | None = None,
    ) -> None:
        self.thorough = thorough
        packs = [Path(p) for p in rule_packs]
        self.ruleset = load_rules(packs)
        self.profile = self.ruleset.profile(profile)
        self.rules = self.ruleset.active(self.profile.name)
        if curve is not None:
            load_curve(curve)  # an unknown or malformed curve fails here, before any audio is read
            self.rules = [_with_curve(rule, curve) for rule in self.rules]

    def requests(self) -> list[FeatureRequest]:
        """The features to compute: those the active rules need (then their events), plus the key numbers."""
        wanted = [rule.feature_request() for rule in self.rules]
        events = (rule.events_request(self.profile) for rule in self.rules)
        wanted += [request for request in events if request is not None]
        wanted += [FeatureRequest(name) for name in SUMMARY_FEATURES]
        if any(is_codec_feature(request.name) for request in wanted):
            wanted += [FeatureRequest(name) for name in CODEC_NEEDS]  # to choose the passages to encode
        unique: dict[tuple[str, str], FeatureRequest] = {}
        for request in wanted:
            unique.setdefault(request.key, request)
        return list(unique.values())

    def check(self, path: str | os.PathLike[str], *, block_frames: int = DEFAULT_BLOCK_FRAMES) -> Report:
        """Check one file and return its report.

        Raises
        ------
        AudioError
            If the file cannot be analysed.
        """
        return self.check_audio(open_audio(path), block_frames=block_frames)

    def check_audio(self, info: AudioInfo, *, block_frames: int = DEFAULT_BLOCK_FRAMES) -> Report:
        """Check a file already opened with :func:`~qc.audio.open_audio` (no second header read or
        checksum) and return its report.

        Raises
        ------
        AudioError
            If the audio cannot be read to the end.
        """
        requests = self.requests()
        streamed = [request for request in requests if not is_codec_feature(request.name)]
        features = extract_features(info, streamed, block_frames=block_frames)
        # Codec features need ffmpeg and the pass's results (which passages to encode): a second stage.
        for key, value in codec_features(info, requests, features, full=True if self.thorough else None):
            features.add(key, value)
        findings = evaluate_all(self.rules, features, self.profile)
        values = features.by_name(requests)
        return _build_report(info, self.profile.name, self.profile.targets, values, findings)


def _build_report(
    info: AudioInfo,
    profile: str,
    targets: Mapping[str, float],
    values: dict[str, FeatureValue],
    findings: list[Finding],
) -> Report:
    series = {name: value for name, value in values.items() if isinstance(value, Series)}
    scalars = {name: value for name, value in values.items() if not isinstance(value, Series)}
    return Report(
        tool=ToolInfo(version=__version__),
        file=FileReport(**info.model_dump(include=set(FileReport.model_fields))),
        profile=profile,
        targets={k: float(v) for k, v in dict(targets).items() if isinstance(v, (int, float))},
        features=scalars,
        findings=findings,
        series=series,
    )


def _with_curve(rule: Rule, curve: str) -> Rule:
    """``rule`` with ``params.curve`` set, if its feature takes a curve and the rule does not pin one."""
    try:
        fields = extractor_for(rule.feature).Params.model_fields
    except KeyError:  # features computed outside the streaming pass (codec) take no curve
        return rule
    if "curve" not in fields or "curve" in rule.params:
        return rule
    return rule.model_copy(update={"params": {**rule.params, "curve": curve}})


def analyze(
    path: str | os.PathLike[str],
    profile: str = DEFAULT_PROFILE,
    rules: Sequence[str | os.PathLike[str]] = (),
) -> Report:
    """Check one audio file against a profile and return the :class:`~qc.report.model.Report`.

    Parameters
    ----------
    path
        WAV, FLAC, AIFF, OGG or MP3 file, mono or stereo.
    profile
        Delivery profile whose targets the rules compare against (default ``"premaster"``).
    rules
        Extra rule packs (YAML) that add, override or disable rules by id.

    Returns
    -------
    Report
        ``report.model_dump_json()`` is the JSON report (``schema_version`` "1").
    """
    return Checker(profile, rules).check(path)
