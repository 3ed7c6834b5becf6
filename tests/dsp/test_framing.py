"""qc.dsp.framing: window sums, frames and decimation equal direct computations for any block size."""

from __future__ import annotations

import numpy as np
import pytest
from signals import noise, sine

from qc.dsp.framing import Decimator, FrameGrid, WindowSums


@pytest.mark.parametrize("block_frames", [1, 999, 1000, 4096, None])
def test_window_sums_equal_direct_sums_for_any_block_size(block_frames: int | None) -> None:
    x = noise(-20.0, 0.5, 48000, channels=2)
    sums = WindowSums(1000)
    step = block_frames or len(x)
    for start in range(0, len(x), step):
        sums.add(x[start : start + step])
    whole = len(x) // 1000
    np.testing.assert_allclose(sums.sums(), x[: whole * 1000].reshape(whole, 1000, 2).sum(axis=1), atol=1e-12)
    tail, frames = sums.tail()
    assert frames == len(x) - whole * 1000
    np.testing.assert_allclose(tail, x[whole * 1000 :].sum(axis=0), atol=1e-12)


@pytest.mark.parametrize("block_frames", [1000, 8192, None])
@pytest.mark.parametrize(("length", "hop"), [(8192, 8192), (4096, 3 * 4096)])
def test_frame_grid_yields_the_same_frames_for_any_block_size(
    block_frames: int | None, length: int, hop: int
) -> None:
    x = noise(-20.0, 1.0, 48000, channels=2)
    grid = FrameGrid(length, hop, 2)
    step = block_frames or len(x)
    frames = [
        frame.copy() for start in range(0, len(x), step) for frame in grid.push(x[start : start + step])
    ]
    expected = [x[j : j + length] for j in range(0, len(x) - length + 1, hop)]
    assert len(frames) == len(expected)
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("block_frames", [7, 1000, None])
def test_decimator_equals_a_triangular_fir_sampled_every_factor_frames(block_frames: int | None) -> None:
    factor = 18
    x = noise(-20.0, 0.3, 44100, channels=2)
    decimator = Decimator(factor, 2)
    step = block_frames or len(x)
    got = np.concatenate([decimator.process(x[start : start + step]) for start in range(0, len(x), step)])
    kernel = np.concatenate((np.arange(1, factor + 1), np.arange(factor - 1, -1, -1))) / factor**2
    # Output m weighs frames (m-1)*factor ... (m+1)*factor - 1 with kernel[0 ... 2*factor-1].
    padded = np.concatenate((np.zeros((factor, 2)), x))
    expected = np.array(
        [kernel @ padded[m * factor : m * factor + 2 * factor] for m in range(len(x) // factor)]
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("freq_hz", [50.0, 300.0, 1000.0])
def test_decimator_power_gain_matches_a_measured_sine(freq_hz: float) -> None:
    sample_rate, factor = 48000, 20
    x = sine(freq_hz, 0.0, 2.0, sample_rate, channels=1)
    decimator = Decimator(factor, 1)
    y = decimator.process(x)[100:-100]
    measured = np.mean(y**2) / 0.5
    assert 10 * np.log10(measured) == pytest.approx(
        10 * np.log10(decimator.power_gain(freq_hz, sample_rate)), abs=0.02
    )


def test_window_sums_of_a_1d_quantity_have_no_trailing_axis() -> None:
    sums = WindowSums(3)
    sums.add(np.arange(4.0))
    sums.add(np.arange(4.0, 7.0))
    np.testing.assert_array_equal(sums.sums(), [0 + 1 + 2, 3 + 4 + 5])
    tail, frames = sums.tail()
    assert frames == 1
    assert tail == 6.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: WindowSums(0), "window_frames must be at least 1"),
        (lambda: FrameGrid(0, 8, 2), "need 1 <= length <= hop"),
        (lambda: FrameGrid(8, 4, 2), "need 1 <= length <= hop"),
        (lambda: Decimator(0, 2), "decimation factor must be at least 1"),
    ],
)
def test_invalid_sizes_are_rejected(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
