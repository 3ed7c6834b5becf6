"""The report: the JSON contract (``schema_version`` "1") every renderer reads.

Renderers take a :class:`Report` and return text or bytes; they never compute features or read audio.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ..features.registry import Series
from ..findings import Finding, Verdict, verdict_of

SCHEMA_VERSION: Final = "1"


class ToolInfo(BaseModel):
    """The program that wrote the report."""

    name: str = "mixqc"
    version: str


class FileReport(BaseModel):
    """The analysed file: path, checksum and format."""

    path: str
    sha256: str
    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    bit_depth: int | None = None


class Report(BaseModel):
    """The result of checking one file against one profile."""

    model_config = ConfigDict(ser_json_inf_nan="null", json_schema_serialization_defaults_required=True)

    schema_version: Literal["1"] = SCHEMA_VERSION
    tool: ToolInfo
    file: FileReport
    profile: str
    targets: dict[str, float] = Field(default_factory=dict)
    features: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    series: dict[str, Series] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        """``pass``, ``warn`` or ``fail``, derived from the findings."""
        return verdict_of(self.findings)
