"""What a zstd:chunked layer is applied from and what it keeps: the byte ranges of its blob
(``RangeSource``: the registry implements it; so do tests), the verified files by digest
(``FileStore``: the content cache implements it), and the shapes a file's data takes on the way
to the applier (``Piece``, ``FileData``, ``Handed``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Piece = bytes | memoryview  # a piece of a file's data
FileData = bytes | Sequence[Piece]  # a verified file's data: in one piece, or as its chunks
Handed = Piece | list[Piece]  # what the applier is handed: a piece, or a file's chunks (one writev)


def data_size(data: FileData | memoryview) -> int:
    return len(data) if isinstance(data, (bytes, memoryview)) else sum(len(p) for p in data)


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class RangeSource(Protocol):
    """Compressed bytes of one blob by offset (the registry implements it; so do tests).

    One source is used by one thread at a time.  A source may also read spans,
    ``read_span(start, end, into)``: exactly ``[start, end)`` into the memoryview ``into``
    (the registry's does); the decoder then reads runs of nearby files in one piece, the few
    bytes between them included (on the wire anyway), else file by file."""

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        """The ``[start, end)`` ranges that will be read, in that order (fetched ahead, coalesced)."""

    def open_range(self, start: int, end: int) -> Readable:
        """A reader of exactly the bytes ``[start, end)``; any range, planned or not."""
        ...


class FileStore(Protocol):
    """Verified file contents by digest (the content cache implements it)."""

    def has(self, digest: str) -> bool: ...

    def get(self, digest: str, size: int) -> bytes | None: ...

    def put(self, digest: str, data: bytes) -> None: ...

    def put_many(self, files: Sequence[tuple[str, FileData]]) -> None:
        """Keep several files (one pack in the content cache)."""
