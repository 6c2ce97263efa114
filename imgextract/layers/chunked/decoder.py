"""Decompressing a zstd:chunked file from its compressed bytes, every way a chunk can disagree
with the TOC a ``ContentMismatch``: one file verified piece by piece (``Decoder.pieces``), or a
run of small files in one call (``Decoder.batch``), handed on as their chunks (``_Unchecked``)
for the caller to check before it uses them."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import zstandard

from imgextract.errors import ContentMismatch
from imgextract.layers.chunked.checks import _check_chunk, _compare, _hasher
from imgextract.layers.chunked.interfaces import Piece, RangeSource, Readable
from imgextract.layers.chunked.toc import Chunk, TocEntry

MiB = 1024 * 1024
READ = MiB  # piece size when a chunk is streamed
ONE_READ = 8 * MiB  # a file whose compressed bytes fit is read in one piece
ONE_SHOT = 8 * MiB  # a chunk decompressing to at most this is decompressed in one call
WHOLE_FILE = 4 * MiB  # a file up to this is queued once verified; larger ones piece by piece
SPAN_GAP = 4096  # files this close (a tar header's frame between them) are read in one span
SPAN_GAPS = MiB  # bytes between files a batch reads through, at most (the buffer holds them)


class _ReadAlready:
    """The one range a file's compressed bytes were already read from (``Decoder.small``)."""

    def __init__(self, data: memoryview) -> None:
        self._data: memoryview | bytes = data

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        pass

    def open_range(self, start: int, end: int) -> _ReadAlready:
        return self

    def read(self, n: int = -1, /) -> bytes:
        data, self._data = self._data, b""
        return data  # type: ignore[return-value]  # (a memoryview: read as bytes are)


def batchable(entry: TocEntry) -> bool:
    """Whether ``Decoder.batch`` takes the file: small, its chunks read in one piece and each
    decompressed in one call."""
    chunks = entry.chunks
    return (
        entry.size <= WHOLE_FILE
        and chunks[-1].end - chunks[0].start <= ONE_READ
        and all(0 < c.size <= ONE_SHOT for c in chunks)
    )


def _read_exact(reader: Readable, n: int) -> bytes:
    data = reader.read(n)
    if len(data) == n:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = reader.read(n - got)
        if not more:
            raise ContentMismatch(f"zstd:chunked: range ended after {got} of {n} bytes")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class _Limited:
    """The next ``left`` bytes of a reader (a streamed chunk's compressed bytes)."""

    def __init__(self, reader: Readable, left: int) -> None:
        self.reader, self.left = reader, left

    def read(self, n: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.reader.read(n)
        self.left -= len(data)
        return data


class Decoder:
    """Decompresses and verifies files; one per thread (it owns a ZstdDecompressor).

    Every way a chunk can disagree with the TOC (bytes that do not decompress, more or fewer
    bytes than its size, another digest) is a ``ContentMismatch``: these bytes are not the ones
    the checksummed TOC describes, whichever way they differ."""

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor()
        self._span = bytearray()  # ``batch``'s compressed bytes, when the source reads spans

    def _read(self, entries: Sequence[TocEntry], source: RangeSource) -> list[memoryview]:
        """The compressed bytes of each of ``entries``.  A source that reads spans
        (``read_span``: the registry's) reads runs of nearby files in one piece into a buffer
        this decoder keeps (one socket read loop, no fresh pages); any other source, file by
        file."""
        read_span = getattr(source, "read_span", None)
        if read_span is None:
            views = []
            for entry in entries:
                start, end = entry.chunks[0].start, entry.chunks[-1].end
                views.append(memoryview(_read_exact(source.open_range(start, end), end - start)))
            return views
        spans: list[list[int]] = []  # [start, end, where in the buffer] of each run of nearby files
        at: list[tuple[int, int]] = []  # each entry's place: (its span, its offset in the span)
        total = gaps = 0
        for entry in entries:
            start, end = entry.chunks[0].start, entry.chunks[-1].end
            gap = start - spans[-1][1] if spans else -1
            if 0 <= gap <= SPAN_GAP and gaps + gap <= SPAN_GAPS:  # (a hostile TOC: files 4 KiB apart)
                gaps += gap
                total += end - spans[-1][1]
                spans[-1][1] = end
            else:
                spans.append([start, end, total])
                total += end - start
            at.append((len(spans) - 1, start - spans[-1][0]))
        if len(self._span) < total:
            self._span = bytearray(max(total, 2 * READ))  # (a new one: the old may still be viewed)
        buffer = memoryview(self._span)
        for start, end, where in spans:
            read_span(start, end, buffer[where : where + end - start])
        return [
            buffer[spans[i][2] + offset : spans[i][2] + offset + e.chunks[-1].end - e.chunks[0].start]
            for e, (i, offset) in zip(entries, at, strict=True)
        ]

    def batch(self, entries: Sequence[TocEntry], source: RangeSource) -> Iterator[_Unchecked | bytes]:
        """The data of ``entries`` (each ``batchable``, in blob order), one per entry: their
        compressed bytes are read, then every chunk of them decompressed in one call (one
        release of the GIL, not one per chunk or per file), each to exactly its size.  Each
        file comes as ``_Unchecked`` (its chunks, no digest checked yet: the applier's thread
        checks them, see ``check_file``), or, when anything is unusual (several frames in a
        chunk, a size that does not match) as bytes verified chunk by chunk (``pieces``: the
        careful path decides, a mismatch raised when the caller gets to that file)."""
        views = self._read(entries, source)
        frames: list[bytes | bytearray | memoryview] = []
        for entry, view in zip(entries, views, strict=True):
            start = entry.chunks[0].start
            frames.extend(view[c.start - start : c.end - start] for c in entry.chunks)
        out = None
        try:
            out = self._dctx.multi_decompress_to_buffer(
                frames,
                decompressed_sizes=struct.pack(
                    f"={len(frames)}Q", *(c.size for entry in entries for c in entry.chunks)
                ),
            )
        except (zstandard.ZstdError, NotImplementedError):  # the cffi backend lacks this call
            pass
        k = 0
        for entry, view in zip(entries, views, strict=True):
            chunks = entry.chunks
            if out is not None:
                # views of ``out``: no copy
                parts: list[Piece] = [memoryview(out[k + i]) for i in range(len(chunks))]  # type: ignore[arg-type]
                k += len(chunks)
                if all(len(p) == c.size for p, c in zip(parts, chunks, strict=True)):
                    yield _Unchecked(parts, entry.size)
                    continue
            yield b"".join(self.pieces(entry, _ReadAlready(view)))

    def pieces(self, entry: TocEntry, source: RangeSource) -> Iterator[Piece]:
        """The file's data, verified chunk by chunk; the file digest is checked after the last
        piece (the consumer must treat the data as unverified until the iterator is exhausted)."""
        chunks = entry.chunks
        assert entry.digest is not None and chunks
        start, end = chunks[0].start, chunks[-1].end
        algo = entry.digest.split(":", 1)[0]
        file_hash = _hasher(entry.digest)()
        # One chunk: its digest and the file's cover the same bytes; hash once, compare with both.
        one = len(chunks) == 1 and (chunks[0].digest is None or chunks[0].digest.startswith(algo + ":"))
        reader = source.open_range(start, end)
        if end - start <= ONE_READ and all(0 < c.size <= ONE_SHOT for c in chunks):
            view = memoryview(_read_exact(reader, end - start))
            for c in chunks:
                data = self._one_shot(entry, c, view[c.start - start : c.end - start])
                file_hash.update(data)
                if not one:
                    _check_chunk(entry, c, data)
                yield data
        else:
            for c in chunks:
                h = _hasher(c.digest)() if c.digest and not one else None
                for data in self._stream(entry, c, _Limited(reader, c.end - c.start)):
                    file_hash.update(data)
                    if h is not None:
                        h.update(data)
                    yield data
                if h is not None and c.digest is not None:
                    _compare(entry, c.digest, h, "chunk digest")
        actual = f"{algo}:{file_hash.hexdigest()}"
        if one and chunks[0].digest is not None and chunks[0].digest != actual:
            raise ContentMismatch(f"zstd:chunked file {entry.name!r}: chunk digest mismatch (got {actual})")
        if actual != entry.digest:
            raise ContentMismatch(f"zstd:chunked file {entry.name!r}: digest mismatch (got {actual})")

    def _one_shot(self, entry: TocEntry, chunk: Chunk, data: memoryview) -> bytes:
        """A chunk that is one frame, in one call; anything unusual takes the streaming path."""
        try:
            declared = zstandard.frame_content_size(data)
        except zstandard.ZstdError:
            declared = -1
        if declared > chunk.size:
            raise ContentMismatch(f"zstd:chunked file {entry.name!r}: a chunk is larger than the TOC says")
        try:  # bounded: a frame without a declared size may not grow past max_output_size
            out = self._dctx.decompress(data, max_output_size=chunk.size, allow_extra_data=False)
        except zstandard.ZstdError:  # several frames, a lie, or damage: the careful path decides
            return b"".join(self._stream(entry, chunk, data))
        if len(out) != chunk.size:
            raise ContentMismatch(
                f"zstd:chunked file {entry.name!r}: chunk is {len(out)} bytes, the TOC says {chunk.size}"
            )
        return out

    def _stream(self, entry: TocEntry, chunk: Chunk, raw: object) -> Iterator[bytes]:
        got = 0
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
                yield data
        except zstandard.ZstdError as exc:
            raise ContentMismatch(
                f"zstd:chunked file {entry.name!r}: chunk does not decompress ({exc})"
            ) from None
        if got != chunk.size:
            raise ContentMismatch(
                f"zstd:chunked file {entry.name!r}: chunk is {got} bytes, the TOC says {chunk.size}"
            )


class _Unchecked:
    """A small file's chunks as decompressed (each exactly its size), queued before its chunk
    digests and file digest are checked: the applier's thread checks them (``Fetcher._checked``)
    before using any, unless the fetch thread did (``checked``: it was far enough ahead)."""

    __slots__ = ("parts", "size", "checked")

    def __init__(self, parts: list[Piece], size: int) -> None:
        self.parts = parts
        self.size = size
        self.checked = False
