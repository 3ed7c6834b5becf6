"""The rule and profile models: what a rule pack may say, checked with pydantic (``extra="forbid"``).

A :class:`Rule` compares one feature with one condition (``above``, ``below``, ``between``, ``outside`` or
``count_above``); a threshold is a number or the name of a :class:`Profile` target. A rule on a single
value may name an event feature (``events``) whose events say *where* the value goes wrong. This module
checks the shape of one rule on its own; checks that need the feature registry or the profiles live in
``loader.py``. It knows nothing of YAML, files or audio.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..analysis import FeatureRequest
from ..errors import ProfileError, QCError
from ..findings import Severity
from ..text import MAX_RENDERED_CHARS, bounded_format, format_spec_problem
from ..units import format_mmss

KEBAB_CASE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")

Category = Literal[
    "loudness", "peaks", "glitches", "tonal", "dynamics", "stereo", "format", "codec", "metadata"
]
CONDITIONS: tuple[str, ...] = ("above", "below", "between", "outside", "count_above")
RANGE_CONDITIONS: tuple[str, ...] = ("between", "outside")

# Targets a profile never sets itself: derived as target_lufs ∓ loudness_tolerance_lu.
DERIVED_TARGETS: tuple[str, ...] = ("loudness_min_lufs", "loudness_max_lufs")

# Template fields by condition (profile targets are added by name). See ``template_fields``.
COMMON_FIELDS: frozenset[str] = frozenset({"value", "unit", "feature", "profile"})
# Fields that describe a list of events: a count_above rule's own, or those a rule's ``events`` attaches.
EVENT_FIELDS: frozenset[str] = frozenset({"count", "first_event", "events_summary", "longest_ms", "channel"})
CONDITION_FIELDS: dict[str, frozenset[str]] = {
    "above": frozenset({"threshold", "excess", "side", "correction"}),
    "below": frozenset({"threshold", "excess", "side", "correction"}),
    "between": frozenset({"low", "high"}),
    "outside": frozenset({"low", "high", "excess", "side", "correction"}),
    "count_above": frozenset({"threshold", "excess"}) | EVENT_FIELDS,
}
RESERVED_FIELDS: frozenset[str] = COMMON_FIELDS.union({"target"}, *CONDITION_FIELDS.values())
# Names an ``events_params`` value may use for the rule's resolved threshold(s), by condition.
BOUND_NAMES: dict[str, tuple[str, ...]] = {
    "above": ("threshold",),
    "below": ("threshold",),
    "between": ("low", "high"),
    "outside": ("low", "high"),
    "count_above": (),
}

# Unit of a feature, from the suffix of its name (longest suffix first).
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_events", "events"),
    ("_lufs", "LUFS"),
    ("_dbtp", "dBTP"),
    ("_dbfs", "dBFS"),
    ("_db", "dB"),
    ("_lu", "LU"),
    ("_hz", "Hz"),
    ("_ms", "ms"),
    ("_percent", "%"),
    ("_s", "s"),
)


def unit_of(feature: str) -> str:
    """The unit of a feature, read from its name (``true_peak_dbtp`` → ``dBTP``; unknown → "")."""
    for suffix, unit in _UNIT_SUFFIXES:
        if feature.endswith(suffix):
            return unit
    return ""


def _bound(value: Any) -> Any:
    """A threshold is a number or a profile target name; anything else is rejected with what was given."""
    if value is None or (isinstance(value, str) and SNAKE_CASE.match(value)):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number or a profile target, got {value!r}")
    return float(value)


def _range(value: Any) -> Any:
    """``[low, high]``, each a number or a profile target name."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"expected [low, high], got {value!r}")
    try:
        return (_bound(value[0]), _bound(value[1]))
    except ValueError as exc:
        raise ValueError(f"expected [low, high] as numbers or profile targets, got {list(value)!r}") from exc


def _count(value: Any) -> Any:
    """A non-negative whole number of events."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number of events (0 or more), got {value!r}")
    return value


Bound = Annotated[float | str | None, BeforeValidator(_bound)]
Range = Annotated[tuple[float | str, float | str] | None, BeforeValidator(_range)]
Count = Annotated[int | None, BeforeValidator(_count)]


class Rule(BaseModel):
    """One check: a feature, a condition, a severity and the words a user sees.

    ``above``/``below`` fire when the value is strictly beyond the threshold; ``between`` fires when
    ``low <= value <= high``; ``outside`` when the value is below ``low`` or above ``high``;
    ``count_above`` (event features) when there are more than N events. ``profiles`` = None means every
    profile.

    A rule on a single value may say where it goes wrong: ``events`` names an event feature whose events
    the finding lists, computed with ``events_params`` (see :meth:`events_request`; ``{ceiling_dbtp:
    threshold}`` makes them the overs of the rule's own threshold), and ``events_message`` is added to the
    message when there are any (it may use the event fields, :func:`events_message_fields`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str = Field(min_length=1)
    category: Category
    feature: str = Field(min_length=1)
    above: Bound = None
    below: Bound = None
    between: Range = None
    outside: Range = None
    count_above: Count = None
    severity: Severity
    message: str = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    why: str = Field(min_length=1)
    source: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    events: str | None = Field(None, min_length=1)
    events_params: dict[str, Any] = Field(default_factory=dict)
    events_message: str | None = Field(None, min_length=1)
    profiles: list[str] | None = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _kebab_id(cls, value: str) -> str:
        if not KEBAB_CASE.match(value):
            raise ValueError(f"rule ids are kebab-case (lower-case words joined by '-'), got {value!r}")
        return value

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                "an empty list would switch the rule off; use 'enabled: false' or omit 'profiles'"
            )
        return value

    @field_validator("between", "outside")
    @classmethod
    def _ordered(
        cls, value: tuple[float | str, float | str] | None
    ) -> tuple[float | str, float | str] | None:
        if (
            value is not None
            and isinstance(value[0], float)
            and isinstance(value[1], float)
            and value[0] > value[1]
        ):
            raise ValueError(f"low must not exceed high, got [{value[0]}, {value[1]}]")
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        given = [name for name in CONDITIONS if getattr(self, name) is not None]
        if len(given) != 1:
            what = "none" if not given else ", ".join(given)
            raise ValueError(f"a rule needs exactly one condition of {', '.join(CONDITIONS)}; got {what}")
        return self

    @model_validator(mode="after")
    def _events_keys(self) -> Rule:
        if self.events is None:
            given = [key for key in ("events_params", "events_message") if getattr(self, key)]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} need 'events' (the event feature whose events to list)"
                )
        elif self.condition == "count_above":
            raise ValueError(
                "a count_above rule already lists its own feature's events; 'events' is for rules that judge"
                " a single value"
            )
        return self

    @property
    def condition(self) -> str:
        """The condition's name: above, below, between, outside or count_above."""
        return next(name for name in CONDITIONS if getattr(self, name) is not None)

    @property
    def bounds(self) -> tuple[float | str, ...]:
        """The condition's threshold(s) as written: one for above/below/count_above, two for ranges."""
        raw = getattr(self, self.condition)
        return tuple(raw) if self.condition in RANGE_CONDITIONS else (raw,)

    def target_names(self) -> list[str]:
        """The profile targets the condition refers to."""
        return [bound for bound in self.bounds if isinstance(bound, str)]

    def applies_to(self, profile_name: str) -> bool:
        """True if the rule is enabled and applies to ``profile_name``."""
        return self.enabled and (self.profiles is None or profile_name in self.profiles)

    def feature_request(self) -> FeatureRequest:
        """The feature and parameters this rule needs computed."""
        return FeatureRequest(self.feature, dict(self.params))

    def bound_values(self, profile: Profile) -> dict[str, float] | None:
        """The condition's resolved bounds by name (``threshold``, or ``low`` and ``high``) for ``profile``.

        None if the profile lacks a target the condition names (count_above rules have none: ``{}``).
        """
        names = BOUND_NAMES[self.condition]
        values = [
            bound if not isinstance(bound, str) else profile.targets.get(bound) for bound in self.bounds
        ]
        if any(value is None for value in values):
            return None
        return dict(zip(names, cast("list[float]", values), strict=False))

    def resolved_events_params(self, profile: Profile) -> dict[str, Any] | None:
        """``events_params`` with names resolved for ``profile`` (None if a name cannot be resolved).

        A string value that names a bound of the condition (``threshold``; ``low``/``high``) becomes that
        bound's value, one that names a target of ``profile`` becomes the target's value; anything else is
        passed as written.
        """
        bounds = self.bound_values(profile)
        if bounds is None:
            return None
        resolved: dict[str, Any] = {}
        for name, given in self.events_params.items():
            if isinstance(given, str) and given in bounds:
                resolved[name] = bounds[given]
            elif isinstance(given, str) and given in profile.targets:
                resolved[name] = profile.targets[given]
            else:
                resolved[name] = given
        return resolved

    def events_request(self, profile: Profile) -> FeatureRequest | None:
        """The event feature and parameters whose events this rule's finding lists (None without ``events``).

        The parameters are the rule's own ``params`` when one extractor provides both features (so the
        events come from the same measurement, e.g. the same codec round trip), updated with
        :meth:`resolved_events_params`. A resolved value equal to the extractor's default is left out,
        so the events share the computation that other rules and the report ask for with the defaults.
        None also when the profile lacks a target the parameters need.
        """
        if self.events is None:
            return None
        resolved = self.resolved_events_params(profile)
        if resolved is None:
            return None
        owner, defaults = _extractor_defaults(self.events)
        same = owner is not None and owner is _extractor_defaults(self.feature)[0]
        params = dict(self.params) if same else {}
        for name, value in resolved.items():
            if name not in params and name in defaults and defaults[name] == value:
                continue
            params[name] = value
        return FeatureRequest(self.events, params)


def _extractor_defaults(feature: str) -> tuple[type | None, dict[str, Any]]:
    """The registered extractor class of ``feature`` and its parameter defaults ((None, {}) if unknown)."""
    from ..features.registry import extractor_for

    try:
        owner = extractor_for(feature)
    except KeyError:
        return None, {}
    return owner, {name: info.default for name, info in owner.Params.model_fields.items()}


def template_fields(rule: Rule) -> frozenset[str]:
    """Template fields a rule's ``message`` and ``suggestion`` may use, besides profile targets.

    ``value`` (the measured value; for event features the count), ``unit``, ``feature``, ``profile``;
    ``threshold`` (above/below/count_above) or ``low``/``high`` (ranges); ``target`` when the threshold
    is a profile target; ``excess`` (how far beyond the threshold, positive); ``side`` ("above" or
    "below" the threshold or range); ``correction`` (signed change that brings the value to the threshold,
    or to the centre of an ``outside`` range); for ``count_above``: ``count``, ``first_event`` (m:ss.mmm),
    ``events_summary``, ``longest_ms`` and ``channel`` (of the longest event: "left", "right", "both").
    """
    fields = COMMON_FIELDS | CONDITION_FIELDS[rule.condition]
    if rule.condition in ("above", "below") and rule.target_names():
        fields = fields | {"target"}
    return fields


def events_message_fields(rule: Rule) -> frozenset[str]:
    """Fields ``events_message`` may use: :func:`template_fields` plus :data:`EVENT_FIELDS`.

    ``events_message`` is added to the message only when the ``events`` feature lists at least one event
    (a value can be over its threshold with no event found, e.g. a decoded true peak over 0 dBTP with no
    decoded sample at full scale), so only there are ``count``, ``first_event`` etc. always defined.
    """
    return template_fields(rule) | EVENT_FIELDS


# The rule keys that are templates, and the fields each may use.
TEMPLATE_KEYS: dict[str, Callable[[Rule], frozenset[str]]] = {
    "message": template_fields,
    "suggestion": template_fields,
    "events_message": events_message_fields,
}


def template_names(template: str) -> Iterator[str]:
    """The field names a ``str.format`` template uses; ValueError for a malformed template."""
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise ValueError(
                "positional fields ('{}' or '{0}') are not allowed; name the field, e.g. {value}"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"field {{{name}}}: use a plain name (no attributes or indexes)")
        problem = format_spec_problem(spec or "")
        if problem is not None:
            raise ValueError(f"field {{{name}}}: {problem}")
        yield name


def _target_name(name: str) -> str:
    if not SNAKE_CASE.match(name):
        raise ValueError(f"target names are snake_case with the unit last (e.g. ceiling_dbtp), got {name!r}")
    if name in RESERVED_FIELDS:
        raise ValueError(f"{name!r} is a template field and cannot be a target name")
    return name


TargetName = Annotated[str, AfterValidator(_target_name)]


def sample_fields(rule: Rule, profile: Profile) -> dict[str, Any]:
    """Representative values of every template field (and the profile's targets), to try a template."""
    count = rule.condition == "count_above"
    return {
        **profile.targets,
        "value": 1 if count else -1.0,
        "unit": unit_of(rule.feature),
        "feature": rule.feature,
        "profile": profile.name,
        "threshold": 0 if count else -2.0,
        "low": -3.0,
        "high": -2.0,
        "target": -2.0,
        "excess": 1 if count else 1.0,
        "side": "above",
        "correction": -1.0,
        "count": 1,
        "first_event": format_mmss(1.0),
        "events_summary": f"at {format_mmss(1.0)} (L)",
        "longest_ms": 1.0,
        "channel": "left",
    }


def try_template(rule: Rule, template: str, profiles: Sequence[Profile]) -> None:
    """Format ``template`` with sample fields for each profile; ValueError on a bad format spec, or when
    the text is longer than :data:`~qc.text.MAX_RENDERED_CHARS` (it would be cut in every report)."""
    for profile in profiles:
        try:
            text = bounded_format(template, sample_fields(rule, profile), limit=MAX_RENDERED_CHARS + 1)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ValueError(str(exc)) from None
        if len(text) > MAX_RENDERED_CHARS:
            raise ValueError(f"the text is longer than {MAX_RENDERED_CHARS:,} characters; shorten it")


def rule_range(rule: Rule, profile: Profile) -> tuple[float, float] | None:
    """``(low, high)`` of a range rule, targets resolved (None for other conditions or missing targets)."""
    if rule.condition not in RANGE_CONDITIONS:
        return None
    values = [bound if isinstance(bound, float) else profile.targets.get(bound) for bound in rule.bounds]
    if values[0] is None or values[1] is None:
        return None
    return values[0], values[1]


class Profile(BaseModel):
    """A delivery target: numbers (``targets``) that rules compare with, e.g. ``ceiling_dbtp``.

    ``targets`` holds the resolved values: inherited from ``extends``, the profile's own, and the derived
    ``loudness_min_lufs``/``loudness_max_lufs`` (= ``target_lufs`` ∓ ``loudness_tolerance_lu``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1)
    extends: str | None = None
    targets: dict[TargetName, float] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _kebab_name(cls, value: str) -> str:
        if not KEBAB_CASE.match(value):
            raise ValueError(f"profile names are kebab-case, got {value!r}")
        return value

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not SNAKE_CASE.match(name):
                raise ValueError(
                    f"target names are snake_case with the unit last (e.g. ceiling_dbtp), got {name!r}"
                )
            if name in RESERVED_FIELDS:
                raise ValueError(f"{name!r} is a template field and cannot be a target name")
        return value


def derive_targets(targets: Mapping[str, float]) -> dict[str, float]:
    """Add ``loudness_min_lufs``/``loudness_max_lufs`` when ``target_lufs`` and a tolerance are given."""
    out = dict(targets)
    if "target_lufs" in out and "loudness_tolerance_lu" in out:
        out["loudness_min_lufs"] = out["target_lufs"] - abs(out["loudness_tolerance_lu"])
        out["loudness_max_lufs"] = out["target_lufs"] + abs(out["loudness_tolerance_lu"])
    return out


class UnknownRuleError(QCError, KeyError):
    """A rule id that no loaded pack defines (a KeyError, and a QCError so the CLI exits 2)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class RuleSet:
    """The rules of the default pack plus any user packs (in order), and the profiles they may use.

    ``origin`` maps a rule id to the packs that defined or changed it (for ``rules show``).
    """

    rules: tuple[Rule, ...]
    profiles: Mapping[str, Profile]
    packs: tuple[str, ...] = ("default",)
    origin: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def ids(self) -> list[str]:
        """Every rule id, in pack order."""
        return [rule.id for rule in self.rules]

    def get(self, rule_id: str) -> Rule:
        """The rule called ``rule_id``; UnknownRuleError (a KeyError) listing the known ids if none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        close = difflib.get_close_matches(rule_id, self.ids(), n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownRuleError(f"unknown rule id {rule_id!r}{maybe}; known rules: {', '.join(self.ids())}")

    def profile(self, name: str) -> Profile:
        """The profile called ``name``; ProfileError listing the known names if there is none."""
        if name not in self.profiles:
            close = difflib.get_close_matches(name, list(self.profiles), n=1)
            maybe = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(self.profiles))
            raise ProfileError(f"unknown profile {name!r}{maybe}; known profiles: {known}")
        return self.profiles[name]

    def active(self, profile_name: str) -> list[Rule]:
        """The enabled rules that apply to ``profile_name`` (ProfileError if the profile is unknown)."""
        self.profile(profile_name)
        return [rule for rule in self.rules if rule.applies_to(profile_name)]

    def feature_requests(self, profile_name: str) -> list[FeatureRequest]:
        """The distinct features (with params) the active rules of ``profile_name`` need.

        First each rule's own feature, then the event features that rules with ``events`` list.
        """
        profile = self.profile(profile_name)
        active = self.active(profile_name)
        wanted = [rule.feature_request() for rule in active]
        wanted += [request for rule in active if (request := rule.events_request(profile)) is not None]
        requests: dict[tuple[str, str], FeatureRequest] = {}
        for request in wanted:
            requests.setdefault(request.key, request)
        return list(requests.values())
