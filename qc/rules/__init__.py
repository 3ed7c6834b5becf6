"""Rules as data: load rule packs and profiles from YAML, judge features with them, document them.

The small API the CLI and ``qc.check`` use::

    rules = load_rules(extra_packs)              # default pack + user packs -> RuleSet
    profile = rules.profile("streaming")         # or get_profile(name); ProfileError lists known names
    requests = rules.feature_requests(profile.name)
    findings = evaluate_all(rules.active(profile.name), features, profile)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ProfileError
from .docs import profile_list_text, rule_list_text, rule_show_text
from .evaluate import evaluate, evaluate_all, events_summary, sort_findings
from .loader import build_ruleset, load_profiles, load_rules, registry_catalog, validate_pack
from .model import Profile, Rule, RuleSet, UnknownRuleError


def get_profile(
    name: str, extra_packs: Sequence[Path | str] = (), *, profiles: Mapping[str, Profile] | None = None
) -> Profile:
    """The profile called ``name``: built-in, or added or adjusted by ``extra_packs``.

    Parameters
    ----------
    name
        Profile name, e.g. ``"streaming"``.
    extra_packs
        User rule packs whose ``profiles:`` apply (ignored when ``profiles`` is given).
    profiles
        Already loaded profiles to pick from (e.g. ``RuleSet.profiles``).

    Raises
    ------
    ProfileError
        Unknown name; the message lists the known profiles.
    RulePackError
        A pack or the profiles file is malformed.
    """
    known = load_profiles(extra_packs) if profiles is None else profiles
    if name not in known:
        hint = difflib.get_close_matches(name, list(known), n=1)
        maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ProfileError(f"unknown profile {name!r}{maybe}; known profiles: {', '.join(sorted(known))}")
    return known[name]


__all__ = [
    "Profile",
    "Rule",
    "RuleSet",
    "UnknownRuleError",
    "build_ruleset",
    "evaluate",
    "evaluate_all",
    "events_summary",
    "get_profile",
    "load_profiles",
    "load_rules",
    "profile_list_text",
    "registry_catalog",
    "rule_list_text",
    "rule_show_text",
    "sort_findings",
    "validate_pack",
]
