"""The album / batch summary of one run: a row per track, and the album rules judged over all tracks.

Album rules (``rules/album.yaml``: thresholds and texts are data) compare the tracks with each other:

``album-loudness-spread``
    Integrated loudness of the quietest and loudest track further apart than the profile's bound (LU).
``album-format-mismatch``
    The tracks do not share one sample rate and bit depth.
``album-tonal-drift``
    A track's band level (``tonal_balance``, listed ``bands`` only) further than ``threshold`` dB from the
    album's median for that band.

A rule that cannot be judged (too few tracks, a feature missing) gives a skipped ``info`` finding saying
why. :func:`summarize` builds the :class:`BatchSummary` (the ``summary.json`` contract) from reports that
were already made; nothing here reads audio or writes files.
"""

from __future__ import annotations

import math
import statistics
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from ..datafile import load_data_file
from ..findings import Finding, Severity, Verdict, verdict_of
from ..resources import rules_dir
from ..text import bounded_format, format_spec_problem
from .filters import BAND_LABELS, basename, finding_counts, signed_db
from .model import Report, ToolInfo

SUMMARY_KIND: Final = "mixqc-batch-summary"

# rule id -> the template fields its message and suggestion may use
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "album-loudness-spread": frozenset(
        {"spread", "threshold", "count", "quietest", "loudest", "low", "high", "profile"}
    ),
    "album-format-mismatch": frozenset({"formats", "count", "sample_rates", "bit_depths"}),
    "album-tonal-drift": frozenset({"tracks", "details", "threshold", "count", "worst"}),
}
FEATURES: dict[str, str] = {
    "album-loudness-spread": "integrated_lufs",
    "album-format-mismatch": "format",
    "album-tonal-drift": "tonal_balance",
}


class AlbumRule(BaseModel):
    """One album rule from ``rules/album.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Literal["album-loudness-spread", "album-format-mismatch", "album-tonal-drift"]
    title: str = Field(min_length=1)
    category: str = Field(min_length=1)
    severity: Severity
    threshold: float | None = Field(default=None, gt=0.0)
    profile_thresholds: dict[str, float] = Field(default_factory=dict)
    bands: list[str] = Field(default_factory=list)
    min_tracks: int = Field(default=2, ge=2)
    message: str = Field(min_length=1)
    suggestion: str = ""
    why: str = Field(min_length=1)
    source: str = Field(min_length=1)
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> AlbumRule:
        allowed = TEMPLATE_FIELDS[self.id]
        for key in ("message", "suggestion"):
            for _, name, spec, _ in string.Formatter().parse(getattr(self, key)):
                if name is not None and name not in allowed:
                    fields = ", ".join(sorted(allowed))
                    raise ValueError(f"{key}: unknown template field {{{name}}}; fields: {fields}")
                problem = None if name is None else format_spec_problem(spec or "")
                if problem is not None:
                    raise ValueError(f"{key}: field {{{name}}}: {problem}")
        if self.id != "album-format-mismatch" and self.threshold is None:
            raise ValueError(f"{self.id} needs a threshold")
        unknown = [b for b in self.bands if b not in BAND_LABELS]
        if unknown:
            raise ValueError(f"bands: unknown band {unknown[0]!r}; bands: {', '.join(BAND_LABELS)}")
        return self

    def threshold_for(self, profile: str) -> float:
        """The threshold for ``profile`` (its own entry, else the default)."""
        return self.profile_thresholds.get(profile, self.threshold or 0.0)


class AlbumPack(BaseModel):
    """The top level of ``album.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: str
    version: str
    rules: list[AlbumRule]


def album_rules_file() -> Path:
    """The built-in ``rules/album.yaml``."""
    return rules_dir() / "album.yaml"


def load_album_rules(path: Path | None = None) -> tuple[AlbumRule, ...]:
    """The album rules of ``path`` (default: the built-in file), validated.

    Raises
    ------
    RulePackError
        If the file is not valid YAML or a rule is malformed (naming the rule and key).
    """
    return _load(str(path or album_rules_file()))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[AlbumRule, ...]:
    return tuple(load_data_file(path, AlbumPack, "album rules").rules)


# --- the summary model ---------------------------------------------------------------------------------


class AlbumFinding(Finding):
    """A finding about the album as a whole; ``tracks`` names the tracks it concerns (file names)."""

    tracks: list[str] = Field(default_factory=list)


class TrackRow(BaseModel):
    """One track of the summary: its key numbers, verdict and problem counts.

    ``report`` is the track's report file relative to the summary (None when none was written).
    """

    model_config = ConfigDict(ser_json_inf_nan="null")

    name: str
    path: str
    report: str | None = None
    verdict: Verdict
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    loudness_range_lu: float | None = None
    plr_db: float | None = None
    sample_rate: int
    bit_depth: int | None = None
    duration_s: float
    errors: int
    warnings: int


class FailedInput(BaseModel):
    """An input that could not be checked, and why."""

    path: str
    error: str


class BatchSummary(BaseModel):
    """The summary of one run over several tracks (``summary.json``)."""

    model_config = ConfigDict(ser_json_inf_nan="null")

    schema_version: Literal["1"] = "1"
    kind: Literal["mixqc-batch-summary"] = SUMMARY_KIND
    tool: ToolInfo
    profile: str
    targets: dict[str, float] = Field(default_factory=dict)
    tracks: list[TrackRow] = Field(default_factory=list)
    failed: list[FailedInput] = Field(default_factory=list)
    album_findings: list[AlbumFinding] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        """The worst of every track's verdict and the album findings; ``fail`` if an input failed."""
        if self.failed:
            return "fail"
        rank = {"pass": 0, "warn": 1, "fail": 2}
        verdicts = [t.verdict for t in self.tracks] + [verdict_of(list(self.album_findings))]
        return max(verdicts, key=rank.__getitem__)


# --- album rules ---------------------------------------------------------------------------------------


def _finite(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _field(value: object, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def _finding(
    rule: AlbumRule,
    fields: Mapping[str, object],
    value: float,
    threshold: float | None,
    tracks: Iterable[str],
) -> AlbumFinding:
    return AlbumFinding(
        rule_id=rule.id,
        severity=rule.severity,
        title=rule.title,
        message=" ".join(bounded_format(rule.message, fields).split()),
        suggestion=" ".join(bounded_format(rule.suggestion, fields).split()),
        feature=FEATURES[rule.id],
        value=value,
        threshold=threshold,
        category=rule.category,
        tracks=list(tracks),
    )


def _skipped(rule: AlbumRule, reason: str) -> AlbumFinding:
    return AlbumFinding(
        rule_id=rule.id,
        severity="info",
        title=rule.title,
        message=f"Skipped: {reason}.",
        feature=FEATURES[rule.id],
        category=rule.category,
        skipped=True,
    )


def _loudness_spread(rule: AlbumRule, reports: Sequence[Report], profile: str) -> AlbumFinding | None:
    measured = [(basename(r.file.path), _finite(r.features.get("integrated_lufs"))) for r in reports]
    known = [(name, value) for name, value in measured if value is not None]
    if len(known) < rule.min_tracks:
        return _skipped(rule, f"needs the integrated loudness of at least {rule.min_tracks} tracks")
    quietest = min(known, key=lambda item: item[1])
    loudest = max(known, key=lambda item: item[1])
    spread = loudest[1] - quietest[1]
    threshold = rule.threshold_for(profile)
    if spread <= threshold:
        return None
    fields = {
        "spread": spread,
        "threshold": threshold,
        "count": len(known),
        "quietest": quietest[0],
        "loudest": loudest[0],
        "low": quietest[1],
        "high": loudest[1],
        "profile": profile,
    }
    return _finding(rule, fields, spread, threshold, [quietest[0], loudest[0]])


def _format_text(sample_rate: int, bit_depth: int | None) -> str:
    depth = f"{bit_depth}-bit" if bit_depth else "lossy"
    return f"{sample_rate / 1000:g} kHz {depth}"


def _format_mismatch(rule: AlbumRule, reports: Sequence[Report], profile: str) -> AlbumFinding | None:
    if len(reports) < rule.min_tracks:
        return _skipped(rule, f"needs at least {rule.min_tracks} tracks")
    groups: dict[str, list[str]] = {}
    for report in reports:
        key = _format_text(report.file.sample_rate, report.file.bit_depth)
        groups.setdefault(key, []).append(basename(report.file.path))
    if len(groups) == 1:
        return None
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    formats = "; ".join(f"{key} ({', '.join(names)})" for key, names in ordered)
    fields = {
        "formats": formats,
        "count": len(groups),
        "sample_rates": ", ".join(sorted({f"{r.file.sample_rate / 1000:g} kHz" for r in reports})),
        "bit_depths": ", ".join(sorted({str(r.file.bit_depth or "lossy") for r in reports})),
    }
    odd = [name for _, names in ordered[1:] for name in names]
    return _finding(rule, fields, float(len(groups)), None, odd)


def _band_levels(report: Report) -> dict[str, float] | None:
    bands = report.features.get("tonal_balance")
    names, levels = _field(bands, "names"), _field(bands, "level_db")
    if bands is None or not names or not levels or len(names) != len(levels):
        return None
    return {str(n): v for n, v in zip(names, levels, strict=True) if _finite(v) is not None}


def _tonal_drift(rule: AlbumRule, reports: Sequence[Report], profile: str) -> AlbumFinding | None:
    tracks = [(basename(r.file.path), _band_levels(r)) for r in reports]
    known = [(name, levels) for name, levels in tracks if levels is not None]
    if len(known) < rule.min_tracks:
        return _skipped(rule, f"needs the tonal balance of at least {rule.min_tracks} tracks")
    bands = rule.bands or list(BAND_LABELS)
    medians = {
        band: statistics.median(values)
        for band in bands
        if len(values := [levels[band] for _, levels in known if band in levels]) >= rule.min_tracks
    }
    threshold = rule.threshold_for(profile)
    drifts: list[tuple[str, str, float]] = []  # (track, band, deviation from the median)
    for name, levels in known:
        deviations = [(band, levels[band] - median) for band, median in medians.items() if band in levels]
        if not deviations:
            continue
        band, deviation = max(deviations, key=lambda item: abs(item[1]))
        if abs(deviation) > threshold:
            drifts.append((name, band, deviation))
    if not drifts:
        return None
    details = "; ".join(
        f"{name}: {BAND_LABELS[band].lower()} {signed_db(deviation)}" for name, band, deviation in drifts
    )
    worst = max(abs(d) for _, _, d in drifts)
    fields = {
        "tracks": ", ".join(name for name, _, _ in drifts),
        "details": details,
        "threshold": threshold,
        "count": len(drifts),
        "worst": worst,
    }
    return _finding(rule, fields, worst, threshold, [name for name, _, _ in drifts])


_EVALUATORS: dict[str, Callable[[AlbumRule, Sequence[Report], str], AlbumFinding | None]] = {
    "album-loudness-spread": _loudness_spread,
    "album-format-mismatch": _format_mismatch,
    "album-tonal-drift": _tonal_drift,
}


def evaluate_album(
    reports: Sequence[Report], profile: str, rules: Sequence[AlbumRule] | None = None
) -> list[AlbumFinding]:
    """Judge the enabled album rules over ``reports``: a finding per rule that fires or is skipped.

    Parameters
    ----------
    reports
        The tracks' reports, in running order.
    profile
        The profile they were checked against (it selects ``profile_thresholds``).
    rules
        Album rules (default: ``rules/album.yaml``).
    """
    found = []
    for rule in rules if rules is not None else load_album_rules():
        if not rule.enabled:
            continue
        finding = _EVALUATORS[rule.id](rule, reports, profile)
        if finding is not None:
            found.append(finding)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: (f.skipped, order[f.severity]))


def _track_row(report: Report, link: str | None) -> TrackRow:
    counts = finding_counts(report.findings)
    features = report.features
    return TrackRow(
        name=basename(report.file.path),
        path=report.file.path,
        report=link,
        verdict=report.verdict,
        integrated_lufs=_finite(features.get("integrated_lufs")),
        true_peak_dbtp=_finite(features.get("true_peak_dbtp")),
        loudness_range_lu=_finite(features.get("loudness_range_lu")),
        plr_db=_finite(features.get("plr_db")),
        sample_rate=report.file.sample_rate,
        bit_depth=report.file.bit_depth,
        duration_s=report.file.duration_s,
        errors=counts["error"],
        warnings=counts["warning"],
    )


def summarize(
    reports: Sequence[Report],
    *,
    links: Sequence[str | None] | None = None,
    failed: Sequence[tuple[str, str]] = (),
    rules: Sequence[AlbumRule] | None = None,
) -> BatchSummary:
    """The summary of one run: a row per report, the album findings, and the inputs that failed.

    Parameters
    ----------
    reports
        The tracks' reports in running order (all checked against one profile).
    links
        For each report, its report file relative to the summary (e.g. ``"01-intro.html"``), or None.
    failed
        ``(path, error message)`` of every input that could not be checked.
    rules
        Album rules (default: ``rules/album.yaml``).
    """
    links = list(links) if links is not None else [None] * len(reports)
    first = reports[0] if reports else None
    profile = first.profile if first else ""
    return BatchSummary(
        tool=first.tool if first else ToolInfo(version=""),
        profile=profile,
        targets=dict(first.targets) if first else {},
        tracks=[_track_row(r, link) for r, link in zip(reports, links, strict=True)],
        failed=[FailedInput(path=path, error=error) for path, error in failed],
        album_findings=evaluate_album(reports, profile, rules) if reports else [],
    )


def render_summary_json(summary: BatchSummary) -> str:
    """The summary as JSON (2-space indented; non-finite numbers as null)."""
    return summary.model_dump_json(indent=2)


__all__ = [
    "AlbumFinding",
    "AlbumRule",
    "BatchSummary",
    "FailedInput",
    "TrackRow",
    "album_rules_file",
    "evaluate_album",
    "load_album_rules",
    "render_summary_json",
    "summarize",
]
