"""Selected files of a few small layers, held in memory, when the layers leave no doubt about them.

The renderer needs only a bundle's ``manifests/`` and ``metadata/`` files, a few hundred KiB.  Writing
them to a staging directory, reading them back and removing them costs more than parsing them.  When
every entry of the layers that touches the selection is a plain regular file or directory (no link,
whiteout or special file, no file where a directory is, nothing beyond a memory budget; no symlink
and no entry of a type the applier refuses, anywhere: the applier judges an entry by where it
resolves too, so ``x -> manifests`` then ``x/a.yaml`` writes a selected file), what the applier
would leave is plain: later layers win, directories merge.  This module builds that tree; anything
else raises :class:`NotPlain`, and the caller applies the layers to disk instead (the applier's
rules, and its errors, stay the reference).

Names are cleaned as the applier cleans them (empty and ``.`` components dropped); a name with ``..``
or a NUL byte, or an empty one, is also left to the applier, which refuses the layer.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import BinaryIO

from imgextract.errors import LimitExceeded
from imgextract.layers.applier import Limits
from imgextract.layers.member import AREGTYPE, KNOWN_TYPES, REGTYPE, SYMTYPE
from imgextract.layers.selection import PathSelection
from imgextract.layers.tarstream import TarReader
from imgextract.oci import whiteout

__all__ = ["MEMORY_BUDGET", "PROCESS_BUDGET", "MemTree", "NotPlain"]

MEMORY_BUDGET = 64 * 1024 * 1024  # selected file bytes one tree holds at most; beyond, the applier streams
_NAME_MAX = 255  # bytes of one name (Linux); a longer one cannot be written, so it is not read here
_PATH_MAX = 3072
_REGULAR = (REGTYPE, AREGTYPE)
# selected file bytes all live trees of the process hold together (a render reads up to ``jobs`` at
# once): past it, a tree that needs more is left to the applier too, so memory does not grow with
# the concurrency
PROCESS_BUDGET = 512 * 1024 * 1024
_pool_lock = threading.Lock()
_pool_held = [0]  # bytes reserved by live trees


def _reserve(size: int) -> bool:
    with _pool_lock:
        if _pool_held[0] + size > PROCESS_BUDGET:
            return False
        _pool_held[0] += size
        return True


def _release(cell: list[int]) -> None:
    with _pool_lock:
        _pool_held[0] -= cell[0]
        cell[0] = 0


class NotPlain(Exception):
    """The layers hold something only the applier resolves (or more than the memory budget)."""


class MemTree:
    """The selected regular files (``files``: cleaned path -> bytes) and directories (``dirs``, with
    every ancestor of a file or directory, ``""`` the root) of the layers added, in order."""

    __slots__ = ("__weakref__", "_entries", "_held", "_limits", "_reserved", "_selection", "dirs", "files")

    def __init__(self, selection: PathSelection, limits: Limits | None = None) -> None:
        self._selection = selection
        self._limits = limits if limits is not None else Limits()
        self._entries = 0
        self._held = 0
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = {""}
        self._reserved = [0]  # of the process budget; given back when the tree is dropped
        weakref.finalize(self, _release, self._reserved)

    def add_layer(self, tar_stream: BinaryIO) -> None:
        """Add one uncompressed layer tar (read up to its end-of-archive marker)."""
        limits = self._limits
        reader = TarReader(tar_stream, max_header_bytes=limits.max_header_bytes)
        selection = self._selection
        files = self.files
        for m in reader.members():
            self._entries += 1
            if self._entries > limits.max_entries:
                raise LimitExceeded(f"more than {limits.max_entries} tar entries")
            name = m.name
            if not name or "\0" in name:
                raise NotPlain(name)
            parts = [p for p in name.split("/") if p and p != "."]
            if not parts:  # the root itself
                if m.isdir():
                    continue
                raise NotPlain(name)
            if ".." in parts or any(p.startswith(whiteout.PREFIX) for p in parts):
                raise NotPlain(name)
            if m.type not in KNOWN_TYPES:  # selected or not: the applier refuses the layer
                raise NotPlain(name)
            if m.type == SYMTYPE:  # selected or not: names written through it may land in the selection
                raise NotPlain(name)
            path = "/".join(parts)
            if not selection.wants(path):
                continue  # (its data is passed over by the reader)
            if len(path) > _PATH_MAX or any(len(p) > 63 and len(os.fsencode(p)) > _NAME_MAX for p in parts):
                raise NotPlain(name)  # no such name on disk: the applier's error decides
            if m.type in _REGULAR:
                if (
                    not selection.covers_by_name(path) or path in self.dirs or path in (selection.paths or ())
                ):  # a file on the way to a selected path, at one, or over a directory
                    raise NotPlain(name)
                self._parents(parts)
                old = files.get(path)
                # judged by the header's size before any byte is read: a small compressed layer may
                # inflate to gigabytes, which the applier streams to disk
                self._held += m.size - (len(old) if old is not None else 0)
                if self._held > MEMORY_BUDGET:
                    raise NotPlain(name)
                if self._held > self._reserved[0]:
                    if not _reserve(self._held - self._reserved[0]):
                        raise NotPlain(name)
                    self._reserved[0] = self._held
                files[path] = b"".join(reader.read_data(m))
            elif m.isdir():
                if path in files:
                    raise NotPlain(name)
                self._parents(parts)
                self.dirs.add(path)
            else:  # a link, a device, a FIFO
                raise NotPlain(name)

    def _parents(self, parts: list[str]) -> None:
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self.files:
                raise NotPlain(parent)
            self.dirs.add(parent)
