"""The feature registry: which extractor provides which public feature name, and the shared streams.

A feature is computed by an *extractor*: a small accumulator that sees every block of the file once
(``update``) and then reports its values (``result``). Extractors may share per-block *streams*
(e.g. the K-weighted signal), computed once per block by a :class:`Stream`, and may derive their
values from other extractors' results (``needs``), so nothing is computed twice.

This module knows nothing of rules, reports or files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ..audio import AudioInfo


class Event(BaseModel):
    """Something that happened between two times: a clip, an over, a click.

    ``channel`` is the 0-based channel, or None for all channels; ``value`` is in the feature's unit.
    """

    model_config = ConfigDict(frozen=True)

    start_s: float
    end_s: float
    channel: int | None = None
    value: float | None = None


class Series(BaseModel):
    """A feature sampled over time (for plots): ``values[i]`` is at ``start_s + i * hop_s`` seconds."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")

    hop_s: float
    start_s: float = 0.0
    unit: str = ""
    values: list[float | None]


class BandLevels(BaseModel):
    """Levels in named frequency bands against a target curve (for "your mix vs target" plots).

    ``level_db[i]`` is the mix's level in band ``names[i]`` (``low_hz[i]``–``high_hz[i]``), ``target_db[i]``
    the curve's level, ``tolerance_db[i]`` the allowed deviation either side, all relative to the same
    reference, so ``level_db - target_db`` is the deviation in dB.
    """

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")

    curve: str
    names: list[str]
    low_hz: list[float]
    high_hz: list[float]
    level_db: list[float | None]
    target_db: list[float]
    tolerance_db: list[float]


FeatureValue = float | int | bool | None | list[float] | list[Event] | Series | BandLevels


class NoParams(BaseModel):
    """Parameters of an extractor that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Block:
    """One block of audio as an extractor sees it.

    ``samples`` is float64 ``(frames, channels)``; ``streams`` holds the shared streams the extractor
    asked for, each aligned with ``samples``.
    """

    start_frame: int
    samples: np.ndarray
    streams: dict[str, np.ndarray] = field(default_factory=dict)


class Stream:
    """A per-block transform shared by several extractors (computed once per block), e.g. K-weighting."""

    name: ClassVar[str]

    def __init__(self, info: AudioInfo) -> None:
        self.info = info

    def process(self, samples: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class Extractor:
    """Base class of a streaming feature extractor.

    Subclasses set ``provides`` (public feature names, unit in the name), optionally ``streams`` (shared
    streams they read in ``update``), ``needs`` (features of other extractors they read in ``result``),
    ``params_free`` (features among ``provides`` whose value does not depend on ``Params``, so the pass
    may read them from an instance planned with other parameters) and ``Params`` (a pydantic model with
    ``extra="forbid"``; rules pass these as ``params``).
    """

    provides: ClassVar[tuple[str, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[tuple[str, ...]] = ()
    params_free: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, info: AudioInfo, params: BaseModel) -> None:
        self.info = info
        self.params = params

    def update(self, block: Block) -> None:
        """Consume one block (blocks arrive in order, without gaps)."""

    def result(self, needed: Mapping[str, FeatureValue]) -> Mapping[str, FeatureValue | Unavailable]:
        """Return a value for every name in ``provides``; :class:`Unavailable` where it can't be computed."""
        raise NotImplementedError


class FeatureUnavailable(Exception):
    """Raised inside ``result`` when none of an extractor's features can be computed (the reason is shown)."""


@dataclass(frozen=True)
class Unavailable:
    """Returned by ``result`` in place of one feature's value that cannot be computed for this file."""

    reason: str


_EXTRACTORS: dict[str, type[Extractor]] = {}
_STREAMS: dict[str, type[Stream]] = {}


def register(cls: type[Extractor]) -> type[Extractor]:
    """Class decorator: make an extractor's features available by name."""
    for name in cls.provides:
        owner = _EXTRACTORS.get(name)
        if owner is not None and owner is not cls:
            raise RuntimeError(f"feature {name!r} is provided by both {owner.__name__} and {cls.__name__}")
        _EXTRACTORS[name] = cls
    return cls


def register_stream(cls: type[Stream]) -> type[Stream]:
    """Class decorator: make a shared stream available by name."""
    _STREAMS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    from . import builtin  # noqa: F401  (importing registers the built-in extractors)


def feature_names() -> list[str]:
    """Every public feature name, sorted."""
    _load_builtin()
    return sorted(_EXTRACTORS)


def extractor_for(name: str) -> type[Extractor]:
    """The extractor class providing ``name``; KeyError if there is none."""
    _load_builtin()
    return _EXTRACTORS[name]


def stream_class(name: str) -> type[Stream]:
    """The stream class called ``name``."""
    _load_builtin()
    return _STREAMS[name]


def params_key(params: Mapping[str, Any] | None) -> str:
    """Canonical text of a params mapping, so equal params share one extractor."""
    return json.dumps(dict(params or {}), sort_keys=True, default=str)


def validate_params(name: str, params: Mapping[str, Any] | None) -> BaseModel:
    """Validate ``params`` for feature ``name`` against its extractor's ``Params`` model.

    Raises
    ------
    KeyError
        Unknown feature.
    pydantic.ValidationError
        Unknown or ill-typed parameter.
    """
    cls = extractor_for(name)
    return cls.Params.model_validate(dict(params or {}))


__all__ = [
    "BandLevels",
    "Block",
    "Event",
    "Extractor",
    "FeatureUnavailable",
    "FeatureValue",
    "NoParams",
    "Series",
    "Stream",
    "Unavailable",
    "ValidationError",
    "extractor_for",
    "feature_names",
    "params_key",
    "register",
    "register_stream",
    "stream_class",
    "validate_params",
]
