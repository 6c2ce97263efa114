"""Progress reporting: the protocol a pull reports to, a silent default, a counting reader.

The library never draws anything: the command line passes a rich display (``imgextract.cli.progress``).
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, Protocol


class Progress(Protocol):
    """Callbacks a pull makes as layers are fetched and applied (``advance`` for every chunk read)."""

    def begin(self, total: int) -> None: ...
    def layer_started(self, digest: str, size: int | None) -> None: ...
    def advance(self, digest: str, nbytes: int) -> None: ...
    def layer_done(self, digest: str, *, fetched: bool) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    """Reports nothing."""

    def begin(self, total: int) -> None:
        pass

    def layer_started(self, digest: str, size: int | None) -> None:
        pass

    def advance(self, digest: str, nbytes: int) -> None:
        pass

    def layer_done(self, digest: str, *, fetched: bool) -> None:
        pass

    def close(self) -> None:
        pass


class CountingReader(io.RawIOBase):
    """Wraps a byte stream and reports every read to a Progress."""

    def __init__(self, raw: BinaryIO, progress: Progress, digest: str) -> None:
        super().__init__()
        self._raw = raw
        self._progress = progress
        self._digest = digest

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if data:
            self._progress.advance(self._digest, len(data))
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def as_binary(self) -> BinaryIO:
        return self  # type: ignore[return-value]
