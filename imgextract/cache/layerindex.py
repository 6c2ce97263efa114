"""Layer skipping: which top-level names of the root filesystem a layer touches.

When the selection is ``/configs`` and a layer only writes ``usr/`` and ``etc/``, applying that layer
cannot change what lands in ``configs/`` - *unless* something makes paths alias each other.  The cases,
and how this module stays conservative about each:

* No index for a layer (never applied here, or written by another version): never skip it, nor any
  layer above it (its unknown symlinks could redirect their writes); layers below it may still be skipped.
* ``.wh..wh..opq`` at the root removes everything below it, whatever the name: never skip that layer.
* A whiteout ``.wh.configs`` or ``configs/.wh.x`` touches ``configs``: it counts as touching its top level.
* Symlinks make two top levels alias: ``configs -> /data`` means reading ``configs`` needs ``data``, and
  ``data -> /configs`` in a lower layer means a later ``data/x`` entry lands in ``configs/x``.  Each link
  is recorded as an edge (top level of the link, top level its target names lexically, ``..`` stopping at
  the root) and the selection is closed over edges in both directions, to a fixpoint, so chains work.
  A link whose target is the root itself (``x -> /``, ``x -> ..``) aliases everything: no skipping at all.
* Hardlinks need their target to exist: an edge from the link's top level to the target's.

Lexical resolution can still be fooled by a link whose *parent* is itself a link into a third place;
the closure over every edge of the image covers the common chains, and the caller additionally checks
after applying that no selected path traverses a symlink, falling back to a full pull if one does.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from imgextract.oci import whiteout
from imgextract.records import FrozenRecord

INDEX_VERSION = 1


class LayerIndexEntry(FrozenRecord):
    """What one layer touches.  ``links`` are (top level of link, top level of target; "" = the root)."""

    __slots__ = ("top_levels", "root_opaque", "links")

    def __init__(
        self,
        top_levels: frozenset[str],
        root_opaque: bool = False,
        links: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.top_levels: Final = top_levels
        self.root_opaque: Final = root_opaque
        self.links: Final = links

    def to_json(self) -> dict[str, Any]:
        return {
            "version": INDEX_VERSION,
            "top_levels": sorted(self.top_levels),
            "root_opaque": self.root_opaque,
            "links": sorted([a, b] for a, b in self.links),
        }

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Any) -> LayerIndexEntry | None:
        """Strict: anything unexpected (another version, wrong types) reads as "no index" (never skip)."""
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
            return None
        tops, opaque, links = data.get("top_levels"), data.get("root_opaque"), data.get("links")
        if not isinstance(tops, list) or not all(isinstance(t, str) for t in tops):
            return None
        if not isinstance(opaque, bool) or not isinstance(links, list):
            return None
        pairs = set()
        for link in links:
            if not (isinstance(link, list) and len(link) == 2 and all(isinstance(x, str) for x in link)):
                return None
            pairs.add((link[0], link[1]))
        return cls(frozenset(tops), opaque, frozenset(pairs))

    @classmethod
    def loads(cls, raw: bytes) -> LayerIndexEntry | None:
        try:
            return cls.from_json(json.loads(raw))
        except (ValueError, RecursionError):  # (RecursionError: nested past the parser's limit)
            return None


def _clean(name: str) -> str:
    """Tar member name -> normalised relative path inside the root ("" for the root itself)."""
    path = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    return "" if path == "." else path


def _top(path: str) -> str:
    return path.split("/", 1)[0]


class IndexBuilder:
    """Feed it every tar member of a layer (selected or not); ``entry()`` gives the index."""

    def __init__(self) -> None:
        self._tops: set[str] = set()
        self._links: set[tuple[str, str]] = set()
        self._root_opaque = False

    def add(
        self, name: str, *, symlink_target: str | None = None, hardlink_target: str | None = None
    ) -> None:
        path = _clean(name)
        if not path:
            return  # the root directory entry itself: metadata of "/", not a top-level name
        base = posixpath.basename(path)
        parent = posixpath.dirname(path)
        if whiteout.is_opaque(base) and not parent:
            self._root_opaque = True
            return
        if whiteout.is_whiteout(base) and not parent:
            path = base[len(whiteout.PREFIX) :] or base  # ".wh.configs" touches "configs"
        top = _top(path)
        self._tops.add(top)
        if symlink_target is not None:
            if symlink_target.startswith("/"):
                target = _clean(symlink_target)
            else:
                target = _clean(posixpath.join("/" + parent, symlink_target))
            self._links.add((top, _top(target) if target else ""))
        if hardlink_target is not None:
            target = _clean(hardlink_target)
            self._links.add((top, _top(target) if target else ""))

    def entry(self) -> LayerIndexEntry:
        return LayerIndexEntry(frozenset(self._tops), self._root_opaque, frozenset(self._links))


def selection_top_levels(paths: Sequence[str] | None) -> frozenset[str] | None:
    """``["/configs/", "manifests/a.yaml"]`` -> {"configs", "manifests"}; None or a root path -> None."""
    if paths is None:
        return None
    tops = set()
    for p in paths:
        cleaned = _clean(p)
        if not cleaned:
            return None
        tops.add(_top(cleaned))
    return frozenset(tops) if tops else None


def can_skip(entry: LayerIndexEntry | None, selection: frozenset[str] | None) -> bool:
    """True only when the layer provably touches none of ``selection`` (already closed over links)."""
    if entry is None or selection is None or entry.root_opaque:
        return False
    return entry.top_levels.isdisjoint(selection)


def close_selection(
    entries: Iterable[LayerIndexEntry | None], selection: frozenset[str] | None
) -> frozenset[str] | None:
    """The selection grown over every known link edge of the image; None (= everything) when a link
    targets the root itself."""
    if selection is None:
        return None
    edges: list[tuple[str, str]] = []
    for entry in entries:
        if entry is not None:
            edges.extend(entry.links)
    if any(target == "" for _source, target in edges):
        return None
    closed = set(selection)
    grew = True
    while grew:
        grew = False
        for a, b in edges:
            if (a in closed) != (b in closed):
                closed.update((a, b))
                grew = True
    return frozenset(closed)


def plan_skips(entries: Sequence[LayerIndexEntry | None], selection: frozenset[str] | None) -> list[bool]:
    """Per layer, in apply order: may it be skipped for this selection?

    A layer without an index is applied, and so is every layer *above* it: its unknown symlinks could
    redirect their writes into the selection.  Layers below it only see its links when the final tree
    is read, which the caller's post-apply symlink check covers.
    """
    closed = close_selection(entries, selection)
    skips = []
    unknown_below = False
    for entry in entries:
        unknown_below = unknown_below or entry is None
        skips.append(not unknown_below and can_skip(entry, closed))
    return skips


class _StatsLike(Protocol):
    top_level: set[str]
    symlinks: int
    hardlinks: int


def entry_from_stats(stats: _StatsLike) -> LayerIndexEntry | None:
    """Index entry from the applier's ``LayerStats``, or None when it cannot be made safely.

    ``top_level`` holds the first component of every name the layer wrote or whited out, ``"."`` for
    the root.  Until ``LayerStats`` also reports ``root_opaque`` (bool) and ``links`` (set of
    (top level of link, top level of target, "" = root)), a ``"."`` counts as a root opaque marker and a
    layer with any symlink or hardlink gets no entry: conservative, never wrong.
    """
    tops = set(stats.top_level)
    opaque = getattr(stats, "root_opaque", None)
    root_opaque = bool(opaque) if isinstance(opaque, bool) else "." in tops
    tops.discard(".")
    links = getattr(stats, "links", None)
    if links is None:
        if stats.symlinks or stats.hardlinks:
            return None
        links = set()
    return LayerIndexEntry(frozenset(tops), root_opaque, frozenset((str(a), str(b)) for a, b in links))


def selection_traverses_symlink(root: Path, paths: Sequence[str] | None) -> bool:
    """After a pull that skipped layers: does any selected path (or one of its parents) in the
    extracted ``root`` resolve through a symlink?  If so, a skipped layer may have held what the link
    points at, and the caller redoes the pull without skipping."""
    if paths is None:
        return False
    for p in paths:
        current = root
        for part in _clean(p).split("/"):
            if not part:
                continue
            current = current / part
            if current.is_symlink():
                return True
            if not current.exists():
                break
    return False
