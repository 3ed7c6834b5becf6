"""Plan the corrective-mastering chain from a check's findings, run it over the file, and check the result.

The chain has two passes, each streamed block by block:

1. **repair** — DC removal, click repair, bounded corrective EQ, head/tail trim or fades, sample-rate
   conversion: only the stages the check's findings call for (``plan_repairs``). Written to a float64
   temporary file, whose integrated loudness is then measured.
2. **level** — one static gain to the loudness target, a true-peak limiter that only catches peaks above the
   ceiling, and quantisation to the output bit depth (TPDF dither where the samples left the input's grid).
   The output's loudness is measured again; if the limiter took it more than 0.05 LU off the target, the
   static gain is corrected and the pass re-run (at most twice).

If the limiter would have to reduce more than the allowance (``max_limiting_db``, or on more than
``max_limited_share`` of the track), ``master`` stops with a :class:`~qc.errors.MasterError` saying how much
and where, instead of silently squashing the mix. The input is never modified; the output is written to a
temporary file in its folder and renamed into place, then checked again for the before/after report.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from .. import __version__
from ..audio import AudioInfo, iter_blocks, open_audio
from ..errors import MasterError, QCError
from ..findings import Finding
from ..report.model import Report, ToolInfo
from ..units import format_mmss
from .model import MasterReport, MasterSettings, StageChange
from .stage import Change, Pipeline, Stage

if TYPE_CHECKING:
    import soundfile

DEFAULT_MASTER_PROFILE = "streaming"
DEFAULT_CEILING_DBTP = -1.0  # when the profile sets no ceiling (AES TD1004)
DEFAULT_MAX_LIMITING_DB = 2.0  # more than this and the limiter is no longer "only catching peaks"
DEFAULT_MAX_LIMITED_SHARE = 0.05  # share of the track's duration with more than 0.5 dB of gain reduction
LOUDNESS_TOLERANCE_LU = 0.05  # re-run the level pass when the output is further than this from the target
MAX_LEVEL_PASSES = 3
OUTPUT_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF"}
SKIPPABLE = ("dc", "declick", "eq", "trim", "limiter")

# Which findings call for which repair stage (rule ids are public and stable).
DC_RULES = ("dc-offset",)
CLICK_RULES = ("clicks",)
CLIP_RULES = ("clipping",)
TONAL_FEATURE = re.compile(r"^tonal_(?P<band>[a-z_]+)_excess_db$")  # a tonal rule's band, from its feature
HEAD_RULES = ("silence-head-tail",)  # long silence before the music
TAIL_RULES = ("trailing-silence",)
TRIM_RULES = (*HEAD_RULES, *TAIL_RULES)
FADE_RULES = ("abrupt-start", "abrupt-end")
# Stages that leave every sample they do not repair untouched: after them alone, no dither is needed.
GRID_PRESERVING = ("declick",)


def resolve_settings(
    targets: dict[str, float],
    info: AudioInfo,
    *,
    profile: str,
    target_lufs: float | None = None,
    ceiling_dbtp: float | None = None,
    bit_depth: int | None = None,
    sample_rate: int | None = None,
    max_limiting_db: float | None = None,
    max_limited_share: float | None = None,
    skip: Sequence[str] = (),
) -> MasterSettings:
    """Fill in what the user did not give from the profile's targets and the input's format.

    Loudness target and ceiling come from the profile (``target_lufs``, ``ceiling_dbtp``) unless given; the
    output keeps the input's sample rate and its bit depth (16 stays 16, anything else becomes 24).

    Raises
    ------
    MasterError
        For an unknown stage in ``skip``, a ceiling above 0 dBTP or a sample rate under 8 kHz.
    """
    unknown = [name for name in skip if name not in SKIPPABLE]
    if unknown:
        raise MasterError(f"--skip {','.join(unknown)}: unknown stage; choose from {', '.join(SKIPPABLE)}")
    target = target_lufs if target_lufs is not None else targets.get("target_lufs")
    ceiling = ceiling_dbtp if ceiling_dbtp is not None else targets.get("ceiling_dbtp", DEFAULT_CEILING_DBTP)
    if ceiling > 0.0:
        raise MasterError(f"--ceiling-dbtp {ceiling:g}: a ceiling above 0 dBTP clips; use -1 or lower")
    if target is not None and not -70.0 < target < 0.0:
        raise MasterError(f"--target-lufs {target:g}: expected a loudness between -70 and 0 LUFS, e.g. -14")
    rate = sample_rate or info.sample_rate
    if rate < 8000:
        raise MasterError(f"--sample-rate {rate}: expected 44100, 48000 or another rate of 8000 Hz or more")
    depth = bit_depth if bit_depth is not None else (16 if info.bit_depth == 16 else 24)
    return MasterSettings(
        profile=profile,
        target_lufs=target,
        ceiling_dbtp=float(ceiling),
        bit_depth=depth,
        sample_rate=rate,
        max_limiting_db=_given_or(max_limiting_db, targets, "max_limiting_db", DEFAULT_MAX_LIMITING_DB),
        max_limited_share=_given_or(
            max_limited_share, targets, "max_limited_share", DEFAULT_MAX_LIMITED_SHARE
        ),
        skip=list(skip),
    )


def _given_or(value: float | None, targets: dict[str, float], name: str, default: float) -> float:
    """The user's value, else the profile's target ``name``, else ``default``."""
    if value is not None:
        return float(value)
    return float(targets.get(name, default))


def check_master_paths(source: Path, target: Path, *, overwrite: bool = False) -> None:
    """Refuse an output that is the input, in an unsupported format, or an existing file (unless
    ``overwrite``).

    Raises
    ------
    QCError
        With the reason and the remedy.
    """
    if target.suffix.lower() not in OUTPUT_FORMATS:
        raise QCError(f"{target}: master writes WAV, FLAC or AIFF; name the output .wav, .flac or .aiff")
    same_file = target.exists() and source.exists() and target.samefile(source)
    if target.resolve() == source.resolve() or same_file:
        raise QCError(f"{target}: refusing to overwrite the input; choose another output name")
    if target.exists() and not overwrite:
        raise QCError(f"{target}: already exists; choose another name or pass --overwrite")
    if target.exists() and not target.is_file():
        raise QCError(f"{target}: exists and is not a regular file")
    if not target.parent.is_dir():
        raise QCError(f"{target.parent}: no such folder")


def fired(report: Report, rule_ids: Sequence[str]) -> list[Finding]:
    """The report's warning or error findings from ``rule_ids`` (info and skipped findings don't count)."""
    return [f for f in report.findings if f.rule_id in rule_ids and _counts(f)]


def _counts(finding: Finding) -> bool:
    """A warning or error that was measured (not an info or a skipped rule)."""
    return not finding.skipped and finding.severity != "info"


def plan_repairs(before: Report, info: AudioInfo, settings: MasterSettings) -> list[Stage]:
    """The repair stages the check's findings call for, in chain order (see the module docstring)."""
    stages: list[Stage] = []
    channels, rate = info.channels, info.sample_rate
    if "dc" not in settings.skip and fired(before, DC_RULES):
        from . import repair

        stages.append(repair.DCBlock(file_channel_means(info)))
    # click_events already leaves out clicks next to clipped runs (clip_guard_ms): clipping is no click
    clicks = [event for finding in fired(before, CLICK_RULES) for event in finding.events]
    if "declick" not in settings.skip and clicks:
        from . import repair

        stages.append(repair.ClickRepair(clicks, rate, channels))
    tonal = [match for f in before.findings if (match := TONAL_FEATURE.match(f.feature)) and _counts(f)]
    if "eq" not in settings.skip and tonal:
        from . import eq

        bands = {match["band"] for match in tonal}
        corrections = eq.corrections_from_tonal(before.features, bands=bands, sample_rate=rate)
        if corrections:
            stages.append(eq.CorrectiveEQ(rate, channels, corrections))
    if "trim" not in settings.skip and fired(before, (*TRIM_RULES, *FADE_RULES)):
        from . import edit

        head, tail = bool(fired(before, HEAD_RULES)), bool(fired(before, TAIL_RULES))
        if head or tail:
            stages.append(edit.trim_from_features(before.features, rate, info.frames, head=head, tail=tail))
        else:  # an abrupt edge, not silence: fade only the edge whose rule fired
            flags = {
                "abrupt_start": bool(fired(before, ("abrupt-start",))),
                "abrupt_end": bool(fired(before, ("abrupt-end",))),
            }
            stages.append(edit.fade_from_features({**before.features, **flags}, rate, info.frames))
    if settings.sample_rate != rate:
        from . import convert

        stages.append(convert.Resample(rate, settings.sample_rate, channels))
    return stages


def limits_of_mastering(before: Report) -> list[str]:
    """Plain-language notes on findings the chain cannot repair, so the report does not imply it did."""
    notes = []
    for finding in fired(before, CLIP_RULES):
        starts = sorted({round(event.start_s, 3) for event in finding.events})
        where = ", ".join(format_mmss(start) for start in starts[:3])
        more = f" and {len(starts) - 3} more" if len(starts) > 3 else ""
        notes.append(
            f"The mix clips ({len(starts)} passage(s), at {where}{more}). Mastering turns the level "
            "down but cannot restore squared-off peaks: fix it in the mix (lower the bus or the limiter's "
            "input) and send a new mix."
        )
    compressed = fired(before, ("over-compressed",))
    if compressed:
        notes.append(
            "The mix is already heavily limited or compressed; mastering cannot add dynamics back. Ease "
            "the bus compression or limiting in the mix if you want more punch."
        )
    return notes


def file_channel_means(info: AudioInfo) -> np.ndarray:
    """Mean of each channel over the whole file (linear, full scale = 1): the DC offset to remove."""
    from .repair import ChannelMeans

    meter = ChannelMeans(info.channels)
    for _, block in iter_blocks(info):
        meter.add(block)
    return meter.means()


def master(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    profile: str = DEFAULT_MASTER_PROFILE,
    rule_packs: Sequence[str | os.PathLike[str]] = (),
    target_lufs: float | None = None,
    ceiling_dbtp: float | None = None,
    bit_depth: int | None = None,
    sample_rate: int | None = None,
    max_limiting_db: float | None = None,
    max_limited_share: float | None = None,
    skip: Sequence[str] = (),
    tags: dict[str, str] | None = None,
    overwrite: bool = False,
) -> MasterReport:
    """Check ``input_path``, apply the corrective chain, write ``output_path`` atomically and check it again.

    Parameters
    ----------
    profile
        Delivery profile giving the loudness target (LUFS) and true-peak ceiling (dBTP), and the rules of
        the before/after checks.
    target_lufs, ceiling_dbtp
        Override the profile's targets.
    bit_depth, sample_rate
        Output format (default: the input's rate; 16-bit stays 16, anything else becomes 24-bit PCM).
    max_limiting_db, max_limited_share
        The most gain reduction (dB) and the largest share of the duration (0–1) the limiter may use.
    skip
        Repair stages not to run even if the check calls for them (``dc``, ``declick``, ``eq``, ``trim``).
    tags
        ``isrc``, ``artist``, ``title``, ``album`` to write into the output.

    Raises
    ------
    QCError
        For unusable paths or options; :class:`~qc.errors.AudioError` for unreadable input;
        :class:`~qc.errors.MasterError` when the target needs more limiting than allowed.
    """
    from ..check import Checker
    from ..metadata import Tags, validate_isrc, write_tags

    source, target = Path(input_path), Path(output_path)
    check_master_paths(source, target, overwrite=overwrite)
    clean_tags = {key: value for key, value in (tags or {}).items() if value}
    if "isrc" in clean_tags:
        clean_tags["isrc"] = validate_isrc(clean_tags["isrc"])
    checker = Checker(profile, rule_packs)
    info = open_audio(source)
    before = checker.check_audio(info)
    settings = resolve_settings(
        before.targets,
        info,
        profile=checker.profile.name,
        target_lufs=target_lufs,
        ceiling_dbtp=ceiling_dbtp,
        bit_depth=bit_depth,
        sample_rate=sample_rate,
        max_limiting_db=max_limiting_db,
        max_limited_share=max_limited_share,
        skip=skip,
    )
    repairs = plan_repairs(before, info, settings)
    pending = target.with_name(f".{target.stem}.mixqc-partial{target.suffix}")
    try:
        # Beside OUT, not in /tmp (often a RAM disk): the float64 intermediate is 16 bytes per frame.
        with tempfile.TemporaryDirectory(prefix=".mixqc-master-", dir=target.parent) as work:
            if repairs:
                repaired_path = Path(work) / "repaired.wav"
                rendered = _render(info, repairs, repaired_path, subtype="DOUBLE")
                changes, repaired, loudness_lufs = rendered.changes, open_audio(repaired_path), rendered.lufs
            else:  # the check has measured the input already (nothing under 400 ms: nan)
                measured = before.features.get("integrated_lufs")
                loudness_lufs = math.nan if measured is None else float(measured)
                changes, repaired = [], info
            on_grid = _on_grid(info, settings) and all(stage.name in GRID_PRESERVING for stage in repairs)
            changes += _level(repaired, loudness_lufs, settings, pending, on_grid=on_grid, name=str(source))
        if clean_tags:
            write_tags(pending, Tags(**clean_tags))
        os.replace(pending, target)
    finally:
        pending.unlink(missing_ok=True)
    after = checker.check(target)
    return MasterReport(
        tool=ToolInfo(version=__version__),
        input_path=str(source),
        output_path=str(target),
        settings=settings,
        changes=[StageChange.of(change) for change in changes],
        tags=clean_tags,
        notes=limits_of_mastering(before),
        before=before,
        after=after,
    )


def _on_grid(info: AudioInfo, settings: MasterSettings) -> bool:
    """True if the input's samples already lie on the output's integer grid (no dither needed for them)."""
    if info.bit_depth is None or settings.bit_depth is None:
        return False
    return info.bit_depth <= settings.bit_depth


def _level(
    repaired: AudioInfo,
    loudness_lufs: float,
    settings: MasterSettings,
    pending: Path,
    *,
    on_grid: bool,
    name: str,
) -> list[Change]:
    """The level pass: static gain, true-peak limiter, quantisation; repeated until on target.

    ``loudness_lufs`` is the integrated loudness of ``repaired``; each pass measures its own output
    while writing it.

    ``on_grid``: the repaired samples still lie on the output's integer grid, so with 0 dB of gain they
    are rounded (unchanged) rather than dithered; only samples the limiter touched are requantised.
    """
    from .convert import Quantize
    from .level import Gain, TruePeakLimiter

    gain_db = 0.0
    if settings.target_lufs is not None:
        gain_db = settings.target_lufs - loudness_lufs
        if math.isnan(loudness_lufs):
            raise MasterError(
                f"{name}: lasts {format_mmss(repaired.duration_s)}, shorter than one 400 ms loudness block "
                "(ITU-R BS.1770-4), so its loudness cannot be normalised; master a longer file, or choose "
                "a profile without a loudness target (e.g. --profile cd)"
            )
        if not np.isfinite(gain_db):
            raise MasterError(f"{name}: the audio is silent; there is no loudness to normalise")
    changes: list[Change] = []
    for _ in range(MAX_LEVEL_PASSES):
        dither = not (on_grid and abs(gain_db) < 1e-9)
        stages: list[Stage] = [Gain(gain_db)]
        if "limiter" not in settings.skip:
            stages.append(TruePeakLimiter(repaired.sample_rate, repaired.channels, settings.ceiling_dbtp))
        # master() always settles on 16 or 24 bits; Quantize itself refuses anything else
        stages.append(Quantize(cast(int, settings.bit_depth), dither=dither))
        rendered = _render(repaired, stages, pending, subtype=f"PCM_{settings.bit_depth}")
        changes = rendered.changes
        _refuse_overlimiting(changes, settings)
        if settings.target_lufs is None:
            break
        error_lu = settings.target_lufs - rendered.lufs
        if abs(error_lu) <= LOUDNESS_TOLERANCE_LU:
            break
        gain_db += error_lu
    return changes


def _refuse_overlimiting(changes: list[Change], settings: MasterSettings) -> None:
    """Raise :class:`MasterError` if the limiter worked harder than the settings allow."""
    for change in changes:
        if change.stage != "limiter":
            continue
        # the limiter's numbers (TruePeakLimiter.change): floats, and "regions" as a list of dicts
        reduction = float(cast(float, change.values.get("max_reduction_db") or 0.0))
        share = float(cast(float, change.values.get("limited_share") or 0.0))
        if reduction <= settings.max_limiting_db + 1e-9 and share <= settings.max_limited_share + 1e-9:
            return
        regions = cast("list[dict[str, float]]", change.values.get("regions") or [])
        where = ", ".join(
            f"{format_mmss(r['start_s'])}–{format_mmss(r['end_s'])} (−{r['max_reduction_db']:.1f} dB)"
            for r in list(regions)[:3]
        )
        target = f"{settings.target_lufs:.1f} LUFS" if settings.target_lufs is not None else "the level"
        raise MasterError(
            f"reaching {target} under a {settings.ceiling_dbtp:.1f} dBTP ceiling needs up to "
            f"{reduction:.1f} dB of limiting (allowed {settings.max_limiting_db:.1f} dB) on {share:.1%} "
            f"of the track (allowed {settings.max_limited_share:.0%}); worst at {where or 'n/a'}. Lower the "
            "target, fix the peaks in the mix, or allow it with --max-limiting DB / --max-limited-share "
            "PERCENT"
        )


@dataclass(frozen=True)
class Rendered:
    """What one streamed pass wrote: every stage's change, and the integrated loudness of the output."""

    changes: list[Change]
    lufs: float  # BS.1770-4 gated, of exactly the samples written; -inf for silence, nan under 400 ms


def _render(info: AudioInfo, stages: list[Stage], path: Path, *, subtype: str) -> Rendered:
    """Stream ``info``'s audio through ``stages`` into ``path`` (WAV/FLAC/AIFF by suffix), measuring the
    integrated loudness of what is written on the way (no second read of the file).

    ``PCM_16``/``PCM_24`` output must already lie on that grid (the quantiser's job): it is stored as
    integers, so what the quantiser decided is exactly what the file holds.
    """
    import soundfile

    from ..features.loudness import KWeightingFilter, LoudnessMeter

    pipeline = Pipeline(stages)
    rate = _output_rate(stages, info.sample_rate)
    weighting, meter = KWeightingFilter(rate, info.channels), LoudnessMeter(rate, info.channels)
    file_format = OUTPUT_FORMATS.get(path.suffix.lower(), "WAV")
    bits = {"PCM_16": 16, "PCM_24": 24}.get(subtype)

    def write(block: np.ndarray) -> None:
        if len(block):
            meter.add(weighting.process(block))
            _write(out, block, bits)

    with soundfile.SoundFile(
        str(path), "w", samplerate=rate, channels=info.channels, format=file_format, subtype=subtype
    ) as out:
        for _, block in iter_blocks(info):
            write(pipeline.push(block))
        write(pipeline.finish())
    lufs = meter.integrated_lufs()
    return Rendered(pipeline.changes(), math.nan if lufs is None else lufs)


def _output_rate(stages: list[Stage], rate: int) -> int:
    """The sample rate after ``stages`` (a resampler sets ``sample_rate_out``)."""
    for stage in stages:
        rate = int(getattr(stage, "sample_rate_out", rate))
    return rate


def _write(out: soundfile.SoundFile, block: np.ndarray, bits: int | None) -> None:
    """Write a float block; for PCM, as exact integers (``bits``-bit grid, left-justified in int32)."""
    if bits is None:
        out.write(block)
        return
    scale = float(2 ** (bits - 1))
    codes = np.clip(np.round(block * scale), -scale, scale - 1)
    out.write((codes * float(2 ** (32 - bits))).astype(np.int32))
