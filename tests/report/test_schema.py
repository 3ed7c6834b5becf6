"""The JSON contract: the committed schema equals the model's, and rendered reports satisfy it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from report.sample import clean_report, loudness_finding, sample_report

from qc.report import render_json
from qc.report.model import Report
from qc.report.schema import SCHEMA_FILE, report_json_schema, report_json_schema_text

REPO_ROOT = Path(__file__).resolve().parents[2]
REGENERATE = f"python -m qc schema --out {SCHEMA_FILE}"

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def violations(instance: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$") -> list[str]:
    """A small JSON Schema check (type, enum, const, required, properties, items, anyOf, $ref)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return violations(instance, root["$defs"][name], root, where)
    if "anyOf" in schema:
        if all(violations(instance, option, root, where) for option in schema["anyOf"]):
            return [f"{where}: matches none of anyOf"]
        return []
    found: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        is_bool = isinstance(instance, bool)
        if not isinstance(instance, JSON_TYPES[kind]) or (is_bool and kind != "boolean"):
            return [f"{where}: expected {kind}, got {type(instance).__name__}"]
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{where}: {instance!r} not in {schema['enum']}")
    if "const" in schema and instance != schema["const"]:
        found.append(f"{where}: {instance!r} != {schema['const']!r}")
    if isinstance(instance, dict):
        found += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in instance]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in properties:
                found += violations(value, properties[key], root, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += violations(value, extra, root, f"{where}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            found += violations(item, schema["items"], root, f"{where}[{i}]")
    return found


def test_committed_schema_file_equals_the_generated_one():
    committed = (REPO_ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == report_json_schema_text(), f"the Report model changed; regenerate with: {REGENERATE}"


def test_schema_text_is_sorted_pretty_json_with_a_final_newline():
    text = report_json_schema_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_schema_describes_the_computed_verdict_and_the_version():
    schema = report_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "verdict" in schema["required"]
    assert schema["properties"]["verdict"]["enum"] == ["pass", "warn", "fail"]
    assert schema["properties"]["schema_version"]["const"] == "1"


@pytest.mark.parametrize("report", [sample_report(), clean_report()], ids=["failing", "clean"])
def test_rendered_json_satisfies_the_schema_by_hand(report):
    instance = json.loads(render_json(report))
    schema = report_json_schema()
    assert violations(instance, schema, schema) == []


def test_hand_check_rejects_a_broken_report():
    schema = report_json_schema()
    instance = json.loads(render_json(sample_report()))
    del instance["file"]["sha256"]
    instance["verdict"] = "maybe"
    instance["findings"][0]["severity"] = "fatal"
    problems = violations(instance, schema, schema)
    assert "$.file: missing 'sha256'" in problems
    assert any(p.startswith("$.verdict: 'maybe' not in") for p in problems)
    assert any(p.startswith("$.findings[0].severity: 'fatal'") for p in problems)


def test_rendered_json_satisfies_the_schema_with_jsonschema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(report_json_schema())
    assert list(validator.iter_errors(json.loads(render_json(sample_report())))) == []


def test_render_json_writes_the_verdict_and_null_for_non_finite_values():
    report = sample_report(findings=[loudness_finding()])
    text = render_json(report)
    data = json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert data["verdict"] == "warn"
    assert data["features"]["dc_offset_dbfs"] is None
    assert math.isinf(report.features["dc_offset_dbfs"])
    assert text.startswith('{\n  "schema_version": "1"')
    assert Report.model_validate(data).findings == report.findings


def test_committed_master_schema_file_equals_the_generated_one():
    from qc.report.schema import MASTER_SCHEMA_FILE

    committed = (REPO_ROOT / MASTER_SCHEMA_FILE).read_text(encoding="utf-8")
    regenerate = f"python -m qc schema --master --out {MASTER_SCHEMA_FILE}"
    assert committed == report_json_schema_text(master=True), f"regenerate: {regenerate}"


def test_a_real_master_report_satisfies_the_master_schema(tmp_path):
    import numpy as np
    from music import music
    from signals import write

    from qc.master.chain import master
    from qc.report.master import render_master_json
    from qc.report.schema import master_report_json_schema

    x, rate = music(4.0, seed=2)
    source = write(tmp_path / "mix.wav", 0.1 * np.tanh(2.0 * x / np.max(np.abs(x))), rate, "PCM_24")
    report = master(source, tmp_path / "out.flac", tags={"isrc": "GB-AAA-25-00001"})
    schema = master_report_json_schema()
    instance = json.loads(render_master_json(report))
    assert violations(instance, schema, schema) == []
    assert violations({**instance, "changes": "none"}, schema, schema)  # the check can fail
