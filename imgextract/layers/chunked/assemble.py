"""Apply a zstd:chunked layer from its TOC and the byte ranges of the files the applier wants.

The TOC's entries become applier members in TOC order (the tar's order), so whiteouts, opaque
directories, symlinks, hard links, selection and path safety follow exactly the rules of a full
layer (``Applier.apply_members``).  A regular file's data is handed over only when the applier
asks for it, checked: every chunk decompresses to exactly the size the TOC gives it and matches
its chunk digest, the whole file matches the file digest.  A mismatch raises ``ContentMismatch``
(the applier then discards the file, the caller the staging root).

Work is split over two threads so that what releases the GIL overlaps: a ``Fetcher`` (started
before the layer is applied, possibly while earlier layers are) reads the compressed bytes of
the predicted files from the ``RangeSource`` in blob order, decompresses them, and queues them,
at most ``AHEAD`` bytes ahead of the applier; the applier's thread creates the files and writes
them.  Small files (most files of a catalog) are decompressed a run at a time, every chunk of
the run in one call (``Decoder.batch``), and queued as their chunks; the applier's thread checks
each chunk digest and the file digest before it writes any of the file (the chunks are never
joined into one buffer), unless the fetch thread is ``CHECK_AHEAD`` bytes ahead of it: then the
fetch thread checks them (it has time to spare, the applier's thread has none).  So the fetch
thread releases the GIL for long stretches (a socket read, a run's decompression) and needs it
little, while the applier's thread, whose hashing and writes release it once per call, rarely
waits for it: a hash of a few KiB per chunk on the fetch thread cost each time a wait for the
applier's thread to let go of the GIL.  A file the prediction missed is fetched by the
applier's thread from a second source when it gets there.  Files found in the ``FileStore``
(the content cache) are not fetched; fetched files up to ``MAX_CACHED_FILE`` are added to it in
batches (``CacheWriter``: a few MiB by whichever thread would otherwise wait for the other, or
by the fetch thread after a run while it is ``CHECK_AHEAD`` ahead, ``Fetcher.idle``; the rest by
the fetch thread once it has fetched them all, or once the layer is applied).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from imgextract.errors import LimitExceeded
from imgextract.layers.applier import Applier
from imgextract.layers.chunked.cachewriter import CacheWriter
from imgextract.layers.chunked.checks import _digest_of
from imgextract.layers.chunked.decoder import Decoder
from imgextract.layers.chunked.fetcher import Fetcher
from imgextract.layers.chunked.interfaces import (
    FileData,
    FileStore,
    Handed,
    Piece,
    RangeSource,
    data_size,
)
from imgextract.layers.chunked.plan import wanted_files
from imgextract.layers.chunked.toc import Toc, TocEntry
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.member import BLKTYPE, CHRTYPE, DIRTYPE, FIFOTYPE, LNKTYPE, REGTYPE, SYMTYPE, Member

MiB = 1024 * 1024
MAX_CACHED_FILE = 4 * MiB  # larger files are not kept in the FileStore (nor read back into memory)
_TAR_TYPES = {
    "reg": REGTYPE,
    "dir": DIRTYPE,
    "symlink": SYMTYPE,
    "hardlink": LNKTYPE,
    "char": CHRTYPE,
    "block": BLKTYPE,
    "fifo": FIFOTYPE,
}


def plan_files(toc: Toc, paths: Sequence[str] | None, files: FileStore | None) -> list[TocEntry]:
    """The regular files to fetch ahead, in TOC order: predicted by ``plan.wanted_files`` and
    not already in ``files``."""
    names = wanted_files(toc, paths)
    return [
        e
        for e in toc.entries
        if e.chunks
        and e.name in names
        and not (
            files is not None and e.digest is not None and e.size <= MAX_CACHED_FILE and files.has(e.digest)
        )
    ]


class _Member:
    """A TOC entry as a layer member (``Member``): what the applier reads of one (name, type,
    mode, mtime, linkname, size), without ``tarfile`` (its import is a few ms of start-up)."""

    __slots__ = ("name", "type", "mode", "mtime", "linkname", "size")

    def __init__(self, name: str, type: bytes, mode: int, mtime: float, linkname: str, size: int) -> None:
        self.name = name
        self.type = type
        self.mode = mode
        self.mtime = mtime
        self.linkname = linkname
        self.size = size

    def isdir(self) -> bool:
        return self.type == DIRTYPE

    def issym(self) -> bool:
        return self.type == SYMTYPE

    def islnk(self) -> bool:
        return self.type == LNKTYPE


class _Assembler:
    def __init__(
        self,
        toc: Toc,
        fetcher: Fetcher,
        side: Callable[[], RangeSource],
        limit: int,
        files: FileStore | None,
        cache_writer: CacheWriter | None,
    ) -> None:
        self.toc = toc
        self.fetcher = fetcher
        self.side = side
        self._side: RangeSource | None = None
        self.limit = limit
        self.files = files
        self.cache_writer = cache_writer
        self.total = 0  # uncompressed bytes produced
        self.files_fetched = 0
        self.files_from_cache = 0
        self._decoder: Decoder | None = None
        self._current: tuple[Member, TocEntry] | None = None

    def members(self) -> Iterator[Member]:
        types = _TAR_TYPES
        for entry in self.toc.entries:
            kind = entry.type
            info = _Member(
                entry.name or ".",
                types[kind],
                entry.mode,
                entry.mtime,
                entry.link_name,
                entry.size if kind == "reg" else 0,
            )
            self._current = (info, entry)
            yield info
        self._current = None

    def read_data(self, member: Member) -> Iterator[Handed]:
        if self._current is None or self._current[0] is not member:
            raise RuntimeError("read_data for a member that is not the current one")
        entry = self._current[1]
        if not entry.chunks:
            return
        assert entry.digest is not None
        pieces = self.fetcher.take(entry)
        if pieces is None:
            cacheable = self.files is not None and entry.size <= MAX_CACHED_FILE
            if cacheable:
                assert self.files is not None
                cached = self.files.get(entry.digest, entry.size)
                if cached is not None and _digest_of(cached, entry.digest) == entry.digest:
                    self.files_from_cache += 1
                    self._account(len(cached))
                    yield cached
                    return
            pieces = self._fetch(entry, cacheable)
        self.files_fetched += 1
        for data in pieces:
            self._account(data_size(data))
            yield data

    def _fetch(self, entry: TocEntry, cacheable: bool) -> Iterator[Piece]:
        """A file the fetcher does not bring: read on this thread, from the second source."""
        if self._side is None:
            self._side = self.side()
        if self._decoder is None:
            self._decoder = Decoder()
        kept: list[Piece] | None = [] if cacheable else None
        for data in self._decoder.pieces(entry, self._side):
            if kept is not None:
                kept.append(data)
            yield data
        if kept is not None and self.files is not None:
            assert entry.digest is not None
            self.files.put(entry.digest, b"".join(kept))

    def _account(self, n: int) -> None:
        self.total += n
        if self.total > self.limit:
            raise LimitExceeded(f"layer content exceeds the {self.limit}-byte uncompressed limit")


def apply_chunked(
    toc: Toc,
    source: RangeSource,
    applier: Applier,
    paths: Sequence[str] | None,
    *,
    files: FileStore | None = None,
    side: Callable[[], RangeSource] | None = None,
    fetcher: Fetcher | None = None,
) -> LayerStats:
    """Apply the layer described by ``toc`` into ``applier``, fetching only what it needs;
    files found in ``files`` (by digest) are not fetched, fetched ones are added to it.

    ``source`` feeds the fetch-ahead thread; ``side()`` (default: ``source``, once that thread
    is done with it) the files the prediction missed.  A caller that started the fetcher
    earlier (``make_fetcher``) passes it, and closes it."""
    own = fetcher is None
    writer = CacheWriter(files) if files is not None and own else None
    if fetcher is None:
        fetcher = make_fetcher(toc, source, paths, files=files, cache_writer=writer)
        fetcher.start()
    running = fetcher
    assembler = _Assembler(
        toc,
        running,
        side if side is not None else lambda: _after(running, source),
        applier.remaining_bytes(),
        files,
        writer,
    )
    try:
        stats = applier.apply_members(assembler.members(), assembler)
    finally:
        applier.uncompressed_total += assembler.total
        if own:
            running.close()
        if writer is not None:
            writer.close()
    stats.uncompressed_size = assembler.total
    return stats


def _after(fetcher: Fetcher, source: RangeSource) -> RangeSource:
    fetcher.close()  # one source, one thread at a time
    return source


def make_fetcher(
    toc: Toc,
    source: RangeSource,
    paths: Sequence[str] | None,
    *,
    files: FileStore | None = None,
    cache_writer: CacheWriter | None = None,
) -> Fetcher:
    """The fetcher of the files the layer is predicted to need (not started)."""
    on_verified = None
    if cache_writer is not None:
        writer = cache_writer

        def on_verified(entry: TocEntry, data: FileData) -> None:
            if entry.digest is not None and entry.size <= MAX_CACHED_FILE:
                writer.put(entry.digest, data)

    return Fetcher(plan_files(toc, paths, files), source, on_verified=on_verified)
