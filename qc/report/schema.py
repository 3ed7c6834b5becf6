"""The JSON Schema of the report (``schema/report-<version>.schema.json``), generated from the model.

The committed schema file is this module's output; a test fails when the model and the file disagree,
so the JSON contract cannot drift silently. It never writes files (the CLI or a developer does).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from ..master.model import MASTER_SCHEMA_VERSION, MasterReport
from .model import SCHEMA_VERSION, Report

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = f"schema/report-{SCHEMA_VERSION}.schema.json"  # relative to the repository root
MASTER_SCHEMA_FILE = f"schema/master-report-{MASTER_SCHEMA_VERSION}.schema.json"


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every ``Report.model_dump_json()`` output satisfies.

    Built from ``Report.model_json_schema(mode="serialization")``, so it includes the computed
    ``verdict`` and allows ``null`` wherever a non-finite float is serialised.
    """
    return _json_schema(Report)


def master_report_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``mixqc master``'s before/after report (:class:`~qc.master.model.MasterReport`)."""
    return _json_schema(MasterReport)


def report_json_schema_text(*, master: bool = False) -> str:
    """The committed file's text: the check report's schema (or the master report's), 2-space indent,
    sorted keys, final newline."""
    schema = master_report_json_schema() if master else report_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema(mode="serialization")}
