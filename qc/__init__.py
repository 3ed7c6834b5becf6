"""mixqc: rule-based mix QC and feedback reports.

Use it from Python::

    from qc import analyze
    report = analyze("mix.wav", profile="streaming")
    print(report.verdict, report.model_dump_json())

Heavy modules are imported on first use, so ``import qc`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("mixqc")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from .check import analyze as analyze

__all__ = ["__version__", "analyze"]


def __getattr__(name: str) -> Any:
    if name == "analyze":
        from .check import analyze

        return analyze
    raise AttributeError(f"module 'qc' has no attribute {name!r}")
