"""One streaming pass over an audio file that feeds every extractor the active rules need.

``extract_features`` plans the extractors for the requested feature names (plus what they depend on),
reads the file block by block once, computes each shared stream once per block, and collects the
results into a :class:`FeatureSet`. Memory does not grow with the file's duration.

When the process may use two cores, the extractors are split into two groups of about equal cost and
one group runs in a forked child process that reads the file itself (:func:`analysis_workers`;
``MIXQC_WORKERS=1`` keeps everything in one process). The results do not depend on the split; an
exception in the child is re-raised here with its message unchanged.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .audio import DEFAULT_BLOCK_FRAMES, AudioInfo, iter_blocks
from .features.registry import (
    Block,
    Extractor,
    FeatureUnavailable,
    FeatureValue,
    Stream,
    Unavailable,
    extractor_for,
    params_key,
    stream_class,
    validate_params,
)

log = logging.getLogger(__name__)

WORKERS_ENV = "MIXQC_WORKERS"  # processes for the streaming pass; 1 = no child process
DEFAULT_WORKERS = 2  # when 2 cores are available (each process decodes the whole file, so more gain little)
CALIBRATION_BLOCKS = 5  # blocks run in one process before the split; the extractors are timed on all but
# the first (which pays for one-time set-up), and the median is their cost (some vary 2x from block to block)
MIN_SPLIT_BLOCKS = 16  # a file shorter than this many blocks is analysed in one process


@dataclass(frozen=True)
class FeatureRequest:
    """A feature name and the parameters to compute it with (empty = the extractor's defaults)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, params_key(self.params))


@dataclass
class FeatureSet:
    """Feature values by ``(name, params)``, with the reason for any that could not be computed."""

    values: dict[tuple[str, str], FeatureValue] = field(default_factory=dict)
    unavailable: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, name: str, params: Mapping[str, Any] | None = None) -> FeatureValue:
        """The value of ``name`` computed with ``params`` (None if unavailable or not computed)."""
        return self.values.get((name, params_key(params)))

    def reason(self, name: str, params: Mapping[str, Any] | None = None) -> str | None:
        """Why ``name`` is unavailable, or None if it was computed."""
        key = (name, params_key(params))
        if key in self.unavailable:
            return self.unavailable[key]
        if key not in self.values:
            return f"feature {name!r} was not computed"
        return None

    def add(self, key: tuple[str, str], value: FeatureValue | Unavailable) -> None:
        """Record a value computed outside the pass (e.g. by ``qc.codec``), or why it is unavailable."""
        if isinstance(value, Unavailable):
            self.values.pop(key, None)
            self.unavailable[key] = value.reason
        else:
            self.unavailable.pop(key, None)
            self.values[key] = value

    def by_name(self, requests: Iterable[FeatureRequest] = ()) -> dict[str, FeatureValue]:
        """One value per feature name (the report's ``features``), sorted by name.

        For a name computed with several parameter sets, the first of ``requests`` that asks for it wins
        (the parameters the rules used); otherwise the default parameters, otherwise the first computed.
        """
        chosen: dict[str, FeatureValue] = {}
        for request in requests:
            if request.name not in chosen and request.key in self.values:
                chosen[request.name] = self.values[request.key]
        default = params_key({})
        for (name, _key), value in sorted(self.values.items(), key=lambda item: item[0][1] != default):
            chosen.setdefault(name, value)
        return dict(sorted(chosen.items()))




class _Plan:
    """Extractor instances keyed by (class, params), in an order where dependencies come first.

    A feature its extractor computes the same way whatever the parameters (listed in the extractor's
    ``params_free``, e.g. ``true_peak_dbtp``) is read from an instance planned for another feature with
    other parameters, if there is one, rather than from a second pass: ``aliases`` maps its requested
    ``(name, params key)`` to the instance that provides it.
    """

    def __init__(self, info: AudioInfo, requests: Iterable[FeatureRequest]) -> None:
        self.info = info
        self.instances: dict[tuple[type[Extractor], str], Extractor] = {}
        self.order: list[tuple[type[Extractor], str]] = []
        self.aliases: dict[tuple[str, str], tuple[type[Extractor], str]] = {}

        def can_share(request: FeatureRequest) -> bool:  # plan these last, when the others are known
            cls = extractor_for(request.name)
            return request.name in cls.params_free or bool(cls.needs)

        for request in sorted(requests, key=can_share):  # a stable sort: otherwise in the given order
            self._add(request.name, request.params, chain=())

    def _add(
        self, name: str, params: Mapping[str, Any], chain: tuple[str, ...]
    ) -> tuple[type[Extractor], str]:
        if name in chain:
            raise RuntimeError(f"feature dependency cycle: {' -> '.join((*chain, name))}")
        cls = extractor_for(name)
        key = (cls, params_key(params))
        if key in self.instances:
            return key
        if name in cls.params_free:
            planned = next((other for other in self.order if other[0] is cls), None)
            if planned is not None:
                self.aliases[(name, key[1])] = planned
                return planned
        for needed in cls.needs:
            self._add(needed, {}, chain=(*chain, name))
        self.instances[key] = cls(self.info, validate_params(name, params))
        self.order.append(key)
        return key

    def streams(self) -> list[Stream]:
        names: list[str] = []
        for key in self.order:
            for stream in key[0].streams:
                if stream not in names:
                    names.append(stream)
        return [stream_class(name)(self.info) for name in names]


def extract_features(
    info: AudioInfo,
    requests: Iterable[FeatureRequest],
    *,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    workers: int | None = None,
) -> FeatureSet:
    """Compute the requested features in one pass over the file.

    Parameters
    ----------
    info
        The validated file (from :func:`qc.audio.open_audio`).
    requests
        Feature names with parameters; unknown names raise KeyError (rule packs are validated first).
    block_frames
        Frames per block read from disk; results do not depend on it.
    workers
        Processes to share the extractors between (see :func:`analysis_workers`, the default when None);
        results do not depend on it.

    Raises
    ------
    AudioError
        If the file turns out to be unreadable part-way (NaN/Inf samples, truncation).
    """
    plan = _Plan(info, requests)
    workers = analysis_workers() if workers is None else max(1, workers)
    done = _stream(plan, info, block_frames, workers)

    features = FeatureSet()
    for position, (cls, key) in enumerate(plan.order):
        if position in done:
            produced = done[position]
        else:
            needed = {name: features.values.get((name, params_key({}))) for name in cls.needs}
            produced = _result(plan.instances[(cls, key)], needed)
        aliases = [(name, alias) for (name, alias), source in plan.aliases.items() if source == (cls, key)]
        for name, stored_as in [(name, key) for name in cls.provides] + aliases:
            value = produced if isinstance(produced, Unavailable) else produced.get(name)
            features.add((name, stored_as), value)
    return features


def analysis_workers() -> int:
    """Processes for the streaming pass: ``MIXQC_WORKERS`` if set, else 2 when 2 cores are available.

    One process when fork is unavailable (Windows) or unsafe (macOS system frameworks), or inside a
    daemonic process (which may not have children). More than 2 rarely helps: every process reads and
    decodes the whole file. On a machine whose cores are already busy, 1 is faster (the second process
    only adds its own reading of the file).
    """
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            wanted = int(text)
        except ValueError:
            wanted = 0
        if wanted < 1:
            log.warning("%s=%r is not a positive whole number; choosing automatically", WORKERS_ENV, text)
        else:
            return wanted if _can_fork() else 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(DEFAULT_WORKERS, cores) if _can_fork() else 1


def _can_fork() -> bool:
    import multiprocessing

    return (
        sys.platform != "darwin"
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


# an extractor's ``result``, or why it has none
_Outcome = Mapping[str, FeatureValue | Unavailable] | Unavailable


def _result(extractor: Extractor, needed: Mapping[str, FeatureValue]) -> _Outcome:
    try:
        return extractor.result(needed)
    except FeatureUnavailable as exc:
        return Unavailable(str(exc))


def _updates(cls: type[Extractor]) -> bool:
    """Whether extractors of ``cls`` read the blocks (some only derive values from other features)."""
    return cls.update is not Extractor.update


class _Group:
    """Some of the plan's extractors, fed block by block with the shared streams they read."""

    def __init__(self, plan: _Plan, positions: Iterable[int], streams: Mapping[str, Stream]) -> None:
        self.positions = sorted(positions)
        self.extractors = [plan.instances[plan.order[p]] for p in self.positions]
        names = {name for extractor in self.extractors for name in type(extractor).streams}
        self.streams = [stream for name, stream in streams.items() if name in names]

    def feed(self, start_frame: int, samples: np.ndarray) -> None:
        shared = {stream.name: stream.process(samples) for stream in self.streams}
        block = Block(start_frame=start_frame, samples=samples, streams=shared)
        for extractor in self.extractors:
            extractor.update(block)

    def feed_timed(self, start_frame: int, samples: np.ndarray) -> tuple[list[float], dict[str, float]]:
        """:meth:`feed`, returning the CPU seconds of each extractor and of each stream."""
        stream_costs: dict[str, float] = {}
        shared = {}
        for stream in self.streams:
            began = time.thread_time()
            shared[stream.name] = stream.process(samples)
            stream_costs[stream.name] = time.thread_time() - began
        block = Block(start_frame=start_frame, samples=samples, streams=shared)
        costs = []
        for extractor in self.extractors:
            began = time.thread_time()
            extractor.update(block)
            costs.append(time.thread_time() - began)
        return costs, stream_costs


def _stream(plan: _Plan, info: AudioInfo, block_frames: int, workers: int) -> dict[int, _Outcome]:
    """Feed every block to the plan's extractors, in ``workers`` processes when that pays.

    Returns the outcomes computed in worker processes, by position in ``plan.order``; the extractors
    run here are left with their state, for the caller to ask for their results.

    With several workers, the first :data:`CALIBRATION_BLOCKS` blocks run here, timing each extractor
    on them; the extractors are then split into groups of about equal cost (those sharing
    a stream preferably together), and each group but the first runs in a forked child process that
    reads the file itself, skips the blocks already seen, and sends back its extractors' results.
    """
    streams = {stream.name: stream for stream in plan.streams()}
    updaters = [p for p, (cls, _key) in enumerate(plan.order) if _updates(cls)]
    everything = _Group(plan, updaters, streams)
    blocks = iter_blocks(info, block_frames)
    movable = [p for p in updaters if not plan.order[p][0].needs]  # a child cannot see others' results
    if workers < 2 or len(movable) < 2 or info.frames < MIN_SPLIT_BLOCKS * block_frames or not _can_fork():
        for start_frame, samples in blocks:
            everything.feed(start_frame, samples)
        return {}

    timings = [everything.feed_timed(*next(blocks)) for _ in range(CALIBRATION_BLOCKS)][1:]
    costs = {p: statistics.median(t[0][i] for t in timings) for i, p in enumerate(everything.positions)}
    stream_costs = {name: statistics.median(t[1][name] for t in timings) for name in timings[0][1]}
    split = _split(plan, updaters, movable, costs, stream_costs, workers)
    log.debug(
        "%s: analysis split over %d processes: %s",
        info.path,
        len(split),
        " | ".join(", ".join(plan.order[p][0].__name__ for p in group) for group in split),
    )
    import multiprocessing

    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any]] = []
    finished = False
    try:
        for group in split[1:]:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(
                target=_child,
                args=(_Group(plan, group, streams), info, block_frames, writer),
                name="mixqc-analysis",
                daemon=True,
            )
            child.start()
            writer.close()
            children.append((child, reader))
        mine = _Group(plan, split[0], streams)
        for start_frame, samples in blocks:
            mine.feed(start_frame, samples)
        done: dict[int, _Outcome] = {}
        for child, reader in children:
            done.update(_receive(child, reader))
        finished = True
        return done
    finally:
        for child, reader in children:
            if not finished:  # we are leaving early (an error here): the child's work is not wanted
                child.kill()
            child.join()
            reader.close()


def _split(
    plan: _Plan,
    updaters: list[int],
    movable: list[int],
    costs: Mapping[int, float],
    stream_costs: Mapping[str, float],
    workers: int,
) -> list[list[int]]:
    """Groups of extractor positions of about equal cost (longest first, each to the group it loads least).

    Adding an extractor to a group costs its own time plus that of the streams it reads that the group
    does not compute yet. Extractors that cannot move stay in the first group (this process). Empty
    groups are dropped.
    """
    groups: list[list[int]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    computed: list[set[str]] = [set() for _ in range(workers)]

    def cost(position: int, group: int) -> float:
        streams = plan.order[position][0].streams
        return costs[position] + sum(stream_costs.get(s, 0.0) for s in streams if s not in computed[group])

    fixed = [p for p in updaters if p not in movable]
    for position in fixed + sorted(movable, key=lambda p: -costs[p]):
        group = 0 if position in fixed else min(range(workers), key=lambda g: loads[g] + cost(position, g))
        loads[group] += cost(position, group)
        computed[group].update(plan.order[position][0].streams)
        groups[group].append(position)
    return [groups[0]] + [group for group in groups[1:] if group]


def _child(group: _Group, info: AudioInfo, block_frames: int, writer: Any) -> None:
    """In a forked process: feed the rest of the file to ``group`` and send back its outcomes."""
    try:
        blocks = iter_blocks(info, block_frames)
        for _ in range(CALIBRATION_BLOCKS):  # the parent fed these before the fork
            next(blocks)
        for start_frame, samples in blocks:
            group.feed(start_frame, samples)
        message: tuple[str, Any] = (
            "done",
            {p: _result(e, {}) for p, e in zip(group.positions, group.extractors, strict=True)},
        )
    except BaseException as exc:  # every failure is re-raised in the parent
        message = ("error", (exc, "".join(traceback.format_exception(exc))))
    try:
        writer.send(message)
    except Exception as exc:  # an outcome or exception that does not pickle
        detail = message[1][0] if message[0] == "error" else exc
        error = RuntimeError(f"analysis worker: {type(detail).__name__}: {detail}")
        writer.send(("error", (error, "".join(traceback.format_exception(detail)))))
    writer.close()


class WorkerTraceback(Exception):
    """Where an exception re-raised from an analysis worker process was raised (its ``__cause__``)."""


def _receive(child: Any, reader: Any) -> dict[int, _Outcome]:
    """A child's outcomes; re-raises the exception it failed with."""
    try:
        kind, payload = reader.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the analysis worker process stopped (exit status {child.exitcode}) before sending its "
            f"results; set {WORKERS_ENV}=1 to analyse in one process"
        ) from None
    if kind == "error":
        error, where = payload
        error.__cause__ = WorkerTraceback(f"in the analysis worker process:\n{where}")
        raise error
    outcomes: dict[int, _Outcome] = payload
    return outcomes
