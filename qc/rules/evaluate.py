"""Judge features with rules: ``evaluate(rule, features, profile) -> Finding | None``, pure.

A rule that fires gives a :class:`~qc.findings.Finding` with the measured value, the threshold and (for
event features, or the ``events`` feature of a rule on a single value) the events; a rule that passes
gives None; a rule whose feature could not be computed gives an ``info`` finding saying it was skipped and
why. Evaluation never raises for bad data. This module does not read files, compute features or render
reports.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeGuard

from ..analysis import FeatureSet
from ..features.registry import Event
from ..findings import SEVERITY_RANK, Finding
from ..text import bounded_format, clip
from ..units import format_mmss
from .model import Profile, Rule, unit_of

log = logging.getLogger(__name__)

EVENTS_LISTED = 3  # events named in {events_summary} before "and N more"
_CHANNEL_NAMES = {0: "left", 1: "right", None: "both"}
_CHANNEL_TAGS = {0: "L", 1: "R"}


class _Skip(Exception):
    """The rule cannot be judged for this file; the message says why."""


def _resolve(bound: float | str, profile: Profile) -> float:
    if isinstance(bound, str):
        if bound not in profile.targets:
            raise _Skip(f"profile {profile.name!r} defines no target {bound!r}")
        return profile.targets[bound]
    return bound


def _number(rule: Rule, value: Any) -> float:
    if value is None:
        raise _Skip(f"{rule.feature} has no value for this file")
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise _Skip(f"{rule.feature} is a {type(value).__name__}, not a single number")
    if not math.isfinite(value):
        raise _Skip(f"{rule.feature} is {value} (the file may be silent)")
    return float(value)


def _is_events(value: Any) -> TypeGuard[list[Event]]:
    return isinstance(value, list) and all(isinstance(event, Event) for event in value)


def _sorted(events: list[Event]) -> list[Event]:
    return sorted(
        events, key=lambda event: (event.start_s, event.end_s, -1 if event.channel is None else event.channel)
    )


def _events(rule: Rule, value: Any) -> list[Event]:
    if not _is_events(value):
        raise _Skip(f"{rule.feature} is not a list of events, so 'count_above' cannot judge it")
    return _sorted(value)


def attached_events(rule: Rule, features: FeatureSet, profile: Profile) -> list[Event]:
    """The events a rule's ``events`` feature lists for ``profile`` (``[]`` without ``events``).

    The feature is read with :meth:`Rule.events_request`'s parameters, the ones ``qc.check`` computed it
    with. An event feature that could not be computed gives ``[]`` (logged): the value's judgement stands.
    """
    request = rule.events_request(profile)
    if request is None:
        return []
    reason = features.reason(request.name, request.params)
    value = features.get(request.name, request.params)
    if reason is not None or not _is_events(value):
        log.info("rule %s: no events from %s: %s", rule.id, request.name, reason or "not a list of events")
        return []
    return _sorted(value)


def channel_name(channel: int | None) -> str:
    """``0`` → "left", ``1`` → "right", None → "both", ``n`` → "channel n+1"."""
    return _CHANNEL_NAMES.get(channel, f"channel {(channel or 0) + 1}")


def events_summary(events: Sequence[Event], listed: int = EVENTS_LISTED) -> str:
    """Where events happened, e.g. ``at 1:01.250 (L), 1:02.004 (R) and 10 more``.

    >>> events_summary([Event(start_s=61.25, end_s=61.3, channel=0)])
    'at 1:01.250 (L)'
    """
    if not events:
        return ""
    shown = []
    for event in events[:listed]:
        tag = _CHANNEL_TAGS.get(event.channel) if event.channel is not None else None
        if tag is None and event.channel is not None:
            tag = f"ch {event.channel + 1}"
        shown.append(format_mmss(event.start_s) + (f" ({tag})" if tag else ""))
    rest = len(events) - len(shown)
    if rest:
        return f"at {', '.join(shown)} and {rest} more"
    if len(shown) == 1:
        return f"at {shown[0]}"
    return f"at {', '.join(shown[:-1])} and {shown[-1]}"


def _event_fields(events: Sequence[Event]) -> dict[str, Any]:
    longest = max(events, key=lambda e: (e.end_s - e.start_s, e.value if e.value is not None else -math.inf))
    return {
        "count": len(events),
        "first_event": format_mmss(events[0].start_s),
        "events_summary": events_summary(events),
        "longest_ms": (longest.end_s - longest.start_s) * 1000.0,
        "channel": channel_name(longest.channel),
    }


def _judge(rule: Rule, raw: Any, profile: Profile) -> tuple[bool, dict[str, Any]]:
    """Whether the rule fires, and the template fields describing the comparison."""
    condition = rule.condition
    if condition == "count_above":
        events = _events(rule, raw)
        limit = int(_resolve(rule.count_above, profile))  # type: ignore[arg-type]
        fields: dict[str, Any] = {"value": len(events), "threshold": limit, "excess": len(events) - limit}
        if len(events) > limit:
            fields.update(_event_fields(events), events=events)
        return len(events) > limit, fields
    value = _number(rule, raw)
    if condition in ("above", "below"):
        threshold = _resolve(rule.bounds[0], profile)
        fires = value > threshold if condition == "above" else value < threshold
        fields = {
            "value": value,
            "threshold": threshold,
            "excess": abs(value - threshold),
            "side": "above" if value > threshold else "below",
            "correction": threshold - value,
        }
        if isinstance(rule.bounds[0], str):
            fields["target"] = threshold
        return fires, fields
    low, high = (_resolve(bound, profile) for bound in rule.bounds)
    inside = low <= value <= high
    fields = {"value": value, "low": low, "high": high}
    if condition == "outside":
        nearest = low if value < low else high
        fields.update(
            excess=abs(value - nearest) if not inside else 0.0,
            side="below" if value < low else "above",
            correction=(low + high) / 2.0 - value,
        )
    return inside if condition == "between" else not inside, fields


def _fill(template: str, fields: dict[str, Any]) -> str:
    """The template filled in, never longer than :data:`~qc.text.MAX_RENDERED_CHARS`."""
    try:
        return bounded_format(template, fields)
    except (KeyError, ValueError, TypeError, IndexError) as exc:  # checked at load; guard anyway
        log.warning("template %r failed: %s", clip(template, 200), exc)
        return clip(f"{template} [template error: {exc}]")


def _threshold(rule: Rule, profile: Profile) -> float | list[float] | None:
    try:
        resolved = [_resolve(bound, profile) for bound in rule.bounds]
    except _Skip:
        return None
    return resolved if len(resolved) == 2 else resolved[0]


def skipped(rule: Rule, reason: str, profile: Profile | None = None) -> Finding:
    """The ``info`` finding of a rule that could not judge this file."""
    return Finding(
        rule_id=rule.id,
        severity="info",
        title=rule.title,
        message=f"Skipped {rule.id}: {reason}.",
        suggestion="",
        feature=rule.feature,
        threshold=_threshold(rule, profile) if profile is not None else None,
        category=rule.category,
        skipped=True,
    )


def evaluate(rule: Rule, features: FeatureSet, profile: Profile) -> Finding | None:
    """Judge one feature of one file with one rule.

    Parameters
    ----------
    rule
        A loaded, valid rule (disabled rules give None).
    features
        The computed features; the rule reads ``features.get(rule.feature, rule.params)``, and a rule with
        ``events`` also its events feature (:func:`attached_events`).
    profile
        Supplies the values of target thresholds (``above: ceiling_dbtp``) and template fields.

    Returns
    -------
    Finding or None
        A finding with the rule's severity when the condition holds; None when it does not; an ``info``
        finding with ``skipped=True`` when the feature is unavailable or not a value the condition can
        judge. A firing rule with ``events`` lists its events feature's events and, when there are any,
        adds its ``events_message`` (which may use the event fields) to the message.
    """
    if not rule.enabled:
        return None
    reason = features.reason(rule.feature, rule.params)
    if reason is not None:
        return skipped(rule, reason, profile)
    try:
        fires, fields = _judge(rule, features.get(rule.feature, rule.params), profile)
    except _Skip as exc:
        return skipped(rule, str(exc), profile)
    if not fires:
        return None
    events = fields.pop("events", [])
    events_feature = rule.feature if events else None
    fields = {**profile.targets, **fields, "unit": unit_of(rule.feature), "feature": rule.feature}
    fields["profile"] = profile.name
    threshold = [fields["low"], fields["high"]] if "low" in fields else fields["threshold"]
    message = _fill(rule.message, fields)
    if rule.events is not None:
        events_feature = rule.events
        events = attached_events(rule, features, profile)
        if events and rule.events_message is not None:
            message = clip(message + " " + _fill(rule.events_message, {**fields, **_event_fields(events)}))
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        title=rule.title,
        message=message,
        suggestion=_fill(rule.suggestion, fields),
        feature=rule.feature,
        value=fields["value"],
        threshold=threshold,
        events=events,
        events_feature=events_feature,
        category=rule.category,
    )


def _order(finding: Finding) -> tuple[int, bool, float, str]:
    start = finding.events[0].start_s if finding.events else -math.inf
    return (-SEVERITY_RANK[finding.severity], finding.skipped, start, finding.rule_id)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; skips after real findings of the same severity; then by time (global first)."""
    return sorted(findings, key=_order)


def evaluate_all(rules: Iterable[Rule], features: FeatureSet, profile: Profile) -> list[Finding]:
    """Every rule's finding (passes give none), sorted by :func:`sort_findings`.

    A rule that fails unexpectedly gives an ``info`` skip naming the error instead of stopping the others.
    """
    findings: list[Finding] = []
    for rule in rules:
        try:
            finding = evaluate(rule, features, profile)
        except Exception as exc:  # never let one rule stop the report
            log.exception("rule %s failed", rule.id)
            finding = skipped(rule, f"internal error while evaluating ({exc.__class__.__name__}: {exc})")
        if finding is not None:
            findings.append(finding)
    return sort_findings(findings)
