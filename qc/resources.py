"""Locate the data that ships with mixqc: rule packs, profiles, curves and report templates.

In a source checkout or an editable install the data lives at the repository root (``rules/``,
``report_templates/``); in a wheel it is installed as ``qc/data/``. This module is the one place that
knows both layouts.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Folder holding ``rules/`` and ``report_templates/``."""
    if (_SOURCE_ROOT / "rules" / "default.yaml").is_file():
        return _SOURCE_ROOT
    return Path(str(importlib.resources.files("qc") / "data"))


def rules_dir() -> Path:
    """Folder of the built-in rule packs and ``profiles.yaml``."""
    return data_root() / "rules"


def templates_dir() -> Path:
    """Folder of the Jinja2 report templates and their CSS."""
    return data_root() / "report_templates"
