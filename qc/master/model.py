"""The record of a corrective master: settings, every stage's change, and the check before and after.

This is the JSON contract of ``mixqc master --report``; renderers in ``qc/report/master.py`` read it. It holds
no DSP and does no I/O.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..report.model import Report, ToolInfo
from .stage import Change, ChangeValue

MASTER_SCHEMA_VERSION: Final = "1"


class MasterSettings(BaseModel):
    """What the user asked for, after the profile's defaults were filled in.

    ``target_lufs`` None means no loudness target (gain 0 dB; the limiter still holds the ceiling).
    ``bit_depth`` None keeps 32-bit float output. ``max_limiting_db`` and ``max_limited_share`` bound the
    limiter: beyond them ``master`` stops and says how much and where.
    """

    model_config = ConfigDict(extra="forbid")

    profile: str
    target_lufs: float | None
    ceiling_dbtp: float
    bit_depth: Literal[16, 24] | None
    sample_rate: int
    max_limiting_db: float = Field(ge=0.0)
    max_limited_share: float = Field(ge=0.0, le=1.0)
    skip: list[str] = Field(default_factory=list)


class StageChange(BaseModel):
    """One stage's :class:`~qc.master.stage.Change`, as stored in the report."""

    stage: str
    summary: str
    values: dict[str, ChangeValue] = Field(default_factory=dict)
    changed: bool = True

    @classmethod
    def of(cls, change: Change) -> StageChange:
        """The report form of a stage's change."""
        values = dict(change.values)
        return cls(stage=change.stage, summary=change.summary, values=values, changed=change.changed)


class MasterReport(BaseModel):
    """A corrective master: what was asked, what each stage changed, and the check before and after."""

    model_config = ConfigDict(ser_json_inf_nan="null")

    schema_version: Literal["1"] = MASTER_SCHEMA_VERSION
    tool: ToolInfo
    input_path: str
    output_path: str
    settings: MasterSettings
    changes: list[StageChange]
    tags: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)  # what mastering cannot fix, in plain words
    before: Report
    after: Report
