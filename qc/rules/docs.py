"""Rule documentation as plain text, generated from the rule data: ``mixqc rules list`` and ``rules show ID``.

Nothing here is written by hand per rule: the words come from the pack (title, why, source, suggestion)
and the numbers from the profiles. This module returns text; ``cli.py`` prints it.
"""

from __future__ import annotations

import string
import textwrap
from collections.abc import Mapping

from pydantic import BaseModel

from .model import RANGE_CONDITIONS, Profile, Rule, RuleSet, unit_of

WIDTH = 88
_INDENT = "  "


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent=_INDENT, subsequent_indent=_INDENT)


def template_outline(template: str) -> str:
    """A template with its fields shown as ``<name>``.

    >>> template_outline("Lower the ceiling to {threshold:.1f} dBTP.")
    'Lower the ceiling to <threshold> dBTP.'
    """
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(f"<{name}>")
    return "".join(parts)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _bound_text(bound: float | str, unit: str) -> str:
    number = bound if isinstance(bound, str) else f"{bound:g}"
    return f"{number} {unit}".rstrip() if isinstance(bound, float) else number


def condition_text(rule: Rule) -> str:
    """The condition in words, e.g. ``true_peak_dbtp is above ceiling_dbtp`` or ``above -1 dBTP``."""
    unit = unit_of(rule.feature)
    bounds = [_bound_text(bound, unit) for bound in rule.bounds]
    if rule.condition == "count_above":
        count = rule.count_above or 0
        return f"{rule.feature} has {'any events' if count == 0 else f'more than {count} events'}"
    if rule.condition in RANGE_CONDITIONS:
        word = "between" if rule.condition == "between" else "outside"
        return f"{rule.feature} is {word} [{bounds[0]}, {bounds[1]}]"
    return f"{rule.feature} is {rule.condition} {bounds[0]}"


def _resolved(rule: Rule, profile: Profile) -> str:
    unit = unit_of(rule.feature)
    if rule.condition == "count_above":
        return "any events" if rule.count_above == 0 else f"more than {rule.count_above} events"
    values = [profile.targets[b] if isinstance(b, str) else b for b in rule.bounds]
    numbers = " to ".join(f"{value:g}" for value in values)
    word = {"above": "above", "below": "below", "between": "within", "outside": "outside"}[rule.condition]
    text = f"{word} {numbers} {unit}".rstrip()
    params = rule.resolved_events_params(profile)
    if rule.events is not None and params:
        text += f"; {rule.events} with " + ", ".join(f"{k} {_value_text(v)}" for k, v in params.items())
    return text


def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def events_text(rule: Rule) -> str:
    """Where a rule on a single value looks for events, in words ("" without ``events``).

    >>> rule = Rule(id="x", title="X", category="peaks", feature="true_peak_dbtp", above=-1.0,
    ...             severity="error", message="m", suggestion="s", why="w", source="s",
    ...             events="true_peak_events", events_params={"ceiling_dbtp": "threshold"})
    >>> events_text(rule)
    'Where: the finding lists the events of true_peak_events (ceiling_dbtp = the threshold).'
    """
    if rule.events is None:
        return ""
    params = ", ".join(
        f"{name} = {'the ' + value if value in ('threshold', 'low', 'high') else _value_text(value)}"
        for name, value in rule.events_params.items()
    )
    text = f"Where: the finding lists the events of {rule.events}" + (f" ({params})" if params else "") + "."
    if rule.events_message:
        text += " When there are any, the message adds: " + template_outline(rule.events_message)
    return text


def _options(rule: Rule, params_model: type[BaseModel] | None) -> list[str]:
    lines = []
    if params_model is not None and params_model.model_fields:
        lines.append(f"{_INDENT}params (passed to {rule.feature}):")
        for name, info in params_model.model_fields.items():
            value = rule.params.get(name, info.default)
            note = "" if name not in rule.params else f" (default {info.default!r})"
            described = f" — {info.description}" if info.description else ""
            text = f"{name}: {value!r}{note}{described}"
            lines.append(
                textwrap.fill(text, WIDTH, initial_indent=_INDENT * 2, subsequent_indent=_INDENT * 4)
            )
    elif rule.params:
        lines.append(f"{_INDENT}params: " + ", ".join(f"{k}={v!r}" for k, v in rule.params.items()))
    else:
        lines.append(f"{_INDENT}params: none")
    lines.append(f"{_INDENT}override in a pack (--rules FILE, extends: default):")
    other = "warning" if rule.severity != "warning" else "error"
    lines.append(f"{_INDENT}  {{id: {rule.id}, severity: {other}}}   {{id: {rule.id}, enabled: false}}")
    return lines


def _params_model(feature: str) -> type[BaseModel] | None:
    """The feature's params model from the registry, or None if it cannot be looked up."""
    try:
        from ..features.registry import extractor_for

        return extractor_for(feature).Params
    except (ImportError, KeyError):
        return None


def rule_show_text(
    rule: Rule,
    profiles: Mapping[str, Profile],
    *,
    params_model: type[BaseModel] | None = None,
    origin: tuple[str, ...] = ("default",),
) -> str:
    """The text of ``mixqc rules show ID``: What it checks / Why / How to fix / Source / Options / Profiles.

    ``params_model`` is the feature's params model, to list parameters with their defaults (default: looked
    up in the feature registry); ``origin`` the packs that defined or changed the rule (``RuleSet.origin``).
    """
    if params_model is None:
        params_model = _params_model(rule.feature)
    state = "" if rule.enabled else "  [disabled]"
    lines = [
        f"{rule.id}: {rule.title}{state}",
        f"{_INDENT}severity {rule.severity} · category {rule.category} · feature {rule.feature}"
        f" · pack {' + '.join(origin)}",
        "",
        "What it checks",
        _wrap(f"Reports {_article(rule.severity)} {rule.severity} when {condition_text(rule)}."),
        _wrap("Message: " + template_outline(rule.message)),
        *([_wrap(events_text(rule))] if rule.events is not None else []),
        "",
        "Why",
        _wrap(rule.why),
        "",
        "How to fix",
        _wrap(template_outline(rule.suggestion)),
        "",
        "Source",
        _wrap(rule.source),
        "",
        "Options",
        *_options(rule, params_model),
        "",
        "Profiles",
    ]
    for name, profile in profiles.items():
        if rule.applies_to(name) or (not rule.enabled and (rule.profiles is None or name in rule.profiles)):
            lines.append(f"{_INDENT}{name:<16} {_resolved(rule, profile)}")
    skipped = [name for name in profiles if rule.profiles is not None and name not in rule.profiles]
    if skipped:
        lines.append(f"{_INDENT}not checked in: {', '.join(skipped)}")
    return "\n".join(lines) + "\n"


def rule_list_text(ruleset: RuleSet, profile: str | None = None) -> str:
    """The text of ``mixqc rules list``: one line per rule (only those active in ``profile`` if given)."""
    rules = ruleset.active(profile) if profile is not None else list(ruleset)
    rows = [("ID", "SEVERITY", "CATEGORY", "TITLE")]
    for rule in rules:
        title = rule.title if rule.enabled else f"{rule.title} [disabled]"
        rows.append((rule.id, rule.severity, rule.category, title))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows]
    scope = f" active in profile {profile}" if profile is not None else ""
    lines.append("")
    lines.append(
        f"{len(rules)} rules{scope} (packs: {', '.join(ruleset.packs)}). `mixqc rules show ID` explains one."
    )
    return "\n".join(lines) + "\n"


def profile_list_text(profiles: Mapping[str, Profile]) -> str:
    """The text of ``mixqc profiles``: each profile's description and targets."""
    lines = []
    for name, profile in profiles.items():
        parent = f" (extends {profile.extends})" if profile.extends else ""
        lines.append(f"{name}{parent}")
        lines.append(_wrap(profile.description))
        targets = ", ".join(f"{key} {value:g}" for key, value in profile.targets.items())
        lines.append(_wrap(f"targets: {targets}" if targets else "targets: none"))
        lines.append("")
    return "\n".join(lines)
