"""Tag features: whether the file carries a well-formed ISRC, for the release-metadata rules.

Unlike the other features these come from the file's tags, not its samples: the extractor reads no
blocks and, in ``result``, reads the tags through :func:`qc.metadata.read_tags` (ID3 and
``LIST``/``INFO`` chunks of a WAV, Vorbis comments of a FLAC, ID3 of an MP3). Rules compare numbers, so
the state of the ISRC is two flags. This module knows nothing of rules or reports.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import QCError
from ..metadata import isrc_problem, read_tags
from .registry import Extractor, FeatureUnavailable, FeatureValue, register


@register
class FileTags(Extractor):
    """The ISRC tag of the file: absent, or present but not of the ISO 3901 shape.

    ``isrc_missing``
        True if the file has no ISRC tag (or an empty one).
    ``isrc_malformed``
        True if it has one that is not ``CC-XXX-YY-NNNNN`` (with or without hyphens; see
        :func:`qc.metadata.validate_isrc`); False when it is missing.

    Both are unavailable (with the reason) when the file's tags cannot be read.
    """

    provides = ("isrc_missing", "isrc_malformed")

    def result(self, needed: Mapping[str, FeatureValue]) -> dict[str, FeatureValue]:
        try:
            isrc = read_tags(self.info.path).isrc
        except QCError as exc:
            raise FeatureUnavailable(str(exc)) from exc
        missing = isrc is None
        malformed = isrc is not None and isrc_problem(isrc) is not None
        return {"isrc_missing": missing, "isrc_malformed": malformed}
