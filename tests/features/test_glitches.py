"""Glitch detectors (clicks, dropouts) on signals whose answer is known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from music import music
from pydantic import ValidationError
from signals import noise, silence, sine

from qc.audio import AudioInfo
from qc.features.glitches import (
    ClickParams,
    Clicks,
    DropoutParams,
    Dropouts,
    detect_clicks,
    detect_dropouts,
)
from qc.features.registry import Block, Event, extractor_for

RATES = [44100, 48000, 96000]


@pytest.fixture(scope="module")
def mix() -> np.ndarray:
    """60 s of clean music with drums at 44.1 kHz (tests/music.py), float64 (frames, 2)."""
    return music(60.0, seed=3)[0]


def _info(x: np.ndarray, sample_rate: int) -> AudioInfo:
    return AudioInfo(
        path="test.wav",
        sha256="",
        format="WAV",
        subtype="FLOAT",
        sample_rate=sample_rate,
        channels=x.shape[1],
        frames=x.shape[0],
        duration_s=x.shape[0] / sample_rate,
    )


def measure(cls, x: np.ndarray, sample_rate: int, block_frames: int | None = 4096, **params) -> list[Event]:
    """Run a registered extractor over ``x`` the way qc.analysis does (None = one block)."""
    extractor = cls(_info(x, sample_rate), cls.Params(**params))
    step = block_frames or len(x)
    for start in range(0, len(x), step):
        extractor.update(Block(start, x[start : start + step]))
    (events,) = extractor.result({}).values()
    return events


def tones(duration_s: float, sample_rate: int, channels: int) -> np.ndarray:
    """A chord of sines (220, 554, 1320 Hz) with quiet noise: music-like, no click by construction."""
    x = sine(220.0, -12.0, duration_s, sample_rate, channels)
    x += sine(554.4, -18.0, duration_s, sample_rate, channels, phase_rad=1.0)
    x += sine(1320.0, -24.0, duration_s, sample_rate, channels, phase_rad=2.0)
    return x + noise(-70.0, duration_s, sample_rate, channels, seed=1)


def hann_burst(duration_ms: float, sample_rate: int, peak: float, seed: int = 0) -> np.ndarray:
    """Hann-windowed white noise of ``duration_ms`` scaled to ``peak``."""
    n = round(duration_ms / 1000.0 * sample_rate)
    burst = np.random.default_rng(seed).standard_normal(n) * np.hanning(n + 2)[1:-1]
    return peak * burst / np.abs(burst).max()


# --- clicks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
def test_click_at_known_time_is_reported_within_1_ms(sample_rate, channels):
    x = tones(3.0, sample_rate, channels)
    at = round(1.2345 * sample_rate)
    x[at, channels - 1] += 0.05
    events = measure(Clicks, x, sample_rate)
    assert len(events) == 1
    assert abs(events[0].start_s - at / sample_rate) <= 0.001
    assert events[0].channel == channels - 1


def test_two_ms_burst_is_one_event_at_its_position(mix):
    x = mix[: 10 * 44100].copy()
    at = round(4.1 * 44100)  # between two drum hits
    x[at : at + 88, 0] += hann_burst(2.0, 44100, 0.1)
    events = measure(Clicks, x, 44100)
    assert len(events) == 1
    assert at / 44100 - 0.001 <= events[0].start_s <= events[0].end_s <= (at + 88) / 44100 + 0.001
    assert events[0].channel == 0


def test_no_clicks_on_clean_music_with_drums(mix):
    assert measure(Clicks, mix, 44100, block_frames=65536) == []


@pytest.mark.parametrize(
    "signal",
    [
        sine(100.0, -1.0, 10.0, 44100),
        sine(1000.0, -1.0, 10.0, 44100),
        sine(10000.0, -1.0, 10.0, 44100),
        noise(-20.0, 20.0, 44100, seed=2),
        silence(2.0, 44100),
    ],
    ids=["sine-100Hz", "sine-1kHz", "sine-10kHz", "white-noise", "silence"],
)
def test_no_clicks_on_sines_noise_and_silence(signal):
    assert detect_clicks(signal, 44100) == []


@pytest.mark.parametrize("offset", [-1, 0, 1])
@pytest.mark.parametrize("block_frames", [1024, 4096])
def test_click_on_a_block_boundary_is_found_once(offset, block_frames):
    x = tones(1.0, 44100, 2)
    at = 8 * block_frames + offset
    x[at, 1] -= 0.1
    events = measure(Clicks, x, 44100, block_frames=block_frames)
    assert [(round(e.start_s * 44100), e.channel) for e in events] == [(at, 1)]


@pytest.mark.parametrize(("time_s", "channel", "height"), [(3.62, 0, 0.1), (5.74, 1, -0.05), (7.13, 0, 0.3)])
def test_one_channel_click_in_music_is_reported_at_its_frame_and_channel(mix, time_s, channel, height):
    x = mix[: 10 * 44100].copy()
    at = round(time_s * 44100)
    x[at, channel] += height
    events = measure(Clicks, x, 44100)
    assert [(round(e.start_s * 44100), round(e.end_s * 44100), e.channel) for e in events] == [
        (at, at + 1, channel)
    ]


def test_click_in_both_channels_is_one_event_for_both():
    x = tones(2.0, 44100, 2)
    x[50000] += [0.1, -0.08]
    events = detect_clicks(x, 44100)
    assert [(round(e.start_s * 44100), e.channel) for e in events] == [(50000, None)]


def test_click_strength_is_its_height_over_the_local_residual_level():
    # White noise of RMS sigma has a residual r = x[n] - (x[n-1] + x[n+1]) / 2 of RMS sqrt(1.5) sigma and
    # mean |r| = sqrt(2 / pi) sqrt(1.5) sigma; an impulse of height A adds A to one residual sample.
    sigma, height = 0.001, 0.1
    x = noise(20 * math.log10(sigma), 2.0, 44100, channels=1, seed=3)
    x[40000, 0] += height
    (event,) = detect_clicks(x, 44100)
    expected = 20 * math.log10(height / (math.sqrt(2 / math.pi) * math.sqrt(1.5) * sigma))
    assert event.value == pytest.approx(expected, abs=1.0)


def test_drum_onsets_are_not_clicks_but_a_click_between_them_is(mix):
    x = mix[: 8 * 44100].copy()
    x[round(3.37 * 44100), 1] += 0.08
    events = measure(Clicks, x, 44100)
    assert [(round(e.start_s, 3), e.channel) for e in events] == [(3.37, 1)]


def test_a_long_noise_burst_is_not_a_click():
    x = tones(2.0, 44100, 1)
    x[40000 : 40000 + 441, 0] += hann_burst(10.0, 44100, 0.2)  # 10 ms: a sound, not a click
    assert detect_clicks(x, 44100) == []


def test_clicks_closer_than_the_merge_gap_are_one_event():
    x = tones(2.0, 44100, 1)
    x[[40000, 40441, 41323], 0] += 0.1  # 10 ms then 20 ms apart
    events = detect_clicks(x, 44100)
    assert [(round(e.start_s * 44100), round(e.end_s * 44100)) for e in events] == [(40000, 41324)]
    events = detect_clicks(x, 44100, ClickParams(merge_gap_s=0.005))
    assert len(events) == 3


def test_a_crackle_of_clicks_a_few_ms_apart_is_found_whole():
    x = tones(2.0, 44100, 1)
    at = 40000 + 265 * np.arange(6)  # every 6 ms: each click is in the residual window before the next
    x[at, 0] += 0.1
    events = detect_clicks(x, 44100, ClickParams(merge_gap_s=0.001))
    assert [round(e.start_s * 44100) for e in events] == at.tolist()


def test_soft_clipped_drums_of_the_demo_mix_are_not_clicks():
    from qc.demo import synthesise_demo_mix

    # tanh-saturated hi-hats and snares: a spiky residual with a low mean level. The demo's only cut is
    # at 16 s, where the last kick stops dead; 8-12 s is the hard-clipped passage (the clipping rule's).
    x, rate = synthesise_demo_mix()
    events = [e for e in detect_clicks(x, rate) if not 7.99 <= e.start_s <= 12.01]
    assert [round(e.start_s, 3) for e in events] == [16.0]
    x[round(6.3 * rate), 0] += 0.1  # a real click between the beats of the saturated mix is still found
    events = [e for e in detect_clicks(x, rate) if not 7.99 <= e.start_s <= 12.01]
    assert [(round(e.start_s, 3), e.channel) for e in events] == [(6.3, 0), (16.0, None)]


def _plant_clicks(x: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, list[tuple[float, int]]]:
    """Plant impulses, 1-3 ms bursts and decaying steps (peak 0.05-0.5, log-uniform) >= 0.3 s apart."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(np.arange(5, 10 * (len(x) // 44100) - 5), size=count, replace=False)) / 10.0
    times += rng.uniform(0.0, 0.05, size=count)
    y = x.copy()
    truth = []
    for t in times:
        at, channel = round(t * 44100), int(rng.integers(2))
        peak = math.exp(rng.uniform(math.log(0.05), math.log(0.5))) * rng.choice([-1.0, 1.0])
        kind = int(rng.integers(3))
        if kind == 0:
            y[at, channel] += peak
        elif kind == 1:
            burst = hann_burst(rng.uniform(1.0, 3.0), 44100, peak, seed=int(rng.integers(1 << 30)))
            y[at : at + len(burst), channel] += burst
        else:
            y[at : at + 1323, channel] += peak * np.exp(-np.arange(1323) / (rng.uniform(1.0, 3.0) * 44.1))
        truth.append((float(t), channel))
    return y, truth


def test_recall_and_precision_on_a_minute_of_music_with_30_clicks(mix):
    y, truth = _plant_clicks(mix, 30, seed=11)
    events = measure(Clicks, y, 44100, block_frames=65536)
    found = [any(abs(e.start_s - t) <= 0.02 for e in events) for t, _ in truth]
    true_events = [any(abs(e.start_s - t) <= 0.02 for t, _ in truth) for e in events]
    assert sum(found) / len(truth) >= 0.95
    assert sum(true_events) / len(events) >= 0.95


# --- dropouts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length_ms", [5, 50])
@pytest.mark.parametrize("channel", [None, 0, 1])
def test_dropout_is_found_with_exact_edges(mix, length_ms, channel):
    x = mix[: 6 * 44100].copy()
    start = 2 * 44100 + 1234
    stop = start + round(length_ms * 44.1)
    x[start:stop, slice(None) if channel is None else channel] = 0.0
    events = measure(Dropouts, x, 44100)
    assert [(round(e.start_s * 44100), round(e.end_s * 44100), e.channel) for e in events] == [
        (start, stop, channel)
    ]


def test_dropout_depth_is_the_music_level_over_digital_silence(mix):
    x = mix[: 4 * 44100].copy()
    x[88200:88641] = 0.0
    (event,) = detect_dropouts(x, 44100)
    # The quieter side's mean power over 50 ms (one of the channels), against silence at -100 dBFS.
    sides = [np.mean(x[a:b] ** 2, axis=0) for a, b in ((88200 - 2205, 88200), (88641, 88641 + 2205))]
    expected = 10 * math.log10(float(np.max(np.minimum(*sides))) / 1e-10)
    assert event.value == pytest.approx(expected, abs=0.5)


def test_head_and_tail_silence_are_not_dropouts(mix):
    x = np.concatenate((silence(1.0, 44100), mix[: 5 * 44100], silence(1.0, 44100)))
    assert measure(Dropouts, x, 44100) == []
    x = mix[: 5 * 44100].copy()
    x[:441] = 0.0  # 10 ms of silence right at the start, 10 ms at the end
    x[-441:] = 0.0
    assert measure(Dropouts, x, 44100) == []


def test_no_dropouts_in_clean_music_sines_or_noise(mix):
    assert measure(Dropouts, mix, 44100, block_frames=65536) == []
    assert detect_dropouts(sine(20.0, -6.0, 5.0, 44100), 44100) == []
    assert detect_dropouts(noise(-30.0, 5.0, 44100, seed=4), 44100) == []


def test_a_break_longer_than_max_dropout_is_intentional(mix):
    x = mix[: 8 * 44100].copy()
    x[2 * 44100 : 4 * 44100] = 0.0  # 2 s
    assert detect_dropouts(x, 44100) == []
    (event,) = detect_dropouts(x, 44100, DropoutParams(max_dropout_s=3.0))
    assert (event.start_s, event.end_s) == (2.0, 4.0)


def test_a_sudden_40_db_hole_is_a_dropout_and_a_20_db_dip_is_not(mix):
    x = mix[: 6 * 44100].copy()
    x[101430:102312] *= 0.01  # -40 dB for 20 ms from 2.3 s (between two beats)
    x[189630:190512] *= 0.1  # -20 dB for 20 ms from 4.3 s
    events = detect_dropouts(x, 44100)
    assert len(events) == 1
    assert events[0].start_s == pytest.approx(2.3, abs=0.001)
    assert events[0].end_s == pytest.approx(2.32, abs=0.001)
    assert events[0].value == pytest.approx(40.0, abs=3.0)


def test_silence_between_very_quiet_passages_is_not_a_dropout():
    x = tones(4.0, 44100, 2) * 10 ** (-60 / 20)  # music at about -75 dBFS
    x[88200:88641] = 0.0
    assert detect_dropouts(x, 44100) == []


# --- both ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Clicks, Dropouts])
def test_results_do_not_depend_on_block_size(mix, cls):
    y, _ = _plant_clicks(mix[: 20 * 44100], 10, seed=5)
    y[round(7.3 * 44100) : round(7.31 * 44100)] = 0.0
    y[round(13.1 * 44100) : round(13.107 * 44100), 1] = 0.0
    whole = measure(cls, y, 44100, block_frames=None)
    assert whole
    for block_frames in (1024, 4096, 65536, 1000):
        events = measure(cls, y, 44100, block_frames=block_frames)
        assert [(e.start_s, e.end_s, e.channel) for e in events] == [
            (e.start_s, e.end_s, e.channel) for e in whole
        ]
        assert [e.value for e in events] == pytest.approx([e.value for e in whole], abs=1e-9)


def test_features_are_registered():
    assert extractor_for("click_events") is Clicks
    assert extractor_for("dropout_events") is Dropouts


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        (ClickParams, {"threshold": 20}, "Extra inputs"),
        (ClickParams, {"threshold_db": 5}, "greater than or equal"),
        (ClickParams, {"max_click_ms": 0}, "greater than or equal"),
        (DropoutParams, {"min_dropout_ms": 1}, "greater than or equal"),
        (DropoutParams, {"max_dropout_s": 0}, "greater than 0"),
        (DropoutParams, {"depth": 30}, "Extra inputs"),
    ],
)
def test_invalid_params_are_rejected(model, params, match):
    with pytest.raises(ValidationError, match=match):
        model(**params)


def test_empty_and_one_frame_inputs_give_no_events():
    for frames in (0, 1, 2):
        x = np.full((frames, 2), 0.5)
        assert measure(Clicks, x, 44100, block_frames=1) == []
        assert measure(Dropouts, x, 44100, block_frames=1) == []


def test_clipped_passages_are_left_to_the_clipping_rule_but_real_clicks_are_kept(tmp_path):
    from signals import write

    from qc.analysis import FeatureRequest, extract_features
    from qc.audio import open_audio

    x, rate = music(8.0, seed=4)
    start, stop = int(2.0 * rate), int(4.0 * rate)
    ramp = np.sin(np.linspace(0.0, np.pi / 2.0, int(0.02 * rate))) ** 2  # no gain step at the ends: no cut
    gain = np.ones(len(x))
    gain[start:stop] = 12.0
    gain[start - len(ramp) : start] = 1.0 + 11.0 * ramp
    gain[stop : stop + len(ramp)] = 1.0 + 11.0 * ramp[::-1]
    x = np.clip(x * gain[:, None], -1.0, 1.0)  # squared-off drums for two seconds
    x[int(6.0 * rate), 0] += 0.3  # one real click, far from the clipping
    path = write(tmp_path / "clipped.wav", x, rate)
    requests = [FeatureRequest("click_events"), FeatureRequest("click_events", {"clip_guard_ms": 0.0})]
    features = extract_features(open_audio(path), requests)
    guarded = features.get("click_events")
    unguarded = features.get("click_events", {"clip_guard_ms": 0.0})
    assert any(2.0 <= e.start_s <= 4.0 for e in unguarded)  # the detector does see the clipped edges
    assert not any(1.99 <= e.start_s <= 4.01 for e in guarded)
    assert any(abs(e.start_s - 6.0) < 0.02 for e in guarded)
