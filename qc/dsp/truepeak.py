"""True-peak kernels: where the reconstructed (band-limited) waveform peaks between samples.

The true peak of a sampled signal is the maximum of ``|s(t)|``, where ``s`` is the band-limited
waveform through the samples (the one a DAC or a sample-rate converter rebuilds). ITU-R BS.1770-4
Annex 2 estimates it with 4x oversampling by a 48-tap interpolator; such a meter reads low when the
peak falls between its oversampled points: up to 0.69 dB near Nyquist from the grid alone
(``cos(π/8)``), and more with the Annex 2 filter, whose pass band ends near 0.42·fs: two of its four
phases are 2 dB down at 0.45·fs, so a lone crest there can read up to 3 dB low (on sines and tone
bursts up to 0.45·fs we measured 0.42 dB low and 0.22 dB high).

These kernels find the peak in two stages, so that the expensive, accurate interpolation runs only
where it can matter:

1. :func:`interval_peaks` — for every *interval* ``[n, n+1]`` between two samples, the largest
   ``|s|`` on a 4x grid (the two samples and three points between them), from a 24-tap Kaiser-windowed
   sinc (error ≤ 1.8 % up to 0.45·fs). Evaluated as one matrix product per block of 16 intervals, with
   blocks whose samples are too small to reach a threshold skipped (``|s| ≤ Σ|h| · max|x|``). Reads
   at most 0.6 dB (:data:`CANDIDATE_MARGIN_DB` = 1.0 dB with room to spare) below the interval's true
   peak for content up to 0.45·fs, and at most :data:`GRID_OVERREAD_DB` above it.
2. :func:`refine_interval_peaks` — for chosen intervals only, ``s`` at 8 points per sample from a
   48-tap Kaiser-windowed sinc (error ≤ 0.0025 dB up to 0.45·fs), then a parabola through the
   largest point and its neighbours: the interval's true peak to within about 0.006 dB.

A caller keeps the running maximum and refines only the intervals whose stage-1 value is within
:data:`CANDIDATE_MARGIN_DB` of it (or of an event ceiling): typically well under 1 % of them.
:func:`true_peak` does that for a whole signal; ``qc.features.peaks`` does it block by block.
:func:`annex2_true_peak` is the plain Annex 2 meter, kept as the standard's reference.

The signal is taken as zero before its first and after its last sample (as BS.1770 meters do). This
module does no I/O and keeps no state.

References
----------
ITU-R BS.1770-4 (2015), Annex 2: "Guidelines for accurate measurement of true-peak level".
EBU Tech 3341 (2016): true-peak requirements and test signals 15-23.
J. F. Kaiser, R. W. Schafer, "On the use of the I0-sinh window for spectrum analysis", IEEE Trans.
ASSP 28(1), 1980 (the Kaiser window).
"""

from __future__ import annotations

from functools import cache

import numpy as np

# ITU-R BS.1770-4 Annex 2, Table (48-tap, 4-phase FIR interpolator, one row per phase). Phase q's
# output lies (2q + 1)/8 of a sample after the input at tap 6 (y[n] = Σ_j h[q][j]·x[n − j]).
ANNEX2_COEFFICIENTS = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875,
         0.1373291015625, 0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250,
         0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500,
         0.4650878906250, 0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625,
         0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125,
         0.7797851562500, 0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000,
         0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750,
         0.9721679687500, 0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125,
         0.0109863281250, 0.0017089843750],
    ]
)  # fmt: skip

# Stage 1: 4x grid (offsets 1/4, 1/2, 3/4 between two samples), 24-tap Kaiser-windowed sinc.
# Half width and β chosen for the smallest worst-case error up to 0.45·fs: 1.8 % (0.15 dB).
STAGE1_OFFSETS = (0.25, 0.5, 0.75)
STAGE1_HALF_WIDTH = 12
STAGE1_BETA = 3.5
# Stage 2: 8 points per sample from a 48-tap Kaiser-windowed sinc (worst-case error 3·10⁻⁴, 0.0025 dB,
# up to 0.45·fs), then a parabola through the largest and its neighbours (0.003 dB at 0.45·fs).
REFINE_STEPS = 8
REFINE_HALF_WIDTH = 24
REFINE_BETA = 7.5
# Stage 2 runs on an integer grid so that its sums are exact (see :func:`_exact_fir`): samples on a grid
# of 2⁻²⁴ (exact for 16- and 24-bit PCM; float input moves by at most 3·10⁻⁸ of full scale), weights on
# a grid of 2⁻²² (at most 48·2⁻²³ = 6·10⁻⁶ of full scale, 0.00005 dB, from the exact kernel).
REFINE_SAMPLE_BITS = 24
REFINE_WEIGHT_BITS = 22
# Samples of context a kernel needs on each side of the intervals it evaluates.
CONTEXT_FRAMES = REFINE_HALF_WIDTH + 1

# How far stage 1 may read below an interval's true peak. Worst case over crest positions (computed
# from the filter's response): 0.51 dB at 0.40·fs, 0.59 dB at 0.45·fs (grid cos(2π·0.45/8) plus filter
# error), 1.2 dB at 0.46·fs; tests/dsp/test_truepeak.py checks the bound up to 0.45·fs.
CANDIDATE_MARGIN_DB = 1.0
# How far stage 1 can read above it (interpolation error, 0.15 dB at 0.45·fs, far less below 0.4·fs).
GRID_OVERREAD_DB = 0.2

# Stage 1 is a float32 BLAS product, whose summation order depends on the CPU's kernel and on the
# shape of the product (so on the floor skip and the block size): a grid value may differ from run to
# run by at most the rounding of a 24-term float32 dot product of float32-converted samples, to first
# order (24 + 1)·u·Σ|h|·max|x| with u = 2⁻²⁴ (Higham, "Accuracy and Stability of Numerical Algorithms",
# §3.1). That is 1e-6 relative, 300 000 times smaller than CANDIDATE_MARGIN_DB, so it cannot change
# which intervals are refined except at an exact tie, and stage 2 — the value every meter reports —
# is computed exactly (:func:`_exact_fir`) and so does not depend on CPU or block size.
STAGE1_ROUNDING = (STAGE1_HALF_WIDTH * 2 + 1) * 2.0**-24  # relative to Σ|h|·max|x| of the window

_BLOCK_INTERVALS = 16  # intervals per row of the stage-1 matrix product (fastest of 8-64 measured)
_CHUNK_INTERVALS = 8192  # intervals per stage-1 pass: arrays stay in L2 (fastest of 2 048-32 768 measured)
_GEMM_WORK = 240_000  # m·n·k of one matrix product: OpenBLAS threads above 262 144 (interface/gemm.c)


def kaiser_sinc_weights(offsets: np.ndarray, half_width: int, beta: float) -> np.ndarray:
    """Weights of a Kaiser-windowed sinc interpolator at fractional ``offsets``.

    Parameters
    ----------
    offsets
        Positions in samples after sample ``n`` at which to evaluate the waveform, shape ``(points,)``.
    half_width
        ``R``: the interpolator reads samples ``n − R + 1 … n + R`` (``2R`` taps).
    beta
        Kaiser window shape parameter.

    Returns
    -------
    numpy.ndarray
        ``(2R, points)``: ``s(n + offsets[p]) ≈ Σ_k w[k, p] · x[n − R + 1 + k]``. Taps farther than
        ``R`` from the point get weight 0; an integer offset reproduces the sample exactly.
    """
    offsets = np.asarray(offsets, dtype=np.float64)
    taps = np.arange(-half_width + 1, half_width + 1, dtype=np.float64)
    tau = offsets[None, :] - taps[:, None]
    inside = np.abs(tau) < half_width
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / half_width) ** 2, 0.0, None))) / np.i0(beta)
    return np.where(inside, np.sinc(tau) * window, 0.0)


@cache
def _stage1_matrix() -> tuple[np.ndarray, float]:
    """Block-Toeplitz matrix mapping a row of samples to the stage-1 grid of 16 intervals, and max Σ|h|.

    Row ``i`` of a sample window is sample ``first + 16 r + i − R + 1``; column ``q·16 + b`` is grid
    point ``STAGE1_OFFSETS[q]`` of interval ``b`` of the row.
    """
    weights = kaiser_sinc_weights(np.array(STAGE1_OFFSETS), STAGE1_HALF_WIDTH, STAGE1_BETA)
    taps, phases = weights.shape
    block = _BLOCK_INTERVALS
    matrix = np.zeros((block + taps - 1, phases * block), dtype=np.float32)
    for b in range(block):
        matrix[b : b + taps, b::block] = weights
    gain = max(1.0, float(np.abs(weights).sum(axis=0).max()))
    matrix.setflags(write=False)
    return matrix, gain


@cache
def _refine_matrix() -> tuple[np.ndarray, float]:
    """(2R, steps + 3) weights for offsets −1/8 … 1 + 1/8 (the interval plus one point either side).

    Returned as integers (float64) on the 2⁻²² grid, with the largest sample magnitude for which a
    48-term sum of products with samples on the 2⁻²⁴ grid stays below 2⁵³ (so is exact): about 48.
    """
    offsets = np.arange(-1, REFINE_STEPS + 2) / REFINE_STEPS
    weights = kaiser_sinc_weights(offsets, REFINE_HALF_WIDTH, REFINE_BETA)
    matrix = np.round(weights * 2.0**REFINE_WEIGHT_BITS)
    matrix.setflags(write=False)
    exact_limit = 2.0 ** (53 - REFINE_SAMPLE_BITS) / float(np.abs(matrix).sum(axis=0).max())
    return matrix, exact_limit


def interval_peaks(x: np.ndarray, first: int, count: int, *, floor: float = 0.0) -> np.ndarray:
    """Stage 1: the largest ``|s|`` on a 4x grid over each interval ``[n, n+1]`` (linear, full scale 1).

    Parameters
    ----------
    x
        Samples ``(frames, channels)``, with at least ``STAGE1_HALF_WIDTH`` samples of context before
        ``first`` and after ``first + count``.
    first, count
        The intervals ``[n, n+1]`` for ``n = first … first + count − 1`` (indices into ``x``).
    floor
        Intervals whose value is certainly below ``floor`` (``Σ|h| · max|x| < floor`` around them) are
        not interpolated and read the larger of their two samples. 0 computes everything.

    Returns
    -------
    numpy.ndarray
        ``(channels, count)`` float32: ``max(|x[n]|, |x[n+1]|, |s(n+¼)|, |s(n+½)|, |s(n+¾)|)``.
    """
    if count > _CHUNK_INTERVALS:  # keep the working set in cache
        return np.concatenate(
            [
                interval_peaks(x, start, min(_CHUNK_INTERVALS, first + count - start), floor=floor)
                for start in range(first, first + count, _CHUNK_INTERVALS)
            ],
            axis=1,
        )
    matrix, gain = _stage1_matrix()
    channels = x.shape[1]
    block = _BLOCK_INTERVALS
    lead = STAGE1_HALF_WIDTH - 1  # samples of the first window before interval `first`
    width = matrix.shape[0]
    rows = -(-count // block)
    segment = np.zeros((channels, (rows + 2) * block), dtype=np.float32)
    take = min(rows * block + width - block, x.shape[0] - (first - lead))
    segment[:, :take] = x[first - lead : first - lead + take].T  # channel-major float32 for the product
    magnitude = np.abs(segment)
    samples = np.maximum(magnitude[:, lead : lead + count], magnitude[:, lead + 1 : lead + 1 + count])
    item = segment.itemsize  # overlapping windows of `width` samples, one every `block` (a view)
    windows = np.ndarray(
        (channels, rows, width), np.float32, segment, strides=(segment.strides[0], block * item, item)
    )
    keep = None
    if floor > 0.0:
        chunk = np.maximum.reduce([magnitude[:, i::block] for i in range(block)])  # (channels, rows + 2)
        keep = np.maximum(np.maximum(chunk[:, :-2], chunk[:, 1:-1]), chunk[:, 2:]) * gain >= floor
        if 2 * np.count_nonzero(keep) > keep.size:  # gathering rows costs more than it saves
            keep = None
    picked = windows.reshape(-1, width) if keep is None else windows[keep]
    best = np.zeros((len(picked), block), dtype=np.float32)
    if len(picked):
        grid = _matmul(picked, matrix)
        np.abs(grid, out=grid)
        best = np.maximum(np.maximum(grid[:, :block], grid[:, block : 2 * block]), grid[:, 2 * block :])
    if keep is None:
        peaks = best.reshape(channels, rows * block)
    else:
        peaks = np.zeros((channels, rows, block), dtype=np.float32)
        peaks[keep] = best
        peaks = peaks.reshape(channels, rows * block)
    return np.maximum(peaks[:, :count], samples)


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` as a stack of small products, each below OpenBLAS's threading threshold.

    A threaded product of this size stalls for milliseconds when the cores are busy (other extractors,
    a parallel batch); numpy runs the stack in one C loop, single-threaded and steady.
    """
    rows = a.shape[0]
    batch = max(1, _GEMM_WORK // (a.shape[1] * b.shape[1]))
    if rows <= batch:
        product: np.ndarray = a @ b
        return product
    whole = rows // batch * batch
    out = np.empty((rows, b.shape[1]), dtype=np.result_type(a, b))
    out[:whole] = (a[:whole].reshape(-1, batch, a.shape[1]) @ b).reshape(whole, b.shape[1])
    if whole < rows:
        out[whole:] = a[whole:] @ b
    return out


def _exact_fir(column: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Stage-2 interpolation of the windows ``column[starts[i] : starts[i] + 2R]``, ``(len(starts), 11)``.

    The samples are put on the 2⁻²⁴ grid and the weights are integers on the 2⁻²² grid, so every
    product and every partial sum is an integer below 2⁵³: float64 arithmetic is then exact, and the
    result is the same whatever order a BLAS kernel sums in. That order depends on the CPU (OpenBLAS
    picks its kernel at run time) and on the shape of the product (how many intervals a block asks
    for), and with rounded float32 products it moved a file's true peak in the 7th digit (3.3266991664
    vs 3.3266985083 dBTP) when the file was cut into blocks differently. Samples beyond the exact range
    (about ±48, +33 dBFS: only hostile float files) are summed tap by tap in a fixed order instead,
    which is as deterministic and about ten times slower.
    """
    matrix, exact_limit = _refine_matrix()
    taps = matrix.shape[0]
    grid = np.round(column * 2.0**REFINE_SAMPLE_BITS)
    scale = 2.0 ** -(REFINE_SAMPLE_BITS + REFINE_WEIGHT_BITS)
    if len(column) == 0 or float(np.abs(column).max()) < exact_limit:
        windows = np.lib.stride_tricks.sliding_window_view(grid, taps)
        out = np.empty((len(starts), matrix.shape[1]))
        for first in range(0, len(starts), _CHUNK_INTERVALS):  # gathered windows stay a few MB
            chunk = starts[first : first + _CHUNK_INTERVALS]
            out[first : first + len(chunk)] = _matmul(windows[chunk], matrix)
        return out * scale
    out = np.zeros((len(starts), matrix.shape[1]))
    for k in range(taps):  # fixed order: k = 0 … 2R − 1, each step correctly rounded
        out += grid[starts + k][:, None] * matrix[k]
    return out * scale


def refine_interval_peaks(
    x: np.ndarray, channel: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: the true peak of chosen intervals ``[n, n+1]`` and where it lies.

    Evaluates the 48-tap interpolator at 8 points per sample across the interval (and one point
    beyond each end), takes the largest ``|s|`` and fits a parabola through it and its neighbours.

    Parameters
    ----------
    x
        Samples ``(frames, channels)``, with ``CONTEXT_FRAMES`` samples of context around every interval
        asked for.
    channel, index
        Equal-length integer arrays: interval ``[index[i], index[i] + 1]`` of channel ``channel[i]``.

    Returns
    -------
    peak, position
        ``|s|`` at its maximum over each interval (linear, ≥ both end samples), and the position of that
        maximum in samples (fractional index into ``x``).
    """
    channel = np.asarray(channel, dtype=np.intp)
    index = np.asarray(index, dtype=np.intp)
    values = np.empty((len(index), REFINE_STEPS + 3))
    lead = REFINE_HALF_WIDTH - 1
    counts = np.bincount(channel, minlength=x.shape[1])
    for c in np.flatnonzero(counts):
        chosen = slice(None) if counts[c] == len(channel) else channel == c  # often all one channel
        wanted = index[chosen]
        low = int(wanted.min()) - lead  # only the span the windows cover is put on the grid
        column = np.asarray(x[low : int(wanted.max()) + REFINE_HALF_WIDTH + 1, c], dtype=np.float64)
        values[chosen] = _exact_fir(column, wanted - lead - low)
    values = np.abs(values, out=values)  # column k: offset (k - 1)/8, k = 0 ... 10
    best = np.argmax(values[:, 1:-1], axis=1) + 1
    rows = np.arange(len(index))
    left, centre, right = values[rows, best - 1], values[rows, best], values[rows, best + 1]
    curvature = left - 2.0 * centre + right
    is_peak = (centre >= left) & (centre >= right) & (curvature < 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(is_peak, 0.5 * (left - right) / curvature, 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    peak = np.where(is_peak, centre - 0.25 * (left - right) * shift, centre)
    ends = np.maximum(np.abs(x[index, channel]), np.abs(x[index + 1, channel]))  # exact, in float64
    peak = np.maximum(peak, ends)
    position = index + (best - 1 + shift) / REFINE_STEPS
    return peak, position


def true_peak(x: np.ndarray) -> np.ndarray:
    """Per-channel true peak of a whole signal, linear (1.0 = 0 dBTP).

    Follows ITU-R BS.1770-4 Annex 2 (true peak of the band-limited waveform), computed as described
    in the module docstring: within 0.01 dB of the exact value for content up to 0.45·fs, where the
    plain Annex 2 meter reads up to 0.4 dB low on sines (more on a lone crest). Convert with
    :func:`qc.units.gains_to_db` for dBTP.

    Parameters
    ----------
    x
        Samples ``(frames, channels)`` (or ``(frames,)``), float, full scale ±1.

    Returns
    -------
    numpy.ndarray
        ``(channels,)`` true peak of each channel, linear; 0 for digital silence.

    Examples
    --------
    EBU Tech 3341 case 16 (fs/4 sine of peak 0.5 at 45°, faded in and out): samples at -9.03 dBFS,
    true peak -6.02 dBTP.

    >>> n = np.arange(4800)
    >>> x = 0.5 * np.sin(np.pi / 2 * n + np.pi / 4) * np.hanning(4800)
    >>> round(float(20 * np.log10(true_peak(x)[0])), 2)
    -6.02
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    frames, channels = x.shape
    padded = np.zeros((frames + 2 * CONTEXT_FRAMES, channels))
    padded[CONTEXT_FRAMES : CONTEXT_FRAMES + frames] = x
    sample_peak = np.abs(x).max(axis=0) if frames else np.zeros(channels)
    # Intervals n = -1 … frames - 1: from the (zero) sample before the signal to the one after it.
    first = CONTEXT_FRAMES - 1
    grid = interval_peaks(padded, first, frames + 1).astype(np.float64)
    overread = 10.0 ** (GRID_OVERREAD_DB / 20.0)
    margin = 10.0 ** (CANDIDATE_MARGIN_DB / 20.0)
    lower = np.maximum(sample_peak, grid.max(axis=1, initial=0.0) / overread)
    channel, index = np.nonzero((grid >= lower[:, None] / margin) & (grid > 0.0))
    peak, _ = refine_interval_peaks(padded, channel, index + first)
    result = sample_peak.copy()
    np.maximum.at(result, channel, peak)
    return result


def annex2_true_peak(x: np.ndarray) -> np.ndarray:
    """Per-channel peak of the plain ITU-R BS.1770-4 Annex 2 4x meter, linear (the standard's minimum).

    Reads up to 0.4 dB low (and 0.2 dB high) on sines up to 0.45·fs, more on a lone crest there (see
    the module docstring); :func:`true_peak` is the measurement to use. Kept as the reference the
    standard defines. The samples themselves are not on its 4x grid (it sits 1/8 of a sample off them).

    Parameters
    ----------
    x
        Samples ``(frames, channels)`` (or ``(frames,)``), full scale ±1.

    Returns
    -------
    numpy.ndarray
        ``(channels,)`` largest ``|y|`` of the 4x oversampled signal, linear.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    peaks = np.zeros(x.shape[1])
    for c in range(x.shape[1]):
        for phase in ANNEX2_COEFFICIENTS:
            peaks[c] = max(peaks[c], float(np.abs(np.convolve(x[:, c], phase)).max(initial=0.0)))
    return peaks
