"""Whiteouts and opaque directories (rules 4 to 7): ``.wh.X`` removes X, ``D/.wh..wh..opq``
removes D's lower children; both spare the paths the current layer wrote (rule 5), which are
tracked here (``_upper``: entries; ``_upper_runs``: runs of plain files, added when a whiteout
reads them; ``_upper_anc``: their ancestors)."""

from __future__ import annotations

import os
import stat

from imgextract.errors import IntegrityError
from imgextract.layers.fsroot import lstat_at
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.paths import ApplierPaths
from imgextract.oci import whiteout


class ApplierWhiteouts(ApplierPaths):
    """Whiteouts of ``Applier`` (which sets these attributes: see its ``__init__``)."""

    _upper: set[str]
    _upper_runs: list[tuple[str, list[bytes]]]
    _upper_anc: set[str]

    def _whiteout(self, parts: list[str], stats: LayerStats) -> None:
        if self._upper_runs:
            self._flush_upper()
        base = parts[-1]
        dir_parts = parts[:-1]
        if whiteout.is_opaque(base):
            stats.top_level.add(dir_parts[0] if dir_parts else ".")
            stats.root_opaque = stats.root_opaque or not dir_parts
            stats.whiteouts += 1
            d = self.fs.open_dir(dir_parts, create=False)
            if d is None:  # nothing below a directory that does not exist (as umoci)
                return
            with d:
                fd = self.fs.open_subdir(d.fd, ".")
                try:
                    self._clear_lower(fd, d.path)
                finally:
                    os.close(fd)
                self._mark_upper(d.path)
            return
        target = whiteout.target(base)
        if target is None:  # reserved .wh..wh.* names
            stats.ignored += 1
            return
        if target in ("", ".", ".."):
            raise IntegrityError(f"invalid whiteout {'/'.join(parts)!r}")
        tparts = [*dir_parts, target]
        stats.top_level.add(tparts[0])
        stats.whiteouts += 1
        parent = self.fs.open_dir(dir_parts, create=False)
        if parent is None:
            return
        with parent:
            path = parent.child(target)
            stats.top_level.add(path.split("/", 1)[0])
            if path in self._upper:
                return
            st = lstat_at(parent.fd, target)
            if st is None:
                return
            if path in self._upper_anc and stat.S_ISDIR(st.st_mode):
                fd = self.fs.open_subdir(parent.fd, target)
                try:
                    self._clear_lower(fd, path)
                finally:
                    os.close(fd)
            else:
                self._remove(parent, target)

    def _flush_upper(self) -> None:
        """The runs' paths into ``_upper`` (before it is read)."""
        add = self._upper.add
        for upper, bases in self._upper_runs:
            for base in bases:
                add(upper + base.decode("utf-8", "surrogateescape"))
        self._upper_runs.clear()

    def _clear_lower(self, dir_fd: int, path: str) -> None:
        """Remove everything under ``dir_fd`` that the current layer did not write."""
        with os.scandir(dir_fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for name, is_dir in entries:
            child = f"{path}/{name}" if path else name
            if child in self._upper or child in self._upper_anc:
                if is_dir:
                    fd = self.fs.open_subdir(dir_fd, name)
                    try:
                        self._clear_lower(fd, child)
                    finally:
                        os.close(fd)
                continue
            self.fs.remove(dir_fd, name, child, self._dir_removed)
            self._pristine = False
            self._tree_changed()

    def _mark_upper(self, path: str) -> None:
        self._upper.add(path)
        if "/" in path:
            self._mark_upper_anc(path.rsplit("/", 1)[0])
        else:
            self._upper_anc.add("")

    def _mark_upper_anc(self, anc: str) -> None:
        """``anc`` (a directory path, "" for the root) and its ancestors hold upper paths."""
        while anc not in self._upper_anc:
            self._upper_anc.add(anc)
            if "/" not in anc:
                anc = ""
                continue
            anc = anc.rsplit("/", 1)[0]
