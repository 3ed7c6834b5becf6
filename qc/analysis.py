"""One streaming pass over an audio file that feeds every extractor the active rules need.

``extract_features`` plans the extractors for the requested feature names (plus what they depend on),
reads the file block by block once, computes each shared stream once per block, and collects the
results into a :class:`FeatureSet`. Memory does not grow with the file's duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
    """Extractor instances keyed by (class, params), in an order where dependencies come first."""

    def __init__(self, info: AudioInfo, requests: Iterable[FeatureRequest]) -> None:
        self.info = info
        self.instances: dict[tuple[type[Extractor], str], Extractor] = {}
        self.order: list[tuple[type[Extractor], str]] = []
        for request in requests:
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
    info: AudioInfo, requests: Iterable[FeatureRequest], *, block_frames: int = DEFAULT_BLOCK_FRAMES
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

    Raises
    ------
    AudioError
        If the file turns out to be unreadable part-way (NaN/Inf samples, truncation).
    """
    plan = _Plan(info, requests)
    streams = plan.streams()
    updaters = [
        plan.instances[key] for key in plan.order if type(plan.instances[key]).update is not Extractor.update
    ]
    for start_frame, samples in iter_blocks(info, block_frames):
        shared = {stream.name: stream.process(samples) for stream in streams}
        block = Block(start_frame=start_frame, samples=samples, streams=shared)
        for extractor in updaters:
            extractor.update(block)

    features = FeatureSet()
    for cls, key in plan.order:
        extractor = plan.instances[(cls, key)]
        needed = {name: features.values.get((name, params_key({}))) for name in cls.needs}
        try:
            produced = extractor.result(needed)
        except FeatureUnavailable as exc:
            for name in cls.provides:
                features.unavailable[(name, key)] = str(exc)
            continue
        for name in cls.provides:
            value = produced.get(name)
            if isinstance(value, Unavailable):
                features.unavailable[(name, key)] = value.reason
            else:
                features.values[(name, key)] = value
    return features
