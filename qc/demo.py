"""Synthesise the built-in demo mix: 16 s of drums, bass and chords with planted mastering problems.

No network and no bundled audio: everything is generated here with numpy. The planted problems are
known by construction, so the demo also shows what mixqc should find:

* the whole mix is driven into a soft clipper to about −8 LUFS (too loud for −14 LUFS streaming);
* peaks sit at −0.1 dBFS, so the band-limited waveform overshoots between samples (true peak > 0 dBTP);
* bars 5–6 (8–12 s) are pushed 4 dB further into hard clipping at full scale (a clipped passage).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .outputs import write_atomic
from .units import db_to_gain

SAMPLE_RATE = 44100
TEMPO_BPM = 120.0
BARS = 8
CLIPPED_BARS = (4, 6)  # 0-based, end exclusive: bars 5 and 6, 8–12 s at 120 BPM

# C major, G major, A minor, F major: (root MIDI note, chord MIDI notes)
PROGRESSION = ((48, (60, 64, 67)), (43, (59, 62, 67)), (45, (60, 64, 69)), (41, (60, 65, 69)))


def _midi_hz(note: int) -> float:
    freq_hz: float = 440.0 * 2.0 ** ((note - 69) / 12.0)
    return freq_hz


def _decay(n: int, time_constant_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (time_constant_s * SAMPLE_RATE))


def _kick(n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    freq = 48.0 + 90.0 * np.exp(-t / 0.03)
    kick: np.ndarray = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * _decay(n, 0.18)
    return kick


def _snare(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    body = 0.5 * np.sin(2 * np.pi * 185.0 * t) * _decay(n, 0.05)
    rattle = rng.standard_normal(n) * 0.25 * _decay(n, 0.09)
    snare: np.ndarray = body + rattle
    return snare


def _hat(n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n + 1)
    hiss = (white[1:] - 0.6 * white[:-1]) * 0.06  # a gentle first-order tilt towards the top end
    hat: np.ndarray = hiss * _decay(n, 0.025)
    return hat


def _tone(freq_hz: float, n: int, harmonics: int, brightness: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n)
    for k in range(1, harmonics + 1):
        if k * freq_hz < SAMPLE_RATE / 2.2:
            out += brightness ** (k - 1) / k * np.sin(2 * np.pi * k * freq_hz * t)
    return out


def _add(track: np.ndarray, at: int, sound: np.ndarray) -> None:
    end = min(track.shape[0], at + sound.shape[0])
    track[at:end] += sound[: end - at]


def synthesise_arrangement(bars: int = BARS, seed: int = 7) -> np.ndarray:
    """A clean, balanced stereo arrangement (drums, bass, chords), float64 ``(frames, 2)`` at 44.1 kHz.

    Unprocessed: RMS normalised to 0.1 (−20 dBFS), no clipping, no limiting. Tests and benchmarks use
    it as "music with drums" to plant known defects in.
    """
    rng = np.random.default_rng(seed)
    beat = int(round(60.0 / TEMPO_BPM * SAMPLE_RATE))
    bar = 4 * beat
    frames = bars * bar + beat
    drums = np.zeros(frames)
    hats = np.zeros(frames)
    bass = np.zeros(frames)
    chords_left = np.zeros(frames)
    chords_right = np.zeros(frames)
    for index in range(bars):
        start = index * bar
        root, notes = PROGRESSION[index % len(PROGRESSION)]
        for b in range(4):
            _add(drums, start + b * beat, _kick(beat) * (1.0 if b % 2 == 0 else 0.8))
            if b % 2 == 1:
                _add(drums, start + b * beat, _snare(beat, rng))
        for eighth in range(8):
            _add(hats, start + eighth * beat // 2, _hat(beat // 2, rng) * (1.0 if eighth % 2 else 0.6))
            note = _tone(_midi_hz(root - 12 + (12 if eighth in (3, 7) else 0)), beat // 2, 6, 0.55)
            _add(bass, start + eighth * beat // 2, note * _decay(beat // 2, 0.2) * 0.8)
        release = np.minimum(1.0, (bar - np.arange(bar)) / (0.03 * SAMPLE_RATE))
        swell = np.minimum(1.0, np.arange(bar) / (0.08 * SAMPLE_RATE)) * _decay(bar, 2.5) * release
        for chord_note in notes:
            _add(chords_left, start, _tone(_midi_hz(chord_note) * 0.998, bar, 8, 0.7) * swell * 0.18)
            _add(chords_right, start, _tone(_midi_hz(chord_note) * 1.002, bar, 8, 0.7) * swell * 0.18)
    left = drums + bass + chords_left + 0.7 * hats
    right = drums + bass + chords_right + 1.0 * hats
    mix = np.stack([left, right], axis=1)
    mix -= mix.mean(axis=0)  # the synthetic kick is asymmetric: no DC offset in a clean arrangement
    fade = np.minimum(1.0, (frames - np.arange(frames)) / (0.3 * SAMPLE_RATE))[:, None]
    arrangement: np.ndarray = mix * fade * (0.1 / np.sqrt(np.mean(mix**2)))
    return arrangement


def synthesise_demo_mix(seed: int = 7) -> tuple[np.ndarray, int]:
    """The demo mix with its planted problems, float64 ``(frames, 2)`` in [−1, 1], and its rate (Hz)."""
    mix = synthesise_arrangement(BARS, seed)
    mix = np.tanh(1.5 * mix * 3.0)  # the "loudness war" bus: a hard-driven soft clipper
    mix -= mix.mean(axis=0)
    mix *= db_to_gain(-0.1) / np.max(np.abs(mix))
    bar = 4 * int(round(60.0 / TEMPO_BPM * SAMPLE_RATE))
    clip_start, clip_end = CLIPPED_BARS[0] * bar, CLIPPED_BARS[1] * bar
    mix[clip_start:clip_end] = np.clip(mix[clip_start:clip_end] * db_to_gain(4.0), -1.0, 1.0)
    return mix, SAMPLE_RATE


def write_demo_mix(path: str | os.PathLike[str]) -> Path:
    """Synthesise the demo mix and write it as a 24-bit WAV (atomically); return the path."""
    import soundfile

    mix, sample_rate = synthesise_demo_mix()
    buffer = io.BytesIO()
    soundfile.write(buffer, mix, sample_rate, format="WAV", subtype="PCM_24")
    return write_atomic(path, buffer.getvalue())
