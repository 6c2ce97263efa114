"""Progress reporting: a small protocol, a silent default and a rich display for TTYs.

rich is imported lazily, and only when stderr is a terminal; pipes and CI stay silent.
"""

from __future__ import annotations

import io
import sys
from typing import Any, BinaryIO, Protocol


class Progress(Protocol):
    def begin(self, total: int) -> None: ...
    def layer_started(self, digest: str, size: int | None) -> None: ...
    def advance(self, digest: str, nbytes: int) -> None: ...
    def layer_done(self, digest: str, *, fetched: bool) -> None: ...
    def close(self) -> None: ...


class NoProgress:
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


class RichProgress:
    """Per-layer byte bars plus an overall bar, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._overall = self._progress.add_task("total", total=None)
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def begin(self, total: int) -> None:
        self._progress.update(self._overall, total=total or None)

    def layer_started(self, digest: str, size: int | None) -> None:
        self._tasks[digest] = self._progress.add_task(digest.split(":")[-1][:12], total=size)

    def advance(self, digest: str, nbytes: int) -> None:
        self._progress.advance(self._tasks[digest], nbytes)
        self._progress.advance(self._overall, nbytes)

    def layer_done(self, digest: str, *, fetched: bool) -> None:
        task = self._tasks.get(digest)
        if task is not None:
            self._progress.remove_task(task)

    def close(self) -> None:
        self._progress.stop()


def make_progress(*, quiet: bool, json_output: bool) -> Progress:
    if quiet or json_output or not sys.stderr.isatty():
        return NoProgress()
    return RichProgress()


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
