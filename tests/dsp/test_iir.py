"""qc.dsp.iir.lfilter must equal scipy.signal.lfilter, whole or block-wise with carried state."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from qc.dsp import iir

# (b, a): a one-pole smoother, the BS.1770 shelf at 48 kHz, and a 4th-order Butterworth high-pass.
FILTERS = {
    "one-pole": (np.array([0.1]), np.array([1.0, -0.9])),
    "biquad": (
        np.array([1.53512485958697, -2.69169618940638, 1.19839281085285]),
        np.array([1.0, -1.69065929318241, 0.73248077421585]),
    ),
    "order-4": signal.butter(4, 0.01, btype="highpass"),
}


def _noise(frames: int, channels: int) -> np.ndarray:
    return np.random.default_rng(7).standard_normal((frames, channels))


def _zeros(b: np.ndarray, a: np.ndarray, channels: int) -> np.ndarray:
    return np.zeros((max(len(a), len(b)) - 1, channels))


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_lfilter_equals_scipy_on_a_whole_signal(name: str, channels: int) -> None:
    b, a = FILTERS[name]
    x = _noise(5000, channels)
    zi = np.full((max(len(a), len(b)) - 1, channels), 0.25)  # a non-zero initial state
    y, zf = iir.lfilter(b, a, x, zi)
    y_ref, zf_ref = signal.lfilter(b, a, x, axis=0, zi=zi)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(zf, zf_ref)


@pytest.mark.parametrize("block_frames", [1, 7, 1024, 4096])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_lfilter_block_wise_with_carried_state_equals_scipy_whole(name: str, block_frames: int) -> None:
    b, a = FILTERS[name]
    x = _noise(9000, 2)
    state = _zeros(b, a, 2)
    pieces = []
    for start in range(0, len(x), block_frames):
        y, state = iir.lfilter(b, a, x[start : start + block_frames], state)
        pieces.append(y)
    y_ref, zf_ref = signal.lfilter(b, a, x, axis=0, zi=_zeros(b, a, 2))
    np.testing.assert_array_equal(np.concatenate(pieces), y_ref)
    np.testing.assert_array_equal(state, zf_ref)


def test_public_fallback_gives_the_same_output_as_the_direct_kernel() -> None:
    b, a = FILTERS["order-4"]
    x = _noise(3000, 2)
    zi = _zeros(b, a, 2)
    y_kernel, zf_kernel = iir._kernel()(b, a, x, 0, zi)
    y_public, zf_public = iir._public_lfilter(b, a, x, 0, zi)
    np.testing.assert_array_equal(y_kernel, y_public)
    np.testing.assert_array_equal(zf_kernel, zf_public)


def test_filtering_does_not_import_scipy_signal() -> None:
    code = (
        "import sys, numpy as np\n"
        "from qc.dsp.iir import lfilter\n"
        "lfilter([1.0], [1.0, -0.5], np.ones((4, 1)), np.zeros((1, 1)))\n"
        "print('scipy.signal' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
