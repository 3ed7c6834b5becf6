"""Turn report values into display text, the same way in every renderer (terminal, HTML, PDF, Markdown).

Holds the Jinja filters (``|db(1)``, ``|lufs``, ``|mmss``, ...) and the few display helpers the renderers
share: the one-line format description, the key numbers, findings grouped by severity. It formats and
selects; it never computes a feature, reads audio or judges a value (judging is the rules' job).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..findings import SEVERITY_RANK, Finding
from ..units import format_mmss
from .model import FileReport, Report

MISSING = "—"  # shown for None, NaN and absent values
ZERO_NOISE = 1e-9  # smaller magnitudes are float noise around an exact zero, shown unsigned

# Feature-name suffix -> (unit shown, decimals). Longest suffixes never shadow shorter ones here, because
# every suffix starts with "_": "_db" does not match "..._dbtp", "_s" does not match "..._ms".
UNIT_SUFFIXES: tuple[tuple[str, str, int], ...] = (
    ("_lufs", "LUFS", 1),
    ("_dbtp", "dBTP", 1),
    ("_dbfs", "dBFS", 1),
    ("_db", "dB", 1),
    ("_lu", "LU", 1),
    ("_hz", "Hz", 0),
    ("_ms", "ms", 1),
    ("_s", "s", 2),
    ("_pct", "%", 1),
    ("_percent", "%", 1),
)

GROUP_ORDER: tuple[str, ...] = ("error", "warning", "info", "skipped")
GROUP_TITLES: dict[str, str] = {
    "error": "Errors",
    "warning": "Warnings",
    "info": "Information",
    "skipped": "Skipped checks",
}
VERDICT_TITLES: dict[str, str] = {"pass": "Pass", "warn": "Needs attention", "fail": "Needs a revision"}


# --- numbers -------------------------------------------------------------------------------------------


def _as_float(value: object) -> float | None:
    """``value`` as a float, or None for None, booleans, NaN and anything that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def number(value: object, digits: int = 1, *, signed: bool = False) -> str:
    """``value`` with ``digits`` decimals ("-inf" for silence, "—" for None/NaN).

    A value just below zero keeps its sign, as on a meter (``-0.0``: not quite full scale); only float
    noise around an exact zero is shown as ``0.0``.

    >>> number(-14.04), number(0.3, signed=True), number(-0.04), number(-1e-12), number(None)
    ('-14.0', '+0.3', '-0.0', '0.0', '—')
    """
    x = _as_float(value)
    if x is None:
        return MISSING
    if math.isinf(x):
        return "-inf" if x < 0 else ("+inf" if signed else "inf")
    if abs(x) < ZERO_NOISE:
        x = 0.0
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit and text != MISSING else text


def db(value: object, digits: int = 1) -> str:
    """A level or gain in dB: ``-3.0 dB``."""
    return _with_unit(number(value, digits), "dB")


def signed_db(value: object, digits: int = 1, unit: str = "dB") -> str:
    """A difference with its sign: ``+4.9 dB`` (``unit="LU"`` for loudness differences)."""
    return _with_unit(number(value, digits, signed=True), unit)


def lufs(value: object, digits: int = 1) -> str:
    """Loudness: ``-14.0 LUFS``."""
    return _with_unit(number(value, digits), "LUFS")


def lu(value: object, digits: int = 1) -> str:
    """Loudness units (range, difference): ``6.5 LU``."""
    return _with_unit(number(value, digits), "LU")


def dbtp(value: object, digits: int = 1) -> str:
    """True peak: ``-1.0 dBTP``."""
    return _with_unit(number(value, digits), "dBTP")


def dbfs(value: object, digits: int = 1) -> str:
    """Sample level: ``-0.3 dBFS``."""
    return _with_unit(number(value, digits), "dBFS")


def mmss(value: object, millis: bool = True) -> str:
    """Seconds as ``m:ss.mmm`` (``units.format_mmss``); "—" for None."""
    x = _as_float(value)
    return MISSING if x is None else format_mmss(x, millis=millis)


def sample_rate(value: object) -> str:
    """A sample rate in kHz: ``44.1 kHz``, ``48 kHz``."""
    x = _as_float(value)
    return MISSING if x is None else f"{x / 1000.0:g} kHz"


def channels(value: int) -> str:
    """``mono``, ``stereo`` or ``N channels``."""
    return {1: "mono", 2: "stereo"}.get(int(value), f"{int(value)} channels")


def channel_name(channel: int | None, count: int = 2) -> str:
    """An event's channel: ``all`` (None), ``L``/``R`` for stereo, ``ch 1``... otherwise (1-based)."""
    if channel is None:
        return "all"
    if count == 2 and channel in (0, 1):
        return "LR"[channel]
    return f"ch {channel + 1}"


def thousands(value: object) -> str:
    """An integer with thin grouping: ``9 029 952``."""
    x = _as_float(value)
    return MISSING if x is None else f"{int(x):,}".replace(",", "\u202f")


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 event``, ``3 events``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def basename(path: str) -> str:
    """The file name of a POSIX or Windows path."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path


# --- units from feature names --------------------------------------------------------------------------


def unit_of(feature: str) -> tuple[str, int]:
    """The display unit and decimals for a feature, from its name's suffix (``("", 2)`` if unknown)."""
    for suffix, unit, digits in UNIT_SUFFIXES:
        if feature.endswith(suffix):
            return unit, digits
    return "", 2


def plain(value: object) -> str:
    """A unitless number: integers as integers, others with up to 3 decimals (``0.85``, ``12``)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = _as_float(value)
    if x is None:
        return MISSING
    if math.isinf(x) or (x == int(x) and abs(x) < 1e15):
        return number(x, 0)
    if abs(x) < 0.001:
        return f"{x:.3g}"
    return f"{x:.3f}".rstrip("0").rstrip(".")


def in_unit(value: object, feature: str) -> str:
    """``value`` formatted in ``feature``'s unit: ``in_unit(-1.24, "true_peak_dbtp") == "-1.2 dBTP"``."""
    unit, digits = unit_of(feature)
    if not unit:
        return plain(value)
    return _with_unit(number(value, digits), unit)


def _is_event(item: object) -> bool:
    if isinstance(item, Mapping):
        return "start_s" in item
    return hasattr(item, "start_s")


def _field(item: object, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def is_scalar_feature(value: object) -> bool:
    """True for values a feature table shows: numbers, booleans, None and per-channel number lists."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return bool(value) and all(v is None or isinstance(v, (int, float)) for v in value)
    return False


def feature_value(value: object, feature: str, count: int = 2) -> str:
    """Any feature value as text: a number in its unit, ``L -1.2 · R -0.8 dBTP``, ``3 events``, ``series``."""
    if isinstance(value, (list, tuple)):
        if value and all(_is_event(v) for v in value):
            return plural(len(value), "event")
        if is_scalar_feature(value):
            unit, digits = unit_of(feature)
            numbers = [number(v, digits) if unit else plain(v) for v in value]
            if len(numbers) == 1:
                return _with_unit(numbers[0], unit)
            labelled = " · ".join(f"{channel_name(i, len(numbers))} {n}" for i, n in enumerate(numbers))
            return f"{labelled} {unit}" if unit else labelled
        return plural(len(value), "value")
    if isinstance(value, Mapping) or hasattr(value, "hop_s"):
        return "series"
    return in_unit(value, feature)


# --- events and findings -------------------------------------------------------------------------------


def event_time(event: object) -> str:
    """``1:02.005`` or, for an event lasting at least 1 ms, ``1:02.005–1:02.120``."""
    start = _as_float(_field(event, "start_s"))
    end = _as_float(_field(event, "end_s"))
    if start is None:
        return MISSING
    if end is None or end - start < 0.0005:
        return mmss(start)
    return f"{mmss(start)}–{mmss(end)}"


def is_event_finding(finding: Finding) -> bool:
    """True when ``value`` is a count of events: the finding judged an ``*_events`` feature.

    A rule on a single value may list events too (``events_feature``: where the true peak is over the
    ceiling); its ``value`` stays in the feature's unit.
    """
    return finding.feature.endswith("_events")


def measured(finding: Finding) -> str:
    """The finding's measured value in its unit (``3 events`` for an event finding)."""
    if finding.value is None:
        return MISSING
    if is_event_finding(finding) and math.isfinite(finding.value):
        return plural(round(finding.value), "event")
    return in_unit(finding.value, finding.feature)


def threshold(finding: Finding) -> str:
    """The threshold in the feature's unit; a range reads ``-16.0 to -12.0 LUFS``."""
    limit = finding.threshold
    if limit is None:
        return MISSING
    unit, digits = ("", 0) if is_event_finding(finding) else unit_of(finding.feature)

    def bare(v: object) -> str:
        return number(v, digits) if unit else plain(v)

    if not isinstance(limit, list):
        return _with_unit(bare(limit), unit)
    if len(limit) == 2:
        return _with_unit(f"{bare(limit[0])} to {bare(limit[1])}", unit)
    return _with_unit(", ".join(bare(v) for v in limit), unit)


def group_key(finding: Finding) -> str:
    """The group a finding is listed in: its severity, or ``skipped``."""
    return "skipped" if finding.skipped else finding.severity


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors, warnings, info, then skipped checks; the report's order within each group."""
    return sorted(findings, key=lambda f: GROUP_ORDER.index(group_key(f)))


def grouped_findings(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """``[(group, findings), ...]`` in :data:`GROUP_ORDER`, empty groups left out."""
    groups: dict[str, list[Finding]] = {key: [] for key in GROUP_ORDER}
    for finding in findings:
        groups[group_key(finding)].append(finding)
    return [(key, groups[key]) for key in GROUP_ORDER if groups[key]]


def finding_counts(findings: Sequence[Finding]) -> dict[str, int]:
    """How many findings are in each group (every group present, possibly 0)."""
    counts = dict.fromkeys(GROUP_ORDER, 0)
    for finding in findings:
        counts[group_key(finding)] += 1
    return counts


def counts_text(findings: Sequence[Finding]) -> str:
    """``1 error, 2 warnings, 0 info`` (plus ``, 1 skipped`` when any were skipped)."""
    counts = finding_counts(findings)
    text = (
        f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, {counts['info']} info"
    )
    if counts["skipped"]:
        text += f", {counts['skipped']} skipped"
    return text


def worst_severity(findings: Sequence[Finding], feature: str) -> str | None:
    """The most severe non-skipped finding's severity on ``feature``, or None."""
    severities = [f.severity for f in findings if f.feature == feature and not f.skipped]
    return max(severities, key=SEVERITY_RANK.__getitem__) if severities else None


# --- the file and the key numbers ----------------------------------------------------------------------


def format_line(file: FileReport) -> str:
    """One line describing the encoding: ``WAV 24-bit 44.1 kHz stereo``, ``FLAC 32-bit float 48 kHz mono``."""
    parts = [file.format.upper()]
    if file.subtype in ("FLOAT", "DOUBLE") and file.bit_depth:
        parts.append(f"{file.bit_depth}-bit float")
    elif file.bit_depth:
        parts.append(f"{file.bit_depth}-bit")
    elif file.subtype and not file.subtype.startswith("MPEG"):
        parts.append(file.subtype.replace("_", " ").capitalize())
    parts.append(sample_rate(file.sample_rate))
    parts.append(channels(file.channels))
    return " ".join(parts)


@dataclass(frozen=True)
class KeyNumberSpec:
    """A headline number: its feature, labels, unit, and the profile targets it is read against.

    ``targets`` pairs profile target names (``rules/profiles.yaml``) with how to label them (``target``,
    ``ceiling``, ``max``, ``min``); the first present in ``report.targets`` is shown. ``tolerance`` names
    the target holding the ± window around a ``target``.
    """

    feature: str
    label: str
    short_label: str
    unit: str
    targets: tuple[tuple[str, str], ...] = ()
    tolerance: str = ""


KEY_NUMBERS: tuple[KeyNumberSpec, ...] = (
    KeyNumberSpec(
        "integrated_lufs",
        "Integrated loudness",
        "Integrated",
        "LUFS",
        (("target_lufs", "target"),),
        tolerance="loudness_tolerance_lu",
    ),
    KeyNumberSpec(
        "true_peak_dbtp",
        "True peak",
        "True peak",
        "dBTP",
        (("ceiling_dbtp", "ceiling"), ("max_peak_dbtp", "max")),
    ),
    KeyNumberSpec("loudness_range_lu", "Loudness range (LRA)", "LRA", "LU", (("max_lra_lu", "max"),)),
    KeyNumberSpec("plr_db", "Peak-to-loudness ratio (PLR)", "PLR", "dB", (("min_plr_db", "min"),)),
    KeyNumberSpec("sample_peak_dbfs", "Sample peak", "Sample peak", "dBFS", (("ceiling_dbfs", "ceiling"),)),
)


@dataclass(frozen=True)
class KeyNumber:
    """A headline number ready to show: ``text`` is the value in its unit, ``target_text`` the target.

    ``relation`` labels the target (``target``, ``ceiling``, ``max``, ``min``; empty without a target);
    ``delta_text`` is the signed distance from a ``target`` (empty for limits); ``severity`` is that of the
    worst non-skipped finding on the same feature, or None.
    """

    spec: KeyNumberSpec
    value: float | None
    text: str
    relation: str
    target: float | None
    target_text: str
    delta_text: str
    severity: str | None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def short_label(self) -> str:
        return self.spec.short_label


def _headline_value(value: object) -> float | None:
    """A feature's headline value: the number itself, or the highest channel of a per-channel list."""
    if isinstance(value, (list, tuple)):
        numbers = [x for x in (_as_float(v) for v in value) if x is not None]
        return max(numbers) if numbers else None
    return _as_float(value)


def key_numbers(report: Report) -> list[KeyNumber]:
    """The key numbers present in ``report.features``, with their profile targets and worst finding."""
    shown = []
    for spec in KEY_NUMBERS:
        if spec.feature not in report.features:
            continue
        value = _headline_value(report.features[spec.feature])
        name, relation = next(((n, r) for n, r in spec.targets if n in report.targets), ("", ""))
        target = report.targets[name] if name else None
        target_text = delta = ""
        if target is not None:
            target_text = _with_unit(number(target, 1), spec.unit)
            tolerance = report.targets.get(spec.tolerance) if spec.tolerance else None
            if relation == "target" and tolerance:
                target_text += f" ± {lu(tolerance)}"
            if relation == "target" and value is not None and math.isfinite(value):
                delta = signed_db(value - target, 1, "LU" if spec.unit in ("LUFS", "LU") else "dB")
        shown.append(
            KeyNumber(
                spec=spec,
                value=value,
                text=_with_unit(number(value, 1), spec.unit),
                relation=relation,
                target=target,
                target_text=target_text,
                delta_text=delta,
                severity=worst_severity(report.findings, spec.feature),
            )
        )
    return shown


def scalar_features(report: Report) -> list[tuple[str, str]]:
    """``[(name, text), ...]`` for every scalar or per-channel feature, sorted by name."""
    return [
        (name, feature_value(value, name, report.file.channels))
        for name, value in sorted(report.features.items())
        if is_scalar_feature(value)
    ]


# --- page one: the verdict in plain words and the problems to fix first -------------------------------

TOP_PROBLEMS = 3  # problems listed on page one


def problems(findings: Sequence[Finding]) -> list[Finding]:
    """Errors then warnings (never info or skipped checks), in the report's order within each."""
    return [f for f in sorted_findings(findings) if not f.skipped and f.severity in ("error", "warning")]


def top_problems(findings: Sequence[Finding], count: int = TOP_PROBLEMS) -> list[Finding]:
    """The ``count`` most important problems: errors first, then warnings, in the report's order."""
    return problems(findings)[:count]


def verdict_summary(findings: Sequence[Finding], profile: str) -> str:
    """One plain sentence saying what the verdict means for delivery.

    >>> verdict_summary([], "streaming")
    'Nothing to fix for the streaming profile: ready to deliver.'
    """
    counts = finding_counts(findings)
    errors, warnings = counts["error"], counts["warning"]
    if errors:
        also = f", plus {plural(warnings, 'thing')} worth a look" if warnings else ""
        verb = "has" if errors == 1 else "have"
        return f"{plural(errors, 'problem')} {verb} to be fixed before delivery{also}."
    if warnings:
        verb = "deserves" if warnings == 1 else "deserve"
        things = plural(warnings, "thing")
        return f"Nothing blocks delivery for the {profile} profile, but {things} {verb} a look."
    return f"Nothing to fix for the {profile} profile: ready to deliver."


def events_summary(finding: Finding, shown: int = 3) -> str:
    """``at 1:01.250, 1:01.750 and 23 more`` for an event finding; ``""`` without events."""
    if not finding.events:
        return ""
    times = [event_time(e) for e in finding.events[:shown]]
    rest = len(finding.events) - len(times)
    if rest:
        return f"at {', '.join(times)} and {rest} more"
    if len(times) == 1:
        return f"at {times[0]}"
    return f"at {', '.join(times[:-1])} and {times[-1]}"


# --- tonal balance -------------------------------------------------------------------------------------

BAND_LABELS: dict[str, str] = {
    "sub": "Sub",
    "bass": "Bass",
    "low_mid": "Low mids",
    "mid": "Mids",
    "high_mid": "High mids",
    "presence": "Presence",
    "air": "Air",
}


def frequency(value: object) -> str:
    """``60 Hz``, ``2 kHz``, ``12.5 kHz``."""
    x = _as_float(value)
    if x is None:
        return MISSING
    return f"{x / 1000:g} kHz" if x >= 1000 else f"{x:g} Hz"


@dataclass(frozen=True)
class TonalRow:
    """One band of the tonal balance: its label, range, deviation from the target and whether it is within."""

    label: str
    range_text: str
    deviation_text: str
    tolerance_text: str
    status: str  # "ok", "high", "low" or "unknown"


def tonal_rows(report: Report) -> list[TonalRow]:
    """The seven tonal bands of ``features["tonal_balance"]`` against the curve; ``[]`` when absent."""
    bands = report.features.get("tonal_balance")
    if bands is None:
        return []
    names = _field(bands, "names") or []
    keys = ("low_hz", "high_hz", "level_db", "target_db", "tolerance_db")
    columns = [_field(bands, key) or [] for key in keys]
    if any(len(column) != len(names) for column in columns):
        return []
    rows = []
    for name, low, high, level, target, tolerance in zip(names, *columns, strict=True):
        x, t, tol = _as_float(level), _as_float(target), _as_float(tolerance)
        deviation = None if x is None or t is None else x - t
        if deviation is None or tol is None:
            status = "unknown"
        else:
            status = "high" if deviation > tol else "low" if deviation < -tol else "ok"
        rows.append(
            TonalRow(
                label=BAND_LABELS.get(str(name), str(name).replace("_", " ").capitalize()),
                range_text=f"{frequency(low)}–{frequency(high)}",
                deviation_text=signed_db(deviation),
                tolerance_text=f"± {db(tol)}" if tol is not None else MISSING,
                status=status,
            )
        )
    return rows


FILTERS: dict[str, Callable[..., str]] = {
    "number": number,
    "db": db,
    "signed_db": signed_db,
    "lufs": lufs,
    "lu": lu,
    "dbtp": dbtp,
    "dbfs": dbfs,
    "mmss": mmss,
    "sample_rate": sample_rate,
    "channels": channels,
    "channel_name": channel_name,
    "thousands": thousands,
    "basename": basename,
    "in_unit": in_unit,
    "plain": plain,
    "feature_value": feature_value,
    "event_time": event_time,
    "measured": measured,
    "threshold": threshold,
    "format_line": format_line,
    "counts_text": counts_text,
    "frequency": frequency,
    "events_summary": events_summary,
}
"""The Jinja filters, registered by name on the report environment (HTML and PDF pages)."""
