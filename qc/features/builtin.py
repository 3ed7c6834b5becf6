"""Import every built-in feature module so that its extractors register themselves."""

from . import dynamics, format, loudness, overview, peaks, signal, silence, spectrum, stereo  # noqa: F401
