"""Read the small files a user names (rule packs, brand files, curves, logos) with bounds.

Two classes of hostile input are refused here, once for every reader:

- a file that is not a regular file (a device such as ``/dev/zero``, a FIFO) or that is larger than
  the reader's limit: read at most ``limit + 1`` bytes, never the whole of an endless stream;
- YAML whose anchors and aliases expand exponentially ("billion laughs"), that is simply huge, or that
  nests deeper than Python's stack: while the composer builds the node graph it counts the nodes the
  document stands for once every alias is expanded (each alias adds its anchor's expanded size, known
  from when the anchor was composed), the aliases and the nesting depth, and stops at the first node
  past :data:`MAX_EXPANDED_NODES`, :data:`MAX_ALIASES` or :data:`MAX_DEPTH`, with that node's line and
  column. Nothing after composition (construction, pydantic, the loader's walks) sees more.

Errors are ``OSError`` (for reading) and ``yaml.YAMLError`` (for YAML; a refusal is a
:class:`RefusedYAML`, a ``MarkedYAMLError``), so each caller words them in its own one-line message, as
it does for any unreadable or malformed file.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import yaml

MAX_YAML_BYTES = 1 << 20  # 1 MiB: the default pack is 40 KiB
MAX_EXPANDED_NODES = 50_000  # the default pack has 797; 1 MiB of such YAML has ~30 000
MAX_ALIASES = 1_000  # the built-in files use none; a user pack reusing a few blocks needs tens
MAX_DEPTH = 64  # the default pack nests 5 deep; PyYAML's recursive composer fails near 330


class RefusedYAML(yaml.MarkedYAMLError):
    """A YAML document refused for its size: too many nodes once aliases expand, aliases or levels."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer counts the expanded size, the aliases and the depth as it goes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._expanded_nodes = 0
        self._aliases = 0
        self._depth = 0
        self._anchor_sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # PyYAML refuses an undefined alias
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _refusal(f"it has more than {MAX_ALIASES:,} aliases", event)
            # An alias of an anchor still being composed (a recursive alias) counts as one node.
            self._grow(self._anchor_sizes.get(id(node), 1), event, alias=True)
            return node
        if self._depth >= MAX_DEPTH:
            raise _refusal(f"it nests more than {MAX_DEPTH} levels deep", event)
        before = self._expanded_nodes
        self._grow(1, event, alias=False)
        self._depth += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is not None and getattr(event, "anchor", None) is not None:
            self._anchor_sizes[id(node)] = self._expanded_nodes - before
        return node

    def _grow(self, nodes: int, event: yaml.Event, *, alias: bool) -> None:
        self._expanded_nodes += nodes
        if self._expanded_nodes > MAX_EXPANDED_NODES:
            why = (
                f"it expands to more than {MAX_EXPANDED_NODES:,} nodes through this alias"
                " (anchors and aliases that multiply)"
                if alias
                else f"it has more than {MAX_EXPANDED_NODES:,} nodes"
            )
            raise _refusal(why, event)


def _refusal(why: str, event: yaml.Event) -> RefusedYAML:
    mark = event.start_mark if isinstance(event.start_mark, yaml.error.Mark) else None
    return RefusedYAML(None, None, f"refusing this YAML: {why}", mark)


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises
    ------
    OSError
        If the file cannot be opened, is not a regular file, or is larger than ``limit`` bytes
        (``strerror`` says which, in words).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, f"larger than {_size(limit)}", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], limit: int = MAX_YAML_BYTES) -> str:
    """A small UTF-8 text file (see :func:`read_bounded`); ``UnicodeDecodeError`` if it is not UTF-8."""
    return read_bounded(path, limit).decode("utf-8")


def compose(text: str) -> yaml.Node | None:
    """The YAML node graph of ``text`` (one document), refused if it would expand too far.

    Raises
    ------
    yaml.YAMLError
        For syntax errors; :class:`RefusedYAML`, at the first node or alias past a bound, when the
        document expands to more than :data:`MAX_EXPANDED_NODES` nodes, has more than
        :data:`MAX_ALIASES` aliases or nests more than :data:`MAX_DEPTH` levels.
    """
    loader = _BoundedLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def construct(node: yaml.Node | None) -> Any:
    """Python data of a node graph from :func:`compose` (shared aliases stay shared objects)."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the alias bounds of :func:`compose`."""
    return construct(compose(text))


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"

