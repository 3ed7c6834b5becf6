"""Direct-form IIR filtering along the time axis, with carried state for block-wise streaming.

``scipy.signal`` takes about 0.8 s to import (it pulls in ``scipy.stats``), which is most of the
start-up time of ``mixqc check``. Its filter kernel is a small compiled module,
``scipy.signal._sigtools``, that can be loaded on its own in a few milliseconds. This module loads it
directly when it can and falls back to ``scipy.signal.lfilter`` otherwise; ``tests/dsp/test_iir.py``
checks that both give identical output.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np


@cache
def _kernel() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``_linear_filter(b, a, x, axis, zi) -> (y, zf)``, loaded without importing ``scipy.signal``."""
    try:
        import scipy

        folder = Path(scipy.__file__).parent / "signal"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = folder / f"_sigtools{suffix}"
            if candidate.is_file():
                spec = importlib.util.spec_from_file_location("scipy.signal._sigtools", candidate)
                if spec is None or spec.loader is None:
                    break
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                kernel: Callable[..., tuple[np.ndarray, np.ndarray]] = module._linear_filter
                return kernel
    except Exception:  # any layout change in SciPy: use the public API instead
        pass
    return _public_lfilter


def _public_lfilter(
    b: np.ndarray, a: np.ndarray, x: np.ndarray, axis: int, zi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import lfilter as scipy_lfilter

    filtered: tuple[np.ndarray, np.ndarray] = scipy_lfilter(b, a, x, axis=axis, zi=zi)
    return filtered


def lfilter(b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` (frames, channels) along axis 0 with ``b``/``a``; return ``(y, zf)``.

    Parameters
    ----------
    b, a
        Numerator and denominator coefficients, ``a[0] == 1``.
    x
        float64 samples shaped ``(frames, channels)``.
    zi
        Filter state shaped ``(max(len(a), len(b)) - 1, channels)``; zeros at the start of a stream.
    """
    b = np.asarray(b, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    zi = np.asarray(zi, dtype=np.float64)
    return _kernel()(b, a, x, 0, zi)
