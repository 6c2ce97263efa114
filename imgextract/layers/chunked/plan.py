"""Which compressed byte ranges of a zstd:chunked layer the selection needs.

This is a prediction made from names before anything is applied: files at or below a selected
path, below where this layer's own symlinks on the way to a selected path point, and the targets
of hard links among those.  It decides what is fetched ahead (in few, coalesced requests).  It
does not decide what is applied: the applier judges every entry as in a full extraction, and a
file it wants that was not predicted is fetched on its own when it gets there, so the output does
not depend on this module being clever.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence

from imgextract.layers.chunked.toc import Chunk, Toc

MAX_ALIAS_ROUNDS = 8


def _covered(path: str, selected: set[str]) -> bool:
    return any(not s or path == s or path.startswith(s + "/") for s in selected)


def _on_the_way(path: str, selected: set[str]) -> bool:
    return any(s.startswith(path + "/") for s in selected)


def _lexical_target(link: str, target: str) -> str:
    base = "" if target.startswith("/") else posixpath.dirname(link)
    parts: list[str] = []
    for c in posixpath.join(base, target).split("/"):
        if c == "..":
            if parts:
                parts.pop()
        elif c not in ("", "."):
            parts.append(c)
    return "/".join(parts)


def wanted_files(toc: Toc, paths: Sequence[str] | None) -> set[str]:
    """Names of the regular files predicted to be applied (every file when ``paths`` is None)."""
    files = {e.name for e in toc.entries if e.type == "reg" and e.chunks}
    if paths is None:
        return files
    selected = set(paths)
    symlinks = [(e.name, e.link_name) for e in toc.entries if e.type == "symlink"]
    for _ in range(MAX_ALIAS_ROUNDS):
        grown = False
        for name, target in symlinks:
            if _covered(name, selected) or _on_the_way(name, selected):
                # a link on the way: the selected path continues below where it points
                for s in list(selected):
                    if s == name or s.startswith(name + "/"):
                        alias = _lexical_target(name, target) + s[len(name) :]
                        alias = alias.strip("/")
                        if alias not in selected:
                            selected.add(alias)
                            grown = True
        if not grown:
            break
    out = {f for f in files if _covered(f, selected)}
    for e in toc.entries:
        if e.type == "hardlink" and _covered(e.name, selected):
            target = "/".join(p for p in e.link_name.split("/") if p not in ("", "."))
            if target in files:
                out.add(target)
    return out


def plan_ranges(
    toc: Toc, paths: Sequence[str] | None, *, skip: Callable[[str], bool] | None = None
) -> list[Chunk]:
    """The chunks of the predicted files, in blob order; ``skip(file digest)``: already at hand."""
    names = wanted_files(toc, paths)
    return sorted(
        (
            c
            for e in toc.entries
            if e.name in names and not (skip is not None and e.digest is not None and skip(e.digest))
            for c in e.chunks
        ),
        key=lambda c: c.start,
    )
