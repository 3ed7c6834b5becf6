"""Import every built-in feature module so that its extractors register themselves."""

from . import dynamics, loudness, peaks  # noqa: F401
