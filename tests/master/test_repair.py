"""DC removal and click repair on signals whose clean version is known."""

from __future__ import annotations

import numpy as np
import pytest
from music import music
from signals import sine

from qc.errors import MasterError
from qc.features.glitches import detect_clicks
from qc.features.registry import Event
from qc.master.repair import (
    ChannelMeans,
    ClickRepair,
    DCBlock,
    channel_means,
    cross_channel_interpolate,
    lsar_interpolate,
)
from qc.master.stage import run_stages

RATE = 48000
CLICK = 0.5  # click amplitude (full scale 1)


def harmonic_note(duration_s: float = 1.0, sample_rate: int = RATE, channels: int = 2) -> np.ndarray:
    """A decaying 220 Hz note with 8 harmonics (1/k), peak 0.5, over a -90 dBFS noise floor (seeded)."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    x = sum((1.0 / k) * np.exp(-0.3 * k * t) * np.sin(2 * np.pi * 220.0 * k * t + k) for k in range(1, 9))
    x = 0.5 * x / np.max(np.abs(x))
    noise = np.random.default_rng(5).standard_normal((len(t), channels)) * 10 ** (-90 / 20)
    return x[:, None] + noise


def add_click(x: np.ndarray, start: int, frames: int, channel: int | None, seed: int = 0) -> np.ndarray:
    """``x`` plus a click of ``frames`` samples at ``start``: random-sign 0.25-0.5 (one sample: +0.5)."""
    rng = np.random.default_rng(seed + start)
    burst = CLICK * (rng.uniform(0.5, 1.0, frames) * rng.choice([-1.0, 1.0], frames) if frames > 1 else 1.0)
    y = x.copy()
    for c in range(x.shape[1]) if channel is None else (channel,):
        y[start : start + frames, c] += burst
    return y


def event(start: int, frames: int, channel: int | None, sample_rate: int = RATE) -> Event:
    """The event ``click_events`` reports for a click of ``frames`` samples at ``start``."""
    return Event(start_s=start / sample_rate, end_s=(start + frames) / sample_rate, channel=channel)


def repaired_mask(change_values: dict, shape: tuple[int, int], sample_rate: int = RATE) -> np.ndarray:
    """True on the samples of the spans a ClickRepair change reports."""
    mask = np.zeros(shape, dtype=bool)
    for span in change_values["repaired"]:
        a, b = round(span["start_s"] * sample_rate), round(span["end_s"] * sample_rate)
        mask[a:b, slice(None) if span["channel"] is None else span["channel"]] = True
    return mask


def repair(x: np.ndarray, clicks: list, *, block_frames: int = 65536, sample_rate: int = RATE):
    """Run a ClickRepair over ``x``; return the output and the stage."""
    stage = ClickRepair(clicks, sample_rate, x.shape[1])
    return run_stages([stage], x, block_frames=block_frames), stage


def peak_db(error: np.ndarray, reference: float = CLICK) -> float:
    """Peak of ``error`` in dB re ``reference``."""
    return 20.0 * np.log10(max(float(np.max(np.abs(error))), 1e-300) / reference)


# --- DC ------------------------------------------------------------------------------------------------


def test_dc_block_subtracting_the_measured_mean_restores_the_clean_signal():
    clean = sine(1000.0, -6.0, 1.0, RATE, 2)  # 1000 whole cycles: mean 0
    offsets = np.array([0.01, -0.02])
    out = run_stages([DCBlock.from_audio(clean + offsets)], clean + offsets, block_frames=1024)
    assert np.max(np.abs(out - clean)) < 1e-12
    assert np.max(np.abs(out.mean(axis=0))) < 1e-15


def test_dc_block_reports_each_channels_offset_in_dbfs():
    stage = DCBlock([0.01, -0.001])
    run_stages([stage], np.zeros((100, 2)))
    change = stage.change()
    assert change.changed
    assert change.values["offsets_dbfs"] == pytest.approx([-40.0, -60.0])
    assert "-40.0 dBFS (L)" in change.summary and "-60.0 dBFS (R)" in change.summary


def test_dc_block_with_zero_offsets_reports_no_change():
    stage = DCBlock([0.0])
    out = run_stages([stage], np.ones((10, 1)))
    assert np.array_equal(out, np.ones((10, 1)))
    assert not stage.change().changed


def test_channel_means_of_blocks_equal_the_mean_of_the_whole():
    x = np.random.default_rng(1).standard_normal((10_000, 2)) + np.array([0.1, -0.3])
    meter = ChannelMeans(2)
    for start in range(0, len(x), 777):
        meter.add(x[start : start + 777])
    assert np.allclose(meter.means(), x.mean(axis=0), rtol=0, atol=1e-13)
    assert np.allclose(channel_means(x), x.mean(axis=0), rtol=0, atol=1e-13)


def test_dc_block_rejects_a_block_with_another_channel_count():
    with pytest.raises(MasterError, match="2 channel"):
        DCBlock([0.1, 0.1]).process(0, np.zeros((4, 1)))


def test_dc_block_rejects_non_finite_offsets():
    with pytest.raises(MasterError, match="finite offset"):
        DCBlock([float("nan")])


# --- the interpolators --------------------------------------------------------------------------------


def test_lsar_restores_a_sine_through_a_3_ms_gap():
    x = sine(997.0, -6.0, 0.2, RATE, 1)[:, 0]
    y = x.copy()
    y[4800:4944] = 0.9
    estimate = lsar_interpolate(y, 4800, 144, 100)
    assert peak_db(estimate - x[4800:4944], 0.5) < -100.0


def dense_lsar(segment: np.ndarray, first: int, count: int, order: int) -> np.ndarray:
    """LSAR written out with dense least squares (no ridge, no Toeplitz shortcut): the reference."""
    known = [segment[:first], segment[first + count :]]
    rows = [np.lib.stride_tricks.sliding_window_view(p, order + 1)[:, ::-1] for p in known if len(p) > order]
    lagged = np.concatenate(rows)
    a = np.concatenate(([1.0], -np.linalg.lstsq(lagged[:, 1:], lagged[:, 0], rcond=None)[0]))
    t = np.arange(max(order, first), min(len(segment), first + count + order))
    matrix = np.zeros((len(t), len(segment)))
    for k in range(order + 1):
        matrix[np.arange(len(t)), t - k] = a[k]
    filled = segment.copy()
    filled[first : first + count] = 0.0
    return np.linalg.lstsq(matrix[:, first : first + count], -(matrix @ filled), rcond=None)[0]


@pytest.mark.parametrize(("first", "count"), [(600, 40), (5, 40), (600, 1), (1150, 40)], ids=str)
def test_lsar_equals_a_dense_least_squares_solution(first, count):
    # A resonance driven by noise (poles at radius 0.95): the model is well determined, so both agree.
    drive = np.random.default_rng(3).standard_normal(1200)
    x = np.zeros(1200)
    for n in range(2, 1200):
        x[n] = 1.5 * x[n - 1] - 0.9025 * x[n - 2] + drive[n]
    if first < 12:  # too little history before the gap: the method runs backwards (see lsar_interpolate)
        expected = dense_lsar(x[::-1], len(x) - first - count, count, 12)[::-1]
    else:
        expected = dense_lsar(x, first, count, 12)
    estimate = lsar_interpolate(x, first, count, 12)
    assert estimate == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert np.sqrt(np.mean(estimate**2)) < 2.0 * np.sqrt(np.mean(x**2))  # bounded, even at the very start


def test_cross_channel_interpolation_takes_the_shared_part_from_the_other_channel():
    t = np.arange(4000)
    shared = np.sin(0.07 * t) + 0.5 * np.random.default_rng(2).standard_normal(len(t))  # unpredictable
    left, right = 0.8 * shared, shared
    damaged = left.copy()
    damaged[2000:2100] += 1.0
    cross = cross_channel_interpolate(damaged, right, 2000, 100, 64)
    alone = lsar_interpolate(damaged, 2000, 100, 64)
    assert peak_db(cross - left[2000:2100], 1.0) < -60.0
    assert peak_db(alone - left[2000:2100], 1.0) > -20.0  # the noise itself cannot be predicted


# --- click repair on a sine -------------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 48, 96, 144], ids=["1-sample", "1-ms", "2-ms", "3-ms"])
@pytest.mark.parametrize("channel", [0, None], ids=["left", "both"])
def test_click_on_a_sine_is_gone_and_every_other_sample_is_bit_identical(frames, channel):
    clean = sine(997.0, -6.0, 0.5, RATE, 2)
    start = 12_345
    damaged = add_click(clean, start, frames, channel)
    out, stage = repair(damaged, [event(start, frames, channel)], block_frames=1024)
    values = stage.change().values
    mask = repaired_mask(values, clean.shape)
    assert mask[start : start + frames, 0].all()  # the click is inside the repaired span
    assert np.array_equal(out[~mask], damaged[~mask])
    assert peak_db(out - clean) < -40.0
    assert values["samples_changed"] == np.count_nonzero(out != damaged)
    assert values["repaired_count"] == 1
    assert mask.sum() <= (frames + 2 * 40) * (2 if channel is None else 1)  # margins stay small


def test_clicks_found_by_the_detector_are_not_found_after_repair():
    clean = sine(440.0, -12.0, 1.0, RATE, 2)
    damaged = add_click(add_click(clean, 10_000, 1, 0), 30_000, 96, None)
    found = detect_clicks(damaged, RATE)
    assert len(found) == 2
    out, _ = repair(damaged, found)
    assert detect_clicks(out, RATE) == []
    assert peak_db(out - clean) < -40.0


@pytest.mark.parametrize("block_frames", [1, 100, 1024, 65536])
def test_output_is_independent_of_the_block_size(block_frames):
    clean = sine(997.0, -6.0, 0.15, RATE, 2)
    clicks = [(0, 1, None), (1020, 10, 0), (2048, 48, 1), (4000, 144, None), (len(clean) - 1, 1, 1)]
    damaged = clean
    for start, frames, channel in clicks:
        damaged = add_click(damaged, start, frames, channel)
    events = [event(*click) for click in clicks]
    reference, _ = repair(damaged, events, block_frames=len(damaged))
    out, _ = repair(damaged, events, block_frames=block_frames)
    assert out.shape == damaged.shape
    assert np.array_equal(out, reference)


@pytest.mark.parametrize(("start", "frames"), [(0, 1), (0, 48), (23_999, 1), (23_952, 48)])
def test_click_at_the_very_start_or_end_of_the_file_is_repaired(start, frames):
    clean = sine(997.0, -6.0, 0.5, RATE, 2)
    damaged = add_click(clean, start, frames, None)
    out, stage = repair(damaged, [event(start, frames, None)], block_frames=1000)
    mask = repaired_mask(stage.change().values, clean.shape)
    assert np.array_equal(out[~mask], damaged[~mask])
    assert peak_db(out - clean) < -40.0


def test_click_across_a_block_boundary_is_repaired():
    clean = sine(997.0, -6.0, 0.2, RATE, 2)
    damaged = add_click(clean, 1000, 48, 0)  # frames 1000-1047 straddle the boundary at 1024
    out, _ = repair(damaged, [event(1000, 48, 0)], block_frames=1024)
    assert peak_db(out - clean) < -40.0


def test_one_channel_click_leaves_the_other_channel_bit_identical():
    clean = sine(997.0, -6.0, 0.2, RATE, 2)
    damaged = add_click(clean, 5000, 48, 1)
    out, _ = repair(damaged, [event(5000, 48, 1)])
    assert np.array_equal(out[:, 0], damaged[:, 0])


def test_merged_event_repairs_only_the_clicks_inside_it():
    clean = sine(997.0, -6.0, 0.5, RATE, 1)
    damaged = add_click(add_click(clean, 10_000, 1, 0), 10_960, 1, 0)  # 20 ms apart: one merged event
    out, stage = repair(damaged, [Event(start_s=10_000 / RATE, end_s=10_961 / RATE, channel=0)])
    values = stage.change().values
    assert values["repaired_count"] == 2
    assert values["samples_changed"] < 20  # not the 20 ms between them
    assert peak_db(out - clean) < -40.0


def test_change_lists_where_the_clicks_were_repaired():
    clean = sine(997.0, -6.0, 0.5, RATE, 2)
    damaged = add_click(add_click(clean, 4800, 1, 0), 12_000, 48, None)
    _, stage = repair(damaged, [event(4800, 1, 0), event(12_000, 48, None)])
    change = stage.change()
    spans = change.values["repaired"]
    assert [span["channel"] for span in spans] == [0, None]
    assert spans[0]["start_s"] <= 0.1 < spans[0]["end_s"]
    assert spans[1]["start_s"] <= 0.25 and spans[1]["end_s"] >= 12_048 / RATE
    assert "repaired 2 click(s)" in change.summary and "0:00.100" in change.summary


def test_events_in_their_json_form_are_accepted():
    clean = sine(997.0, -6.0, 0.2, RATE, 1)
    damaged = add_click(clean, 3000, 1, 0)
    out, _ = repair(damaged, [{"start_s": 3000 / RATE, "end_s": 3001 / RATE, "channel": 0, "value": 40.0}])
    assert peak_db(out - clean) < -40.0


def test_event_beyond_the_end_is_reported_as_skipped():
    clean = sine(997.0, -6.0, 0.1, RATE, 1)
    out, stage = repair(clean, [Event(start_s=1.0, end_s=1.0, channel=0)])
    change = stage.change()
    assert np.array_equal(out, clean)
    assert not change.changed and len(change.values["skipped"]) == 1


@pytest.mark.parametrize(
    ("clicks", "message"),
    [
        ([Event(start_s=0.1, end_s=0.1, channel=2)], "channel 2"),
        ([Event(start_s=0.2, end_s=0.1, channel=0)], "ordered"),
    ],
)
def test_bad_events_are_refused(clicks, message):
    with pytest.raises(MasterError, match=message):
        ClickRepair(clicks, RATE, 2)


# --- click repair on music-like signals ------------------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 48, 96, 144], ids=["1-sample", "1-ms", "2-ms", "3-ms"])
def test_click_on_a_harmonic_note_is_gone(frames):
    clean = harmonic_note()
    start = 20_000
    damaged = add_click(clean, start, frames, None)
    out, _ = repair(damaged, [event(start, frames, None)])
    assert peak_db(out - clean) < -40.0
    span = slice(start - 2, start + frames + 2)
    linear = np.linspace(damaged[span.start - 1], damaged[span.stop], frames + 6)[1:-1]
    assert np.sum((out[span] - clean[span]) ** 2) < 0.1 * np.sum((linear - clean[span]) ** 2)


def test_clicks_in_a_mix_with_drums_are_repaired_better_than_by_linear_interpolation():
    clean, rate = music(3.0)
    clicks = [(11_466, 1, 0), (33_516, 44, None), (56_000, 88, 1), (78_060, 132, None), (93_943, 44, 0)]
    damaged = clean
    for start, frames, channel in clicks:
        damaged = add_click(damaged, start, frames, channel)
    out, stage = repair(damaged, [event(*c, sample_rate=rate) for c in clicks], sample_rate=rate)
    mask = repaired_mask(stage.change().values, clean.shape, rate)
    assert np.array_equal(out[~mask], damaged[~mask])
    linear = damaged.copy()
    for column in range(2):
        known = ~mask[:, column]
        frames = np.arange(len(clean))
        linear[:, column] = np.interp(frames, frames[known], damaged[known, column])
    ar_error = np.sum((out - clean)[mask] ** 2)
    linear_error = np.sum((linear - clean)[mask] ** 2)
    assert ar_error < 0.5 * linear_error
    assert peak_db(out - clean) < -10.0  # the drums' noise in a 3 ms gap cannot be predicted


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_click_at_the_edge_of_a_mix_is_extrapolated_without_blowing_up(where):
    clean, rate = music(1.0)
    start = 0 if where == "start" else len(clean) - 44
    damaged = add_click(clean, start, 44, None)  # 1 ms, context on one side only
    out, _ = repair(damaged, [event(start, 44, None, sample_rate=rate)], sample_rate=rate)
    span = slice(max(0, start - 5), start + 49)
    assert peak_db(out[span] - clean[span]) < -15.0
    assert np.max(np.abs(out[span])) <= np.max(np.abs(clean[span]))


def test_the_repair_stages_chain_block_size_independently():
    from qc.master.edit import Fade, Trim
    from qc.master.eq import CorrectiveEQ

    clean = sine(997.0, -6.0, 0.5, RATE, 2) + np.array([0.01, -0.02])
    damaged = add_click(add_click(clean, 1000, 1, 0), 20_000, 96, None)
    clicks = [event(1000, 1, 0), event(20_000, 96, None)]

    def stages():
        return [
            DCBlock.from_audio(damaged),
            ClickRepair(clicks, RATE, 2),
            CorrectiveEQ(RATE, 2, {"mid": -2.0}),
            Trim(480, 23_000, RATE),
            Fade(RATE, 0.0, 20.0),
        ]

    reference = run_stages(stages(), damaged, block_frames=len(damaged))
    assert reference.shape == (23_000 - 480, 2)
    for block_frames in (1024, 65536, 333):
        assert np.array_equal(run_stages(stages(), damaged, block_frames=block_frames), reference)
