"""Progress bars on stderr, only when it is a terminal (rich is imported only then)."""

from __future__ import annotations

import sys
from typing import Any

from imgextract.progress import NoProgress, Progress


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
