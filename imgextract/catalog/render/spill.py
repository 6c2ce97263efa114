"""Encoded objects parked in an unnamed temporary file while opm's order is worked out.

opm sorts a whole catalog before it writes it. Holding every encoded object until then makes
memory grow with the catalog; a :class:`Spill` keeps the texts on disk (in ``TMPDIR``, a file no
other process can name, gone when closed or when the process ends) and memory only their places.
The file is made when the first text arrives, so a render that parks nothing never imports
``tempfile``.
"""

from __future__ import annotations

import threading
from typing import IO

__all__ = ["Spill"]


class Spill:
    """``put(data)`` returns the text's place; ``get(place)`` reads it back. Thread-safe."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._end = 0

    def put(self, data: bytes | memoryview) -> tuple[int, int]:
        with self._lock:
            if self._file is None:
                import tempfile

                self._file = tempfile.TemporaryFile(prefix="bundle-extract-render-")
            self._file.seek(self._end)
            self._file.write(data)
            place = (self._end, len(data))
            self._end += len(data)
        return place

    def get(self, place: tuple[int, int]) -> bytes:
        offset, length = place
        with self._lock:
            if self._file is None:
                raise ValueError("nothing was parked")
            self._file.seek(offset)
            data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"render: the temporary file lost data at offset {offset}")
        return data

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
