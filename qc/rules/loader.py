"""Read rule packs and profiles from YAML into checked models; every error names ``file:line:column``.

The default pack (``rules/default.yaml``) and ``rules/profiles.yaml`` are always read; user packs
(``--rules FILE``) then apply in order. A user pack entry whose ``id`` already exists overrides only the
keys it gives (a condition key replaces the rule's condition); a new ``id`` must be a complete rule. A
user pack may also add or adjust profiles under ``profiles:``. An ``events`` key replaces the rule's
``events_params`` and ``events_message`` too. This module reads files; it never evaluates rules or prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import safeyaml
from ..errors import RulePackError
from ..resources import rules_dir
from .model import (
    BOUND_NAMES,
    CONDITIONS,
    DERIVED_TARGETS,
    EVENT_FIELDS,
    KEBAB_CASE,
    RANGE_CONDITIONS,
    TEMPLATE_KEYS,
    Profile,
    Rule,
    RuleSet,
    derive_targets,
    rule_range,
    template_names,
    try_template,
    unit_of,
)

Loc = tuple[str | int, ...]
# Feature name -> the pydantic model of its extractor's params (the registry in normal use).
FeatureCatalog = Mapping[str, type[BaseModel]]

REQUIRED_RULE_KEYS: tuple[str, ...] = tuple(
    name for name, info in Rule.model_fields.items() if info.is_required()
)


def registry_catalog() -> dict[str, type[BaseModel]]:
    """Every public feature name with its extractor's ``Params`` model, from the feature registry."""
    from ..features.registry import extractor_for, feature_names

    return {name: extractor_for(name).Params for name in feature_names()}


# ---------------------------------------------------------------- YAML with positions


@dataclass
class Source:
    """One parsed YAML file: its data and the node tree that says where each value was written."""

    path: str
    data: Any
    node: yaml.Node | None

    def mark(self, loc: Loc) -> tuple[int | None, int | None]:
        """1-based line and column of ``loc`` (a key's own position), or of the nearest enclosing node."""
        node = _locate(self.node, loc)
        if node is None:
            return None, None
        return node.start_mark.line + 1, node.start_mark.column + 1

    def error(self, loc: Loc, message: str, *, at: Loc | None = None) -> RulePackError:
        """A RulePackError about the value at ``loc``, positioned at ``at`` (default: ``loc``)."""
        line, column = self.mark(loc if at is None else at)
        return RulePackError(self.path, message, line=line, column=column, key=key_path(loc))


def key_path(loc: Loc) -> str:
    """``("rules", 2, "above")`` → ``rules[2].above``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _locate(node: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    found = node
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            pair = next(
                (p for p in node.value if isinstance(p[0], yaml.ScalarNode) and p[0].value == str(part)), None
            )
            if pair is None:
                break
            found, node = (pair[0] if last else pair[1]), pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node = node.value[part]
        else:
            break
    return found


def _duplicate_key(node: yaml.Node | None) -> yaml.Node | None:
    """The second occurrence of a repeated mapping key anywhere in the tree (YAML would keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    return key
                seen.add(key.value)
            found = _duplicate_key(value)
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_key(item)
            if found is not None:
                return found
    return None


def read_yaml(path: Path | str) -> Source:
    """Parse a YAML file, keeping the node tree; RulePackError for unreadable files and syntax errors."""
    name = str(path)
    try:
        text = safeyaml.read_text(path)
    except OSError as exc:
        raise RulePackError(name, f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise RulePackError(name, f"cannot read the file (not UTF-8 text: {exc.reason})") from None
    try:
        node = safeyaml.compose(text)
        data = safeyaml.construct(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise RulePackError(
            name,
            problem if isinstance(exc, safeyaml.RefusedYAML) else f"YAML syntax error: {problem}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise RulePackError(name, f"YAML error: {exc}") from exc
    duplicate = _duplicate_key(node)
    if duplicate is not None:
        raise RulePackError(
            name,
            f"duplicate key {duplicate.value!r} (YAML would silently keep only the last one)",
            line=duplicate.start_mark.line + 1,
            column=duplicate.start_mark.column + 1,
        )
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise RulePackError(
            name, f"expected a mapping with keys such as 'pack' and 'rules', got {got}", line=1
        )
    return Source(name, data, node)


# ---------------------------------------------------------------- pydantic errors → located messages


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _explain(error: Mapping[str, Any], allowed: Sequence[str]) -> tuple[Loc, str]:
    """The location and plain-language message of one pydantic error."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return loc[:-1], f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        hint = _did_you_mean(str(loc[-1]), allowed)
        return loc, f"unknown key {loc[-1]!r}{hint} (allowed keys: {', '.join(allowed)})"
    message = str(error["msg"])
    if kind == "value_error":
        return loc, message.removeprefix("Value error, ")
    message = message.replace("Input should be", "expected", 1)
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f", got {error['input']!r}"
    return loc, message


def _validate(model: type[BaseModel], data: Any, raise_at: Callable[[Loc, str], RulePackError]) -> Any:
    """``model.model_validate(data)``, turning the first error into a located RulePackError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = _explain(exc.errors()[0], list(model.model_fields))
        raise raise_at(loc, message) from None


# ---------------------------------------------------------------- files


class PackFile(BaseModel):
    """The top level of a rule pack file."""

    model_config = ConfigDict(extra="forbid")

    pack: str
    version: str | None = None
    description: str | None = None
    extends: Literal["default"] | None = None
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("pack")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not KEBAB_CASE.match(value):
            raise ValueError(f"pack names are kebab-case, got {value!r}")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class ProfilesFile(BaseModel):
    """The top level of ``profiles.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    profiles: dict[str, dict[str, Any]]


@dataclass
class _ProfileSpec:
    """A profile as written (before ``extends`` is resolved), with where it was written."""

    description: str
    extends: str | None
    targets: dict[str, float]
    source: Source
    loc: Loc
    builtin: bool  # first defined in the built-in profiles file


@dataclass
class _Pack:
    source: Source
    model: PackFile
    is_base: bool


@dataclass
class _Entry:
    """One rule entry of a pack; its errors are located in its file (an inherited key: at the entry)."""

    source: Source
    loc: Loc
    data: dict[str, Any]

    def error(self, key: Loc, message: str) -> RulePackError:
        loc = (*self.loc, *key)
        return self.source.error(loc, message, at=loc if key and key[0] in self.data else self.loc)


@dataclass
class _Builder:
    """Accumulates profiles and rules pack by pack."""

    catalog: FeatureCatalog
    specs: dict[str, _ProfileSpec] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    raw_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    origin: dict[str, tuple[str, ...]] = field(default_factory=dict)

    # ------------------------------------------------------------ profiles

    def add_profiles(self, source: Source, raw: Mapping[str, Any], context: Loc, *, builtin: bool) -> None:
        for name, entry in raw.items():
            self._add_profile(source, (*context, name), name, entry, builtin)

    def _add_profile(self, source: Source, loc: Loc, name: str, entry: Any, builtin: bool) -> None:
        if not isinstance(entry, dict):
            raise source.error(loc, f"expected a mapping of description, extends and targets, got {entry!r}")
        entry = dict(entry)
        base = self.specs.get(name)
        description = entry.pop("description", base.description if base else None)
        extends = entry.pop("extends", base.extends if base else None)
        for derived in DERIVED_TARGETS:
            if derived in entry:
                raise source.error(
                    (*loc, derived),
                    f"{derived} is derived from target_lufs and loudness_tolerance_lu; set those instead",
                )
        data = {"name": name, "extends": extends, "targets": entry}
        if description is not None:
            data["description"] = description
        profile = _validate(Profile, data, lambda at, msg: _profile_error(source, loc, at, msg))
        own = {**(base.targets if base else {}), **profile.targets}
        builtin = base.builtin if base else builtin
        self.specs[name] = _ProfileSpec(profile.description, profile.extends, own, source, loc, builtin)

    def resolve_profiles(self) -> None:
        for name in self.specs:
            self.profiles[name] = self._resolve(name, ())

    def _resolve(self, name: str, chain: tuple[str, ...]) -> Profile:
        spec = self.specs[name]
        targets = dict(spec.targets)
        if spec.extends is not None:
            if spec.extends not in self.specs:
                raise spec.source.error(
                    (*spec.loc, "extends"),
                    f"unknown profile {spec.extends!r}{_did_you_mean(spec.extends, list(self.specs))}"
                    f" (known profiles: {', '.join(sorted(self.specs))})",
                )
            if spec.extends in (*chain, name):
                raise spec.source.error(
                    (*spec.loc, "extends"),
                    f"profiles extend each other in a loop: {' -> '.join((*chain, name, spec.extends))}",
                )
            parent = self._resolve(spec.extends, (*chain, name))
            targets = {**_own_targets(parent), **targets}
        return Profile(
            name=name, description=spec.description, extends=spec.extends, targets=derive_targets(targets)
        )

    # ------------------------------------------------------------ rules

    def add_rules(self, pack: _Pack) -> None:
        first_seen: dict[str, int] = {}
        for index, entry in enumerate(pack.model.rules):
            self._add_rule(pack, _Entry(pack.source, ("rules", index), entry), first_seen)

    def _add_rule(self, pack: _Pack, entry: _Entry, first_seen: dict[str, int]) -> None:
        rule_id = entry.data.get("id")
        if rule_id is None:
            raise entry.error((), "missing required key 'id'")
        if not isinstance(rule_id, str):
            raise entry.error(("id",), f"expected a kebab-case rule id, got {rule_id!r}")
        if rule_id in first_seen:
            line, _ = entry.source.mark(("rules", first_seen[rule_id]))
            raise entry.error(("id",), f"duplicate rule id {rule_id!r} in this pack (first at line {line})")
        first_seen[rule_id] = int(entry.loc[-1])
        merged = self._merge(entry, rule_id, pack.is_base)
        rule = _validate(Rule, merged, entry.error)
        self._check(rule, entry)
        self.raw_rules[rule_id] = merged
        self.rules[rule_id] = rule
        self.origin[rule_id] = (*self.origin.get(rule_id, ()), pack.model.pack)

    def _merge(self, entry: _Entry, rule_id: str, is_base: bool) -> dict[str, Any]:
        """The entry on top of the rule it overrides (a condition key replaces the old condition)."""
        given = entry.data
        if rule_id in self.raw_rules:
            base = dict(self.raw_rules[rule_id])
            if any(name in given for name in CONDITIONS):
                for name in CONDITIONS:
                    base.pop(name, None)
            if "events" in given:  # the old feature's params and message may not fit the new one
                base.pop("events_params", None)
                base.pop("events_message", None)
            return {**base, **given}
        missing = [key for key in REQUIRED_RULE_KEYS if key not in given]
        if not any(name in given for name in CONDITIONS):
            missing.append("a condition (" + " | ".join(CONDITIONS) + ")")
        if missing and not is_base:
            packs = ", ".join(dict.fromkeys(p for names in self.origin.values() for p in names)) or "none"
            raise entry.error(
                ("id",),
                f"unknown rule id {rule_id!r}{_did_you_mean(rule_id, list(self.rules))}: it is not in"
                f" the earlier pack(s) ({packs}), so this entry must be a complete new rule;"
                f" missing: {', '.join(missing)}",
            )
        return dict(given)

    def _check(self, rule: Rule, entry: _Entry) -> None:
        """Checks that need the feature registry or the profiles."""
        if rule.feature not in self.catalog:
            hint = _did_you_mean(rule.feature, list(self.catalog))
            known = ", ".join(self.catalog)
            raise entry.error(("feature",), f"unknown feature {rule.feature!r}{hint} (known: {known})")
        _validate(self.catalog[rule.feature], rule.params, lambda at, msg: entry.error(("params", *at), msg))
        for position, name in enumerate(rule.profiles or ()):
            if name not in self.profiles:
                hint = _did_you_mean(name, list(self.profiles))
                known = ", ".join(self.profiles)
                raise entry.error(("profiles", position), f"unknown profile {name!r}{hint} (known: {known})")
        applicable = [self.profiles[name] for name in (rule.profiles or self.profiles)]
        known_targets = sorted({name for p in self.profiles.values() for name in p.targets})
        for at, name, is_bound in _target_uses(rule, entry):
            if name not in known_targets:
                raise entry.error(at, _unknown_name(rule, name, is_bound, known_targets, str(at[0])))
            lacking = [p.name for p in applicable if name not in p.targets]
            if lacking:
                raise self._lacking(rule, entry, at, name, lacking)
        for profile in applicable:
            low_high = rule_range(rule, profile)
            if low_high is not None and low_high[0] > low_high[1]:
                message = f"low ({low_high[0]:g}) exceeds high ({low_high[1]:g}) in profile {profile.name!r}"
                raise entry.error((rule.condition,), message)
        if rule.events is not None:
            self._check_events(rule, rule.events, entry, applicable, known_targets)
        for key in TEMPLATE_KEYS:
            template = getattr(rule, key)
            if template is None:
                continue
            try:
                try_template(rule, template, applicable)
            except ValueError as exc:
                raise entry.error((key,), f"bad template: {exc}") from None

    def _check_events(
        self, rule: Rule, name: str, entry: _Entry, applicable: list[Profile], known_targets: list[str]
    ) -> None:
        """``events`` names an event feature, and ``events_params`` fit its params in every profile."""
        event_features = [feature for feature in self.catalog if unit_of(feature) == "events"]
        if name not in self.catalog:
            hint = _did_you_mean(name, event_features)
            raise entry.error(
                ("events",), f"unknown feature {name!r}{hint} (event features: {', '.join(event_features)})"
            )
        if unit_of(name) != "events":
            raise entry.error(
                ("events",),
                f"{name!r} is not an event feature; 'events' takes a feature that lists events"
                f" ({', '.join(event_features)})",
            )
        own = BOUND_NAMES[rule.condition]
        others = {bound for names in BOUND_NAMES.values() for bound in names} - set(own)
        for param, given in rule.events_params.items():
            if isinstance(given, str) and given in others:
                raise entry.error(
                    ("events_params", param),
                    f"{given!r} is not a bound of {_article(rule.condition)} {rule.condition!r} rule;"
                    f" use {' or '.join(own)}",
                )
            if isinstance(given, str) and given not in own and given in known_targets:
                lacking = [p.name for p in applicable if given not in p.targets]
                if lacking:
                    raise self._lacking(rule, entry, ("events_params", param), given, lacking)
        model = self.catalog[name]
        shared = self.catalog.get(rule.feature) is model  # one extractor: the events inherit the params
        for profile in applicable:
            resolved = rule.resolved_events_params(profile) or {}

            def raise_at(
                at: Loc, message: str, resolved: dict[str, Any] = resolved, profile: Profile = profile
            ) -> RulePackError:
                return _events_param_error(
                    rule, entry, at, message, resolved[at[0]] if at and at[0] in resolved else None, profile
                )

            _validate(model, {**(rule.params if shared else {}), **resolved}, raise_at)

    def _lacking(self, rule: Rule, entry: _Entry, at: Loc, name: str, lacking: list[str]) -> RulePackError:
        """The error for a target some profiles lack: at the rule, or at a user profile from another file.

        A rule for every profile (``profiles`` omitted) that a user profile cannot satisfy is the profile's
        fault when the profile was written elsewhere (e.g. a pack adds ``club`` without ``min_plr_db``).
        """
        if rule.profiles is None:
            foreign = [
                p
                for p in lacking
                if not self.specs[p].builtin and self.specs[p].source.path != entry.source.path
            ]
        else:
            foreign = []
        if foreign:
            spec = self.specs[foreign[0]]
            return spec.source.error(
                spec.loc,
                f"profile {foreign[0]!r} has no target {name!r}, which rule {rule.id!r} ({entry.source.path})"
                f" uses on every profile; add {name}, or extend a profile that has it",
            )
        return entry.error(
            at,
            f"profile target {name!r} is not defined by profile(s) {', '.join(lacking)}; list the profiles"
            f" this rule applies to under 'profiles:' or add {name} to those profiles",
        )


def _target_uses(rule: Rule, entry: _Entry) -> list[tuple[Loc, str, bool]]:
    """Profile targets the rule uses: ``(where, name, is_threshold)`` for thresholds and template fields."""
    uses: list[tuple[Loc, str, bool]] = []
    for position, bound in enumerate(rule.bounds):
        if isinstance(bound, str):
            at: Loc = (rule.condition, position) if rule.condition in RANGE_CONDITIONS else (rule.condition,)
            uses.append((at, bound, True))
    for key, fields_of in TEMPLATE_KEYS.items():
        template = getattr(rule, key)
        if template is None:
            continue
        try:
            names = list(template_names(template))
        except ValueError as exc:
            raise entry.error((key,), f"bad template: {exc}") from None
        fields = fields_of(rule)
        uses.extend(((key,), name, False) for name in names if name not in fields)
    return uses


def _unknown_name(rule: Rule, name: str, is_bound: bool, targets: list[str], key: str = "message") -> str:
    if is_bound:
        hint = _did_you_mean(name, targets)
        return f"expected a number or a profile target, got {name!r}{hint} (targets: {', '.join(targets)})"
    fields = sorted(TEMPLATE_KEYS[key](rule))
    if rule.events is not None and name in EVENT_FIELDS:
        return (
            f"template field {{{name}}} describes the events, so it belongs in 'events_message' (added to"
            " the message only when the events feature lists any)"
        )
    hint = _did_you_mean(name, [*fields, *targets])
    return (
        f"unknown template field {{{name}}}{hint} (available: {', '.join(fields)},"
        " and the targets of the profiles the rule applies to)"
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _events_param_error(
    rule: Rule, entry: _Entry, at: Loc, message: str, resolved: Any, profile: Profile
) -> RulePackError:
    """An ``events_params`` error, saying what a name resolved to in which profile."""
    given = rule.events_params.get(at[0]) if at and isinstance(at[0], str) else None
    if isinstance(given, str) and given != resolved:
        message += f" ({given} is {resolved!r} in profile {profile.name!r})"
    return entry.error(("events_params", *at) if given is not None else ("events_params",), message)


def _own_targets(profile: Profile) -> dict[str, float]:
    return {name: value for name, value in profile.targets.items() if name not in DERIVED_TARGETS}


def _profile_error(source: Source, loc: Loc, at: Loc, message: str) -> RulePackError:
    # Profile fields map onto the YAML entry: targets are written inline, 'name' is the entry's key.
    if at and at[0] == "targets":
        at = tuple(part for part in at[1:] if part != "[key]")
    elif at and at[0] == "name":
        at = ()
    return source.error((*loc, *at), message)


# ---------------------------------------------------------------- public entry points


def _read_pack(path: Path | str, *, is_base: bool) -> _Pack:
    source = read_yaml(path)
    model = _validate(PackFile, source.data, source.error)
    if is_base and model.extends is not None:
        raise source.error(("extends",), "the base pack cannot extend another pack")
    if not is_base and model.pack == "default":
        raise source.error(("pack",), "the name 'default' is taken by the built-in pack; name your pack")
    return _Pack(source, model, is_base)


def build_ruleset(
    packs: Sequence[Path | str], *, profiles_file: Path | str | None, catalog: FeatureCatalog
) -> RuleSet:
    """Load ``packs`` (the first is the base pack, the rest user packs in order) and the profiles.

    Parameters
    ----------
    packs
        Rule pack files; the first must not ``extends`` anything.
    profiles_file
        The built-in ``profiles.yaml`` (None: only the profiles that the packs define).
    catalog
        Feature name → params model; rules may only use these features.

    Raises
    ------
    RulePackError
        With ``file:line:column`` of the first problem.
    """
    builder = _Builder(catalog)
    read = _read_profiles(builder, packs, profiles_file)
    for pack in read:
        builder.add_rules(pack)
    return RuleSet(
        rules=tuple(builder.rules.values()),
        profiles=dict(builder.profiles),
        packs=tuple(pack.model.pack for pack in read),
        origin=dict(builder.origin),
    )


def _read_profiles(
    builder: _Builder, packs: Sequence[Path | str], profiles_file: Path | str | None
) -> list[_Pack]:
    """Read every pack file, and resolve the profiles from ``profiles_file`` and the packs' ``profiles:``."""
    if profiles_file is not None:
        source = read_yaml(profiles_file)
        profiles = _validate(ProfilesFile, source.data, source.error)
        builder.add_profiles(source, profiles.profiles, ("profiles",), builtin=True)
    read = [_read_pack(path, is_base=index == 0) for index, path in enumerate(packs)]
    for pack in read:
        builder.add_profiles(pack.source, pack.model.profiles, ("profiles",), builtin=False)
    builder.resolve_profiles()
    return read


def default_pack_path() -> Path:
    """The built-in rule pack."""
    return rules_dir() / "default.yaml"


def profiles_path() -> Path:
    """The built-in profiles."""
    return rules_dir() / "profiles.yaml"


def load_rules(extra_packs: Sequence[Path | str] = (), *, catalog: FeatureCatalog | None = None) -> RuleSet:
    """The default pack plus ``extra_packs`` (applied in order), with the profiles they may use.

    Raises
    ------
    RulePackError
        A pack or profile file is malformed (the message names ``file:line:column``).
    """
    return build_ruleset(
        [default_pack_path(), *extra_packs],
        profiles_file=profiles_path(),
        catalog=registry_catalog() if catalog is None else catalog,
    )


def load_profiles(extra_packs: Sequence[Path | str] = ()) -> dict[str, Profile]:
    """Every profile: the built-in ones plus those the packs add or adjust, by name (no rules are checked)."""
    builder = _Builder(catalog={})
    _read_profiles(builder, [default_pack_path(), *extra_packs], profiles_path())
    return dict(builder.profiles)


def validate_pack(path: Path | str, *, catalog: FeatureCatalog | None = None) -> RuleSet:
    """Check one pack (``mixqc rules validate FILE``): a user pack on top of the default pack, or a base pack.

    A file named ``pack: default`` is checked as the base pack, so the built-in pack can be validated too.
    """
    source = read_yaml(path)
    if source.data.get("pack") == "default":
        return build_ruleset(
            [path], profiles_file=profiles_path(), catalog=registry_catalog() if catalog is None else catalog
        )
    return load_rules([path], catalog=catalog)
