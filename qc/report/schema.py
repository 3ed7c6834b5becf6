"""The JSON Schema of the report (``schema/report-<version>.schema.json``), generated from the model.

The committed schema file is this module's output; a test fails when the model and the file disagree,
so the JSON contract cannot drift silently. It never writes files (the CLI or a developer does).
"""

from __future__ import annotations

import json
from typing import Any

from .model import SCHEMA_VERSION, Report

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = f"schema/report-{SCHEMA_VERSION}.schema.json"  # relative to the repository root


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every ``Report.model_dump_json()`` output satisfies.

    Built from ``Report.model_json_schema(mode="serialization")``, so it includes the computed
    ``verdict`` and allows ``null`` wherever a non-finite float is serialised.
    """
    schema = Report.model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def report_json_schema_text() -> str:
    """The committed file's text: :func:`report_json_schema`, 2-space indent, sorted keys, final newline."""
    return json.dumps(report_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
