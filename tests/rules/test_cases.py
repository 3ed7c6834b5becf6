"""Run every case in ``tests/rules/cases/<rule-id>.yaml`` against the default pack.

Each case builds a FeatureSet by hand (numbers, event lists ``{start_s, end_s, channel, value}``, or
``{unavailable: reason}``), evaluates the rule under a profile and compares with ``expect`` (None = the rule
passes). A rule's ``events`` feature is stored under the parameters the rule asks for in that profile. The
suite fails if a default-pack rule has no passing case and no firing case, or lacks why/source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from qc.analysis import FeatureSet
from qc.features.registry import Event, params_key
from qc.rules import evaluate, load_rules, rule_list_text, rule_show_text
from qc.rules.loader import default_pack_path
from qc.rules.model import Profile, Rule

CASES_DIR = Path(__file__).parent / "cases"


class AnyParams(BaseModel):
    """Accepts any params: the cases test rule logic, not the feature registry (see test_loader)."""

    model_config = ConfigDict(extra="allow")


def _catalog() -> dict[str, type[BaseModel]]:
    pack = yaml.safe_load(default_pack_path().read_text(encoding="utf-8"))
    names = [rule["feature"] for rule in pack["rules"]] + [
        rule["events"] for rule in pack["rules"] if "events" in rule
    ]
    return dict.fromkeys(names, AnyParams)


RULES = load_rules(catalog=_catalog())


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str
    threshold: float | list[float] | None = None
    value: float | None = None
    events: int | None = None
    events_feature: str | None = None
    skipped: bool = False
    message: str | None = None
    message_contains: str | None = None
    suggestion_contains: str | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    profile: str
    features: dict[str, Any]
    expect: Expect | None


def _load_cases() -> list[tuple[str, Case]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append((path.stem, Case.model_validate(raw)))
    return cases


CASES = _load_cases()


def _feature_set(rule: Rule, profile: Profile, given: dict[str, Any]) -> FeatureSet:
    events = rule.events_request(profile)
    features = FeatureSet()
    for name, value in given.items():
        if name == rule.feature:
            params = rule.params
        elif events is not None and name == events.name:
            params = events.params
        else:
            params = {}
        key = (name, params_key(params))
        if isinstance(value, dict) and set(value) == {"unavailable"}:
            features.unavailable[key] = value["unavailable"]
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            features.values[key] = [Event.model_validate(item) for item in value]
        else:
            features.values[key] = value
    return features


@pytest.mark.parametrize(
    ("rule_id", "case"), CASES, ids=[f"{rule_id}: {case.name}" for rule_id, case in CASES]
)
def test_case(rule_id: str, case: Case):
    rule = RULES.get(rule_id)
    assert rule.applies_to(case.profile), f"{rule_id} does not apply to profile {case.profile}"
    profile = RULES.profile(case.profile)
    finding = evaluate(rule, _feature_set(rule, profile, case.features), profile)
    expect = case.expect
    if expect is None:
        assert finding is None, finding
        return
    assert finding is not None
    assert finding.severity == expect.severity
    assert finding.skipped is expect.skipped
    if expect.threshold is not None:
        assert finding.threshold == pytest.approx(expect.threshold)
    if expect.value is not None:
        assert finding.value == pytest.approx(expect.value)
    if expect.events is not None:
        assert len(finding.events) == expect.events
    if expect.events_feature is not None:
        assert finding.events_feature == expect.events_feature
    if expect.message is not None:
        assert finding.message == expect.message
    if expect.message_contains is not None:
        assert expect.message_contains in finding.message
    if expect.suggestion_contains is not None:
        assert expect.suggestion_contains in finding.suggestion


def test_case_files_name_rules_of_the_default_pack():
    unknown = sorted({rule_id for rule_id, _ in CASES} - set(RULES.ids()))
    assert not unknown, f"case files for unknown rules: {unknown}"


@pytest.mark.parametrize("rule_id", RULES.ids())
def test_every_default_rule_has_a_passing_and_a_firing_case(rule_id):
    mine = [case for name, case in CASES if name == rule_id]
    assert any(case.expect is None for case in mine), f"{rule_id}: add a passing case to cases/{rule_id}.yaml"
    fired = [case for case in mine if case.expect is not None and not case.expect.skipped]
    assert fired, f"{rule_id}: add a firing case to cases/{rule_id}.yaml"


@pytest.mark.parametrize("rule_id", RULES.ids())
def test_every_default_rule_says_why_and_gives_a_source(rule_id):
    rule = RULES.get(rule_id)
    assert rule.why.strip() and rule.source.strip()


@pytest.mark.parametrize("rule_id", RULES.ids())
def test_every_default_rule_documents_itself(rule_id):
    rule = RULES.get(rule_id)
    text = rule_show_text(rule, RULES.profiles, origin=RULES.origin[rule_id])
    for heading in ("What it checks", "Why", "How to fix", "Source", "Options", "Profiles"):
        assert f"\n{heading}\n" in text
    assert " ".join(rule.why.split())[:40] in " ".join(text.split())
    assert rule_id in rule_list_text(RULES)
