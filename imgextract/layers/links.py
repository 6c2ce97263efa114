"""Symbolic and hard links (rules 9 and 10), and the stand-ins for devices and FIFOs (rule 15):
a symlink is made as given and never followed; a hard link's target resolves inside the root like
a name and must exist and not be a directory; a device or FIFO is an empty file while layers are
applied (so that links to it work, as umoci's rootless unpack), removed by ``finalize``."""

from __future__ import annotations

import os
import stat

from imgextract.errors import IntegrityError
from imgextract.layers.files import _NEW_FILE, ApplierFiles, _ns
from imgextract.layers.fsroot import Parent, lstat_at
from imgextract.layers.member import Member
from imgextract.layers.paths import split_name


def _link_top(dir_parts: list[str], target: str, *, hard: bool) -> str:
    """First component of a link target, lexically; "" for the root."""
    stack: list[str] = [] if hard or target.startswith("/") else list(dir_parts)
    for c in target.split("/"):
        if c == "..":
            if stack:
                stack.pop()
        elif c not in ("", "."):
            stack.append(c)
    return stack[0] if stack else ""


class ApplierLinks(ApplierFiles):
    """Links and stand-ins of ``Applier`` (which sets these attributes: see its ``__init__``)."""

    _linked: tuple[int, int]
    _stand_ins: set[tuple[int, int]]
    _stand_in_names: list[str]

    def _stand_in(self, parent: Parent, base: str) -> None:
        """An empty file in place of a device or FIFO (as umoci's rootless unpack makes for a
        device), so that hard links to it work as there; ``finalize`` removes it and every link
        to it: the output has neither specials nor stand-ins."""
        try:
            fd = os.open(base, _NEW_FILE, 0o600, dir_fd=parent.fd)
            tmp = None
        except FileExistsError:  # whatever lower layers had here goes (never followed)
            tmp, fd = self._new_temp(parent)
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if tmp is not None:
            try:
                self._replace(parent, tmp, base)
            except BaseException:
                self._discard(parent, tmp)
                raise
        self._pristine = False  # (removed again by finalize)
        self._stand_ins.add((st.st_dev, st.st_ino))
        self._stand_in_names.append(parent.child(base))

    def _remove_stand_ins(self) -> None:
        """Remove the specials' stand-ins and the hard links to them, wherever they still are."""
        for path in self._stand_in_names:
            parts = path.split("/")
            parent = self.fs.open_dir(parts[:-1], create=False)
            if parent is None:
                continue
            with parent:
                st = lstat_at(parent.fd, parts[-1])
                if st is not None and stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) in self._stand_ins:
                    os.unlink(parts[-1], dir_fd=parent.fd)

    def _symlink(self, m: Member, parent: Parent, base: str) -> None:
        target = m.linkname
        if not target or "\0" in target:
            raise IntegrityError(f"symlink {m.name!r} has an invalid target {target!r}")
        tmp = self._temp_name(parent, lambda name: os.symlink(target, name, dir_fd=parent.fd))
        try:
            ns = _ns(m.mtime)
            os.utime(tmp, ns=(ns, ns), dir_fd=parent.fd, follow_symlinks=False)
            self._replace(parent, tmp, base)
        except BaseException:
            self._discard(parent, tmp)
            raise
        self._tree_changed()

    def _hardlink(self, m: Member, parent: Parent, base: str) -> None:
        tparts = split_name(m.linkname, what="hard link target")
        if not tparts:
            raise IntegrityError(f"hard link {m.name!r} points at the root")
        existing = lstat_at(parent.fd, base)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            self._remove(parent, base)  # the entry replaces the directory first (as umoci, containerd)
        tparent = self.fs.open_dir(tparts[:-1], create=False)
        tst = lstat_at(tparent.fd, tparts[-1]) if tparent is not None else None
        try:
            if tparent is None or tst is None:
                if not self._wanted(tparts):
                    raise IntegrityError(
                        f"hard link {m.name!r} -> {m.linkname!r}: the target is outside the "
                        "selected paths; select it too"
                    )
                raise IntegrityError(f"hard link {m.name!r} -> {m.linkname!r}: target does not exist")
            if stat.S_ISDIR(tst.st_mode):
                raise IntegrityError(f"hard link {m.name!r} -> {m.linkname!r}: target is a directory")
            if tparent.parts == parent.parts and tparts[-1] == base:
                # replacing the name removes the target first (umoci, containerd fail the same way)
                raise IntegrityError(f"hard link {m.name!r} points at itself")
            existing = lstat_at(parent.fd, base)
            if existing is not None and (existing.st_dev, existing.st_ino) == (tst.st_dev, tst.st_ino):
                return
            tfd, tname = tparent.fd, tparts[-1]
            tmp = self._temp_name(
                parent,
                lambda name: os.link(
                    tname, name, src_dir_fd=tfd, dst_dir_fd=parent.fd, follow_symlinks=False
                ),
            )
            try:
                self._replace(parent, tmp, base)
            except BaseException:
                self._discard(parent, tmp)
                raise
            if (tst.st_dev, tst.st_ino) in self._stand_ins:  # a link to a device or FIFO
                self._stand_in_names.append(parent.child(base))
            elif stat.S_ISREG(tst.st_mode):  # (not a symlink's)
                files, size = self._linked
                self._linked = (files + 1, size + tst.st_size)
        finally:
            if tparent is not None:
                tparent.close()
