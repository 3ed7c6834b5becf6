"""The house's one-way data flow, checked on the source: audio → features → rules → report → cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qc"

# module prefix -> qc modules it must never import
FORBIDDEN = {
    "qc.features": ("qc.rules", "qc.report", "qc.check", "qc.cli", "qc.analysis", "qc.master"),
    "qc.dsp": ("qc.features", "qc.rules", "qc.report", "qc.check", "qc.cli", "qc.analysis", "qc.audio"),
    "qc.rules": ("qc.report", "qc.check", "qc.cli", "qc.audio"),
    "qc.report": (
        "qc.audio",
        "qc.analysis",
        "qc.rules",
        "qc.check",
        "qc.cli",
        "qc.dsp",
        "qc.features.loudness",
        "qc.features.peaks",
        "qc.master.chain",
        "qc.master.level",
        "qc.master.repair",
        "qc.master.eq",
    ),
    # mastering stages are DSP on blocks: they never judge, render or read files through the check
    **{
        f"qc.master.{stage}": ("qc.rules", "qc.report", "qc.check", "qc.cli", "qc.analysis", "qc.audio")
        for stage in ("stage", "level", "repair", "eq", "edit", "convert")
    },
    "qc.master": ("qc.cli",),
}
# heavy modules that must be imported inside the functions that use them (start-up time)
HEAVY = ("scipy.signal", "matplotlib", "weasyprint", "librosa", "jinja2")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _imports(name: str, path: Path, *, top_level_only: bool = False) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append(module)
            out += [f"{module}.{alias.name}" for alias in node.names]
    return out


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_imports_flow_one_way(name, path):
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            bad = [m for m in _imports(name, path) if any(m == b or m.startswith(b + ".") for b in banned)]
            assert not bad, f"{name} must not import {bad}"


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_heavy_modules_are_not_imported_at_module_level(name, path):
    bad = [m for m in _imports(name, path, top_level_only=True) if m.startswith(HEAVY)]
    assert not bad, f"{name} imports {bad} at module level; import inside the function that uses it"


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_only_the_cli_prints(name, path):
    if name == "qc.cli":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"
    ]
    assert not calls, f"{name} calls print() at lines {calls}; return text and let qc/cli.py print it"
