"""Apply a zstd:chunked layer from its TOC and the byte ranges of the files the applier wants.

The TOC's entries become applier members in TOC order (the tar's order), so whiteouts, opaque
directories, symlinks, hard links, selection and path safety follow exactly the rules of a full
layer (``Applier.apply_members``).  A regular file's data is produced only when the applier asks
for it: each chunk's compressed range is read from the ``RangeSource``, decompressed (bounded by
the chunk's size) and checked against the chunk digest; the whole file against the file digest.
A mismatch raises ``IntegrityError`` before the file's temporary name is renamed into place, and
the caller discards the staging root.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator, Sequence
from typing import Protocol

import zstandard

from imgextract.errors import ContentMismatch, IntegrityError, LimitExceeded
from imgextract.layers.applier import Applier, LayerStats
from imgextract.layers.chunked.plan import plan_ranges
from imgextract.layers.chunked.toc import Chunk, Toc, TocEntry

READ = 1024 * 1024
_TAR_TYPES = {
    "reg": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class RangeSource(Protocol):
    """Compressed bytes of one blob by offset (the registry implements it; so do tests)."""

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        """The ``[start, end)`` ranges that will be read, in that order (fetched ahead, coalesced)."""

    def open_range(self, start: int, end: int) -> Readable:
        """A reader of exactly the bytes ``[start, end)``; any range, planned or not."""
        ...

    def expect(self, start: int, end: int) -> None:
        """``[start, end)`` (a file the plan did not predict) will be read next, in pieces."""


class FileStore(Protocol):
    """Verified file contents by digest (the content cache implements it)."""

    def has(self, digest: str) -> bool: ...

    def get(self, digest: str, size: int) -> bytes | None: ...

    def put(self, digest: str, data: bytes) -> None: ...


MAX_CACHED_FILE = 4 * 1024 * 1024  # larger files are not kept (nor read back into memory)


class _Assembler:
    def __init__(self, toc: Toc, source: RangeSource, limit: int, files: FileStore | None) -> None:
        self.toc = toc
        self.source = source
        self.limit = limit
        self.files = files
        self.total = 0  # uncompressed bytes produced
        self.files_fetched = 0
        self.files_from_cache = 0
        self._dctx = zstandard.ZstdDecompressor()
        self._current: tuple[tarfile.TarInfo, TocEntry] | None = None

    def members(self) -> Iterator[tarfile.TarInfo]:
        for entry in self.toc.entries:
            info = tarfile.TarInfo(entry.name or ".")
            info.type = _TAR_TYPES[entry.type]
            info.mode = entry.mode
            info.mtime = entry.mtime
            info.linkname = entry.link_name
            info.size = entry.size if entry.type == "reg" else 0
            self._current = (info, entry)
            yield info
        self._current = None

    def read_data(self, member: tarfile.TarInfo) -> Iterator[bytes]:
        if self._current is None or self._current[0] is not member:
            raise RuntimeError("read_data for a member that is not the current one")
        entry = self._current[1]
        if not entry.chunks:
            return
        assert entry.digest is not None
        cacheable = self.files is not None and entry.size <= MAX_CACHED_FILE
        if cacheable:
            assert self.files is not None
            cached = self.files.get(entry.digest, entry.size)
            if cached is not None and _digest_of(cached, entry.digest) == entry.digest:
                self.files_from_cache += 1
                self._account(len(cached))
                yield cached
                return
        self.files_fetched += 1
        self.source.expect(entry.chunks[0].start, entry.chunks[-1].end)  # one request, not one per chunk
        file_hash = hashlib.new(entry.digest.split(":", 1)[0])
        kept: list[bytes] | None = [] if cacheable else None
        for chunk in entry.chunks:
            for data in self._chunk(entry, chunk):
                file_hash.update(data)
                if kept is not None:
                    kept.append(data)
                yield data
        actual = f"{entry.digest.split(':', 1)[0]}:{file_hash.hexdigest()}"
        if actual != entry.digest:
            raise ContentMismatch(f"zstd:chunked file {entry.name!r}: digest mismatch (got {actual})")
        if kept is not None and self.files is not None:
            self.files.put(entry.digest, b"".join(kept))

    def _account(self, n: int) -> None:
        self.total += n
        if self.total > self.limit:
            raise LimitExceeded(f"layer content exceeds the {self.limit}-byte uncompressed limit")

    def _chunk(self, entry: TocEntry, chunk: Chunk) -> Iterator[bytes]:
        h = hashlib.new(chunk.digest.split(":", 1)[0]) if chunk.digest else None
        got = 0
        raw = self.source.open_range(chunk.start, chunk.end)
        try:
            reader = self._dctx.stream_reader(raw, read_across_frames=True, closefd=False)  # type: ignore[arg-type]
            while True:
                data = reader.read(min(READ, chunk.size - got + 1))
                if not data:
                    break
                got += len(data)
                if got > chunk.size:
                    raise ContentMismatch(
                        f"zstd:chunked file {entry.name!r}: a chunk is larger than the TOC says"
                    )
                self._account(len(data))
                if h is not None:
                    h.update(data)
                yield data
        except zstandard.ZstdError as exc:
            raise IntegrityError(
                f"zstd:chunked file {entry.name!r}: chunk does not decompress ({exc})"
            ) from None
        if got != chunk.size:
            raise IntegrityError(
                f"zstd:chunked file {entry.name!r}: chunk is {got} bytes, the TOC says {chunk.size}"
            )
        if h is not None and chunk.digest is not None:
            actual = f"{chunk.digest.split(':', 1)[0]}:{h.hexdigest()}"
            if actual != chunk.digest:
                raise ContentMismatch(
                    f"zstd:chunked file {entry.name!r}: chunk digest mismatch (got {actual})"
                )


def _digest_of(data: bytes, like: str) -> str:
    algo = like.split(":", 1)[0]
    return f"{algo}:{hashlib.new(algo, data).hexdigest()}"


def apply_chunked(
    toc: Toc,
    source: RangeSource,
    applier: Applier,
    paths: Sequence[str] | None,
    *,
    files: FileStore | None = None,
) -> LayerStats:
    """Apply the layer described by ``toc`` into ``applier``, fetching only what it needs;
    files found in ``files`` (by digest) are not fetched, fetched ones are added to it."""
    planned = plan_ranges(toc, paths, skip=files.has if files is not None else None)
    source.prepare([(c.start, c.end) for c in planned])
    assembler = _Assembler(toc, source, applier.remaining_bytes(), files)
    try:
        stats = applier.apply_members(assembler.members(), assembler)
    finally:
        applier.uncompressed_total += assembler.total
    stats.uncompressed_size = assembler.total
    return stats
