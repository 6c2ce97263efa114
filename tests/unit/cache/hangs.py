"""A call that must not hang: a planted FIFO would block a reader until a writer comes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


class Fifos:
    """FIFOs planted by a test; on a hang they are opened for writing, which unblocks the reader."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def plant(self, path: Path) -> Path:
        os.mkfifo(path)
        self.paths.append(path)
        return path

    def within(self, seconds: float, fn: Callable[[], T]) -> T:
        """``fn()``'s result, or a failure if it has not returned after ``seconds``."""
        out: list[T] = []
        thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            for fifo in self.paths:
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            thread.join(5)
            pytest.fail(f"hung for {seconds} s")
        return out[0]
