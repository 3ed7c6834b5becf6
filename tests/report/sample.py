"""Realistic :class:`Report` objects for renderer tests (built by hand, no audio needed)."""

from __future__ import annotations

import math
from typing import Any

from qc.features.overview import WaveformEnvelope
from qc.features.registry import BandLevels, Event, Series
from qc.findings import Finding
from qc.report.model import FileReport, Report, ToolInfo

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def sample_file(path: str = "mixes/final mix v3.wav", **overrides: Any) -> FileReport:
    """A 3:25 stereo 24-bit 44.1 kHz WAV."""
    fields: dict[str, Any] = {
        "path": path,
        "sha256": SHA256,
        "format": "WAV",
        "subtype": "PCM_24",
        "sample_rate": 44100,
        "channels": 2,
        "frames": 9_041_760,
        "duration_s": 205.04,
        "bit_depth": 24,
    }
    fields.update(overrides)
    return FileReport(**fields)


def true_peak_finding() -> Finding:
    """A global error: true peak 0.31 dBTP over the -1.0 dBTP ceiling (no events)."""
    return Finding(
        rule_id="true-peak",
        severity="error",
        title="True peak above the delivery ceiling",
        message="True peak reaches 0.3 dBTP, 1.3 dB over the -1.0 dBTP ceiling.",
        suggestion="Lower the limiter ceiling to -1.0 dBTP and use true-peak (oversampled) detection.",
        feature="true_peak_dbtp",
        value=0.31,
        threshold=-1.0,
        category="peaks",
    )


def click_events(n_events: int = 25) -> list[Event]:
    """``n_events`` clicks 0.5 s apart from 1:01.250, alternating L/R; every other one lasts 12 ms."""
    return [
        Event(
            start_s=61.25 + 0.5 * i,
            end_s=61.25 + 0.5 * i + (0.012 if i % 2 else 0.0),
            channel=i % 2,
            value=-18.5,
        )
        for i in range(n_events)
    ]


def clicks_finding(n_events: int = 25) -> Finding:
    """An event warning: ``value`` is the count, ``events`` the clicks."""
    return Finding(
        rule_id="clicks",
        severity="warning",
        title="Clicks",
        message=f"{n_events} clicks, at 1:01.250, 1:01.750 and {n_events - 2} more.",
        suggestion="Check the edits and crossfades around the listed times.",
        feature="click_events",
        value=float(n_events),
        threshold=0.0,
        events=click_events(n_events),
        category="glitches",
    )


def loudness_finding() -> Finding:
    """A warning: integrated loudness 4.9 LU above the -14 LUFS target."""
    return Finding(
        rule_id="loudness-high",
        severity="warning",
        title="Louder than the streaming target",
        message="Integrated loudness is -9.1 LUFS, 4.9 LU above the -14.0 LUFS target.",
        suggestion="Streaming services will turn it down by about 4.9 dB; consider less limiting.",
        feature="integrated_lufs",
        value=-9.1,
        threshold=-13.0,
        category="loudness",
    )


def range_finding() -> Finding:
    """An info finding with a ``[low, high]`` threshold."""
    return Finding(
        rule_id="lra-range",
        severity="info",
        title="Loudness range outside the usual span",
        message="Loudness range is 4.2 LU, outside 5.0–15.0 LU.",
        suggestion="",
        feature="loudness_range_lu",
        value=4.2,
        threshold=[5.0, 15.0],
        category="dynamics",
    )


def skipped_finding() -> Finding:
    """The info finding a rule gives when its feature could not be computed."""
    return Finding(
        rule_id="plr-low",
        severity="info",
        title="Peak-to-loudness ratio",
        message="Skipped: the file is silent, so the peak-to-loudness ratio is undefined.",
        feature="plr_db",
        skipped=True,
        category="dynamics",
    )


def short_term_series(duration_s: float = 205.0, hop_s: float = 1.0) -> Series:
    """Short-term loudness: a quiet intro, a loud chorus, one undefined (silent) point."""
    values: list[float | None] = []
    for i in range(int(duration_s / hop_s)):
        t = i * hop_s
        values.append(-20.0 + 10.0 * math.sin(math.pi * t / duration_s) + (2.0 if 60 <= t < 90 else 0.0))
    values[5] = None
    return Series(hop_s=hop_s, start_s=0.0, unit="LUFS", values=values)


def waveform_envelope(duration_s: float = 205.04, columns: int = 800) -> WaveformEnvelope:
    """A loud chorus (1:00-1:30) between quieter verses, as the overview feature would give it."""
    column_s = duration_s / columns
    high = [0.5 + (0.45 if 60 <= i * column_s < 90 else 0.2 * math.sin(i / 9.0) ** 2) for i in range(columns)]
    return WaveformEnvelope(
        column_s=column_s, min=[-h * 0.97 for h in high], max=high, rms=[h * 0.35 for h in high]
    )


def tonal_balance() -> BandLevels:
    """Seven tonal bands against a curve: harsh high mids (+6.5 dB, tolerance 5.5 dB), the rest within."""
    return BandLevels(
        curve="default",
        names=["sub", "bass", "low_mid", "mid", "high_mid", "presence", "air"],
        low_hz=[20.0, 60.0, 200.0, 500.0, 2000.0, 5000.0, 10000.0],
        high_hz=[60.0, 200.0, 500.0, 2000.0, 5000.0, 10000.0, 20000.0],
        level_db=[-9.0, -3.5, -6.0, -8.0, -9.9, -22.0, None],
        target_db=[-10.7, -3.1, -6.5, -7.8, -16.4, -24.1, -29.8],
        tolerance_db=[16.0, 7.0, 9.0, 7.0, 5.5, 11.0, 20.0],
    )


def spectrum_bands() -> BandLevels:
    """Ten octave bands, 31.5 Hz to 16 kHz, a flat tolerance of 6 dB, one band (4 kHz) 8 dB over."""
    centres = [31.5, 63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0]
    target = [-12.0 - 1.5 * i for i in range(10)]
    level = [t + (8.0 if c == 4000.0 else 1.0) for t, c in zip(target, centres, strict=True)]
    return BandLevels(
        curve="default",
        names=[f"{c:g} Hz" for c in centres],
        low_hz=[c / math.sqrt(2) for c in centres],
        high_hz=[c * math.sqrt(2) for c in centres],
        level_db=level,
        target_db=target,
        tolerance_db=[6.0] * 10,
    )


def correlation_series(duration_s: float = 205.0, hop_s: float = 0.5) -> Series:
    """Stereo correlation: mostly +0.7, an out-of-phase dip to -0.4 around 2:00, one silent window."""
    values: list[float | None] = [
        0.7 - (1.1 if 118 <= i * hop_s < 122 else 0.0) for i in range(int(duration_s / hop_s))
    ]
    values[3] = None
    return Series(hop_s=hop_s, start_s=0.5, unit="", values=values)


def sample_report(
    *,
    path: str = "mixes/final mix v3.wav",
    findings: list[Finding] | None = None,
    with_series: bool = True,
    with_pictures: bool = False,
    **overrides: Any,
) -> Report:
    """A failing streaming report with key numbers, per-channel and event features, and a loudness series.

    Findings are deliberately out of severity order (info, warning, skipped, error, warning) so renderers
    must sort them, and keep the report's order within a severity.
    """
    if findings is None:
        findings = [
            range_finding(),
            loudness_finding(),
            skipped_finding(),
            true_peak_finding(),
            clicks_finding(),
        ]
    fields: dict[str, Any] = {
        "tool": ToolInfo(version="0.1.0"),
        "file": sample_file(path),
        "profile": "streaming",
        "targets": {  # the streaming profile of rules/profiles.yaml
            "target_lufs": -14.0,
            "loudness_tolerance_lu": 1.0,
            "ceiling_dbtp": -1.0,
            "min_plr_db": 8.0,
            "min_sample_rate_hz": 44100.0,
            "min_bit_depth": 16.0,
        },
        "features": {
            "integrated_lufs": -9.1,
            "true_peak_dbtp": 0.31,
            "true_peak_per_channel_dbtp": [0.31, -0.46],
            "loudness_range_lu": 4.2,
            "plr_db": 9.41,
            "sample_peak_dbfs": -0.04,
            "dc_offset_dbfs": -math.inf,
            "stereo_correlation": 0.8312,
            "clipped_samples": 0,
            "click_events": [e.model_dump() for e in click_events()],
            "phase_correlation_min": None,
        },
        "findings": findings,
        "series": {"short_term_lufs": short_term_series()} if with_series else {},
    }
    if with_pictures:
        fields["features"].update(
            waveform_envelope=waveform_envelope(),
            tonal_balance=tonal_balance(),
            spectrum_bands=spectrum_bands(),
        )
        fields["series"]["stereo_correlation_series"] = correlation_series()
    fields.update(overrides)
    return Report(**fields)


def picture_report(**overrides: Any) -> Report:
    """:func:`sample_report` with the data of every picture: waveform, tonal balance, stereo correlation."""
    return sample_report(with_pictures=True, **overrides)


def clean_report(**overrides: Any) -> Report:
    """A passing report with no findings and no series."""
    return sample_report(findings=[], with_series=False, **overrides)


HOSTILE_NAME = '"<script>alert(1)</script> – Ærø 東京.wav'
