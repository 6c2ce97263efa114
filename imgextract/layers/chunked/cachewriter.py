"""Verified files of zstd:chunked layers added to the content cache in batches (``CacheWriter``),
within the bytes one pull may hold for it (``HoldBudget``)."""

from __future__ import annotations

import threading

from imgextract.layers.chunked.interfaces import FileData, FileStore, data_size

MiB = 1024 * 1024
BATCH = 4 * MiB  # verified files written as a pack by a thread that waits for the other, at least
HOLD = 32 * MiB  # verified files a pull holds for the FileStore until their layer is applied


class HoldBudget:
    """Bytes that the ``CacheWriter``s of one pull may hold together (shared by its layers)."""

    def __init__(self, limit: int = HOLD) -> None:
        self.limit = limit
        self.used = 0
        self.lock = threading.Lock()


class CacheWriter:
    """Adds verified files to a ``FileStore`` in batches (one per layer, as a rule).

    Hundreds of small cache files cost several times the system time of the same bytes written
    once, so verified files are held, within ``budget``, and written together: ``BATCH`` bytes
    or more by a thread that would otherwise wait (``flush_some``), the rest by ``flush`` (the
    fetch thread's, once it has fetched the layer's files; ``close`` after the layer).  A file
    that would exceed the budget is written at once with those held (bounded memory)."""

    def __init__(self, files: FileStore, *, budget: HoldBudget | None = None) -> None:
        self.files = files
        self.budget = budget if budget is not None else HoldBudget()
        self._held: list[tuple[str, FileData]] = []
        self._held_bytes = 0

    def put(self, digest: str, data: FileData) -> None:
        budget = self.budget
        size = data_size(data)
        with budget.lock:
            if budget.used + size <= budget.limit:
                budget.used += size
                self._held.append((digest, data))
                self._held_bytes += size
                return
            batch = self._take()
        batch.append((digest, data))
        self.files.put_many(batch)

    def _take(self) -> list[tuple[str, FileData]]:
        """What is held, no longer held (``budget.lock`` held)."""
        batch, self._held = self._held, []
        self.budget.used -= self._held_bytes
        self._held_bytes = 0
        return batch

    def flush_some(self) -> bool:
        """Write what is held if it is worth a pack of its own (at least ``BATCH`` bytes); whether
        anything was written."""
        with self.budget.lock:
            if self._held_bytes < BATCH:
                return False
            batch = self._take()
        self.files.put_many(batch)
        return True

    def flush(self) -> None:
        """Write what is held (any thread; a concurrent ``flush`` finds nothing left)."""
        with self.budget.lock:
            batch = self._take()
        if batch:
            self.files.put_many(batch)

    def close(self, *, write: bool = True) -> None:
        """Write what is still held (or, after a failure, drop it)."""
        if write:
            self.flush()
        with self.budget.lock:
            self._take()
