"""What a rule says about a mix: a :class:`Finding` with severity, message, suggestion and events.

Shared by the rule engine (which produces findings) and the report (which carries them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .features.registry import Event

Severity = Literal["info", "warning", "error"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
Verdict = Literal["pass", "warn", "fail"]


class Finding(BaseModel):
    """One rule's judgement of one file.

    ``value`` is the measured value in the feature's unit (for event features: the number of events);
    ``threshold`` the number it was compared with (a ``[low, high]`` pair for range conditions).
    ``events`` says where: the events of ``feature`` itself (an event feature), or of ``events_feature``
    for a rule on a single value (e.g. ``true_peak_events`` over the ceiling for ``true_peak_dbtp``);
    each event's ``value`` is in ``events_feature``'s unit. ``skipped`` is true for the info finding a
    rule gives when its feature could not be computed.
    """

    model_config = ConfigDict(ser_json_inf_nan="null")

    rule_id: str
    severity: Severity
    title: str
    message: str
    suggestion: str = ""
    feature: str
    value: float | None = None
    threshold: float | list[float] | None = None
    events: list[Event] = Field(default_factory=list)
    events_feature: str | None = None
    category: str = ""
    skipped: bool = False


def verdict_of(findings: list[Finding]) -> Verdict:
    """``fail`` with any error, ``warn`` with any warning, else ``pass`` (skips never count)."""
    worst = max((SEVERITY_RANK[f.severity] for f in findings if not f.skipped), default=0)
    return {2: "fail", 1: "warn"}.get(worst, "pass")  # type: ignore[return-value]


def at_or_above(severity: str, floor: str) -> bool:
    """True if ``severity`` is at least as severe as ``floor``."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]
