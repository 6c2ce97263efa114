"""Where an entry goes (rules 2 and 8, and the selection): names cleaned into components
(``split_name``); parent directories resolved inside the root (fsroot.py) through a cache of open
directory fds, valid while nothing was removed and no symlink changed (``_tree_gen``); the
selection judged on a name and on where it resolves now (aliases); and removal of what an entry
replaces.  ``ApplierPaths`` is the lowest of ``Applier``'s base classes."""

from __future__ import annotations

import os
import stat

from imgextract.errors import IntegrityError
from imgextract.layers.fsroot import Parent, RootFS, lstat_at
from imgextract.layers.selection import PathSelection

_PARENT_CACHE = 64  # open directory fds kept for the next entries (most layers list a dir's files together)


def split_name(name: str, *, what: str) -> list[str]:
    """Clean a member name or link target into components (rule 2)."""
    if "\0" in name:
        raise IntegrityError(f"tar {what} {name!r} contains a NUL byte")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise IntegrityError(f"tar {what} {name!r} contains '..'")
    return parts


class ApplierPaths:
    """Path resolution of ``Applier`` (which sets these attributes: see its ``__init__``)."""

    fs: RootFS
    selection: PathSelection
    _dirs: dict[str, tuple[int, int]]
    _pristine: bool
    _alias_gen: int
    _gen: int
    _parents: dict[tuple[str, ...], Parent]
    _tree_gen: int
    _parents_gen: int

    def _parent(self, parts: list[str]) -> Parent:
        """The parent directory of ``parts`` (created if missing); not owned by the caller."""
        parent = self._cached_dir(tuple(parts[:-1]))
        return Parent(parent.fd, parent.parts, owned=False)

    def _cached_dir(self, key: tuple[str, ...]) -> Parent:
        """The directory ``key`` (created if missing), from the cache: never close it."""
        if self._parents_gen != self._tree_gen:
            self._drop_parents()
        parent = self._parents.get(key)
        if parent is None:
            # a directory below a cached one (a layer lists a directory, then its files): one
            # step from the cached fd, valid for the same reason as the cache itself
            above = self._parents.get(key[:-1]) if key else None
            if above is not None:
                parent = self.fs.open_child(above, key[-1], create=True)
            else:
                parent = self.fs.open_dir(key, create=True)
            assert parent is not None
            if len(self._parents) >= _PARENT_CACHE:
                self._parents.pop(next(iter(self._parents))).close()
            self._parents[key] = parent
        return parent

    def _drop_parents(self) -> None:
        for parent in self._parents.values():
            parent.close()
        self._parents.clear()
        self._parents_gen = self._tree_gen

    def _tree_changed(self) -> None:
        """A removal or a symlink change: names may resolve elsewhere now."""
        self._gen += 1
        self._tree_gen += 1

    def _wanted(self, parts: list[str], *, is_dir: bool = False) -> bool:
        sel = self.selection
        if sel.everything:
            return True
        if sel.wants("/".join(parts)):
            return True
        if self._alias_gen != self._gen:
            self._refresh_aliases()
            if sel.wants("/".join(parts)):
                return True
        return sel.wants(self.fs.canonical(parts, follow_final=is_dir))

    def _refresh_aliases(self) -> None:
        """Where the selected paths resolve now, plus every symlink passed on the way there."""
        sel = self.selection
        assert sel.paths is not None
        self._alias_gen = self._gen
        aliases: list[str] = []
        for p in sel.paths:
            aliases.append(self.fs.canonical(p.split("/"), trace=aliases))
        sel.set_aliases(aliases)

    def _clear_unwanted(self, parts: list[str]) -> None:
        """A skipped entry still replaces a (kept-for-resolution) symlink or directory at its name."""
        parent = self.fs.open_dir(parts[:-1], create=False)
        if parent is None:
            return
        with parent:
            st = lstat_at(parent.fd, parts[-1])
            if st is not None and (stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                self._remove(parent, parts[-1])

    def _prune_unwanted(self, dir_fd: int, path: str) -> None:
        """Remove the symlinks kept only for resolution, and directories left empty by that."""
        with os.scandir(dir_fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False), e.is_symlink()) for e in it]
        for name, is_dir, is_link in entries:
            child = f"{path}/{name}" if path else name
            wanted = self.selection.wants(child)
            if is_dir:
                fd = self.fs.open_subdir(dir_fd, name)
                try:
                    self._prune_unwanted(fd, child)
                    empty = not os.listdir(fd)
                finally:
                    os.close(fd)
                if not wanted and empty:
                    self._pristine = False  # (no file goes; counted as a removal all the same)
                    os.rmdir(name, dir_fd=dir_fd)
                    self._dirs.pop(child, None)
            elif is_link and not wanted:
                self._pristine = False
                os.unlink(name, dir_fd=dir_fd)

    def _implicit_dir(self, path: str) -> None:
        self._gen += 1

    def _dir_removed(self, path: str) -> None:
        self._dirs.pop(path, None)

    def _remove(self, parent: Parent, name: str) -> None:
        self._pristine = False
        self.fs.remove(parent.fd, name, parent.child(name), self._dir_removed)
        self._tree_changed()

    def _check_selected_paths(self) -> None:
        if self.selection.paths is None:
            return
        for p in self.selection.paths:
            if self.fs.escapes(p.split("/")):
                raise IntegrityError(
                    f"selected path {p!r} is a symlink (or below one) that leads outside the image"
                )
