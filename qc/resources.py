"""Locate the data that ships inside the package: rule packs, profiles, curves and report templates.

Everything lives under ``qc/data/`` (``rules/`` and ``report_templates/``), in a source checkout, an
editable install and a wheel alike, so there is one layout to know.
"""

from __future__ import annotations

from pathlib import Path

_DATA_ROOT = Path(__file__).resolve().parent / "data"


def data_root() -> Path:
    """Folder holding ``rules/`` and ``report_templates/`` (``qc/data/``)."""
    return _DATA_ROOT


def rules_dir() -> Path:
    """Folder of the built-in rule packs and ``profiles.yaml``."""
    return data_root() / "rules"


def templates_dir() -> Path:
    """Folder of the Jinja2 report templates and their CSS."""
    return data_root() / "report_templates"
