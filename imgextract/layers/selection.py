"""Which paths of the image filesystem to extract.

A selection is a set of paths relative to the image root ("manifests/", "/metadata" and
"./metadata" all mean ``metadata``).  ``None`` selects everything.  An entry is *wanted* when
it is a selected path, lies below one, or lies on the way to one (an ancestor: directories
on the way are created with their metadata; a symlink or file there changes what the
selected path resolves to, so it is applied too).

Selection is decided on the entry's name *and* on where it lands after the applier resolves
its parent directories through symlinks inside the root (``aliases``): if ``manifests`` is
a symlink to ``real/manifests`` in a lower layer, entries under ``real/manifests`` are
wanted as well.  See applier.py for the one case this cannot see (a symlink that appears
after the content it points at).
"""

from __future__ import annotations

from collections.abc import Iterable

from imgextract.errors import UsageError


def normalize(path: str) -> str:
    """``/a//b/./c/`` -> ``a/b/c``; the root is ``""``; ``..`` is refused."""
    if "\0" in path:
        raise UsageError(f"path {path!r} contains a NUL byte")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"path {path!r} must not contain '..'")
    return "/".join(parts)


def _related(path: str, selected: Iterable[str]) -> bool:
    for s in selected:
        if not s or path == s or path.startswith(s + "/") or s.startswith(path + "/") or not path:
            return True
    return False


def _covered(path: str, selected: Iterable[str]) -> bool:
    for s in selected:
        if not s or path == s or path.startswith(s + "/"):
            return True
    return False


class PathSelection:
    """The paths to extract (``None`` = everything)."""

    def __init__(self, paths: Iterable[str] | None) -> None:
        if paths is None:
            self.paths: tuple[str, ...] | None = None
        else:
            norm = sorted({normalize(p) for p in paths})
            self.paths = None if "" in norm else tuple(norm)
        self.aliases: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return self.paths is None

    def _all(self) -> Iterable[str]:
        assert self.paths is not None
        yield from self.paths
        yield from self.aliases

    def wants(self, path: str) -> bool:
        """True when an entry at ``path`` (normalised, relative) must be applied."""
        return self.paths is None or _related(path, self._all())

    def covers(self, path: str) -> bool:
        """True when ``path`` is a selected path or below one (not merely on the way to one)."""
        return self.paths is None or _covered(path, self._all())

    def covers_by_name(self, path: str) -> bool:
        """True when ``path`` is a selected path or below one, by name alone (aliases not consulted:
        the answer never changes while layers are applied)."""
        return self.paths is None or _covered(path, self.paths)

    def set_aliases(self, aliases: Iterable[str]) -> None:
        """Where the selected paths currently resolve to inside the root (maintained by the applier)."""
        assert self.paths is not None
        self.aliases = frozenset(a for a in aliases if a not in self.paths)

    def __repr__(self) -> str:
        return f"PathSelection({list(self.paths) if self.paths is not None else None!r})"
