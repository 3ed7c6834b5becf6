"""Loading rule packs and profiles: overrides, user profiles, and a file:line:column error for each check.

Most tests use a stand-in feature catalog so that they do not depend on the feature modules; one test
loads the default pack against the real feature registry.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from qc.errors import ProfileError, QCError, RulePackError
from qc.features.registry import NoParams
from qc.rules import build_ruleset, get_profile, load_profiles, load_rules, validate_pack
from qc.rules.loader import default_pack_path, profiles_path


class ClipParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_run_samples: int = Field(3, ge=1)


class OverParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ceiling_dbtp: float = Field(-1.0, ge=-60.0, le=12.0)


class StereoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event_below: float = Field(-0.1, ge=-1.0, le=1.0)


def _default_pack_features() -> set[str]:
    """Every feature the built-in pack uses, judged or listed (the stand-in catalog must know them all)."""
    rules = yaml.safe_load(default_pack_path().read_text())["rules"]
    return {rule["feature"] for rule in rules} | {rule["events"] for rule in rules if "events" in rule}


CATALOG = {name: NoParams for name in _default_pack_features()} | {
    "clip_events": ClipParams,
    "true_peak_dbtp": NoParams,
    "true_peak_events": OverParams,
    "stereo_correlation": StereoParams,
    "phase_events": StereoParams,
    "integrated_lufs": NoParams,
    "plr_db": NoParams,
}

RULE = """\
  - id: {id}
    title: Loud
    category: loudness
    feature: integrated_lufs
    above: {above}
    severity: warning
    message: "Loudness is {{value:.1f}} LUFS."
    suggestion: "Turn it down {{excess:.1f}} dB."
    why: "Because."
    source: "Test"
"""


def write(tmp_path: Path, text: str, name: str = "studio.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def position(path: Path, needle: str) -> str:
    """``path:line:column`` of the unique text ``needle`` in the file (1-based), found by plain search."""
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [(n + 1, line.index(needle) + 1) for n, line in enumerate(lines) if needle in line]
    assert len(hits) == 1, hits
    return f"{path}:{hits[0][0]}:{hits[0][1]}"


def user_pack(tmp_path: Path, rules: str, extra: str = "") -> Path:
    return write(tmp_path, "pack: studio\nextends: default\n" + extra + "rules:\n" + rules)


def load_user(*paths: Path):
    return load_rules(list(paths), catalog=CATALOG)


def base_pack(tmp_path: Path, rules: str) -> Path:
    return write(tmp_path, "pack: default\nrules:\n" + rules, name="base.yaml")


def load_base(path: Path):
    return build_ruleset([path], profiles_file=profiles_path(), catalog=CATALOG)


def error_text(load, *args) -> str:
    with pytest.raises(RulePackError) as info:
        load(*args)
    return str(info.value)


# ---------------------------------------------------------------- the built-in data


def test_default_pack_loads_with_every_documented_rule():
    rules = load_rules(catalog=CATALOG)
    in_file = [rule["id"] for rule in yaml.safe_load(default_pack_path().read_text())["rules"]]
    assert rules.ids() == in_file
    assert {"clipping", "true-peak", "loudness-target", "headroom", "over-compressed", "phase"} <= set(
        in_file
    )
    assert all(rule.why and rule.source for rule in rules)


def test_default_pack_loads_against_the_real_feature_registry():
    assert "true-peak" in load_rules().ids()


@pytest.mark.parametrize(
    ("name", "target_lufs", "ceiling_dbtp"),
    [("streaming", -14, -1), ("spotify", -14, -1), ("youtube", -14, -1), ("apple-music", -16, -1)],
)
def test_streaming_profiles_have_their_platform_targets(name, target_lufs, ceiling_dbtp):
    targets = load_profiles()[name].targets
    assert (targets["target_lufs"], targets["ceiling_dbtp"]) == (target_lufs, ceiling_dbtp)


def test_broadcast_profile_follows_ebu_r128():
    targets = load_profiles()["broadcast-r128"].targets
    assert targets["target_lufs"] == -23.0
    assert targets["ceiling_dbtp"] == -1.0
    assert (targets["loudness_min_lufs"], targets["loudness_max_lufs"]) == (-23.5, -22.5)


def test_every_profile_has_a_description():
    assert all(profile.description for profile in load_profiles().values())


def test_loudness_window_is_derived_from_target_and_tolerance():
    targets = load_profiles()["apple-music"].targets
    tolerance = targets["loudness_tolerance_lu"]
    assert targets["loudness_min_lufs"] == targets["target_lufs"] - tolerance
    assert targets["loudness_max_lufs"] == targets["target_lufs"] + tolerance


def test_validate_pack_checks_the_default_pack_as_a_base_pack():
    assert validate_pack(default_pack_path(), catalog=CATALOG).ids()[0] == "clipping"


# ---------------------------------------------------------------- overrides and user packs


def test_override_changes_only_the_keys_it_gives(tmp_path):
    default = load_user().get("true-peak")
    rules = load_user(user_pack(tmp_path, "  - {id: true-peak, severity: warning}\n"))
    rule = rules.get("true-peak")
    assert rule.severity == "warning"
    assert rule.model_dump(exclude={"severity"}) == default.model_dump(exclude={"severity"})
    assert rules.origin["true-peak"] == ("default", "studio")


def test_override_can_disable_a_rule(tmp_path):
    rules = load_user(user_pack(tmp_path, "  - {id: headroom, enabled: false}\n"))
    assert "headroom" not in [rule.id for rule in rules.active("premaster")]


def test_override_condition_replaces_the_old_condition(tmp_path):
    rules = load_user(user_pack(tmp_path, "  - {id: true-peak, below: -30}\n"))
    rule = rules.get("true-peak")
    assert (rule.condition, rule.below, rule.above) == ("below", -30.0, None)


def test_new_complete_rule_is_added(tmp_path):
    rules = load_user(user_pack(tmp_path, RULE.format(id="too-loud", above=-8)))
    assert rules.ids()[-1] == "too-loud"
    assert rules.get("too-loud").above == -8.0


def test_packs_apply_in_order(tmp_path):
    first = write(tmp_path, "pack: one\nrules: [{id: true-peak, severity: info}]\n", "one.yaml")
    second = write(tmp_path, "pack: two\nrules: [{id: true-peak, severity: warning}]\n", "two.yaml")
    assert load_user(first, second).get("true-peak").severity == "warning"
    assert load_user(second, first).get("true-peak").severity == "info"


def test_user_pack_can_add_a_profile_that_extends_a_builtin_one(tmp_path):
    pack = user_pack(
        tmp_path,
        "  - {id: true-peak, profiles: [streaming, club]}\n",
        extra="profiles:\n  club: {extends: streaming, description: Club play, target_lufs: -9}\n",
    )
    rules = load_user(pack)
    club = rules.profile("club")
    assert club.targets["target_lufs"] == -9.0
    assert club.targets["ceiling_dbtp"] == -1.0
    assert club.targets["loudness_max_lufs"] == -8.0
    assert "true-peak" in [rule.id for rule in rules.active("club")]


def test_user_pack_can_adjust_a_builtin_profile_and_children_inherit_it(tmp_path):
    pack = user_pack(tmp_path, "  []\n", extra="profiles:\n  streaming: {ceiling_dbtp: -2}\n")
    profiles = load_profiles([pack])
    assert profiles["streaming"].targets["ceiling_dbtp"] == -2.0
    assert profiles["spotify"].targets["ceiling_dbtp"] == -2.0
    assert profiles["streaming"].description == load_profiles()["streaming"].description


def test_active_rules_follow_the_profile():
    rules = load_rules(catalog=CATALOG)
    premaster = [rule.id for rule in rules.active("premaster")]
    assert {"clipping", "headroom", "over-compressed", "phase"} <= set(premaster)
    assert not {"true-peak", "loudness-target", "broadcast-loudness"} & set(premaster)
    assert "headroom" not in [rule.id for rule in rules.active("streaming")]


def test_unknown_profile_lists_the_known_names():
    with pytest.raises(
        ProfileError, match=r"unknown profile 'spotfy' \(did you mean 'spotify'\?\); known profiles: "
    ):
        load_rules(catalog=CATALOG).active("spotfy")
    with pytest.raises(ProfileError, match=r"known profiles: apple-music, broadcast-r128, cd, premaster"):
        get_profile("nope")


def test_get_profile_sees_profiles_added_by_packs(tmp_path):
    pack = user_pack(tmp_path, "  []\n", extra="profiles:\n  club: {extends: streaming, description: Club}\n")
    assert get_profile("club", [pack]).targets["ceiling_dbtp"] == -1.0


def test_unknown_rule_id_is_a_key_error_and_a_qc_error():
    rules = load_rules(catalog=CATALOG)
    with pytest.raises(KeyError):
        rules.get("true-peek")
    with pytest.raises(
        QCError, match=r"unknown rule id 'true-peek' \(did you mean 'true-peak'\?\); known rules: "
    ):
        rules.get("true-peek")


def test_feature_requests_are_distinct_and_carry_params(tmp_path):
    pack = user_pack(tmp_path, "  - {id: clipping, params: {min_run_samples: 5}}\n")
    requests = load_user(pack).feature_requests("premaster")
    pairs = [(r.name, dict(r.params)) for r in requests]
    assert pairs[:3] == [("clip_events", {"min_run_samples": 5}), ("true_peak_dbtp", {}), ("plr_db", {})]
    assert len({r.key for r in requests}) == len(requests)  # distinct


def test_feature_requests_end_with_the_events_rules_list_at_the_profile_threshold():
    rules = load_rules()  # the real registry: its defaults decide which parameters are left out
    premaster = [(r.name, dict(r.params)) for r in rules.feature_requests("premaster")]
    assert ("true_peak_events", {"ceiling_dbtp": -3.0}) in premaster
    assert ("phase_events", {"event_below": -0.2}) in premaster
    own = {rule.feature_request().key for rule in rules.active("premaster")}
    assert premaster.index(("true_peak_events", {"ceiling_dbtp": -3.0})) >= len(own)  # after the rules' own
    streaming = [(r.name, dict(r.params)) for r in rules.feature_requests("streaming")]
    assert ("true_peak_events", {}) in streaming  # -1 dBTP is the default: shared with the default pass
    assert ("codec_clip_events", {}) in streaming


# ---------------------------------------------------------------- errors: file:line:column and what is wrong


def test_error_reads_file_line_column_key_and_problem(tmp_path):
    rules = "  - {id: true-peak, severity: warning}\n  - {id: headroom, enabled: false}\n"
    pack = user_pack(tmp_path, rules + RULE.format(id="too-loud", above="loud"))
    assert position(pack, "above: loud").endswith(":10:5")
    assert error_text(load_user, pack).startswith(
        f"{pack}:10:5: rules[2].above: expected a number or a profile target, got 'loud'"
    )


def test_yaml_syntax_error_names_the_line(tmp_path):
    pack = write(tmp_path, "pack: studio\nrules: [{id: true-peak,\n  severity: warning\n")
    assert re.match(rf"{re.escape(str(pack))}:\d+:\d+: YAML syntax error: ", error_text(load_user, pack))


def test_file_that_is_not_a_mapping_is_rejected(tmp_path):
    pack = write(tmp_path, "- id: true-peak\n")
    assert (
        error_text(load_user, pack)
        == f"{pack}:1: expected a mapping with keys such as 'pack' and 'rules', got a list"
    )


def test_empty_file_is_rejected(tmp_path):
    pack = write(tmp_path, "# nothing\n")
    assert error_text(load_user, pack) == (
        f"{pack}:1: expected a mapping with keys such as 'pack' and 'rules', got an empty file"
    )


def test_duplicate_yaml_key_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    severity: info\n    severity: error\n")
    assert error_text(load_user, pack) == (
        f"{pack}:6:5: duplicate key 'severity' (YAML would silently keep only the last one)"
    )


def test_missing_required_key_points_at_the_rule(tmp_path):
    pack = base_pack(tmp_path, RULE.format(id="too-loud", above=-8).replace("    title: Loud\n", ""))
    assert (
        error_text(load_base, pack)
        == f"{position(pack, 'id: too-loud')}: rules[0]: missing required key 'title'"
    )


def test_unknown_key_is_rejected_with_a_suggestion(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    severty: warning\n")
    message = error_text(load_user, pack)
    assert message.startswith(f"{position(pack, 'severty')}: rules[0].severty: unknown key 'severty'")
    assert "did you mean 'severity'?" in message


def test_bad_severity_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    severity: fatal\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'severity: fatal')}:"
        " rules[0].severity: expected 'info', 'warning' or 'error', got 'fatal'"
    )


def test_bad_category_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    category: volume\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'category')}: rules[0].category: expected 'loudness', 'peaks'"
    )


def test_two_conditions_are_rejected(tmp_path):
    pack = base_pack(tmp_path, RULE.format(id="too-loud", above=-8) + "    below: -30\n")
    assert error_text(load_base, pack) == (
        f"{position(pack, 'id: too-loud')}: rules[0]: a rule needs exactly one condition of above, below,"
        " between, outside, count_above; got above, below"
    )


def test_no_condition_is_rejected(tmp_path):
    pack = base_pack(tmp_path, RULE.format(id="too-loud", above=-8).replace("    above: -8\n", ""))
    assert error_text(load_base, pack) == (
        f"{position(pack, 'id: too-loud')}: rules[0]: a rule needs exactly one condition of above, below,"
        " between, outside, count_above; got none"
    )


def test_unknown_feature_is_rejected(tmp_path):
    pack = user_pack(
        tmp_path, RULE.format(id="too-loud", above=-8).replace("integrated_lufs", "integrated_lufs2")
    )
    message = error_text(load_user, pack)
    assert message.startswith(
        f"{position(pack, 'feature:')}: rules[0].feature: unknown feature 'integrated_lufs2'; did you mean"
        " 'integrated_lufs'?"
    )


def test_unknown_profile_target_is_rejected(tmp_path):
    pack = user_pack(tmp_path, RULE.format(id="too-loud", above="ceiling_dbfs"))
    message = error_text(load_user, pack)
    assert message.startswith(
        f"{position(pack, 'above:')}:"
        " rules[0].above: expected a number or a profile target, got 'ceiling_dbfs';"
        " did you mean 'ceiling_dbtp'?"
    )


def test_target_missing_from_a_profile_the_rule_applies_to_is_rejected(tmp_path):
    pack = user_pack(
        tmp_path, RULE.format(id="too-loud", above="target_lufs") + "    profiles: [streaming, cd]\n"
    )
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'above:')}:"
        " rules[0].above: profile target 'target_lufs' is not defined by profile(s) cd"
    )


def test_inherited_key_that_no_longer_fits_is_reported_at_the_overriding_entry(tmp_path):
    pack = user_pack(tmp_path, "  - {id: true-peak, profiles: [premaster]}\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, '{id: true-peak')}: rules[0].above: profile target 'ceiling_dbtp' is not defined by"
        " profile(s) premaster"
    )


def test_range_with_low_above_high_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: loudness-target, outside: [-10, -20]}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'outside')}: rules[0].outside: low must not exceed high, got [-10.0, -20.0]"
    )


def test_range_of_three_values_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: loudness-target, between: [-20, -15, -10]}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'between')}: rules[0].between: expected [low, high], got [-20, -15, -10]"
    )


def test_threshold_that_is_neither_number_nor_target_name_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    above: [-1]\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'above')}: rules[0].above: expected a number or a profile target, got [-1]"
    )


def test_range_of_targets_with_low_above_high_is_rejected(tmp_path):
    pack = user_pack(
        tmp_path, "  - id: loudness-target\n    outside: [loudness_max_lufs, loudness_min_lufs]\n"
    )
    assert error_text(load_user, pack) == (
        f"{position(pack, 'outside')}: rules[0].outside: low (-13) exceeds high (-15) in profile 'streaming'"
    )


def test_pack_name_must_be_kebab_case(tmp_path):
    pack = write(tmp_path, "pack: My Studio\nrules: []\n")
    assert error_text(load_user, pack) == f"{pack}:1:1: pack: pack names are kebab-case, got 'My Studio'"


def test_negative_count_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    count_above: -1\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'count_above')}:"
        " rules[0].count_above: expected a whole number of events (0 or more),"
        " got -1"
    )


def test_unknown_template_field_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    message: 'Peak {valeu:.1f} dBTP'\n")
    message = error_text(load_user, pack)
    assert message.startswith(
        f"{position(pack, 'message:')}:"
        f" rules[0].message: unknown template field {{valeu}}; did you mean 'value'?"
    )


def test_template_field_of_another_condition_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    suggestion: 'Keep it under {high} dBTP'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'suggestion')}: rules[0].suggestion: unknown template field {{high}}"
    )


def test_target_missing_from_a_profile_is_not_a_template_field(tmp_path):
    pack = user_pack(tmp_path, "  - id: over-compressed\n    message: 'PLR {value} vs {target_lufs} LUFS'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'message')}: rules[0].message: profile target 'target_lufs' is not defined by"
        " profile(s) premaster, cd"
    )


def test_user_profile_lacking_a_target_of_an_every_profile_rule_is_blamed(tmp_path):
    pack = write(tmp_path, "pack: studio\nprofiles:\n  club: {description: Club, ceiling_dbtp: -1}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'club')}: profiles.club: profile 'club' has no target 'min_plr_db', which rule"
        f" 'over-compressed' ({default_pack_path()}) uses on every profile; add min_plr_db, or extend a"
        " profile that has it"
    )


def test_bad_format_spec_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    message: 'First at {first_event:.1f}'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'message:')}: rules[0].message: bad template: "
    )


def test_positional_template_field_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    message: 'Clips {}'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'message')}: rules[0].message: bad template: positional fields"
    )


def test_unknown_param_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    params: {min_run: 2}\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'min_run')}:"
        " rules[0].params.min_run: unknown key 'min_run'; did you mean 'min_run_samples'?"
    )


def test_ill_typed_param_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    params: {min_run_samples: 0}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'min_run_samples')}:"
        " rules[0].params.min_run_samples: expected greater than or equal"
        " to 1, got 0"
    )


def test_duplicate_id_within_a_pack_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: true-peak, severity: info}\n  - {id: true-peak, enabled: false}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'id: true-peak, enabled')}: rules[1].id: duplicate rule id 'true-peak' in this pack"
        " (first at line 4)"
    )


def test_id_that_is_not_kebab_case_is_rejected(tmp_path):
    pack = user_pack(tmp_path, RULE.format(id="Too_Loud", above=-8))
    assert error_text(load_user, pack) == (
        f"{position(pack, 'id: Too_Loud')}: rules[0].id: rule ids are kebab-case (lower-case words joined by"
        " '-'), got 'Too_Loud'"
    )


def test_rule_without_id_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {severity: info}\n")
    assert (
        error_text(load_user, pack) == f"{position(pack, '{severity')}: rules[0]: missing required key 'id'"
    )


def test_override_of_an_unknown_id_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: no-such-rule, enabled: false}\n")
    message = error_text(load_user, pack)
    assert message.startswith(
        f"{position(pack, 'id: no-such-rule')}: rules[0].id: unknown rule id 'no-such-rule': it is not in"
    )
    assert "missing: title, category, feature" in message


def test_unknown_profile_in_a_rule_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    profiles: [streaming, spotfy]\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'spotfy')}: rules[0].profiles[1]: unknown profile 'spotfy'; did you mean 'spotify'?"
    )


def test_empty_profiles_list_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    profiles: []\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'profiles')}: rules[0].profiles: an empty list would switch the rule off;"
        " use 'enabled: false' or omit 'profiles'"
    )


def test_pack_may_not_call_itself_default(tmp_path):
    pack = write(tmp_path, "pack: default\nextends: default\nrules: []\n")
    assert (
        error_text(load_user, pack)
        == f"{pack}:1:1: pack: the name 'default' is taken by the built-in pack; name your pack"
    )


def test_pack_may_only_extend_default(tmp_path):
    pack = write(tmp_path, "pack: studio\nextends: house\nrules: []\n")
    assert error_text(load_user, pack) == f"{pack}:2:1: extends: expected 'default', got 'house'"


def test_unknown_top_level_key_is_rejected(tmp_path):
    pack = write(tmp_path, "pack: studio\nrule: []\n")
    assert error_text(load_user, pack).startswith(
        f"{pack}:2:1: rule: unknown key 'rule'; did you mean 'rules'?"
    )


def test_base_pack_may_not_extend(tmp_path):
    pack = write(tmp_path, "pack: default\nextends: default\nrules: []\n", name="base.yaml")
    assert error_text(load_base, pack) == f"{pack}:2:1: extends: the base pack cannot extend another pack"


def test_rule_entry_that_is_not_a_mapping_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - true-peak\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'true-peak')}: rules[0]: expected a valid dict"
    )


# ---------------------------------------------------------------- errors in profiles


def profile_pack(tmp_path: Path, profiles: str) -> Path:
    return write(tmp_path, "pack: studio\nprofiles:\n" + textwrap.indent(textwrap.dedent(profiles), "  "))


def test_profile_target_must_be_a_number(tmp_path):
    pack = profile_pack(tmp_path, "club: {description: Club, target_lufs: loud}\n")
    assert error_text(load_profiles, [pack]).startswith(
        f"{position(pack, 'target_lufs')}: profiles.club.target_lufs: expected a valid number"
    )


def test_new_profile_needs_a_description(tmp_path):
    pack = profile_pack(tmp_path, "club: {target_lufs: -9}\n")
    assert error_text(load_profiles, [pack]) == (
        f"{position(pack, 'club')}: profiles.club: missing required key 'description'"
    )


def test_profile_extending_an_unknown_profile_is_rejected(tmp_path):
    pack = profile_pack(tmp_path, "club: {description: Club, extends: streeming}\n")
    assert error_text(load_profiles, [pack]).startswith(
        f"{position(pack, 'extends')}:"
        " profiles.club.extends: unknown profile 'streeming'; did you mean 'streaming'?"
    )


def test_profiles_extending_each_other_in_a_loop_are_rejected(tmp_path):
    pack = profile_pack(tmp_path, "a: {description: A, extends: b}\nb: {description: B, extends: a}\n")
    assert error_text(load_profiles, [pack]) == (
        f"{position(pack, 'extends: a')}: profiles.b.extends:"
        " profiles extend each other in a loop: a -> b -> a"
    )


def test_derived_loudness_window_cannot_be_set(tmp_path):
    pack = profile_pack(tmp_path, "club: {description: Club, loudness_max_lufs: -8}\n")
    assert error_text(load_profiles, [pack]) == (
        f"{position(pack, 'loudness_max_lufs')}:"
        " profiles.club.loudness_max_lufs: loudness_max_lufs is derived"
        " from target_lufs and loudness_tolerance_lu; set those instead"
    )


def test_profile_name_must_be_kebab_case(tmp_path):
    pack = profile_pack(tmp_path, "Club_Night: {description: Club}\n")
    assert error_text(load_profiles, [pack]) == (
        f"{position(pack, 'Club_Night')}: profiles.Club_Night: profile names are kebab-case, got 'Club_Night'"
    )


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("CeilingDbtp", "target names are snake_case with the unit last"),
        ("value", "'value' is a template field and cannot be a target name"),
    ],
)
def test_bad_target_names_are_rejected(tmp_path, target, problem):
    pack = profile_pack(tmp_path, f"club: {{description: Club, {target}: -1}}\n")
    assert error_text(load_profiles, [pack]).startswith(
        f"{position(pack, target)}: profiles.club.{target}: {problem}"
    )


def test_params_are_checked_against_the_real_extractor(tmp_path):
    pack = user_pack(tmp_path, "  - id: clipping\n    params: {min_run_sample: 2}\n")
    assert error_text(load_rules, [pack]).startswith(
        f"{position(pack, 'min_run_sample')}: rules[0].params.min_run_sample: unknown key 'min_run_sample';"
        " did you mean 'min_run_samples'?"
    )


# ---------------------------------------------------------------- events: where a single value goes wrong


def test_default_rules_list_where_their_value_goes_wrong():
    rules = load_user()
    assert rules.get("true-peak").events == "true_peak_events"
    assert rules.get("true-peak").events_params == {"ceiling_dbtp": "threshold"}
    assert rules.get("headroom").events == "true_peak_events"
    assert rules.get("codec-clipping").events == "codec_clip_events"
    assert rules.get("phase").events == "phase_events"


def test_unknown_events_feature_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events: true_peak_event\n")
    message = error_text(load_user, pack)
    assert message.startswith(
        f"{position(pack, 'events:')}: rules[0].events: unknown feature 'true_peak_event'; did you mean"
        " 'true_peak_events'? (event features: "
    )


def test_events_feature_that_lists_no_events_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: headroom, events: sample_peak_dbfs}\n")
    assert error_text(load_rules, [pack]).startswith(  # the real registry
        f"{position(pack, 'events:')}: rules[0].events: 'sample_peak_dbfs' is not an event feature; 'events'"
        " takes a feature that lists events (click_events, clip_events, codec_clip_events,"
    )


def test_events_on_a_count_above_rule_are_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - {id: clipping, events: true_peak_events}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, '{id: clipping')}: rules[0]: a count_above rule already lists its own feature's"
        " events; 'events' is for rules that judge a single value"
    )


def test_events_params_without_events_are_rejected(tmp_path):
    rule = RULE.format(id="too-loud", above=-8) + "    events_params: {ceiling_dbtp: threshold}\n"
    pack = user_pack(tmp_path, rule)
    assert error_text(load_user, pack) == (
        f"{position(pack, 'id: too-loud')}: rules[0]: events_params need 'events' (the event feature whose"
        " events to list)"
    )


def test_override_of_events_drops_the_old_events_params_and_message(tmp_path):
    rules = load_user(user_pack(tmp_path, "  - {id: true-peak, events: null}\n"))
    rule = rules.get("true-peak")
    assert (rule.events, rule.events_params, rule.events_message) == (None, {}, None)


def test_unknown_events_param_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events_params: {ceiling: threshold}\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'ceiling:')}: rules[0].events_params.ceiling: unknown key 'ceiling'; did you mean"
        " 'ceiling_dbtp'?"
    )


def test_events_param_naming_a_bound_of_another_condition_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events_params: {ceiling_dbtp: low}\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'ceiling_dbtp')}: rules[0].events_params.ceiling_dbtp: 'low' is not a bound of an"
        " 'above' rule; use threshold"
    )


def test_events_param_naming_a_target_some_profiles_lack_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events_params: {ceiling_dbtp: max_peak_dbtp}\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'ceiling_dbtp')}: rules[0].events_params.ceiling_dbtp: profile target"
        " 'max_peak_dbtp' is not defined by profile(s) streaming, spotify, apple-music, youtube, cd,"
        " broadcast-r128; list the profiles this rule applies to under 'profiles:'"
    )


def test_events_param_out_of_range_in_one_profile_is_rejected_with_the_resolved_value(tmp_path):
    extra = "profiles:\n  deep: {description: Deep, extends: streaming, ceiling_dbtp: -70}\n"
    pack = user_pack(tmp_path, "  - {id: true-peak, profiles: [deep]}\n", extra)
    assert error_text(load_user, pack) == (
        f"{position(pack, '{id: true-peak')}: rules[0].events_params.ceiling_dbtp: expected greater than or"
        " equal to -60, got -70.0 (threshold is -70.0 in profile 'deep')"
    )


def test_event_field_in_the_message_points_to_events_message(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    message: 'Over at {first_event}'\n")
    assert error_text(load_user, pack) == (
        f"{position(pack, 'message:')}: rules[0].message: template field {{first_event}} describes the"
        " events, so it belongs in 'events_message' (added to the message only when the events feature"
        " lists any)"
    )


def test_unknown_field_in_events_message_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events_message: 'First at {first_evnt}'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'events_message')}: rules[0].events_message: unknown template field"
        " {first_evnt}; did you mean 'first_event'?"
    )


def test_bad_format_spec_in_events_message_is_rejected(tmp_path):
    pack = user_pack(tmp_path, "  - id: true-peak\n    events_message: '{count:.1z} overs'\n")
    assert error_text(load_user, pack).startswith(
        f"{position(pack, 'events_message')}: rules[0].events_message: bad template: "
    )
