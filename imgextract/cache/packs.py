"""Packs: many small verified files in one cache file (the files of a partially fetched layer).

Hundreds of ~100 KB files, each a temp file renamed into ``blobs/``, cost five to six times the
system time of the same bytes written once; so the verified files of a layer are kept together,
as one pack, renamed into ``packs/<name>.pack`` when complete (a crash leaves only a temp
file, swept like any other).  Layout of a pack::

    the files' bytes, one after another
    index: JSON ``[[digest, offset, size], ...]`` (offsets from the start of the pack)
    trailer: the index's length (8 bytes, big-endian) and ``MAGIC``

The name is the sha256 of the index: two writers of the same files write the same bytes.

Everything read from a pack is verified against the digest asked for (the index is only a hint):
a pack whose bytes or index do not hold is removed, like a rotten blob, and its files are
fetched again.  The index of every pack is read once per process, at the first lookup, so a
file kept for one layer is found for another (a related image's layer with the same file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence

from imgextract.cache.layout import Layout, split_digest
from imgextract.cache.store import open_regular
from imgextract.cache.writer import private_temp, write_parts
from imgextract.errors import IntegrityError

log = logging.getLogger(__name__)

MAGIC = b"IXPACK01"
_TRAILER = 8 + len(MAGIC)
MAX_INDEX = 16 * 1024 * 1024  # a larger index is not ours: ignored


class _Entry:
    __slots__ = ("pack", "offset", "size")

    def __init__(self, pack: str, offset: int, size: int) -> None:
        self.pack, self.offset, self.size = pack, offset, size


class PackStore:
    """The packs of one cache directory; safe to use from several threads."""

    def __init__(self, layout: Layout) -> None:
        self._layout = layout
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] | None = None  # digest -> where; loaded at the first lookup
        self._touched: set[str] = set()

    def _index(self) -> dict[str, _Entry]:
        with self._lock:
            if self._entries is None:
                self._entries = self._load()
            return self._entries

    def _load(self) -> dict[str, _Entry]:
        entries: dict[str, _Entry] = {}
        directory = str(self._layout.root / "packs")
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            return entries
        for name in names:
            if not name.endswith(".pack"):
                continue
            path = f"{directory}/{name}"
            try:
                index = read_index(path)
            except OSError:
                continue
            except IntegrityError as exc:
                log.debug("cache pack %s dropped: %s", name, exc)
                _unlink(path)
                continue
            for digest, offset, size in index:
                entries.setdefault(digest, _Entry(path, offset, size))
        return entries

    def has(self, digest: str) -> bool:
        return digest in self._index()

    def get(self, digest: str, size: int) -> bytes | None:
        """The file's bytes, verified against ``digest``; None if no pack holds them (a pack
        whose bytes do not match is removed)."""
        entry = self._index().get(digest)
        if entry is None or entry.size != size:
            return None
        try:
            fd = open_regular(entry.pack)
        except FileNotFoundError:  # pruned meanwhile, or replaced by what is no regular file
            self._forget(entry.pack)
            return None
        try:
            data = os.pread(fd, size, entry.offset)
            if entry.pack not in self._touched:  # recency for ``prune --max-age``, once a pack
                self._touched.add(entry.pack)
                try:
                    os.utime(fd)
                except OSError:
                    pass
        finally:
            os.close(fd)
        if len(data) == size and _digest_of(data, digest) == digest:
            return data
        log.debug("cache pack %s: %s does not match; pack removed", entry.pack, digest)
        self.evict(entry.pack)
        return None

    def evict(self, pack: str) -> None:
        _unlink(pack)
        self._forget(pack)

    def _forget(self, pack: str) -> None:
        with self._lock:
            if self._entries is not None:
                for digest in [d for d, e in self._entries.items() if e.pack == pack]:
                    del self._entries[digest]

    def put(self, files: Sequence[tuple[str, bytes | Sequence[bytes | memoryview]]]) -> None:
        """Keep ``files`` ((digest, bytes), each verified by the caller) as one pack; a file's
        bytes may come as the buffers they are in (written as they are, never joined)."""
        index: list[tuple[str, int, int]] = []
        seen: set[str] = set()
        buffers: list[bytes | memoryview] = []
        offset = 0
        for digest, data in files:
            split_digest(digest)  # a digest, not a path trick
            if digest in seen:
                continue
            seen.add(digest)
            if isinstance(data, bytes):
                size = len(data)
                buffers.append(data)
            else:
                size = sum(len(part) for part in data)
                buffers.extend(data)
            index.append((digest, offset, size))
            offset += size
        if not index:
            return
        raw = json.dumps(index, separators=(",", ":")).encode()
        if len(raw) > MAX_INDEX and len(files) > 1:  # more than one index holds: a reader would
            half = len(files) // 2  # drop the pack, so two (or more) packs
            self.put(files[:half])
            self.put(files[half:])
            return
        buffers += [raw, len(raw).to_bytes(8, "big") + MAGIC]
        final = f"{self._layout.packs()}/{hashlib.sha256(raw).hexdigest()}.pack"
        tmp, fd = _temp(self._layout)
        try:
            try:
                write_parts(fd, buffers)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise
        with self._lock:
            if self._entries is not None:
                for digest, at, size in index:
                    self._entries.setdefault(digest, _Entry(final, at, size))


def read_index(path: str) -> list[tuple[str, int, int]]:
    """The index of the pack at ``path``; ``IntegrityError`` if it is not a well-formed pack,
    ``NotRegularFile`` (removed already, unless a directory) if it is no regular file."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        trailer = os.pread(fd, _TRAILER, size - _TRAILER) if size >= _TRAILER else b""
        if len(trailer) != _TRAILER or trailer[8:] != MAGIC:
            raise IntegrityError("not a pack")
        length = int.from_bytes(trailer[:8], "big")
        data_end = size - _TRAILER - length
        if length > MAX_INDEX or data_end < 0:
            raise IntegrityError("pack index out of bounds")
        raw = os.pread(fd, length, data_end)
    finally:
        os.close(fd)
    try:
        items = json.loads(raw)
    except (ValueError, RecursionError):  # (nested deeper than the parser goes: not ours either)
        raise IntegrityError("pack index is not JSON") from None
    if not isinstance(items, list):
        raise IntegrityError("pack index is not a list")
    index = []
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and all(type(n) is int for n in item[1:])
            and 0 <= item[1] <= item[1] + item[2] <= data_end
        ):
            raise IntegrityError("pack index entry out of bounds")
        split_digest(item[0])
        index.append((item[0], item[1], item[2]))
    return index


def _temp(layout: Layout) -> tuple[str, int]:
    path, fd = private_temp(layout, "pack")
    return str(path), fd


def _digest_of(data: bytes, like: str) -> str:
    algorithm = like.split(":", 1)[0]
    if algorithm == "sha256":
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
