"""Import every built-in feature module so that its extractors register themselves."""

from .. import codec  # noqa: F401  (registers the codec features' names; computed after the pass)
from . import dynamics, format, glitches, loudness, overview, peaks, signal, silence, spectrum, stereo, tags  # noqa: F401
