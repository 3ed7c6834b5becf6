"""Evaluating one rule against a hand-built FeatureSet: conditions, template fields, skips and ordering."""

from __future__ import annotations

import importlib
import math

import pytest

from qc.analysis import FeatureSet
from qc.features.registry import Event, Series, params_key
from qc.rules import evaluate, evaluate_all, events_summary
from qc.rules.evaluate import channel_name
from qc.rules.model import Profile, Rule

STREAMING = Profile(
    name="streaming",
    description="test",
    targets={
        "ceiling_dbtp": -1.0,
        "target_lufs": -14.0,
        "loudness_min_lufs": -15.0,
        "loudness_max_lufs": -13.0,
    },
)


def rule(**given) -> Rule:
    base = {
        "id": "test-rule",
        "title": "Test rule",
        "category": "peaks",
        "feature": "true_peak_dbtp",
        "severity": "error",
        "message": "Value {value:.2f}.",
        "suggestion": "Fix it.",
        "why": "Because.",
        "source": "Test.",
    }
    return Rule.model_validate({**base, **given})


def features(**values) -> FeatureSet:
    return FeatureSet(values={(name, params_key({})): value for name, value in values.items()})


def event(start_s: float, end_s: float, channel: int | None = 0, value: float | None = None) -> Event:
    return Event(start_s=start_s, end_s=end_s, channel=channel, value=value)


# ---------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "value", "fires"),
    [
        ({"above": -1.0}, -0.9, True),
        ({"above": -1.0}, -1.0, False),  # strictly above
        ({"below": -1.0}, -1.1, True),
        ({"below": -1.0}, -1.0, False),
        ({"between": [-2.0, -1.0]}, -2.0, True),  # bounds included
        ({"between": [-2.0, -1.0]}, -0.5, False),
        ({"outside": [-2.0, -1.0]}, -2.5, True),
        ({"outside": [-2.0, -1.0]}, -1.0, False),
        ({"above": "ceiling_dbtp"}, -0.5, True),
        ({"outside": ["loudness_min_lufs", "loudness_max_lufs"]}, -14.5, False),
    ],
)
def test_condition_fires_exactly_beyond_its_threshold(condition, value, fires):
    finding = evaluate(rule(**condition), features(true_peak_dbtp=value), STREAMING)
    assert (finding is not None) is fires


def test_finding_carries_value_threshold_and_rule_data():
    finding = evaluate(rule(above="ceiling_dbtp"), features(true_peak_dbtp=-0.25), STREAMING)
    assert finding is not None
    assert (finding.rule_id, finding.severity, finding.title, finding.category) == (
        "test-rule",
        "error",
        "Test rule",
        "peaks",
    )
    assert (finding.feature, finding.value, finding.threshold, finding.events) == (
        "true_peak_dbtp",
        -0.25,
        -1.0,
        [],
    )
    assert not finding.skipped


def test_range_finding_threshold_is_low_high_pair():
    finding = evaluate(
        rule(outside=["loudness_min_lufs", "loudness_max_lufs"], feature="integrated_lufs"),
        features(integrated_lufs=-9.0),
        STREAMING,
    )
    assert finding is not None
    assert finding.threshold == [-15.0, -13.0]


def test_disabled_rule_gives_nothing():
    assert evaluate(rule(above=-1.0, enabled=False), features(true_peak_dbtp=0.0), STREAMING) is None


# ---------------------------------------------------------------- template fields


def test_above_fields_give_excess_and_threshold():
    message = "{value:.1f} {unit}, {excess:.1f} dB over {threshold:.1f} (target {target:.1f})"
    message += ", {side}, {correction:+.1f}"
    finding = evaluate(rule(above="ceiling_dbtp", message=message), features(true_peak_dbtp=0.5), STREAMING)
    assert finding is not None
    assert finding.message == "0.5 dBTP, 1.5 dB over -1.0 (target -1.0), above, -1.5"


def test_outside_fields_say_which_side_and_the_correction_to_the_centre():
    message = "{value:.1f} is {excess:.1f} LU {side} {low:.0f}..{high:.0f}"
    message += "; {correction:+.1f} dB; ref {target_lufs:.0f}"
    finding = evaluate(
        rule(feature="integrated_lufs", outside=["loudness_min_lufs", "loudness_max_lufs"], message=message),
        features(integrated_lufs=-17.0),
        STREAMING,
    )
    assert finding is not None
    assert finding.message == "-17.0 is 2.0 LU below -15..-13; +3.0 dB; ref -14"


def test_profile_name_and_feature_are_fields():
    finding = evaluate(
        rule(above=-1.0, message="{feature} in {profile}"), features(true_peak_dbtp=0.0), STREAMING
    )
    assert finding is not None
    assert finding.message == "true_peak_dbtp in streaming"


# ---------------------------------------------------------------- event features


def clip_rule(**given) -> Rule:
    message = "{count} clips {events_summary}; first {first_event}; longest {longest_ms:.0f} ms ({channel})"
    return rule(**{"feature": "clip_events", "count_above": 0, "message": message, **given})


def test_event_rule_reports_count_and_sorted_events():
    events = [event(62.004, 62.010, 1), event(61.25, 61.262, 0)]
    finding = evaluate(clip_rule(), features(clip_events=events), STREAMING)
    assert finding is not None
    assert finding.value == 2
    assert finding.threshold == 0
    assert [e.start_s for e in finding.events] == [61.25, 62.004]
    assert finding.message == "2 clips at 1:01.250 (L) and 1:02.004 (R); first 1:01.250; longest 12 ms (left)"


def test_event_rule_passes_at_or_below_its_count():
    assert evaluate(clip_rule(), features(clip_events=[]), STREAMING) is None
    one = [event(1.0, 1.1)]
    assert evaluate(clip_rule(count_above=1), features(clip_events=one), STREAMING) is None


def test_channel_of_the_longest_event_is_named():
    events = [event(1.0, 1.001, 0), event(2.0, 2.050, None), event(3.0, 3.002, 1)]
    finding = evaluate(clip_rule(message="{channel}"), features(clip_events=events), STREAMING)
    assert finding is not None
    assert finding.message == "both"


@pytest.mark.parametrize(("channel", "name"), [(0, "left"), (1, "right"), (None, "both"), (3, "channel 4")])
def test_channel_names(channel, name):
    assert channel_name(channel) == name


@pytest.mark.parametrize(
    ("starts", "text"),
    [
        ([61.25], "at 1:01.250 (L)"),
        ([61.25, 62.004], "at 1:01.250 (L) and 1:02.004 (L)"),
        ([1.0, 2.0, 3.0], "at 0:01.000 (L), 0:02.000 (L) and 0:03.000 (L)"),
        ([1.0, 2.0, 3.0, 4.0, 5.0], "at 0:01.000 (L), 0:02.000 (L), 0:03.000 (L) and 2 more"),
    ],
)
def test_events_summary_lists_three_then_counts_the_rest(starts, text):
    assert events_summary([event(s, s + 0.001) for s in starts]) == text


def test_events_summary_omits_the_tag_for_all_channels():
    assert events_summary([event(1.0, 1.1, None), event(2.0, 2.1, 2)]) == "at 0:01.000 and 0:02.000 (ch 3)"


# ---------------------------------------------------------------- skips: never crash, never go silent


def test_unavailable_feature_gives_an_info_skip_with_the_reason():
    unavailable = FeatureSet(unavailable={("true_peak_dbtp", params_key({})): "the file is silent"})
    finding = evaluate(rule(above="ceiling_dbtp"), unavailable, STREAMING)
    assert finding is not None
    assert (finding.severity, finding.skipped, finding.value, finding.threshold) == ("info", True, None, -1.0)
    assert finding.message == "Skipped test-rule: the file is silent."


def test_feature_that_was_not_computed_gives_a_skip():
    finding = evaluate(rule(above=-1.0), FeatureSet(), STREAMING)
    assert finding is not None and finding.skipped
    assert "feature 'true_peak_dbtp' was not computed" in finding.message


def test_feature_computed_with_other_params_is_not_used():
    finding = evaluate(rule(above=-1.0, params={"oversample": 8}), features(true_peak_dbtp=0.0), STREAMING)
    assert finding is not None and finding.skipped


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "true_peak_dbtp has no value for this file"),
        (math.nan, "is nan"),
        (-math.inf, "is -inf (the file may be silent)"),
        ([-1.0, -2.0], "is a list, not a single number"),
        (Series(hop_s=0.1, values=[1.0]), "is a Series, not a single number"),
    ],
)
def test_value_a_condition_cannot_judge_gives_a_skip(value, reason):
    finding = evaluate(rule(above=-1.0), features(true_peak_dbtp=value), STREAMING)
    assert finding is not None and finding.skipped
    assert reason in finding.message


def test_count_above_on_a_number_gives_a_skip():
    finding = evaluate(clip_rule(), features(clip_events=3.0), STREAMING)
    assert finding is not None and finding.skipped
    assert "not a list of events" in finding.message


def test_profile_without_the_target_gives_a_skip():
    bare = Profile(name="bare", description="no targets")
    finding = evaluate(rule(above="ceiling_dbtp"), features(true_peak_dbtp=0.0), bare)
    assert finding is not None and finding.skipped
    assert "profile 'bare' defines no target 'ceiling_dbtp'" in finding.message


def test_bool_feature_counts_as_zero_or_one():
    assert evaluate(rule(above=0.5, feature="is_mono"), features(is_mono=True), STREAMING) is not None


# ---------------------------------------------------------------- evaluate_all


def test_findings_are_sorted_by_severity_then_time():
    rules = [
        rule(id="late-error", feature="clip_events", count_above=0, message="{count}"),
        rule(id="warning", severity="warning", above=-1.0),
        rule(id="global-error", feature="integrated_lufs", above=-20.0),
        rule(id="early-error", feature="click_events", count_above=0, message="{count}"),
        rule(id="skipped", feature="missing_db", above=0.0),
        rule(id="info", severity="info", feature="plr_db", below=100.0),
    ]
    values = features(
        clip_events=[event(30.0, 30.1)],
        click_events=[event(5.0, 5.1)],
        true_peak_dbtp=0.0,
        integrated_lufs=-8.0,
        plr_db=8.0,
    )
    found = evaluate_all(rules, values, STREAMING)
    assert [f.rule_id for f in found] == [
        "global-error",
        "early-error",
        "late-error",
        "warning",
        "info",
        "skipped",
    ]


def test_a_rule_that_fails_unexpectedly_does_not_stop_the_others(monkeypatch):
    module = importlib.import_module("qc.rules.evaluate")  # the package exports a function of that name

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_judge", broken)
    found = evaluate_all([rule(above=-1.0)], features(true_peak_dbtp=0.0), STREAMING)
    assert [(f.severity, f.skipped) for f in found] == [("info", True)]
    assert "RuntimeError: boom" in found[0].message


# ---------------------------------------------------------------- events of a rule on a single value


def over_rule(**given) -> Rule:
    """true_peak_dbtp above a threshold, listing true_peak_events computed at that threshold."""
    base = {
        "above": "ceiling_dbtp",
        "message": "Peak {value:.1f} dBTP.",
        "events": "true_peak_events",
        "events_params": {"ceiling_dbtp": "threshold"},
        "events_message": "First over at {first_event}; {count} in all {events_summary}; {longest_ms:.0f} ms"
        " ({channel}); {excess:.1f} dB over.",
    }
    return rule(**{**base, **given})


CD = Profile(name="cd", description="test", targets={"ceiling_dbtp": -0.3})


def test_scalar_rule_lists_the_events_computed_at_its_threshold():
    at_default = [event(5.0, 5.01)]
    at_cd = [event(3.0, 3.01, 1, -0.1), event(2.0, 2.03, 0, 0.2)]
    values = FeatureSet(
        values={
            ("true_peak_dbtp", params_key({})): 0.2,
            ("true_peak_events", params_key({})): at_default,
            ("true_peak_events", params_key({"ceiling_dbtp": -0.3})): at_cd,
        }
    )
    finding = evaluate(over_rule(), values, CD)
    assert finding is not None
    assert finding.value == pytest.approx(0.2)  # the scalar stays the value
    assert finding.events_feature == "true_peak_events"
    assert [e.start_s for e in finding.events] == [2.0, 3.0]  # sorted
    assert finding.message == (
        "Peak 0.2 dBTP. First over at 0:02.000; 2 in all at 0:02.000 (L) and 0:03.000 (R); 30 ms (left);"
        " 0.5 dB over."
    )


def test_without_events_the_events_message_is_left_out():
    values = features(true_peak_dbtp=0.2, true_peak_events=[])
    finding = evaluate(over_rule(), values, STREAMING)
    assert finding is not None
    assert (finding.message, finding.events, finding.events_feature) == (
        "Peak 0.2 dBTP.",
        [],
        "true_peak_events",
    )


def test_an_unavailable_events_feature_leaves_the_judgement_standing():
    values = features(true_peak_dbtp=0.2)
    values.unavailable[("true_peak_events", params_key({}))] = "not computed"
    finding = evaluate(over_rule(), values, STREAMING)
    assert finding is not None
    assert (finding.severity, finding.skipped, finding.events) == ("error", False, [])


def test_events_do_not_make_a_passing_rule_fire():
    values = features(true_peak_dbtp=-2.0, true_peak_events=[event(1.0, 1.01)])
    assert evaluate(over_rule(), values, STREAMING) is None


def test_an_unavailable_value_is_skipped_even_with_events():
    values = features(true_peak_events=[event(1.0, 1.01)])
    values.unavailable[("true_peak_dbtp", params_key({}))] = "silent file"
    finding = evaluate(over_rule(), values, STREAMING)
    assert finding is not None and finding.skipped and finding.events == []


def test_count_above_findings_name_their_own_feature_as_the_events_feature():
    finding = evaluate(clip_rule(), features(clip_events=[event(1.0, 1.1)]), STREAMING)
    assert finding is not None and finding.events_feature == "clip_events"


@pytest.mark.parametrize(
    ("given", "profile", "params"),
    [
        ({}, STREAMING, {}),  # -1 dBTP is the extractor's default: shares the default computation
        ({}, CD, {"ceiling_dbtp": -0.3}),
        ({"above": -2.5}, STREAMING, {"ceiling_dbtp": -2.5}),
        ({"events_params": {"ceiling_dbtp": "ceiling_dbtp"}}, CD, {"ceiling_dbtp": -0.3}),  # a target
        ({"events_params": {"merge_gap_s": 0.5}}, STREAMING, {"merge_gap_s": 0.5}),  # a literal
        # one extractor provides both: the rule's own params come along, and are not dropped as defaults
        ({"params": {"ceiling_dbtp": -1.0}}, STREAMING, {"ceiling_dbtp": -1.0}),
        ({"params": {"merge_gap_s": 0.2}}, CD, {"merge_gap_s": 0.2, "ceiling_dbtp": -0.3}),
    ],
)
def test_events_request_resolves_its_params_for_the_profile(given, profile, params):
    request = over_rule(**given).events_request(profile)
    assert request is not None
    assert (request.name, dict(request.params)) == ("true_peak_events", params)


def test_events_of_another_extractor_do_not_take_the_rules_params():
    phase = rule(
        feature="stereo_correlation",
        below=-0.2,
        params={"window_s": 2.0},
        events="true_peak_events",
    )
    assert dict(phase.events_request(STREAMING).params) == {}
    same = phase.model_copy(update={"events": "phase_events", "events_params": {"event_below": "threshold"}})
    assert dict(same.events_request(STREAMING).params) == {"window_s": 2.0, "event_below": -0.2}


def test_events_request_is_none_when_the_profile_lacks_the_target():
    assert over_rule().events_request(Profile(name="bare", description="test")) is None
    assert rule(above=-1.0).events_request(STREAMING) is None  # no events key
